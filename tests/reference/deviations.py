"""Largest deviation of ketameta from metafor, per fixture family and quantity.

Run from the repository root::

    .venv/bin/python tests/reference/deviations.py

For every family of metafor fixtures in tests/reference/fixtures/ it recomputes ketameta's values
exactly as the test files do (it imports their helpers and field tables from tests/, and repeats
the few lines that live inside test functions), and reports the largest |ours - ref| /
max(1, |ref|) -- the measure of ``conftest.close`` -- with the record where it occurs and the
tolerance the test applies. The Markdown table goes to stdout and to tests/reference/DEVIATIONS.md.
Output is deterministic (no timestamps), so DEVIATIONS.md can be diffed across changes.
"""

from __future__ import annotations

import importlib
import math
import re
import sys
from pathlib import Path

import numpy as np

from ketameta.binary import mantel_haenszel, peto
from ketameta.diagnostics import begg_test, egger_test, influence, leave_one_out, trim_and_fill
from ketameta.frequentist import rma
from ketameta.metareg import meta_regression, subgroup_analysis

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
REPO = TESTS.parent
OUT = HERE / "DEVIATIONS.md"
COMMAND = ".venv/bin/python tests/reference/deviations.py"
NEAR = 10.0  # flag a quantity whose max deviation is within this factor of its tolerance

sys.path.insert(0, str(TESTS))
conftest = importlib.import_module("conftest")
t_eff = importlib.import_module("test_effects")
t_freq = importlib.import_module("test_frequentist")
t_diag = importlib.import_module("test_diagnostics")
t_bin = importlib.import_module("test_binary")
t_mr = importlib.import_module("test_metareg")

F_EFF = "tests/test_effects.py"
F_FREQ = "tests/test_frequentist.py"
F_DIAG = "tests/test_diagnostics.py"
F_BIN = "tests/test_binary.py"
F_MR = "tests/test_metareg.py"
UNTESTED = None  # tolerance of a fixture section that no test compares against


def deviation(ours, ref, scale: float = 1.0) -> float:
    """|ours - ref| / max(1, |ref|) after dividing both by ``scale``; conftest.close's measure.

    A null reference must be NaN on our side (0 if so, inf if not); NaN against a number is inf.
    """
    if ref is None:
        return 0.0 if ours is None or math.isnan(float(ours)) else math.inf
    if ours is None or math.isnan(float(ours)):
        return math.inf
    ours, ref = float(ours) / scale, float(ref) / scale
    return abs(ours - ref) / max(1.0, abs(ref))


class Collector:
    """Max deviation per (family, quantity, tolerance), with the first record reaching it."""

    def __init__(self) -> None:
        self.rows: dict[tuple, dict] = {}
        self.errors: list[tuple[str, str, str]] = []

    def add(self, family, quantity, tol, test_file, ours, ref, record, scale=1.0) -> None:
        d = deviation(ours, ref, scale)
        row = self.rows.setdefault(
            (family, quantity, tol),
            {"dev": -1.0, "record": "", "file": test_file, "n": 0},
        )
        row["n"] += 1
        if d > row["dev"]:
            row.update(dev=d, record=record, ours=ours, ref=ref)

    def add_vector(self, family, quantity, tol, test_file, ours, refs, record, labels, scale=1.0):
        ours = list(np.asarray(ours, float))
        if len(ours) != len(refs):
            raise ValueError(f"{quantity}: {len(ours)} values, reference has {len(refs)}")
        for i, (mine, theirs) in enumerate(zip(ours, refs, strict=True)):
            label = labels[i] if labels is not None and i < len(labels) else i
            self.add(family, quantity, tol, test_file, mine, theirs, f"{record} [{label}]", scale)

    def guard(self, family: str, record: str, fn) -> None:
        """Run one record's comparison; an exception is reported, not raised."""
        try:
            fn()
        except Exception as exc:  # reported in the output instead
            self.errors.append((family, record, f"{type(exc).__name__}: {exc}"))


