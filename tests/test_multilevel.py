"""Multilevel / multivariate models against metafor 3.8.1 ``rma.mv`` (fixtures/multilevel.json).

The fixture (tests/reference/make_multilevel_fixtures.R) holds metafor's fits of
dat.konstantopoulos2011 (``~ 1 | district/school`` REML/ML/t, with a moderator, and the
equivalent ``~ school | district`` CS), dat.berkey1998 (``~ outcome | trial`` UN REML/ML/t, CS,
HCS), dat.ishak2007 (AR, HAR, CAR REML/ML) and the ketamine response time course
(multilevel_ketamine.csv); clubSandwich's CR2 + Satterthwaite inference as metafor's
``robust(..., clubSandwich = TRUE)`` reports it; and ``vcalc`` outputs. Every estimate, SE, test
statistic, p-value, CI, variance component, log-likelihood, information criterion and QE is
compared at ``rtol = 1e-5, atol = 1e-6``. The references are optima, not stopping-rule
artefacts: R refitted each model at tight tolerances and kept the best likelihood.

The ketamine time course has 9 effects from 2 studies (daly2018, lii2023) whose timepoints are
22 h or more apart: a CAR model (``~ hours | study_id``) is not identifiable there (the REML
likelihood rises monotonically towards rho = 1, where CAR is a random study intercept), so the
CAR likelihood is checked as a profile at fixed rho and the model fitted is ``~ 1 | study_id``.
"""

from __future__ import annotations

import json
import math
import warnings
from functools import cache

import numpy as np
import pandas as pd
import pytest
from conftest import FIXTURES, fixture

from ketameta.data import Dataset
from ketameta.effects import binary_effects
from ketameta.multilevel import MVResult, rma_mv, robust_cr2, vcalc
from ketameta.timepoints import hours, timecourse_effects

RTOL, ATOL = 1e-5, 1e-6
ML = fixture("multilevel.json")
FITS = ML["fits"]
ROBUST = ML["robust"]
VCALC = ML["vcalc"]
KETAMINE_CSV = FIXTURES / "multilevel_ketamine.csv"


def arr(x) -> np.ndarray:
    """A JSON value as a float array (null -> NaN; scalars as length-1 arrays)."""
    if x is None:
        return np.array([np.nan])
    return np.atleast_1d(np.array(x, dtype=float))


def close(ours, ref, what: str) -> None:
    np.testing.assert_allclose(arr(ours), arr(ref), rtol=RTOL, atol=ATOL, err_msg=what)


def sampling_cov(ds: dict) -> np.ndarray:
    return np.array(ds["V"]) if "V" in ds else np.array(ds["vi"])


@cache
def fit(fid: str) -> MVResult:
    f = FITS[fid]
    ds = ML["datasets"][f["dataset"]]
    X = pd.DataFrame(np.array(f["X"], dtype=float), columns=list(np.atleast_1d(f["coef_names"])))
    return rma_mv(
        ds["yi"],
        sampling_cov(ds),
        X,
        random=f["random"],
        struct=f["struct"],
        data=ds,
        method=f["method"],
        test=f["test"],
    )


# --------------------------------------------------------------------------------------------
# rma.mv
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fid", sorted(FITS))
def test_rma_mv_matches_metafor(fid):
    f, r = FITS[fid], fit(fid)
    assert r.converged, r.note
    assert (r.k, r.p, r.parms, r.qe_df) == (f["k"], f["p"], f["parms"], f["qe_df"])
    pairs = {
        "beta": r.beta,
        "se": r.se,
        "stat": r.zval,
        "pval": r.pval,
        "ci_lb": r.ci_low,
        "ci_ub": r.ci_high,
        "loglik": r.loglik,
        "loglik_ml": r.loglik_ml,
        "loglik_reml": r.loglik_reml,
        "deviance": r.deviance,
        "aic": r.aic,
        "bic": r.bic,
        "aicc": r.aicc,
        "qe": r.qe,
        "qe_p": r.qe_p,
    }
    for key, ours in pairs.items():
        close(ours, f[key], f"{fid}: {key}")
    for key in ("sigma2", "tau2", "rho"):
        ref = f.get(key)
        ours = getattr(r, key)
        if ref is None:
            assert ours.size == 0, f"{fid}: {key} should be absent"
        else:
            close(ours, ref, f"{fid}: {key}")
    if f["test"] == "t":  # metafor's dfs = "residual": k - p for every coefficient
        np.testing.assert_array_equal(r.df, arr(f["ddf"]))
    else:
        assert np.all(np.isnan(r.df)) and np.all(np.isnan(arr(f["ddf"])))


