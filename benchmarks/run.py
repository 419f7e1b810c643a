"""Benchmarks of the project against its peers, in one run, as whole processes (issue 12).

Run from the repository root with the bench extra installed (PyMARE is a peer, not a dependency):

    python3 -m uv sync --locked --extra bench
    .venv/bin/python benchmarks/run.py              # 5 repeats, about 6 minutes on 2 cores
    .venv/bin/python benchmarks/run.py --repeats 3 --cores 2

What is timed (wall clock; median and min over the repeats; peak resident memory of the largest
process of each command tree):

- the project: the full default workflow from an empty ``results/`` (cold: every job, imports,
  MCMC compiles), a no-op rerun, a rerun after one trial row changed (which rules ran is
  printed), ``ketameta --help``, one frequentist analysis with all seven tau^2 estimators (CIs,
  prediction interval) in process and one REML fit as a process, one exact Bayesian posterior in
  process, one MCMC fit cold (a fresh process: import, compile, sample) and each further fit warm
  (the compiled model reused with new data);
- the peers on the same data in the same run: one ``pm.sample()`` with PyMC's defaults of the
  same normal-normal model in a fresh process, PyMARE's ``VarianceBasedLikelihoodEstimator``
  (REML) in a fresh process, statsmodels' ``combine_effects`` in process;
- Snakemake's ``benchmark:`` files of the cold runs, summarised per rule.

Each project figure is printed with its peer and the ratio (ratios are measured in the same run,
since absolute times drift with the machine's load), the issue's targets are checked, and
everything is written to ``benchmarks/latest.json``. The workflow runs in a copy of the repository
under a temporary directory, so ``results/`` here is never touched. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORKFLOW_FILES = ["Snakefile", "config", "report", "data/raw"]

# A command run under this wrapper prints its own wall time and the peak RSS (kB) of the
# largest process in its tree (RUSAGE_CHILDREN of a fresh interpreter covers only that tree).
WRAPPER = r"""
import resource, subprocess, sys, time, json
t0 = time.perf_counter()
proc = subprocess.run(sys.argv[2:], cwd=sys.argv[1], capture_output=True, text=True)
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
rules = [ln.strip() for ln in (proc.stdout + proc.stderr).splitlines()
         if ln.strip().startswith(("rule ", "localrule "))]
print(json.dumps({"wall": wall, "peak_kb": peak, "rc": proc.returncode, "rules": rules,
                  "stdout": proc.stdout[-20000:], "stderr": proc.stderr[-20000:]}))