def i2_label(name: str, divided: bool) -> str:
    return f"{name} (/100)" if divided else f"{name} (%)"


# --- escalc.json (tests/test_effects.py) -----------------------------------------------------


def escalc(c: Collector) -> None:
    fam, tol = "escalc.json", t_eff.TOL["closed_form"]
    for rec in t_eff.RECORDS:

        def one(rec=rec):
            yi, vi = t_eff._ours(rec)
            c.add_vector(fam, "yi", tol, F_EFF, yi, rec["yi"], rec["id"], rec["study"])
            c.add_vector(fam, "vi", tol, F_EFF, vi, rec["vi"], rec["id"], rec["study"])

        c.guard(fam, rec["id"], one)


# --- rma.json (tests/test_frequentist.py) ----------------------------------------------------


def rma_fits(c: Collector) -> None:
    fam, tol = "rma.json", conftest.TOL["default"]
    for fit in t_freq.FITS:
        rid = f"{fit['input']}-{fit['method']}-{fit['test']}"

        def one(fit=fit, rid=rid):
            yi, vi = t_freq._yi_vi(fit["input"])
            res = rma(yi, vi, method=fit["method"], test=fit["test"]).to_dict()
            for ref_key, our_key in t_freq.FIELDS.items():
                if fit["method"] == "FE" and ref_key.startswith(("tau2_ci", "i2_ci")):
                    continue
                name = i2_label(ref_key, False) if ref_key.startswith("i2") else ref_key
                c.add(fam, name, tol, F_FREQ, res[our_key], fit.get(ref_key), rid)

        c.guard(fam, rid, one)


# --- diagnostics.json: leave1out .. trimfill (tests/test_diagnostics.py) ---------------------


def _diag_compare(c, fam, ours: dict, ref: dict, fields: dict, rid: str, labels=None) -> None:
    """test_diagnostics._compare, collecting deviations instead of failing."""
    for our_key, (ref_key, tol_name) in fields.items():
        tol, theirs = t_diag.TOL[tol_name], ref[ref_key]
        scale = 100.0 if our_key == "i2" else 1.0
        name = i2_label(ref_key, True) if our_key == "i2" else ref_key
        if isinstance(theirs, list):
            c.add_vector(fam, name, tol, F_DIAG, ours[our_key], theirs, rid, labels, scale)
        else:
            c.add(fam, name, tol, F_DIAG, float(ours[our_key]), theirs, rid, scale)


def diagnostics(c: Collector) -> None:
    diag = t_diag.DIAG
    sections = {
        "leave1out": _leave1out,
        "influence": _influence,
        "regtest": _regtest,
        "ranktest": _ranktest,
        "trimfill": _trimfill,
    }
    for section, fn in sections.items():
        fam = f"diagnostics.json:{section}"
        for rec, rid in zip(diag[section], t_diag._ids(section), strict=True):
            c.guard(fam, rid, lambda fn=fn, fam=fam, rec=rec, rid=rid: fn(c, fam, rec, rid))


def _leave1out(c, fam, rec, rid):
    y, v, study = t_diag._data(rec["input"])
    frame = leave_one_out(y, v, method="REML", labels=study).to_frame()
    ours = {col: frame[col] for col in t_diag.LOO_FIELDS}
    _diag_compare(c, fam, ours, rec, t_diag.LOO_FIELDS, rid, rec["left_out"])


def _influence(c, fam, rec, rid):
    y, v, study = t_diag._data(rec["input"])
    frame = influence(y, v, method="REML", labels=study).to_frame()
    ours = {col: frame[col] for col in t_diag.INFL_FIELDS}
    _diag_compare(c, fam, ours, rec, t_diag.INFL_FIELDS, rid, rec["study"])