def test_nested_and_cs_parametrisations_agree():
    """~ 1 | district/school and ~ school | district (CS) are one model (Konstantopoulos 2011)."""
    nested, cs = fit("kon_nested_reml"), fit("kon_cs_reml")
    close(cs.tau2, nested.sigma2.sum(), "tau2 = sigma2_district + sigma2_school")
    close(cs.rho, nested.sigma2[0] / nested.sigma2.sum(), "rho = sigma2_district / tau2")
    close(cs.loglik, nested.loglik, "loglik")
    assert nested.sigma2_names == ("district", "district/school")
    assert cs.inner_name == "school" and cs.outer_name == "district"


def test_berkey_coefficient_names_and_levels():
    r = fit("ber_un_reml")
    assert r.coef_names == ("outcomeAL", "outcomePD")
    assert r.inner_levels == ("AL", "PD")  # R's factor() order: the order of tau2
    np.testing.assert_allclose(np.diag(r.G), r.tau2)
    assert r.G[0, 1] == pytest.approx(r.rho[0] * math.sqrt(r.tau2[0] * r.tau2[1]))


def test_row_order_does_not_matter():
    """Shuffling the effects (and V, X, the random-effects variables) leaves the fit unchanged."""
    f = FITS["ber_un_reml"]
    ds = ML["datasets"]["berkey1998"]
    perm = np.random.default_rng(7).permutation(f["k"])
    V = np.array(ds["V"])[np.ix_(perm, perm)]
    X = np.array(f["X"])[perm]
    data = {c: np.asarray(ds[c])[perm] for c in ("trial", "outcome")}
    r = rma_mv(np.asarray(ds["yi"])[perm], V, X, random=f["random"], struct="UN", data=data)
    ref = fit("ber_un_reml")
    np.testing.assert_allclose(r.beta, ref.beta, rtol=1e-7)
    np.testing.assert_allclose(r.tau2, ref.tau2, rtol=1e-6)
    np.testing.assert_allclose(r.rho, ref.rho, rtol=1e-6)


def test_result_frame_and_dict():
    r = fit("kon_nested_year_reml")
    frame = r.to_frame()
    assert list(frame.columns) == [
        "term",
        "estimate",
        "se",
        "stat",
        "df",
        "pval",
        "ci_low",
        "ci_high",
    ]
    assert list(frame["term"]) == list(r.coef_names)
    np.testing.assert_array_equal(frame["estimate"], r.beta)
    d = r.to_dict()
    json.dumps(d)  # JSON-ready
    assert d["sigma2"] == list(r.sigma2) and d["loglik"] == r.loglik
    assert "M" not in d and "yi" not in d


# --------------------------------------------------------------------------------------------
# The ketamine time course
# --------------------------------------------------------------------------------------------


