"""Timing of the Bayesian multilevel time-course model (ketameta.bayes_multilevel): nutpie
compile, warm refits with ``with_data``, and the exact 2-D quadrature, on the ketamine response
and remission time courses (log-time trend and one coefficient per timepoint).

Rows (wall-clock seconds; median and min over the repeats):

- compile: the first fit of each design shape (nutpie ``compile_pymc_model``, PyMC -> Numba);
- warm refit: a further fit with the compiled model and new data (``MultilevelSampler.fit``,
  summaries and diagnostics included; and ``with_data`` + ``nutpie.sample`` alone), alternating
  the data of two values of ``phi`` (another ``V``; the same padded shape);
- exact quadrature per call (``exact_posterior``), per design and sigma prior.

Every fit draws ``--chains`` x ``--draws`` after ``--tune`` warm-up draws, target_accept 0.95,
``--cores`` chains in parallel. Run from the repository root:

    .venv/bin/python benchmarks/bayes_multilevel.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _stats(xs: list[float]) -> tuple[float, float]:
    return statistics.median(xs), min(xs)


def _timed(fn, repeats: int) -> list[float]:
    out = []
    for i in range(repeats):
        t0 = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t0)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--exact-repeats", type=int, default=20)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--draws", type=int, default=2000)
    ap.add_argument("--tune", type=int, default=1000)
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args(argv)

    import nutpie
    import yaml

    from ketameta import bayes_multilevel as bm
    from ketameta.bayes_exact import TauPrior
    from ketameta.data import load_dataset
    from ketameta.spec import EffectOptions
    from ketameta.timecourse import timepoint_effects

    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    data = load_dataset(REPO / "data/raw/studies.csv", REPO / "data/raw/arms.csv")
    options = EffectOptions(**cfg["effects"])
    common = dict(chains=args.chains, draws=args.draws, tune=args.tune)
    sampler = bm.MultilevelSampler(cores=args.cores)
    rows: list[tuple[str, float, float, int]] = []

    for outcome in ("response", "remission"):
        eff = timepoint_effects(data, outcome, "OR", options)
        for trend in (True, False):
            label = f"{outcome} {'trend' if trend else 'per-timepoint'}"
            probs = [bm.timecourse_design(eff, phi, trend).problem() for phi in (0.9, 0.5)]
            key, _ = bm.model_data(probs[0], sampler.bucket)
            shape = f"n={probs[0].n}->{key.n}, p={probs[0].p}->{key.p}"
            first = sampler.fit(probs[0], seed=1, **common)
            if first.compiled:
                c = first.compile_seconds
                rows.append((f"{label} ({shape}): compile", c, c, 1))

            def fit(i, probs=probs):
                sampler.fit(probs[i % 2], seed=100 + i, **common)

            rows.append(
                (
                    f"{label}: warm refit (MultilevelSampler.fit)",
                    *_stats(_timed(fit, args.repeats)),
                    args.repeats,
                )
            )
            packed = [bm.pack_data(bm.model_data(p, sampler.bucket)[1]) for p in probs]
            compiled = sampler._compiled[key]

            def raw(i, packed=packed, compiled=compiled):
                with bm._one_blas_thread():  # as MultilevelSampler.fit
                    _sample(i, packed, compiled)

            def _sample(i, packed, compiled):
                nutpie.sample(
                    compiled.with_data(data=packed[i % 2]),
                    seed=100 + i,
                    cores=args.cores,
                    target_accept=0.95,
                    progress_bar=False,
                    save_warmup=False,
                    **common,
                )

            rows.append(
                (
                    f"{label}: warm refit (with_data + nutpie.sample only)",
                    *_stats(_timed(raw, args.repeats)),
                    args.repeats,
                )
            )
            for prior in (TauPrior.halfnormal(0.5), TauPrior.halfcauchy(0.5)):
                p0 = probs[0]
                kw = dict(sigma_trial_prior=prior, sigma_timepoint_prior=prior)
                design = bm.timecourse_design(eff, 0.9, trend)

                def exact(i, design=design, kw=kw):
                    bm.exact_posterior(design.y, design.V, design.X, design.Z1, design.Z2, **kw)

                times = _timed(exact, args.exact_repeats)
                rows.append(
                    (
                        f"{label}: exact quadrature ({prior.label}, p={p0.p})",
                        *_stats(times),
                        args.exact_repeats,
                    )
                )

    width = max(len(r[0]) for r in rows)
    print(f"settings: chains={args.chains} draws={args.draws} tune={args.tune} cores={args.cores}")
    print(f"compiles: {sampler.n_compiles}")
    print(f"{'what':<{width}}  {'median s':>9}  {'min s':>9}  {'n':>3}")
    for what, med, mn, n in rows:
        print(f"{what:<{width}}  {med:9.3f}  {mn:9.3f}  {n:3d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
