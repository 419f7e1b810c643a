"""The frequentist engine against metafor 3.8.1 (tests/reference/fixtures/rma.json).

Every fit in the fixture (13 inputs x FE + 7 tau2 estimators x z/knha) is compared field by field:
estimate, se, test statistic, p, CI, prediction interval, tau2 and its Q-profile CI, I2 (and its
CI), H2, Q and its p-value.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import close, fixture

from ketameta.frequentist import estimate_tau2, q_profile_ci, rma

RMA = fixture("rma.json")
FITS = RMA["fits"]
FIELDS = {
    "estimate": "estimate",
    "se": "se",
    "zval": "stat",
    "pval": "pval",
    "ci_low": "ci_low",
    "ci_high": "ci_high",
    "pi_low": "pi_low",
    "pi_high": "pi_high",
    "tau2": "tau2",
    "i2": "i2",
    "h2": "h2",
    "q": "q",
    "q_p": "q_p",
    "tau2_ci_low": "tau2_ci_low",
    "tau2_ci_high": "tau2_ci_high",
    "i2_ci_low": "i2_ci_low",
    "i2_ci_high": "i2_ci_high",
}


def _yi_vi(input_id: str):
    inp = RMA["inputs"][input_id]
    yi = np.array([np.nan if y is None else y for y in inp["yi"]])
    vi = np.array([np.nan if v is None else v for v in inp["vi"]])
    return yi, vi


@pytest.mark.parametrize("fit", FITS, ids=[f"{f['input']}-{f['method']}-{f['test']}" for f in FITS])
def test_rma_matches_metafor(fit):
    assert fit["converged"], fit["error"]
    yi, vi = _yi_vi(fit["input"])
    res = rma(yi, vi, method=fit["method"], test=fit["test"]).to_dict()
    assert res["k"] == fit["k"]
    assert res["converged"]
    bad = {}
    for ref_key, our_key in FIELDS.items():
        if fit["method"] == "FE" and ref_key.startswith(("tau2_ci", "i2_ci")):
            continue
        if not close(res[our_key], fit.get(ref_key)):
            bad[ref_key] = (res[our_key], fit.get(ref_key))
    assert not bad, bad
    if fit["test"] == "knha":
        assert res["df"] == fit["df"]


def test_fixture_grid_is_complete():
    combos = {(f["input"], f["method"], f["test"]) for f in FITS}
    methods = {"FE", "DL", "REML", "PM", "ML", "HE", "SJ", "EB"}
    assert {m for _, m, _ in combos} == methods
    assert len(combos) == len(RMA["inputs"]) * len(methods) * 2
    assert {"bcg:OR", "normand:SMD", "pritz:PLO", "ketamine_24h:OR"} <= set(RMA["inputs"])


def test_truncation_at_zero_when_q_below_df():
    # Identical effects: Q = 0 < k - 1, every estimator truncates (DL would be negative otherwise).
    y, v = np.zeros(4), np.array([0.1, 0.2, 0.3, 0.4])
    for method in ("DL", "REML", "PM", "ML", "HE", "EB"):
        tau2, ok, _ = estimate_tau2(y, v, method=method)
        assert ok and tau2 == 0.0, method
    res = rma(y, v, method="DL")
    assert res.i2 == 0.0 and res.h2 == 1.0
    lo, hi, note = q_profile_ci(y, v, 0.0)
    assert (lo, hi) == (0.0, 0.0) and "null set" in note


def test_single_study_is_reported_not_pooled():
    res = rma([0.5], [0.04], method="REML")
    assert res.k == 1 and res.estimate == 0.5 and res.se == pytest.approx(0.2)
    # as metafor: tau2 = 0 and Q = 0 (p = 1), no tau2 CI, prediction interval = CI
    assert (res.tau2, res.q, res.q_p, res.i2, res.h2) == (0.0, 0.0, 1.0, 0.0, 1.0)
    assert math.isnan(res.tau2_ci_low) and (res.pi_low, res.pi_high) == (res.ci_low, res.ci_high)
    assert "k = 1" in res.note


def test_empty_input_is_flagged_not_raised():
    res = rma([], [], method="REML")
    assert res.k == 0 and not res.converged and res.note == "no studies"


def test_unknown_method_is_rejected():
    with pytest.raises(ValueError, match="unknown method"):
        rma([0.1, 0.2], [0.1, 0.1], method="XYZ")


def test_fast_quantiles_are_scipy_stats():
    """rma's quantiles and tail areas (scipy.special, no per-call argument checks) are the very
    numbers scipy.stats gives, bit for bit."""
    from scipy import stats

    from ketameta import frequentist as f

    for q in (0.005, 0.025, 0.05, 0.2):
        assert f._NORM.isf(q) == stats.norm.isf(q)
        for df in (1, 2, 3, 12.0, 40):
            assert f._T(df).isf(q) == stats.t.isf(q, df)
            assert f._chi2_isf(q, df) == stats.chi2.isf(q, df)
            assert f._chi2_ppf(q, df) == stats.chi2.ppf(q, df)
    for x in (0.0, 0.1, 1.5, 4.0, 30.0):
        assert f._NORM.sf(x) == stats.norm.sf(x)
        for df in (1, 3, 12.0):
            assert f._T(df).sf(x) == stats.t.sf(x, df)
            assert f._chi2_sf(x, df) == stats.chi2.sf(x, df)


def test_q_profile_cache_returns_what_a_fresh_search_finds():
    from ketameta import frequentist as f

    y, v = [0.1, 0.9, -0.3, 1.4, 0.5], [0.05, 0.2, 0.1, 0.3, 0.08]
    f._QP_CACHE.clear()
    first = f.q_profile_ci(y, v, 0.2)
    assert len(f._QP_CACHE) == 1
    assert f.q_profile_ci(y, v, 0.3) == first  # same search range: served from the cache
    f._QP_CACHE.clear()
    assert f.q_profile_ci(y, v, 0.3) == first
    # another level, or data, is another search
    assert f.q_profile_ci(y, v, 0.3, level=0.9) != first
    assert f.q_profile_ci(y[:4], v[:4], 0.3) != first
