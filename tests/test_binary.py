"""Mantel-Haenszel, Peto and binomial-normal GLMMs against metafor 3.8.1 / lme4 1.1-31
(tests/reference/fixtures/diagnostics.json: rma_mh, rma_peto, rma_glmm).

MH and Peto are closed form and are checked at ``TOL["closed_form"]``. The GLMMs are checked at
1e-4: lme4 stops its Nelder-Mead search with an absolute deviance tolerance of 1e-5, so its
estimates sit slightly off the maximum of the 7-point AGQ likelihood (our maximum has a deviance
lower by 2e-9 to 5e-9 than metafor's estimates; tau2 differs by up to 2e-5 on a flat surface).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import TOL, close, fixture

from ketameta.binary import (
    FixedBinaryResult,
    GLMMResult,
    _gh_rule,
    _study_loglik,
    glmm_or_umfs,
    glmm_plo,
    mantel_haenszel,
    peto,
)

DIAG = fixture("diagnostics.json")
DATA = DIAG["datasets"]
MH = DIAG["rma_mh"]
PETO = DIAG["rma_peto"]
GLMM = DIAG["rma_glmm"]
BINARY_SETS = ("bcg", "zeros", "ketamine_24h", "ketamine_d28")
GLMM_TOL = 1e-4

# fixture key -> our key
COMMON = {
    "k": "k",
    "estimate": "estimate",
    "se": "se",
    "zval": "stat",
    "pval": "pval",
    "ci_low": "ci_low",
    "ci_high": "ci_high",
    "tau2": "tau2",
    "i2": "i2",
    "h2": "h2",
}
FIXED = {**COMMON, "q": "q", "q_p": "q_p", "k_yi": "k_yi", "k_pos": "k_pos"}
MH_OR = {
    "cmh": "cmh",
    "cmh_p": "cmh_p",
    "breslow_day": "breslow_day",
    "breslow_day_p": "breslow_day_p",
    "tarone": "tarone",
    "tarone_p": "tarone_p",
}
GLMM_FIELDS = {
    **COMMON,
    "pi_low": "pi_low",
    "pi_high": "pi_high",
    "qe_wald": "q",
    "qe_wald_p": "q_p",
    "qe_lrt": "q_lrt",
    "qe_lrt_p": "q_lrt_p",
    "loglik": "loglik",
    "deviance": "deviance",
}


def _counts(name: str):
    d = DATA[name]
    return d["ai"], d["n1i"], d["ci"], d["n2i"]


def _mismatches(res: dict, rec: dict, keys: dict, tol: float) -> dict:
    bad = {}
    for ref_key, our_key in keys.items():
        ref, ours = rec[ref_key], res[our_key]
        if ref_key == "i2":  # a percentage: compared as a proportion
            ref, ours = ref / 100, ours / 100
        if not close(float(ours), ref, tol):
            bad[ref_key] = (ours, rec[ref_key])
    return bad


@pytest.mark.parametrize("rec", MH, ids=[f"{r['dataset']}-{r['measure']}" for r in MH])
def test_mantel_haenszel_matches_metafor(rec):
    assert rec["ok"], rec["error"]
    res = mantel_haenszel(*_counts(rec["dataset"]), measure=rec["measure"]).to_dict()
    assert res["converged"] and res["method"] == "MH"
    keys = {**FIXED, **MH_OR} if rec["measure"] == "OR" else FIXED
    if rec["measure"] != "OR":
        keys = {k: v for k, v in keys.items() if k != "k_pos"}  # metafor: NA
        assert all(math.isnan(res[k]) for k in MH_OR.values())
    bad = _mismatches(res, rec, keys, TOL["closed_form"])
    assert not bad, bad
    assert res["q_df"] == rec["k_yi"] - 1


@pytest.mark.parametrize("rec", PETO, ids=[r["dataset"] for r in PETO])
def test_peto_matches_metafor(rec):
    assert rec["ok"], rec["error"]
    res = peto(*_counts(rec["dataset"])).to_dict()
    assert res["converged"] and res["measure"] == "PETO"
    bad = _mismatches(res, rec, FIXED, TOL["closed_form"])
    assert not bad, bad


def _fit_glmm(rec: dict) -> GLMMResult:
    d = DATA[rec["dataset"]]
    if rec["measure"] == "PLO":
        if rec["arm"] == "treatment":
            return glmm_plo(d["ai"], d["n1i"])
        return glmm_plo(d["xi"], d["ni"])
    return glmm_or_umfs(*_counts(rec["dataset"]))


@pytest.mark.parametrize(
    "rec", GLMM, ids=[f"{r['dataset']}-{r['measure']}-{r['arm'] or 'all'}" for r in GLMM]
)
def test_glmm_matches_metafor(rec):
    assert rec["ok"], rec["error"]
    assert rec["method"] == "ML" and rec["model"] == "UM.FS"
    res = _fit_glmm(rec)
    assert res.converged, res.note
    assert res.nagq == 7 and res.glmm == ("PLO" if rec["measure"] == "PLO" else "UM.FS")
    bad = _mismatches(res.to_dict(), rec, GLMM_FIELDS, GLMM_TOL)
    assert not bad, bad
    # metafor's log-likelihood is the saturated one minus half lme4's conditional deviance;
    # the marginal one is lower unless tau2 = 0 (then the two coincide)
    if res.tau2 > 0:
        assert res.loglik_marginal < res.loglik
    else:
        assert res.loglik_marginal == pytest.approx(res.loglik, rel=1e-12)


def test_fixture_grid_is_complete():
    assert not DIAG["failures"]
    assert {(r["dataset"], r["measure"]) for r in MH} == {
        (d, m) for d in BINARY_SETS for m in ("OR", "RR", "RD")
    }
    assert len(MH) == 12
    assert sorted(r["dataset"] for r in PETO) == sorted(BINARY_SETS)
    assert {(r["dataset"], r["measure"], r["arm"]) for r in GLMM} == {
        ("pritz", "PLO", None),
        ("ketamine_24h", "PLO", "treatment"),
        ("bcg", "OR", None),
        ("ketamine_24h", "OR", None),
    }
    assert all(r["ok"] for r in MH + PETO + GLMM)


def _without(name: str, drop: int):
    return [np.delete(np.asarray(x, float), drop) for x in _counts(name)]


def test_double_zero_study_as_metafor():
    # zeros: Yucel 2004 has 0/118 vs 0/105. It counts in k but not in k_yi (Q df); it adds
    # nothing to the MH OR/RR or Peto's OR, but its n1 n2 / N weight enters the MH RD.
    idx = DATA["zeros"]["study"].index("Yucel 2004")
    full, without = _counts("zeros"), _without("zeros", idx)
    for measure in ("OR", "RR"):
        a, b = mantel_haenszel(*full, measure=measure), mantel_haenszel(*without, measure=measure)
        assert (a.k, a.k_yi, b.k, b.k_yi) == (18, 17, 17, 17)
        for key in ("estimate", "se", "q", "q_p", "cmh", "breslow_day", "tarone"):
            va, vb = getattr(a, key), getattr(b, key)
            assert (math.isnan(va) and math.isnan(vb)) or va == pytest.approx(vb, rel=1e-12)
        assert "no contribution" in a.note
    a, b = mantel_haenszel(*full, measure="RD"), mantel_haenszel(*without, measure="RD")
    assert a.k == 18 and a.k_yi == 17
    assert abs(a.estimate - b.estimate) > 1e-4  # kept in the weights
    pa, pb = peto(*full), peto(*without)
    assert pa.estimate == pytest.approx(pb.estimate, rel=1e-12) and pa.k_pos == pb.k_pos == 17
    # UM.FS drops it (metafor's drop00 = TRUE): same fit as without the study
    ai, n1i, ci, n2i = (list(x) + [0] for x in _counts("ketamine_24h"))
    n1i[-1], n2i[-1] = 20, 20
    g = glmm_or_umfs(ai, n1i, ci, n2i)
    ref = next(r for r in GLMM if r["dataset"] == "ketamine_24h" and r["measure"] == "OR")
    assert g.k == len(ai) - 1 and "dropped" in g.note
    assert close(g.estimate, ref["estimate"], GLMM_TOL)


def test_all_zero_control_arms():
    ai, n1i, ci, n2i = [3, 5, 2], [20, 30, 25], [0, 0, 0], [20, 30, 25]
    for measure in ("OR", "RR"):
        res = mantel_haenszel(ai, n1i, ci, n2i, measure=measure)
        assert not res.converged and math.isnan(res.estimate) and math.isnan(res.q)
        assert "undefined" in res.note
    res_or = mantel_haenszel(ai, n1i, ci, n2i, measure="OR")
    assert res_or.cmh > 0 and math.isnan(res_or.breslow_day) and res_or.k_pos == 0
    rd = mantel_haenszel(ai, n1i, ci, n2i, measure="RD")
    assert rd.converged and rd.estimate == pytest.approx(10 / 75)
    pt = peto(ai, n1i, ci, n2i)
    assert pt.converged and pt.estimate > 0 and pt.k_pos == 3
    g = glmm_or_umfs(ai, n1i, ci, n2i)
    assert not g.converged and "not estimable" in g.note


def test_peto_without_any_events_is_flagged():
    res = peto([0, 0], [10, 12], [0, 0], [11, 9])
    assert not res.converged and "cannot be used" in res.note and res.k_yi == 0


def test_glmm_boundary_tau2_zero():
    # identical proportions: tau2 = 0, and the fit is the common-proportion GLM
    res = glmm_plo([10, 20, 30], [50, 100, 150])
    assert res.tau2 == 0.0 and "boundary" in res.note and res.converged
    assert res.estimate == pytest.approx(math.log(0.25), abs=1e-8)
    assert res.se == pytest.approx(1 / math.sqrt(300 * 0.2 * 0.8), rel=1e-6)
    assert res.loglik == pytest.approx(res.loglik_marginal, abs=1e-8)
    assert res.deviance == pytest.approx(res.q_lrt, abs=1e-8)


def test_agq_matches_numerical_integration():
    from scipy.integrate import quad
    from scipy.special import expit

    y = np.array([[3.0, 1.0], [12.0, 7.0]])
    n = np.array([[10.0, 12.0], [20.0, 25.0]])
    off = np.array([[0.2, -1.0], [0.5, -0.4]])
    z = np.array([[0.5, -0.5], [0.5, -0.5]])
    tau = 0.8
    ours = _study_loglik(off, z, y, n, tau, _gh_rule(60))[0]
    for i in range(2):

        def integrand(u, i=i):
            p = expit(off[i] + z[i] * u)
            lik = np.prod(p ** y[i] * (1 - p) ** (n[i] - y[i]))
            return lik * math.exp(-(u**2) / (2 * tau**2)) / math.sqrt(2 * math.pi * tau**2)

        exact = math.log(quad(integrand, -12, 12, epsabs=0, epsrel=1e-13, limit=200)[0])
        assert ours[i] == pytest.approx(exact, abs=1e-10)
    laplace = _study_loglik(off, z, y, n, tau, _gh_rule(1))[0]
    assert np.all(np.abs(laplace - ours) > 1e-6)  # Laplace is an approximation


def test_metafor_uses_seven_point_quadrature():
    # metafor's nAGQ = 7: our 7-point fit is nearer to it than the exactly integrated one
    rec = GLMM[0]
    d = DATA[rec["dataset"]]
    seven, exact = glmm_plo(d["xi"], d["ni"]), glmm_plo(d["xi"], d["ni"], nagq=40)
    for key in ("estimate", "tau2"):
        assert abs(getattr(seven, key) - rec[key]) < abs(getattr(exact, key) - rec[key])


def test_results_share_metaresult_keys():
    keys = {"estimate", "se", "stat", "pval", "ci_low", "ci_high", "k", "q", "q_p"}
    keys |= {"converged", "note", "tau2", "i2", "h2", "q_df", "level", "model", "method"}
    fixed = mantel_haenszel(*_counts("ketamine_d28"))
    assert isinstance(fixed, FixedBinaryResult) and keys <= set(fixed.to_dict())
    frame = peto(*_counts("ketamine_d28")).to_frame()
    assert frame.shape[0] == 1 and keys <= set(frame.columns)
    nan = glmm_plo([3], [10])  # k < 2
    assert isinstance(nan, GLMMResult) and keys <= set(nan.to_dict())
    assert not nan.converged and "k < 2" in nan.note and math.isnan(nan.estimate)
    with pytest.raises(AttributeError):
        fixed.estimate = 0.0  # frozen


def test_level_and_missing_counts():
    a, n1, c, n2 = (list(map(float, x)) for x in _counts("ketamine_d28"))
    res90 = mantel_haenszel(a, n1, c, n2, level=0.90)
    z = 1.6448536269514722
    assert res90.ci_low == pytest.approx(res90.estimate - z * res90.se, rel=1e-12)
    with_na = mantel_haenszel(a + [math.nan], n1 + [10], c + [1], n2 + [10])
    base = mantel_haenszel(a, n1, c, n2)
    assert with_na.k == 3 and with_na.estimate == base.estimate and "missing" in with_na.note


def test_invalid_input_is_rejected():
    with pytest.raises(ValueError, match="unknown measure"):
        mantel_haenszel([1], [10], [1], [10], measure="SMD")
    with pytest.raises(ValueError, match="0 <= events"):
        mantel_haenszel([11], [10], [1], [10])
    with pytest.raises(ValueError, match="equal length"):
        peto([1, 2], [10], [1], [10])
    with pytest.raises(ValueError, match="nagq"):
        glmm_plo([1, 2], [10, 10], nagq=0)
