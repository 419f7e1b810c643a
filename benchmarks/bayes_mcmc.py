"""Timing of the MCMC meta-analysis (ketameta.bayes): nutpie vs PyMC's own NUTS, and the exact
quadrature of ketameta.bayes_exact, on the ketamine 24 h log odds ratios (k = 4).

Rows (all wall-clock seconds; median and min over the repeats):

- cold process: a fresh interpreter that imports, compiles the normal-normal model and samples
  once (interpreter start included), with the in-process split (import / compile / sample);
- warm refit: a further analysis in the same process, the compiled model reused with new data
  (``Sampler.fit_normal`` with its summaries and diagnostics, and nutpie's ``with_data`` +
  ``sample`` alone); for PyMC ``pm.set_data`` + ``pm.sample`` (which compiles its logp function
  again on every call) and the same with a reused ``pm.NUTS`` step (no recompilation);
- compile for a new structure (one per tau-prior kind / bucket of study counts);
- exact quadrature per call (``exact_posterior``) and the quadrature reference of the binomial
  model (``reference_posterior_binomial``).

Every sampler draws ``--chains`` x ``--draws`` after ``--tune`` warm-up draws, target_accept 0.95,
``--cores`` chains in parallel. Run from the repository root:

    .venv/bin/python benchmarks/bayes_mcmc.py [--repeats 7] [--cold-repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "reference" / "fixtures"

COLD = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
{imports}
t1 = time.perf_counter()
y = np.array({y}); v = np.array({v})
{body}
print("RESULT" + json.dumps({{"import": t1 - t0, **out}}))
"""

COLD_NUTPIE = dict(
    # ketameta.bayes imports PyMC and nutpie lazily: import them here so that "import" is the
    # whole import cost and "compile" only the compilation
    imports="import pymc, nutpie\nfrom ketameta.bayes import Sampler",
    body=(
        "r = Sampler(cores={cores}).fit_normal(y, v, seed=1, chains={chains}, draws={draws}, "
        "tune={tune})\n"
        "out = {{'compile': r.compile_seconds, 'sample': r.sample_seconds, "
        "'total_in_process': time.perf_counter() - t0}}"
    ),
)
COLD_PYMC = dict(
    imports="import pymc as pm\nfrom ketameta.bayes import normal_model",
    body=(
        "m = normal_model(y, v)\n"
        "t2 = time.perf_counter()\n"
        "pm.sample(draws={draws}, tune={tune}, chains={chains}, cores={cores}, random_seed=1, "
        "progressbar=False, target_accept=0.95, compute_convergence_checks=False, model=m, "
        "nuts_sampler='pymc')\n"
        "out = {{'compile+sample': time.perf_counter() - t2, "
        "'total_in_process': time.perf_counter() - t0}}"
    ),
)


def _stats(xs: list[float]) -> tuple[float, float]:
    return statistics.median(xs), min(xs)


def _cold(spec: dict, args, y, v) -> tuple[list[float], list[dict]]:
    settings = {k: getattr(args, k) for k in ("draws", "tune", "chains", "cores")}
    code = COLD.format(
        imports=spec["imports"], y=list(y), v=list(v), body=spec["body"].format(**settings)
    )
    walls, inner = [], []
    for _ in range(args.cold_repeats):
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
        )
        walls.append(time.perf_counter() - t0)
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")][-1]
        inner.append(json.loads(line[len("RESULT") :]))
    return walls, inner