def _regtest(c, fam, rec, rid):
    y, v, _ = t_diag._data(rec["input"])
    res = egger_test(y, v, model=rec["model"], method="REML")
    tol = "closed_form" if rec["model"] == "lm" else "iterative"
    fields = {
        "stat": ("zval", tol),
        "pval": ("pval", tol),
        "limit_estimate": ("limit_estimate", tol),
        "limit_ci_low": ("limit_ci_low", tol),
        "limit_ci_high": ("limit_ci_high", tol),
    }
    _diag_compare(c, fam, res.to_frame().iloc[0].to_dict(), rec, fields, rid)


def _ranktest(c, fam, rec, rid):
    y, v, _ = t_diag._data(rec["input"])
    res = begg_test(y, v)
    fields = {"tau": ("tau", "closed_form"), "pval": ("pval", "closed_form")}
    _diag_compare(c, fam, res.to_frame().iloc[0].to_dict(), rec, fields, rid)


def _trimfill(c, fam, rec, rid):
    y, v, study = t_diag._data(rec["input"])
    res = trim_and_fill(y, v, estimator=rec["estimator"], method="REML", labels=study)
    ours = res.fit.to_dict() | {"se_k0": res.se_k0, "p_k0": res.p_k0, "yi": res.yi, "vi": res.vi}
    _diag_compare(c, fam, ours, rec, t_diag.TF_FIELDS, rid, list(res.labels))


# --- diagnostics.json: rma_mh, rma_peto, rma_glmm (tests/test_binary.py) ---------------------


def _binary_compare(c, fam, res: dict, rec: dict, keys: dict, tol: float, rid: str) -> None:
    """test_binary._mismatches, collecting deviations instead of failing."""
    for ref_key, our_key in keys.items():
        scale = 100.0 if ref_key == "i2" else 1.0
        name = i2_label(ref_key, True) if ref_key == "i2" else ref_key
        c.add(fam, name, tol, F_BIN, float(res[our_key]), rec[ref_key], rid, scale)


def binary(c: Collector) -> None:
    closed = conftest.TOL["closed_form"]
    fam = "diagnostics.json:rma_mh"
    for rec in t_bin.MH:
        rid = f"{rec['dataset']}-{rec['measure']}"

        def mh(rec=rec, rid=rid):
            res = mantel_haenszel(*t_bin._counts(rec["dataset"]), measure=rec["measure"]).to_dict()
            keys = {**t_bin.FIXED, **t_bin.MH_OR} if rec["measure"] == "OR" else t_bin.FIXED
            if rec["measure"] != "OR":
                keys = {k: v for k, v in keys.items() if k != "k_pos"}
            _binary_compare(c, fam, res, rec, keys, closed, rid)

        c.guard(fam, rid, mh)
    fam = "diagnostics.json:rma_peto"
    for rec in t_bin.PETO:

        def pt(rec=rec):
            res = peto(*t_bin._counts(rec["dataset"])).to_dict()
            _binary_compare(c, fam, res, rec, t_bin.FIXED, closed, rec["dataset"])

        c.guard(fam, rec["dataset"], pt)
    fam = "diagnostics.json:rma_glmm"
    for rec in t_bin.GLMM:
        rid = f"{rec['dataset']}-{rec['measure']}-{rec['arm'] or 'all'}"

        def glmm(rec=rec, rid=rid):
            res = t_bin._fit_glmm(rec).to_dict()
            _binary_compare(c, fam, res, rec, t_bin.GLMM_FIELDS, t_bin.GLMM_TOL, rid)

        c.guard(fam, rid, glmm)


# --- diagnostics.json: metareg, subgroup (no test reads these sections) ----------------------


def _call_arg(call: str, name: str) -> str:
    match = re.search(rf"{name}=([^,)]+)", call)
    if match is None:
        raise ValueError(f"no {name}= in {call!r}")
    return match.group(1).strip().strip('"')