def test_ketamine_csv_effects():
    """The CSV's log ORs are ketameta's, equal metafor's escalc, and hours follow the labels."""
    csv = pd.read_csv(KETAMINE_CSV)
    ds = ML["datasets"]["ketamine"]
    assert set(csv["study_id"]) == {"daly2018", "lii2023"}
    assert (csv.groupby("study_id")["timepoint"].nunique() >= 2).all()
    yi, vi = binary_effects(
        "OR", csv["events_treat"], csv["n_treat"], csv["events_ctrl"], csv["n_ctrl"]
    )
    np.testing.assert_allclose(yi, csv["yi"], rtol=1e-12)
    np.testing.assert_allclose(vi, csv["vi"], rtol=1e-12)
    np.testing.assert_allclose(csv["yi"], ds["escalc_yi"], rtol=1e-10)
    np.testing.assert_allclose(csv["vi"], ds["escalc_vi"], rtol=1e-10)
    np.testing.assert_allclose(csv["yi"], ds["yi"], rtol=1e-12)  # the JSON was made from it
    assert [hours(t) for t in csv["timepoint"]] == list(csv["hours"])


def test_ketamine_car_profile_matches_metafor():
    """CAR at fixed rho (metafor's rho = argument): the likelihood and estimates agree."""
    ds = ML["datasets"]["ketamine"]
    for rec in ML["ketamine_car"]["profile"]:
        r = rma_mv(
            ds["yi"],
            np.array(ds["V"]),
            random="~ hours | study_id",
            struct="CAR",
            rho=rec["rho_fixed"],
            data=ds,
        )
        what = f"CAR rho = {rec['rho_fixed']}"
        assert r.converged and r.parms == rec["parms"] == 2, what
        for key, ours in (("tau2", r.tau2), ("beta", r.beta), ("se", r.se), ("loglik", r.loglik)):
            close(ours, rec[key], f"{what}: {key}")


def test_ketamine_car_not_identifiable():
    """The REML profile rises towards rho = 1; a free CAR fit goes there (metafor stops at 0.5).

    So the CAR model is not identifiable on these data: its supremum is the random study
    intercept (``~ 1 | study_id``), which is what the analysis fits (test above).
    """
    car = ML["ketamine_car"]
    profile = [rec["loglik"] for rec in car["profile"]]
    assert all(b > a for a, b in zip(profile, profile[1:], strict=False))
    assert car["metafor_free"]["rho"][0] == pytest.approx(0.5, abs=1e-4)  # its start value
    ds = ML["datasets"]["ketamine"]
    r = rma_mv(ds["yi"], np.array(ds["V"]), random="~ hours | study_id", struct="CAR", data=ds)
    assert r.rho[0] > 0.999
    assert any("boundary" in n for n in r.notes)
    assert r.loglik > car["metafor_free"]["loglik"] + 4
    close(r.loglik, car["intercept_loglik"], "free CAR = random intercept at its supremum")
    close(r.tau2, FITS["ket_int_reml"]["sigma2"], "tau2 -> sigma2 of ~ 1 | study_id")


def test_timecourse_effects_on_a_small_dataset():
    studies = pd.DataFrame({"study_id": ["s1", "s2"], "author": ["A", "B"], "year": [2020, 2021]})
    rows = []
    for tp, (a, c) in {"d7": (5, 2), "2h": (8, 3), "maintenance": (6, 6)}.items():
        rows += [("s1", "ket", "treatment", tp, 20, a), ("s1", "pbo", "control", tp, 20, c)]
    rows += [("s2", "ket", "treatment", "24h", 10, 4), ("s2", "pbo", "control", "24h", 10, 0)]
    arms = pd.DataFrame(rows, columns=["study_id", "arm_id", "role", "timepoint", "n", "events"])
    arms["outcome"] = "response"
    data = Dataset(studies=studies, arms=arms, studies_path="studies", arms_path="arms")
    out = timecourse_effects(data)
    assert list(out["study_id"]) == ["s1", "s1"]  # s2 has one timepoint; maintenance skipped
    assert list(out["timepoint"]) == ["2h", "d7"] and list(out["hours"]) == [2.0, 168.0]
    yi, vi = binary_effects("OR", [8, 5], [20, 20], [3, 2], [20, 20])
    np.testing.assert_allclose(out["yi"], yi)
    np.testing.assert_allclose(out["vi"], vi)