def _timed(fn, repeats: int) -> list[float]:
    out = []
    for i in range(repeats):
        t0 = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t0)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7, help="warm repeats (>= 5)")
    ap.add_argument("--cold-repeats", type=int, default=3)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--draws", type=int, default=2000)
    ap.add_argument("--tune", type=int, default=1000)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--skip-cold", action="store_true")
    args = ap.parse_args(argv)
    args.repeats = max(args.repeats, 5)

    import numpy as np

    data = json.loads((FIXTURES / "bayes_exact.json").read_text())["datasets"]
    y = np.array(data["ketamine_24h:OR"]["yi"])
    v = np.array(data["ketamine_24h:OR"]["vi"])
    # a second analysis with the same structure (first 3 studies, same bucket of 4)
    y3, v3 = y[:3], v[:3]
    rows: list[tuple[str, str, float, float, int]] = []  # what, backend, median, min, n

    if not args.skip_cold:
        for backend, spec in (("nutpie", COLD_NUTPIE), ("pymc", COLD_PYMC)):
            walls, inner = _cold(spec, args, y, v)
            rows.append(
                ("cold process: start+import+compile+sample", backend, *_stats(walls), len(walls))
            )
            for key in inner[0]:
                vals = [d[key] for d in inner]
                rows.append((f"  of which {key}", backend, *_stats(vals), len(vals)))

    import nutpie
    import pymc as pm

    from ketameta import bayes
    from ketameta.bayes_exact import TauPrior, exact_posterior

    common = dict(chains=args.chains, draws=args.draws, tune=args.tune)
    sampler = bayes.Sampler(cores=args.cores)
    first = sampler.fit_normal(y, v, seed=1, **common)
    rows.append(
        ("first fit in process: compile", "nutpie", first.compile_seconds, first.compile_seconds, 1)
    )

    datasets = [(y, v), (y3, v3)]

    def nutpie_fit(i):
        yy, vv = datasets[i % 2]
        sampler.fit_normal(yy, vv, seed=100 + i, **common)

    rows.append(
        (
            "warm refit: Sampler.fit_normal (+summaries)",
            "nutpie",
            *_stats(_timed(nutpie_fit, args.repeats)),
            args.repeats,
        )
    )
    assert sampler.n_compiles == 1

    p4 = bayes._normal_problem(y, v, None, None, None, 4)
    p3 = bayes._normal_problem(y3, v3, None, None, None, 4)
    compiled = sampler._compiled[p4.key]

    def nutpie_raw(i):
        model = compiled.with_data(**(p4 if i % 2 == 0 else p3).data)
        nutpie.sample(
            model,
            seed=100 + i,
            cores=args.cores,
            target_accept=0.95,
            progress_bar=False,
            save_warmup=False,
            **common,
        )

    rows.append(
        (
            "warm refit: with_data + nutpie.sample only",
            "nutpie",
            *_stats(_timed(nutpie_raw, args.repeats)),
            args.repeats,
        )
    )

    # nutpie fixes the number of parameters at compile time: a new k does not fit the model
    try:
        p5 = bayes._normal_problem(np.r_[y, 0.1], np.r_[v, 0.2], None, None, None, None)
        nutpie.sample(
            compiled.with_data(**p5.data), draws=10, tune=10, chains=1, progress_bar=False
        )
        shape_note = "nutpie accepted data of a new shape"
    except Exception as exc:  # noqa: BLE001 - any failure is the finding
        shape_note = f"nutpie rejects a new number of studies: {type(exc).__name__}"

    # compiling a new structure (another tau prior kind; another bucket)
    t0 = time.perf_counter()
    sampler.fit_normal(y, v, tau_prior=TauPrior.halfcauchy(0.5), seed=1, **common)
    rows.append(
        (
            "new structure (halfcauchy prior): compile+fit",
            "nutpie",
            time.perf_counter() - t0,
            time.perf_counter() - t0,
            1,
        )
    )
    t0 = time.perf_counter()
    yb = np.array(data["bcg:RR"]["yi"])
    vb = np.array(data["bcg:RR"]["vi"])
    sampler.fit_normal(yb, vb, seed=1, **common)
    rows.append(
        (
            "new bucket (k=13 -> 16): compile+fit",
            "nutpie",
            time.perf_counter() - t0,
            time.perf_counter() - t0,
            1,
        )
    )

    # PyMC's own NUTS, same model graph
    model = bayes.normal_model(y, v)
    pm_kw = dict(
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        cores=args.cores,
        progressbar=False,
        target_accept=0.95,
        compute_convergence_checks=False,
        nuts_sampler="pymc",
        model=model,
    )

    def pymc_fit(i):
        d = (p4 if i % 2 == 0 else p3).data
        pm.set_data(d, model=model)
        pm.sample(random_seed=100 + i, **pm_kw)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pymc_fit(0)  # first call compiles (pytensor caches afterwards what it can)
        rows.append(
            (
                "warm refit: pm.set_data + pm.sample",
                "pymc",
                *_stats(_timed(pymc_fit, args.repeats)),
                args.repeats,
            )
        )
        with model:
            step = pm.NUTS(target_accept=0.95)

        def pymc_step(i):
            d = (p4 if i % 2 == 0 else p3).data
            pm.set_data(d, model=model)
            pm.sample(
                random_seed=100 + i,
                step=step,
                **{k: val for k, val in pm_kw.items() if k != "target_accept"},
            )

        pymc_step(0)
        rows.append(
            (
                "warm refit: pm.sample with a reused NUTS step",
                "pymc",
                *_stats(_timed(pymc_step, args.repeats)),
                args.repeats,
            )
        )

    ex_times = _timed(lambda i: exact_posterior(y, v), 50)
    rows.append(("exact quadrature per call (exact_posterior)", "scipy", *_stats(ex_times), 50))
    k24 = json.loads((FIXTURES / "diagnostics.json").read_text())["datasets"]["ketamine_24h"]
    counts = [k24[c] for c in ("ai", "n1i", "ci", "n2i")]
    ref_times = _timed(lambda i: bayes.reference_posterior_binomial(*counts), 3)
    rows.append(("binomial quadrature reference per call", "scipy", *_stats(ref_times), 3))

    width = max(len(r[0]) for r in rows)
    print(f"settings: chains={args.chains} draws={args.draws} tune={args.tune} cores={args.cores}")
    print(f"{'what':<{width}}  {'backend':<7}  {'median s':>9}  {'min s':>9}  {'n':>3}")
    for what, backend, med, mn, n in rows:
        print(f"{what:<{width}}  {backend:<7}  {med:9.3f}  {mn:9.3f}  {n:3d}")
    print(shape_note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