"""

# The four trials of response at 24 h (log OR, variance), read from the committed effects.csv
# at start-up, so every program below fits the same numbers.
FIT_DATA = "y = {y!r}; v = {v!r}\n"

OURS_REML_PROCESS = FIT_DATA + (
    "from ketameta.frequentist import rma\n"
    "r = rma(y, v, method='REML', test='z')\nprint(r.estimate, r.tau2)\n"
)
PYMARE_REML_PROCESS = FIT_DATA + (
    "import numpy as np\n"
    "from pymare.estimators import VarianceBasedLikelihoodEstimator\n"
    "est = VarianceBasedLikelihoodEstimator(method='REML')\n"
    "est.fit(y=np.array(y)[:, None], v=np.array(v)[:, None], X=np.ones((len(y), 1)))\n"
    "s = est.summary()\nprint(s.fe_params.ravel()[0], s.tau2)\n"
)
OURS_MCMC_COLD = FIT_DATA + (
    "from ketameta.bayes import Sampler\n"
    "r = Sampler(cores=2).fit_normal(y, v, seed=1, chains=2, draws=1000, tune=1000)\n"
    "print(r.flags)\n"
)
PYMC_DEFAULT_COLD = FIT_DATA + (
    "import numpy as np, pymc as pm\n"
    "with pm.Model():\n"
    "    mu = pm.Normal('mu', 0, 10)\n"
    "    tau = pm.HalfNormal('tau', 0.5)\n"
    "    theta = pm.Normal('theta', mu, tau, shape=len(y))\n"
    "    pm.Normal('y', theta, np.sqrt(v), observed=np.array(y))\n"
    "    idata = pm.sample(progressbar=False, random_seed=1)\n"
    "print(float(idata.posterior['mu'].mean()))\n"
)
OURS_MCMC_WARM = FIT_DATA + (
    "import json, time\nimport numpy as np\n"
    "from ketameta.bayes import Sampler\n"
    "s = Sampler(cores=2)\n"
    "s.fit_normal(y, v, seed=0, chains=2, draws=1000, tune=1000)\n"
    "times = []\n"
    "for i in range({n}):\n"
    "    yy = list(np.array(y) + 0.01 * (i + 1))\n"
    "    t0 = time.perf_counter()\n"
    "    s.fit_normal(yy, v, seed=i + 1, chains=2, draws=1000, tune=1000)\n"
    "    times.append(time.perf_counter() - t0)\n"
    "print('RESULT' + json.dumps(times))\n"
)


def _py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def measure(cmd: list[str], cwd: Path, check: bool = True) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(cwd), *cmd], capture_output=True, text=True
    )
    res = json.loads(out.stdout)
    if check and res["rc"] != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(cmd)}\n{res['stderr'][-3000:]}")
    return res


def summarise(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "n": len(values)}


def copy_workflow(dest: Path) -> None:
    for rel in WORKFLOW_FILES:
        src = REPO / rel
        if src.is_dir():
            shutil.copytree(src, dest / rel, symlinks=True)
        else:
            shutil.copy(src, dest / rel)
    link = dest / "config" / "schema.yaml"
    link.unlink()
    link.symlink_to(REPO / "src" / "ketameta" / "schema.yaml")


def rules_ran(res: dict) -> list[str]:
    """Rule names of the jobs Snakemake ran (its 'rule X:' / 'localrule X:' lines)."""
    names = []
    # the wrapper keeps every rule line (the output itself is cut to its last 20 000 characters,
    # and a job's input list can be longer than that)
    for line in res.get("rules", []):
        for prefix in ("localrule ", "rule "):
            if line.startswith(prefix) and line.endswith(":"):
                names.append(line[len(prefix) : -1])
    return sorted(set(names) - {"all"})


def rule_benchmarks(workdir: Path) -> dict[str, dict[str, float]]:
    out = {}
    for tsv in sorted((workdir / "benchmarks/rules").glob("*.tsv")):
        header, *rows = tsv.read_text().splitlines()
        cols = header.split("\t")
        last = dict(zip(cols, rows[-1].split("\t"), strict=True))
        out[tsv.stem] = {"s": float(last["s"]), "max_rss_mb": float(last["max_rss"])}
    return out


def fit_data() -> tuple[list[float], list[float]]:
    import csv

    with open(REPO / "results/tables/effects.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["analysis"] == "response_24h" and r["included"]]
    rows = [r for r in rows if r["included"] == "True"]
    return [float(r["yi"]) for r in rows], [float(r["vi"]) for r in rows]


def in_process(y, v, loops: int) -> dict:
    """Milliseconds per analysis: seven estimators with CIs and PI; exact posterior; the peer
    statsmodels combine_effects (DL and PM only, no CIs for tau^2, no prediction interval)."""
    import numpy as np

    from ketameta.bayes_exact import exact_posterior
    from ketameta.frequentist import _QP_CACHE, TAU2_METHODS, rma

    yy, vv = np.asarray(y), np.asarray(v)

    def freq():
        _QP_CACHE.clear()  # one analysis from scratch (its estimators share one Q-profile)
        for m in TAU2_METHODS:
            rma(yy, vv, method=m, test="z")

    def exact():
        exact_posterior(yy, vv)

    def sm():
        from statsmodels.stats.meta_analysis import combine_effects

        combine_effects(yy, vv, method_re="dl")

    out = {}
    for name, fn in (("frequentist_7", freq), ("exact", exact), ("statsmodels", sm)):
        fn()  # warm (imports, caches)
        times = []
        for _ in range(loops):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        out[name] = {k: 1000 * x if k != "n" else x for k, x in summarise(times).items()}
    return out


MULTIVERSE_TARGETS = ["results/tables/multiverse.csv", "results/figures/specification_curve.svg"]


def multiverse_runs(snakemake: str, work: Path, repeats: int) -> tuple[list[dict], dict]:
    """The multiverse alone on 2 cores (the issue's setting), from no multiverse output: its
    batch jobs, the gathering job and the specification curve; and its size."""
    import csv

    runs = []
    for i in range(repeats):
        for path in MULTIVERSE_TARGETS + ["results/tables/multiverse_choices.csv"]:
            (work / path).unlink(missing_ok=True)
        shutil.rmtree(work / "results/multiverse", ignore_errors=True)
        runs.append(measure([snakemake, "--cores", "2", *MULTIVERSE_TARGETS], work))
        print(f"multiverse run {i + 1}: {runs[-1]['wall']:.1f} s", file=sys.stderr)
    with open(work / MULTIVERSE_TARGETS[0], newline="") as fh:
        rows = list(csv.DictReader(fh))
    size = {
        "specifications": len(rows),
        "estimated": sum(1 for r in rows if r["estimate"] != ""),
        "batches": len(list((work / "benchmarks/rules").glob("multiverse_batch_*.tsv"))),
    }
    return runs, size


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cores", type=int, default=4, help="snakemake --cores (README: 4)")
    ap.add_argument("--warm-fits", type=int, default=10)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks/latest.json")
    ap.add_argument(
        "--multiverse-only",
        action="store_true",
        help="time only the multiverse (2 cores) and print it; latest.json is not written",
    )
    args = ap.parse_args(argv)
    y, v = fit_data()
    env_ok = shutil.which("ketameta", path=str(BIN)) and shutil.which("snakemake", path=str(BIN))
    if not env_ok:
        raise SystemExit("run with the project's venv: .venv/bin/python benchmarks/run.py")
    snakemake, ketameta = str(BIN / "snakemake"), str(BIN / "ketameta")
    results: dict[str, dict] = {}
    peaks: dict[str, float] = {}

    def record(name: str, runs: list[dict]) -> None:
        results[name] = summarise([r["wall"] for r in runs])
        peaks[name] = max(r["peak_kb"] for r in runs) / 1024

    if args.multiverse_only:
        with tempfile.TemporaryDirectory(prefix="ketameta-bench-") as tmp:
            copy_workflow(Path(tmp))
            runs, size = multiverse_runs(snakemake, Path(tmp), args.repeats)
        wall = summarise([r["wall"] for r in runs])
        print(
            f"multiverse: {size['specifications']} specifications ({size['estimated']} "
            f"estimated) in {size['batches']} batch jobs: median {wall['median']:.1f} s, min "
            f"{wall['min']:.1f} s on 2 cores; peak {max(r['peak_kb'] for r in runs) / 1024:.0f} MB"
        )
        return 0
    with tempfile.TemporaryDirectory(prefix="ketameta-bench-") as tmp:
        work = Path(tmp)
        copy_workflow(work)
        cold, noop, per_rule = [], [], []
        for i in range(args.repeats):
            shutil.rmtree(work / "results", ignore_errors=True)
            cold.append(measure([snakemake, "--cores", str(args.cores)], work))
            per_rule.append(rule_benchmarks(work))
            noop.append(measure([snakemake, "--cores", str(args.cores)], work))
            print(
                f"workflow run {i + 1}: cold {cold[-1]['wall']:.1f} s, no-op "
                f"{noop[-1]['wall']:.2f} s",
                file=sys.stderr,
            )
        record("workflow_cold", cold)
        record("workflow_noop", noop)
        # one trial row changes (a count of a response-at-day-28 arm), data re-pinned
        arms = work / "data/raw/arms.csv"
        original = arms.read_text()
        lines = original.splitlines(keepends=True)
        header = lines[0].rstrip("\n").split(",")
        idx = next(i for i, ln in enumerate(lines) if ln.startswith("popova2019_transform2,pbo,"))
        import csv
        import io

        row = next(csv.reader(io.StringIO(lines[idx])))
        row[header.index("events")] = str(int(row[header.index("events")]) - 1)
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(row)
        lines[idx] = buf.getvalue()
        arms.write_text("".join(lines))
        measure([ketameta, "pin"], work)
        changed = measure([snakemake, "--cores", str(args.cores)], work)
        results["workflow_one_trial_changed"] = summarise([changed["wall"]])
        peaks["workflow_one_trial_changed"] = changed["peak_kb"] / 1024
        ran = rules_ran(changed)
        arms.write_text(original)
        measure([ketameta, "pin"], work)
        mv_runs, mv_size = multiverse_runs(snakemake, work, args.repeats)
        record("multiverse_2_cores", mv_runs)

    runs = {
        "ketameta_help": [ketameta, "--help"],
        "ours_reml_process": _py(OURS_REML_PROCESS.format(y=y, v=v)),
        "pymare_reml_process": _py(PYMARE_REML_PROCESS.format(y=y, v=v)),
        "ours_mcmc_cold_process": _py(OURS_MCMC_COLD.format(y=y, v=v)),
        "pymc_default_cold_process": _py(PYMC_DEFAULT_COLD.format(y=y, v=v)),
    }
    for name, cmd in runs.items():
        record(name, [measure(cmd, REPO) for _ in range(args.repeats)])
        print(f"{name}: {results[name]['median']:.2f} s", file=sys.stderr)
    warm = measure(_py(OURS_MCMC_WARM.format(y=y, v=v, n=args.warm_fits)), REPO)
    line = next(ln for ln in warm["stdout"].splitlines() if ln.startswith("RESULT"))
    results["ours_mcmc_warm_fit"] = summarise(json.loads(line[len("RESULT") :]))
    peaks["ours_mcmc_warm_fit"] = warm["peak_kb"] / 1024
    inproc = in_process(y, v, loops=200)

    rules = {}
    for name in sorted({r for run in per_rule for r in run}):
        vals = [run[name] for run in per_rule if name in run]
        rules[name] = {
            "s_median": statistics.median(x["s"] for x in vals),
            "max_rss_mb": max(x["max_rss_mb"] for x in vals),
        }

    cold_pymc = results["pymc_default_cold_process"]["median"]
    rows = [
        ("full workflow, cold", "workflow_cold", "pymc_default_cold_process", 3.0),
        ("no-op rerun", "workflow_noop", None, None),
        ("rerun after one trial changed", "workflow_one_trial_changed", None, None),
        ("ketameta --help", "ketameta_help", None, None),
        ("one REML fit as a process", "ours_reml_process", "pymare_reml_process", 1.0),
        ("one MCMC fit, cold process", "ours_mcmc_cold_process", "pymc_default_cold_process", None),
        ("each further MCMC fit (warm)", "ours_mcmc_warm_fit", None, None),
        ("multiverse on 2 cores", "multiverse_2_cores", None, None),
    ]
    print()
    print(
        f"{'measurement':34} {'median':>9} {'min':>9} {'peak MB':>8}   peer (median)"
        "                      ratio"
    )
    for label, key, peer, _ in rows:
        r = results[key]
        peer_txt, ratio = "", ""
        if peer:
            peer_txt = f"{peer} {results[peer]['median']:.2f} s"
            ratio = f"{r['median'] / results[peer]['median']:.2f}x"
        print(
            f"{label:34} {r['median']:8.2f}s {r['min']:8.2f}s {peaks[key]:8.0f}   "
            f"{peer_txt:34} {ratio}"
        )
    f7, ex, sm = inproc["frequentist_7"], inproc["exact"], inproc["statsmodels"]
    print(
        f"{'7 estimators, in process':34} {f7['median']:7.2f}ms {f7['min']:7.2f}ms"
        f"{'':9}   statsmodels combine_effects {sm['median']:.2f} ms  "
        f"{f7['median'] / sm['median']:.2f}x"
    )
    print(f"{'exact Bayesian, in process':34} {ex['median']:7.2f}ms {ex['min']:7.2f}ms")
    print(
        f"multiverse: {mv_size['specifications']} specifications, {mv_size['estimated']} "
        f"estimated, {mv_size['batches']} batch jobs"
    )
    print(f"\nrules that ran after one trial changed: {', '.join(ran)}")
    print(
        "\nper rule (Snakemake benchmark:, cold runs): "
        + ", ".join(
            f"{k} {x['s_median']:.1f} s / {x['max_rss_mb']:.0f} MB" for k, x in rules.items()
        )
    )

    targets = {
        "workflow_cold <= 3x cold PyMC fit": results["workflow_cold"]["median"] <= 3 * cold_pymc,
        "workflow_cold <= 60 s": results["workflow_cold"]["median"] <= 60,
        "no-op rerun <= 2 s": results["workflow_noop"]["median"] <= 2,
        "ketameta --help <= 0.3 s": results["ketameta_help"]["median"] <= 0.3,
        "7 estimators <= 5 ms in process": f7["median"] <= 5,
        "REML process faster than PyMARE's": results["ours_reml_process"]["median"]
        < results["pymare_reml_process"]["median"],
        "exact Bayesian <= 20 ms": ex["median"] <= 20,
        "warm MCMC fit <= 0.1 s": results["ours_mcmc_warm_fit"]["median"] <= 0.1,
        "multiverse >= 500 estimated specifications": mv_size["estimated"] >= 500,
        "multiverse <= 120 s on 2 cores": results["multiverse_2_cores"]["median"] <= 120,
    }
    print("\ntargets:")
    for name, ok in targets.items():
        print(f"  {'met   ' if ok else 'MISSED'} {name}")
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "repeats": args.repeats,
        "cores": args.cores,
        "seconds": results,
        "peak_mb": peaks,
        "in_process_ms": inproc,
        "rules": rules,
        "rules_after_one_trial_changed": ran,
        "multiverse": mv_size,
        "targets": targets,
        "date": time.strftime("%Y-%m-%d"),
    }
    args.out.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(f"\nwrote {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
