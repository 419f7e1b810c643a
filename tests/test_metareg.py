"""Meta-regression and subgroup analysis against metafor 3.8.1 (fixtures/metareg.json).

Every meta-regression record (17 moderator models over bcg log OR, bangertdrowns2004 SMD,
debruin2009 logit proportions and the ketamine 24 h log OR; FE + 7 tau2 estimators x z/knha) is
compared field by field: term names, coefficients, se, z/t, p, CI, QM (df, p), QE (df, p), tau2
and its Q-profile CI, I2, H2 and R2. Closed-form quantities (FE, DL, HE, SJ fits; QE always) are
checked at 1e-8 relative to max(1, |reference|), iterative ones (REML, ML, PM, EB, every Q-profile
bound) at 1e-5. Subgroup records check the per-level fits and the three tests of subgroup
differences; edge cases check the flagged, non-raising failures.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import close, fixture

from ketameta.metareg import design_matrix, meta_regression, subgroup_analysis

MR = fixture("metareg.json")
RECORDS = MR["metareg"]
SUBGROUPS = MR["subgroup"]
EDGES = {e["id"]: e for e in MR["edge_cases"]}
CLOSED_FORM = {"FE", "DL", "HE", "SJ"}
TOL_CLOSED, TOL_ITER = 1e-8, 1e-5

VECTOR_FIELDS = {
    "coef": "coef",
    "se": "se",
    "zval": "stat",
    "pval": "pval",
    "ci_low": "ci_low",
    "ci_high": "ci_high",
}
SCALAR_FIELDS = {
    "qm": "qm",
    "qm_p": "qm_p",
    "qe": "qe",
    "qe_p": "qe_p",
    "tau2": "tau2",
    "i2": "i2",
    "h2": "h2",
    "r2": "r2",
    "tau2_ci_low": "tau2_ci_low",
    "tau2_ci_high": "tau2_ci_high",
}
LEVEL_FIELDS = {
    "estimate": "estimate",
    "se": "se",
    "zval": "stat",
    "pval": "pval",
    "ci_low": "ci_low",
    "ci_high": "ci_high",
    "tau2": "tau2",
    "i2": "i2",
    "h2": "h2",
    "q": "q",
    "q_p": "q_p",
    "tau2_ci_low": "tau2_ci_low",
    "tau2_ci_high": "tau2_ci_high",
}


def _tol(method: str, field: str) -> float:
    # QE uses fixed-effect weights only; every Q-profile bound is a root-finding result
    if field in ("qe", "qe_p", "q", "q_p"):
        return TOL_CLOSED
    if field.startswith("tau2_ci"):
        return TOL_ITER
    return TOL_CLOSED if method in CLOSED_FORM else TOL_ITER


def _arr(values) -> np.ndarray:
    return np.array([np.nan if x is None else x for x in values], dtype=float)


def _covariate(values) -> np.ndarray | list:
    # strings stay strings (dummy coded); numbers with nulls become float with NaN
    if any(isinstance(x, str) for x in values):
        return list(values)
    return _arr(values)


def _data(input_id: str, columns, rows=None, add=None):
    inp = MR["inputs"][input_id]
    yi, vi = _arr(inp["yi"]), _arr(inp["vi"])
    mods = pd.DataFrame(
        {c: _covariate(inp["covariates"][c]) for c in columns if c in inp["covariates"]}
    )
    for name, value in (add or {}).items():
        mods[name] = [value] * len(yi)
    mods = mods[list(columns)]
    if rows is not None:
        idx = [r - 1 for r in rows]
        yi, vi, mods = yi[idx], vi[idx], mods.iloc[idx].reset_index(drop=True)
    return yi, vi, mods


def _ids(records) -> list[str]:
    return [r["id"].replace(" ", "") for r in records]


# --------------------------------------------------------------------------------------------
# Meta-regression
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rec", RECORDS, ids=_ids(RECORDS))
def test_metareg_matches_metafor(rec):
    yi, vi, mods = _data(rec["input"], rec["columns"])
    res = meta_regression(
        yi, vi, mods, method=rec["method"], test=rec["test"], intercept=rec["intercept"]
    )
    if not rec["ok"]:
        assert not res.converged and res.note, rec["error"]
        return
    assert res.converged, res.note
    assert (res.k, res.p) == (rec["k"], rec["p"])
    assert list(res.terms) == rec["coef_names"]
    assert [b + 1 for b in res.qm_btt] == rec["btt"]
    assert res.qm_df1 == rec["qm_df1"] and res.qe_df == rec["qe_df"]
    if rec["test"] == "knha":
        assert res.df == rec["df"] and res.qm_df2 == rec["qm_df2"]
    else:
        assert math.isinf(res.df) and rec["qm_df2"] is None and math.isnan(res.qm_df2)
    bad = {}
    for ref_key, our_key in VECTOR_FIELDS.items():
        tol = _tol(rec["method"], ref_key)
        for i, (ours, ref) in enumerate(zip(getattr(res, our_key), rec[ref_key], strict=True)):
            if not close(ours, ref, tol):
                bad[f"{ref_key}[{i}]"] = (ours, ref)
    for ref_key, our_key in SCALAR_FIELDS.items():
        if not close(getattr(res, our_key), rec.get(ref_key), _tol(rec["method"], ref_key)):
            bad[ref_key] = (getattr(res, our_key), rec.get(ref_key))
    assert not bad, bad


def test_fixture_grid_is_complete():
    combos = {(r["input"], r["mods"], r["method"], r["test"]) for r in RECORDS}
    models = {(r["input"], r["mods"]) for r in RECORDS}
    assert len(combos) == len(RECORDS) == len(models) * 8 * 2
    assert {r["method"] for r in RECORDS} == {"FE", "DL", "REML", "PM", "ML", "HE", "SJ", "EB"}
    assert {r["input"] for r in RECORDS} == {
        "bcg:OR",
        "bangert:SMD",
        "debruin:PLO",
        "ketamine_24h:OR",
    }
    assert all(r["ok"] and (r["method"] == "FE" or r["confint_ok"]) for r in RECORDS)


@pytest.mark.parametrize(
    "design",
    MR["designs"],
    ids=[f"{d['input']}|{d['mods']}".replace(" ", "") for d in MR["designs"]],
)
def test_dummy_coding_matches_metafor(design):
    _, _, mods = _data(design["input"], design["columns"])
    X, names, problems = design_matrix(mods, intercept=design["intercept"])
    assert not problems
    assert list(names) == design["coef_names"]
    kept = np.all(np.isfinite(X), axis=1)
    assert (np.flatnonzero(kept) + 1).tolist() == design["study_index"]
    np.testing.assert_array_equal(X[kept], np.array(design["rows"], dtype=float))


def test_categorical_dtype_sets_the_reference_level():
    # category order, not sorted order, decides the reference (R's factor levels)
    mods = pd.DataFrame(
        {
            "alloc": pd.Categorical(
                ["random", "systematic", "alternate"],
                categories=["systematic", "random", "alternate"],
            )
        }
    )
    _, names, _ = design_matrix(mods)
    assert names == ("intrcpt", "allocrandom", "allocalternate")
    _, names, _ = design_matrix(pd.DataFrame({"flag": [True, False, True]}))
    assert names == ("intrcpt", "flagTRUE")


def test_ketamine_effect_sizes_match_the_diagnostics_fixture():
    ref = fixture("diagnostics.json")["inputs"]["ketamine_24h:OR"]
    ours = MR["inputs"]["ketamine_24h:OR"]
    assert ours["study"] == ref["study"]
    assert all(
        close(a, b, TOL_CLOSED)
        for a, b in zip(ours["yi"] + ours["vi"], ref["yi"] + ref["vi"], strict=True)
    )


def test_to_frame_is_tidy():
    rec = next(
        r
        for r in RECORDS
        if r["input"] == "bcg:OR"
        and r["mods"] == "~ablat + year"
        and r["method"] == "REML"
        and r["test"] == "knha"
    )
    yi, vi, mods = _data(rec["input"], rec["columns"])
    frame = meta_regression(yi, vi, mods, "REML", "knha").to_frame(analysis="bcg")
    assert frame["term"].tolist() == rec["coef_names"]
    assert (frame["analysis"] == "bcg").all() and (frame["moderator"] == "ablat + year").all()
    assert close(frame["qm"].iloc[0], rec["qm"], TOL_ITER) and (frame["qm_df2"] == 10).all()
    assert {"estimate", "qe_p", "tau2_ci_high", "r2", "converged", "note"} <= set(frame.columns)


# --------------------------------------------------------------------------------------------
# Subgroup analysis
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rec", SUBGROUPS, ids=_ids(SUBGROUPS))
def test_subgroup_matches_metafor(rec):
    yi, vi, mods = _data(rec["input"], [rec["by"]])
    res = subgroup_analysis(yi, vi, mods[rec["by"]], method=rec["method"], test=rec["test"])
    assert res.converged, res.note
    assert list(res.levels.names) == rec["levels"]
    bad = {}
    for fit_ref in rec["fits"]:
        assert fit_ref["ok"], fit_ref["error"]
        ours = res.levels[fit_ref["level"]]
        assert ours.k == fit_ref["k"]
        if fit_ref["df"] is not None:
            assert ours.df == fit_ref["df"]
        else:
            assert math.isinf(ours.df)  # z test (metafor switches a k = 1 level to z)
        for ref_key, our_key in LEVEL_FIELDS.items():
            if not close(
                getattr(ours, our_key), fit_ref.get(ref_key), _tol(rec["method"], ref_key)
            ):
                bad[f"{fit_ref['level']}.{ref_key}"] = (
                    getattr(ours, our_key),
                    fit_ref.get(ref_key),
                )
    ref = rec["tests"]
    sep = res.tests["separate"]
    # RevMan's Q-between is QM of the FE model of the level estimates (= QE of the FE mean)
    assert close(ref["separate"]["qm"], ref["separate"]["check_qe"], TOL_CLOSED)
    checks = {
        "separate.stat": (sep.stat, ref["separate"]["qm"]),
        "separate.p": (sep.pval, ref["separate"]["qm_p"]),
        "fixed.stat": (res.tests["fixed"].stat, ref["fixed"]["qm"]),
        "fixed.p": (res.tests["fixed"].pval, ref["fixed"]["qm_p"]),
    }
    for key, (ours, theirs) in checks.items():
        # the separate test inherits the precision of the per-level (possibly iterative) fits
        tol = _tol(rec["method"], "qm") if key.startswith("separate") else TOL_CLOSED
        if not close(ours, theirs, tol):
            bad[key] = (ours, theirs)
    common, cref = res.tests["common_tau2"], ref["common_tau2"]
    for ours, theirs, field in [
        (common.stat, cref["qm"], "qm"),
        (common.pval, cref["qm_p"], "qm_p"),
        (common.tau2, cref["tau2"], "tau2"),
    ]:
        if not close(ours, theirs, _tol(rec["method"], field)):
            bad[f"common_tau2.{field}"] = (ours, theirs)
    assert not bad, bad
    assert sep.df1 == ref["separate"]["qm_df1"] == len(rec["levels"]) - 1
    assert res.tests["fixed"].df1 == ref["fixed"]["qm_df1"] and res.tests["fixed"].dist == "chisq"
    assert common.df1 == cref["qm_df1"]
    if rec["test"] == "knha":
        assert common.dist == "F" and common.df2 == cref["qm_df2"]
    else:
        assert common.dist == "chisq" and cref["qm_df2"] is None


def test_subgroup_frames():
    rec = SUBGROUPS[0]
    yi, vi, mods = _data(rec["input"], [rec["by"]])
    res = subgroup_analysis(yi, vi, mods[rec["by"]], method=rec["method"], test=rec["test"])
    assert res.levels.to_frame()["subgroup"].tolist() == rec["levels"]
    assert res.tests.to_frame()["test"].tolist() == ["separate", "fixed", "common_tau2"]
    frame = res.to_frame()
    assert (frame["by"] == rec["by"]).all() and "common_tau2_p" in frame.columns


# --------------------------------------------------------------------------------------------
# Edge cases
# --------------------------------------------------------------------------------------------


def _edge_fit(e):
    yi, vi, mods = _data(e["input"], e["columns"], rows=e["rows"], add=e["add"])
    return meta_regression(
        yi, vi, mods, method=e["method"], test=e["test"], intercept=e["intercept"]
    )


@pytest.mark.parametrize(
    ("edge_id", "metafor_says", "our_note"),
    [
        ("saturated_REML", "larger than the number of observations", "k <= p"),
        ("saturated_FE", None, "k <= p"),  # metafor fits it with QE = 0 on 0 df; we flag it
        ("too_few_REML", "larger than the number of observations", "k <= p"),
        ("constant_moderator", "Redundant predictors dropped", "is constant"),
        ("single_level_factor", "2 or more levels", "single level"),
    ],
)
def test_degenerate_models_are_flagged_not_raised(edge_id, metafor_says, our_note):
    e = EDGES[edge_id]
    if metafor_says is not None:
        assert metafor_says in (e["error"] or "") + " ".join(e["warnings"])
    res = _edge_fit(e)
    assert not res.converged
    assert our_note in res.note
    assert all(math.isnan(c) for c in res.coef) and math.isnan(res.qm)
    assert len(res.to_frame()) == max(len(res.terms), 1)


def test_no_intercept_continuous_moderator():
    e = EDGES["no_intercept_continuous"]
    res = _edge_fit(e)
    assert res.converged and list(res.terms) == e["coef_names"] and math.isnan(res.r2)
    for ref_key, our_key in {**VECTOR_FIELDS, "qm": "qm", "qm_p": "qm_p"}.items():
        ours, ref = getattr(res, our_key), e[ref_key]
        ours, ref = (ours, ref) if isinstance(ref, list) else ([ours], [ref])
        assert all(close(a, b, TOL_CLOSED) for a, b in zip(ours, ref, strict=True)), ref_key
    # metafor 3.8.1 computes QE from mean-centred yi here; we report the residual Q (from yi)
    assert close(res.qe, e["qe_uncentred"], TOL_CLOSED)
    assert not close(e["qe"], e["qe_uncentred"], 1e-3)


def test_single_level_subgroup_has_no_test():
    e = EDGES["single_level_factor"]
    assert not e["ok"]
    yi, vi, mods = _data(e["input"], e["columns"], add=e["add"])
    res = subgroup_analysis(yi, vi, mods["grp"])
    assert not res.converged and "no test of subgroup differences" in res.note
    assert len(res.levels) == 1 and res.levels["a"].k == len(yi)
    assert all(not t.converged and math.isnan(t.stat) for t in res.tests)


def test_single_study_level_is_kept():
    rec = next(
        r
        for r in SUBGROUPS
        if r["input"] == "ketamine_24h:OR" and r["test"] == "knha" and r["by"] == "comparator_type"
    )
    one = next(f for f in rec["fits"] if f["k"] == 1)
    assert one["test_used"] == "z" and one["tau2"] == 0 and any("k=1" in w for w in one["warnings"])
    yi, vi, mods = _data(rec["input"], [rec["by"]])
    fit = subgroup_analysis(yi, vi, mods[rec["by"]], method=rec["method"], test="knha").levels[
        one["level"]
    ]
    assert fit.k == 1 and fit.tau2 == 0.0 and fit.converged and math.isinf(fit.df)


def test_missing_covariate_and_empty_input_do_not_raise():
    res = meta_regression(
        [0.1, 0.2, np.nan], [0.1, 0.1, 0.1], pd.DataFrame({"x": [1.0, np.nan, 2.0]})
    )
    assert not res.converged and res.k == 1 and "omitted" in res.note and "k <= p" in res.note
    res = meta_regression([], [], pd.DataFrame({"x": []}))
    assert not res.converged and res.k == 0


def test_subgroups_of_single_studies():
    # Every level has k = 1: the separate test is Cochran's Q of the studies (metafor's FE fit in
    # rma.json); the moderator models are saturated (k = p), which metafor refuses for REML.
    ref = next(
        f
        for f in fixture("rma.json")["fits"]
        if f["input"] == "ketamine_24h:OR" and f["method"] == "FE" and f["test"] == "z"
    )
    assert "larger than the number of observations" in EDGES["saturated_REML"]["error"]
    inp = MR["inputs"]["ketamine_24h:OR"]
    res = subgroup_analysis(_arr(inp["yi"]), _arr(inp["vi"]), pd.Series(inp["study"], name="study"))
    sep = res.tests["separate"]
    assert sep.converged and sep.df1 == len(inp["study"]) - 1
    assert close(sep.stat, ref["q"], TOL_CLOSED) and close(sep.pval, ref["q_p"], TOL_CLOSED)
    assert all(fit.k == 1 and fit.tau2 == 0.0 for _, fit in res.levels)
    for name in ("fixed", "common_tau2"):
        assert not res.tests[name].converged and "k <= p" in res.tests[name].note
    assert not res.converged and "fixed, common_tau2" in res.note