# --------------------------------------------------------------------------------------------
# CR2 cluster-robust inference
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rid", sorted(ROBUST))
def test_robust_cr2_matches_clubsandwich(rid):
    rec = ROBUST[rid]
    ds = ML["datasets"][FITS[rec["fit"]]["dataset"]]
    rob = robust_cr2(fit(rec["fit"]), ds[rec["cluster"]])
    assert rob.n_clusters == rec["n_clusters"]
    np.testing.assert_allclose(rec["coef_test_df"], rec["df"], rtol=1e-12)  # R: same df
    for key, ours in (
        ("beta", rob.beta),
        ("se", rob.se),
        ("tval", rob.tval),
        ("df", rob.df),
        ("pval", rob.pval),
        ("ci_lb", rob.ci_low),
        ("ci_ub", rob.ci_high),
    ):
        close(ours, rec[key], f"{rid}: {key}")
    np.testing.assert_allclose(rob.vcov, np.array(rec["vcov"]), rtol=RTOL, atol=1e-10)
    assert list(rob.to_frame()["df"]) == list(rob.df)


def test_robust_cr2_rejects_bad_clusters():
    ds = ML["datasets"]["konstantopoulos2011"]
    r = fit("kon_nested_reml")
    with pytest.raises(ValueError, match="not nested"):
        robust_cr2(r, ds["school"])  # school numbers repeat across districts
    with pytest.raises(ValueError, match="at least 2 clusters"):
        robust_cr2(r, ["one"] * r.k)
    with pytest.raises(ValueError, match="cluster has 3 values"):
        robust_cr2(r, ["a", "b", "c"])