def _metareg_compare(c, fam, res, rec, rid, tol, test_file, keys) -> None:
    vector = {"coef": "coef", "se": "se", "zval": "stat", "pval": "pval"}
    vector |= {"ci_low": "ci_low", "ci_high": "ci_high"}
    for ref_key, our_key in vector.items():
        if ref_key in rec:
            ours = getattr(res, our_key)
            c.add_vector(fam, ref_key, tol, test_file, ours, rec[ref_key], rid, rec["coef_names"])
    for ref_key in keys:
        scale = 100.0 if ref_key == "i2" else 1.0
        name = i2_label(ref_key, ref_key == "i2") if ref_key in ("i2", "r2") else ref_key
        c.add(fam, name, tol, test_file, getattr(res, ref_key), rec[ref_key], rid, scale)


def diagnostics_untested(c: Collector) -> None:
    diag = t_diag.DIAG
    fam = "diagnostics.json:metareg"
    for rec in diag["metareg"]:
        rid = f"{rec['input']}|{_call_arg(rec['call'], 'mods')}|REML|{rec['test']}"

        def mr(rec=rec, rid=rid):
            cols = [s.strip() for s in _call_arg(rec["call"], "mods").lstrip("~").split("+")]
            yi, vi, mods = t_mr._data(rec["input"], cols)
            method = _call_arg(rec["call"], "method")
            res = meta_regression(yi, vi, mods, method=method, test=rec["test"])
            keys = ("qm", "qm_p", "qe", "qe_p", "tau2", "i2", "h2", "r2")
            _metareg_compare(c, fam, res, rec, rid, UNTESTED, None, keys)

        c.guard(fam, rid, mr)

    fam = "diagnostics.json:subgroup"
    rec = diag["subgroup"]
    rid = f"{rec['input']}|{rec['by']}|REML|z"

    def sg():
        yi, vi, mods = t_mr._data(rec["input"], [rec["by"]])
        res = subgroup_analysis(yi, vi, mods[rec["by"]], method="REML", test="z")
        for fit_ref in rec["fits"]:
            ours = res.levels[fit_ref["level"]]
            for ref_key, our_key in t_mr.LEVEL_FIELDS.items():
                if ref_key not in fit_ref:
                    continue  # no Q-profile CI in this section
                scale = 100.0 if ref_key == "i2" else 1.0
                name = "fits." + (i2_label(ref_key, True) if ref_key == "i2" else ref_key)
                theirs = fit_ref[ref_key]
                c.add(
                    fam,
                    name,
                    UNTESTED,
                    None,
                    getattr(ours, our_key),
                    theirs,
                    f"{rid} [{fit_ref['level']}]",
                    scale,
                )
        for key, test in (("q_between", "fixed"), ("q_between_mixed", "common_tau2")):
            ref, ours = rec[key], res.tests[test]
            c.add(fam, f"{key}.qm", UNTESTED, None, ours.stat, ref["qm"], rid)
            c.add(fam, f"{key}.qm_p", UNTESTED, None, ours.pval, ref["qm_p"], rid)
            method = _call_arg(ref["call"], "method")
            fit = meta_regression(yi, vi, mods[[rec["by"]]], method=method, test="z")
            for field in ("coef", "se"):
                c.add_vector(
                    fam,
                    f"{key}.{field}",
                    UNTESTED,
                    None,
                    getattr(fit, field),
                    ref[field],
                    rid,
                    ref["coef_names"],
                )
            for field in ("qe", "qe_p", "tau2"):
                c.add(fam, f"{key}.{field}", UNTESTED, None, getattr(fit, field), ref[field], rid)
            if test == "common_tau2":
                c.add(
                    fam,
                    f"{key}.tau2 (common_tau2 test)",
                    UNTESTED,
                    None,
                    ours.tau2,
                    ref["tau2"],
                    rid,
                )

    c.guard(fam, rid, sg)


# --- metareg.json (tests/test_metareg.py) ----------------------------------------------------