# --------------------------------------------------------------------------------------------
# vcalc
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("vid", sorted(VCALC))
def test_vcalc_matches_metafor(vid):
    rec = VCALC[vid]
    inp = rec["inputs"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        V = vcalc(
            inp["vi"],
            inp["cluster"],
            time=inp.get("time1"),
            phi=rec.get("phi"),
            obs=inp.get("obs"),
            rho=rec.get("rho"),
            type=inp.get("type"),
        )
    ref = np.array(rec["V"])
    np.testing.assert_allclose(V, ref, rtol=1e-12, atol=1e-14 * np.abs(ref).max())
    # metafor warns per cluster whose block is not positive definite; so do we, same clusters
    ours = [str(w.message).split("'")[1] for w in caught]
    theirs = [m.split("cluster ")[1].rstrip(".") for m in rec["warnings"]]
    assert ours == theirs


def test_vcalc_blocks_and_errors():
    V = vcalc([1.0, 4.0, 9.0], ["a", "a", "b"], time=[0.0, 2.0, 0.0], phi=0.5)
    # hand computed: corr 0.5^2 within cluster a, nothing across clusters
    np.testing.assert_allclose(V, [[1.0, 0.5, 0.0], [0.5, 4.0, 0.0], [0.0, 0.0, 9.0]])
    with pytest.raises(ValueError, match="phi is needed"):
        vcalc([1, 1], [1, 1], time=[0, 1])
    with pytest.raises(ValueError, match="rho is needed"):
        vcalc([1, 1], [1, 1], obs=[1, 2])
    with pytest.raises(ValueError, match="rho_obs, rho_type"):
        vcalc([1, 1], [1, 1], obs=[1, 2], type=[1, 1], rho=0.5)
    with pytest.raises(ValueError, match="phi must be in"):
        vcalc([1, 1], [1, 1], time=[0, 1], phi=1.5)
    with pytest.raises(ValueError, match="cluster has 3 values"):
        vcalc([1, 1], [1, 1, 2])


# --------------------------------------------------------------------------------------------
# Behaviour
# --------------------------------------------------------------------------------------------

KON = ML["datasets"]["konstantopoulos2011"]


def test_input_errors():
    yi, vi = KON["yi"], KON["vi"]
    with pytest.raises(ValueError, match="V has 55 sampling variances, but yi has 56"):
        rma_mv(yi, vi[:-1])
    with pytest.raises(ValueError, match="X must have 56 rows"):
        rma_mv(yi, vi, np.ones((55, 1)))
    with pytest.raises(ValueError, match=r"56 x 56 matrix"):
        rma_mv(yi, np.eye(3))
    with pytest.raises(ValueError, match="unknown struct 'XYZ'"):
        rma_mv(yi, vi, random="~ school | district", struct="XYZ", data=KON)
    with pytest.raises(ValueError, match="unknown method"):
        rma_mv(yi, vi, method="DL")
    with pytest.raises(ValueError, match="unknown test"):
        rma_mv(yi, vi, test="knha")
    with pytest.raises(ValueError, match="'region' is not in data"):
        rma_mv(yi, vi, random="~ 1 | region", data=KON)
    with pytest.raises(ValueError, match="cannot parse"):
        rma_mv(yi, vi, random="1 | district", data=KON)
    with pytest.raises(ValueError, match="only one"):
        rma_mv(yi, vi, random=["~ school | district", "~ year | district"], data=KON)
    with pytest.raises(ValueError, match="numeric inner variable"):
        rma_mv(yi, vi, random="~ school | district", struct="CAR", data=KON)
    with pytest.raises(ValueError, match="full column rank"):
        rma_mv(yi, vi, np.ones((56, 2)))
    with pytest.raises(ValueError, match="missing"):
        rma_mv([*yi[:-1], math.nan], vi)
    short = {**KON, "district": KON["district"][:-1]}
    with pytest.raises(ValueError, match="'district' has 55 values"):
        rma_mv(yi, vi, random="~ 1 | district", data=short)


def test_non_positive_definite_v():
    rec = VCALC["toy_type"]  # metafor flags this V as not positive definite
    V = np.array(rec["V"])
    y = np.linspace(0.0, 1.0, len(V))
    with pytest.raises(ValueError, match="not positive definite"):
        rma_mv(y, V, random="~ 1 | c", data={"c": rec["inputs"]["cluster"]})
    asym = np.diag(KON["vi"])
    asym[0, 1] = 0.001
    with pytest.raises(ValueError, match="symmetric"):
        rma_mv(KON["yi"], asym)


def test_convergence_flag():
    r = rma_mv(KON["yi"], KON["vi"], random="~ 1 | district/school", data=KON, maxiter=1)
    assert not r.converged and "without convergence" in r.note


def test_structural_fixes():
    # a single-level factor has no variance to estimate (metafor fixes sigma2 to 0)
    one = {"all": ["x"] * 56, "district": KON["district"]}
    r = rma_mv(KON["yi"], KON["vi"], random=["~ 1 | all", "~ 1 | district"], data=one)
    assert r.sigma2[0] == 0.0 and r.sigma2[1] > 0 and r.parms == 2
    assert any("single-level" in n for n in r.notes)
    # one effect per cluster: rho is not identified and fixed to 0
    data = {"arm": ["a", "b"] * 28, "id": [str(i) for i in range(56)]}
    r = rma_mv(KON["yi"], KON["vi"], random="~ arm | id", struct="CS", data=data)
    assert r.rho[0] == 0.0 and any("single effect" in n for n in r.notes)


def test_equal_effects_model_is_gls():
    """Without random effects the fit is GLS with V (hand formula)."""
    f = FITS["ber_un_reml"]
    ds = ML["datasets"]["berkey1998"]
    V, X, y = np.array(ds["V"]), np.array(f["X"]), np.array(ds["yi"])
    r = rma_mv(y, V, X)
    W = np.linalg.inv(V)
    vb = np.linalg.inv(X.T @ W @ X)
    np.testing.assert_allclose(r.beta, vb @ X.T @ W @ y, rtol=1e-10)
    np.testing.assert_allclose(r.se, np.sqrt(np.diag(vb)), rtol=1e-10)
    resid = y - X @ r.beta
    assert r.qe == pytest.approx(float(resid @ W @ resid), rel=1e-10)
    assert r.parms == 2 and r.sigma2.size == 0 and r.tau2.size == 0


def test_simulated_cs_model_recovers_truth():
    """CS random effects (tau2 = 0.10, rho = 0.6) over 3 outcomes in 150 studies, fixed seed.

    Tolerances are 4 Monte Carlo SDs of the estimators for this design (100 replicates, seeds
    0-99: SD(tau2) = 0.012, SD(rho) = 0.070, SD(beta) = 0.031), so a correct estimator fails
    with probability ~1e-4 per quantity; a wrong structure, scale or sign would not pass.
    """
    rng = np.random.default_rng(20260)
    J, tau2, rho = 150, 0.10, 0.6
    beta = np.array([0.2, 0.4, 0.6])
    study = np.repeat(np.arange(J), 3)
    outcome = np.tile(["a", "b", "c"], J)
    vi = rng.uniform(0.02, 0.10, 3 * J)
    V = vcalc(vi, study, obs=outcome, rho=0.5)
    G = tau2 * ((1 - rho) * np.eye(3) + rho)
    u = rng.multivariate_normal(np.zeros(3), G, size=J).ravel()
    e = np.linalg.cholesky(V) @ rng.standard_normal(3 * J)
    X = (outcome[:, None] == np.array(["a", "b", "c"])[None, :]).astype(float)
    y = X @ beta + u + e
    r = rma_mv(
        y, V, X, random="~ outcome | study", struct="CS", data={"study": study, "outcome": outcome}
    )
    assert r.converged
    assert abs(r.tau2[0] - tau2) < 4 * 0.012
    assert abs(r.rho[0] - rho) < 4 * 0.070
    assert np.all(np.abs(r.beta - beta) < 4 * 0.031)
    assert np.all(np.abs(r.se - 0.031) < 0.01)  # model SEs near the Monte Carlo SD


# --------------------------------------------------------------------------------------------
# Timepoint labels
# --------------------------------------------------------------------------------------------

HOURS = {  # by definition (see ketameta.timepoints)
    "40min": 40 / 60,
    "2h": 2,
    "4h": 4,
    "24h": 24,
    "72h": 72,
    "d2": 48,
    "d3": 72,
    "d5": 120,
    "d7": 168,
    "d8": 192,
    "d14": 336,
    "d21": 504,
    "d28": 672,
    "w2": 336,
    "w3": 504,
    "w4": 672,
    "w6": 1008,
    "w8": 1344,
    "m3": 2160,
    "d2to3": 60,
    " W4 ": 672,
}


@pytest.mark.parametrize("label", sorted(HOURS))
def test_hours(label):
    assert hours(label) == pytest.approx(HOURS[label], rel=1e-15)


@pytest.mark.parametrize("label", ["maintenance", "", "d", "24", "h24", "d3to2", "2 weeks", "y1"])
def test_hours_rejects_unknown_labels(label):
    with pytest.raises(ValueError, match=repr(label).replace("(", r"\(")):
        hours(label)


def test_labels_in_arms_csv_parse():
    """Every timepoint label in data/raw/arms.csv is a time, except the known non-times."""
    from conftest import REPO

    labels = set(pd.read_csv(REPO / "data" / "raw" / "arms.csv")["timepoint"].dropna())
    unparsed = set()
    for label in labels:
        try:
            hours(label)
        except ValueError:
            unparsed.add(label)
    assert unparsed <= {"maintenance", "treatment_phase"}  # phases, not times


def test_robust_needs_more_clusters_than_coefficients():
    """metafor's robust.rma.mv refuses J <= p; so do we (one coefficient per study here)."""
    y = np.array([0.1, 0.4, 0.2, 0.5])
    X = np.eye(4)[:, :3] + np.array([[0, 0, 0], [0, 0, 0], [0, 0, 0], [1, 0, 0]])
    fit = rma_mv(y, np.full(4, 0.05), X)
    with pytest.raises(ValueError, match=r"clusters \(3\) must be larger"):
        robust_cr2(fit, ["a", "b", "c", "c"])