def metareg(c: Collector) -> None:
    fam = "metareg.json:metareg"
    for rec, rid in zip(t_mr.RECORDS, t_mr._ids(t_mr.RECORDS), strict=True):

        def one(rec=rec, rid=rid):
            yi, vi, mods = t_mr._data(rec["input"], rec["columns"])
            res = meta_regression(
                yi, vi, mods, method=rec["method"], test=rec["test"], intercept=rec["intercept"]
            )
            if not rec["ok"]:
                return  # metafor failed; the test only checks that we flag it
            for ref_key, our_key in t_mr.VECTOR_FIELDS.items():
                tol = t_mr._tol(rec["method"], ref_key)
                c.add_vector(
                    fam,
                    ref_key,
                    tol,
                    F_MR,
                    getattr(res, our_key),
                    rec[ref_key],
                    rid,
                    rec["coef_names"],
                )
            for ref_key, our_key in t_mr.SCALAR_FIELDS.items():
                tol = t_mr._tol(rec["method"], ref_key)
                name = i2_label(ref_key, False) if ref_key in ("i2", "r2") else ref_key
                c.add(fam, name, tol, F_MR, getattr(res, our_key), rec.get(ref_key), rid)

        c.guard(fam, rid, one)

    fam = "metareg.json:subgroup"
    for rec, rid in zip(t_mr.SUBGROUPS, t_mr._ids(t_mr.SUBGROUPS), strict=True):

        def sg(rec=rec, rid=rid):
            yi, vi, mods = t_mr._data(rec["input"], [rec["by"]])
            res = subgroup_analysis(yi, vi, mods[rec["by"]], method=rec["method"], test=rec["test"])
            for fit_ref in rec["fits"]:
                ours = res.levels[fit_ref["level"]]
                for ref_key, our_key in t_mr.LEVEL_FIELDS.items():
                    tol = t_mr._tol(rec["method"], ref_key)
                    name = "fits." + (i2_label(ref_key, False) if ref_key == "i2" else ref_key)
                    c.add(
                        fam,
                        name,
                        tol,
                        F_MR,
                        getattr(ours, our_key),
                        fit_ref.get(ref_key),
                        f"{rid} [{fit_ref['level']}]",
                    )
            ref, tests = rec["tests"], res.tests
            checks = {
                "separate.stat": (tests["separate"].stat, ref["separate"]["qm"]),
                "separate.p": (tests["separate"].pval, ref["separate"]["qm_p"]),
                "fixed.stat": (tests["fixed"].stat, ref["fixed"]["qm"]),
                "fixed.p": (tests["fixed"].pval, ref["fixed"]["qm_p"]),
            }
            for key, (ours, theirs) in checks.items():
                sep = key.startswith("separate")
                tol = t_mr._tol(rec["method"], "qm") if sep else t_mr.TOL_CLOSED
                c.add(fam, key, tol, F_MR, ours, theirs, rid)
            common, cref = tests["common_tau2"], ref["common_tau2"]
            for ours, field in ((common.stat, "qm"), (common.pval, "qm_p"), (common.tau2, "tau2")):
                tol = t_mr._tol(rec["method"], field)
                c.add(fam, f"common_tau2.{field}", tol, F_MR, ours, cref[field], rid)

        c.guard(fam, rid, sg)

    fam = "metareg.json:edge_cases"
    e = t_mr.EDGES["no_intercept_continuous"]

    def edge():
        res = t_mr._edge_fit(e)
        tol = t_mr.TOL_CLOSED
        for ref_key, our_key in {**t_mr.VECTOR_FIELDS, "qm": "qm", "qm_p": "qm_p"}.items():
            ours, ref = getattr(res, our_key), e[ref_key]
            if isinstance(ref, list):
                c.add_vector(fam, ref_key, tol, F_MR, ours, ref, e["id"], e["coef_names"])
            else:
                c.add(fam, ref_key, tol, F_MR, ours, ref, e["id"])
        c.add(fam, "qe (vs qe_uncentred)", tol, F_MR, res.qe, e["qe_uncentred"], e["id"])

    c.guard(fam, e["id"], edge)


# --- output ----------------------------------------------------------------------------------


def fmt_dev(d: float) -> str:
    if d == 0:
        return "0"
    if math.isinf(d):
        return "inf"
    return f"{d:.2e}"


def fmt_tol(tol) -> str:
    return "none (untested)" if tol is None else f"{tol:.0e}"


def num(x) -> str:
    return "null" if x is None else repr(float(x))


def cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def near(row: dict, tol) -> bool:
    return tol is not None and row["dev"] * NEAR >= tol


def render(c: Collector) -> str:
    order = sorted(enumerate(c.rows.items()), key=lambda item: (item[1][0][0], item[0]))
    lines = [
        "| family | quantity | max deviation | record | test tolerance | test file |",
        "|---|---|---|---|---|---|",
    ]
    flagged = []
    for _, ((family, quantity, tol), row) in order:
        mark = " **!**" if near(row, tol) else ""
        test_file = row["file"] or "none"
        lines.append(
            f"| {family} | {cell(quantity)} | {fmt_dev(row['dev'])}{mark} | {cell(row['record'])}"
            f" | {fmt_tol(tol)} | {test_file} |"
        )
        if near(row, tol):
            ratio = "inf" if math.isinf(row["dev"]) else f"{row['dev'] / tol:.3g}"
            flagged.append(
                f"- {family} {cell(quantity)}: {fmt_dev(row['dev'])} = {ratio} x tolerance "
                f"{fmt_tol(tol)} at {cell(row['record'])} (ours {num(row['ours'])}, "
                f"metafor {num(row['ref'])})"
            )
    lines += ["", f"Within {NEAR:g}x of the test tolerance (marked **!** above):", ""]
    lines += flagged or ["- none"]
    if c.errors:
        lines += ["", "Records that could not be compared (exception while computing ours):", ""]
        lines += [f"- {fam} {cell(rid)}: {cell(msg)}" for fam, rid, msg in c.errors]
    return "\n".join(lines) + "\n"


def header() -> str:
    versions = {}
    for name in ("escalc.json", "rma.json", "diagnostics.json", "metareg.json"):
        meta = conftest.fixture(name)["meta"]
        versions.setdefault(
            (meta["metafor_version"], meta.get("r_version", "?"), meta.get("lme4_version")), []
        ).append(name)
    ref = "; ".join(
        f"metafor {mf}" + (f" with lme4 {lme4}" if lme4 else "") + f", {r} ({', '.join(files)})"
        for (mf, r, lme4), files in sorted(versions.items(), key=lambda kv: kv[1])
    )
    return "\n".join(
        [
            "# Deviations of ketameta from metafor",
            "",
            f"Generated by `{COMMAND}` (from the repository root); do not edit by hand.",
            f"Reference values: {ref}, from the `meta` blocks of tests/reference/fixtures/*.json.",
            "",
            "Per fixture family and quantity: the largest |ours - ref| / max(1, |ref|) over all",
            "records (and studies / coefficients / levels, in brackets), the measure of",
            "`conftest.close`, with ketameta's values computed as the named test file computes",
            "them. A null reference counts 0 if ours is NaN, inf otherwise. A quantity checked at",
            "two tolerances (closed-form vs iterative fits) has one row per tolerance.",
            "`i2 (/100)`: I2 compared as a proportion, as that test does; `i2 (%)` / `r2 (%)`:",
            "compared on the percent scale, as that test does (a percent-scale deviation is",
            "up to 100x the proportion-scale one). diagnostics.json `metareg` and `subgroup` are",
            "read by no test (fits at metafor's default control, threshold 1e-5).",
            "escalc.json `PR` records are skipped, as in the test (ketameta pools proportions",
            "as PLO).",
            "",
        ]
    )


def main() -> int:
    c = Collector()
    for step in (escalc, rma_fits, diagnostics, binary, diagnostics_untested, metareg):
        step(c)
    table = render(c)
    print(table, end="")
    OUT.write_text(header() + "\n" + table)
    print(f"\nwritten to {OUT.relative_to(REPO)}")
    return 1 if c.errors else 0


if __name__ == "__main__":
    sys.exit(main())
