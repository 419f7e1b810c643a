"""The exact normal-normal posterior against a brute-force R reference (bayes_exact.json).

tests/reference/make_bayes_fixtures.R integrates the joint density p(mu, tau, y) with nested
``integrate()`` calls (no conjugacy used) for 4 data sets x 4 tau priors with mu ~ N(0, 10^2), plus
a flat mu prior with tau ~ HalfNormal(0.5). Every quantity is compared at 1e-6 relative to
max(1, |reference|) (``conftest.close``); quantiles pass at the same tolerance (the reference solves
its CDFs to 1e-12 with uniroot, and ours are roots of the exact mixture CDF).
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest
from conftest import close, fixture
from scipy import integrate, stats

from ketameta.bayes_exact import MuPrior, TauPrior, exact_posterior
from ketameta.frequentist import rma

BAYES = fixture("bayes_exact.json")
CASES = BAYES["cases"]
SCALARS = {
    "mu_mean": "mu_mean",
    "mu_sd": "mu_sd",
    "mu_q025": "mu_low",
    "mu_median": "mu_median",
    "mu_q975": "mu_high",
    "tau_mean": "tau_mean",
    "tau_sd": "tau_sd",
    "tau_q025": "tau_low",
    "tau_median": "tau_median",
    "tau_q975": "tau_high",
    "p_mu_pos": "p_benefit",
    "pred_mean": "pred_mean",
    "pred_sd": "pred_sd",
    "pred_q025": "pred_low",
    "pred_q975": "pred_high",
    "log_marglik": "log_marginal_likelihood",
}
DATASETS = ("ketamine_24h:OR", "bcg:RR", "normand:SMD", "ketamine_24h:OR:first2")
TAU_PRIORS = ("halfnormal(0.5)", "halfcauchy(0.5)", "uniform(0,5)", "lognormal_tau2(-2.56,1.74)")


def _tau_prior(spec: dict) -> TauPrior:
    kind = spec["kind"]
    if kind == "uniform":
        return TauPrior.uniform(spec["upper"])
    if kind == "lognormal_tau2":
        return TauPrior.lognormal_tau2(spec["meanlog"], spec["sdlog"])
    return TauPrior(kind, scale=spec["scale"])


def _mu_prior(spec: dict) -> MuPrior:
    return MuPrior.flat() if spec["kind"] == "flat" else MuPrior.normal(spec["mean"], spec["sd"])


def _data(name: str):
    d = BAYES["datasets"][name]
    return np.array(d["yi"]), np.array(d["vi"])


@cache
def _fit(dataset: str, tau_prior: str, mu_prior: str):
    y, v = _data(dataset)
    tp = _tau_prior(BAYES["tau_priors"][tau_prior])
    mp = _mu_prior(BAYES["mu_priors"][mu_prior])
    return exact_posterior(y, v, mu_prior=mp, tau_prior=tp)


def _case_id(c: dict) -> str:
    return f"{c['dataset']}-{c['tau_prior']}-{c['mu_prior']}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_matches_bruteforce_reference(case):
    res = _fit(case["dataset"], case["tau_prior"], case["mu_prior"])
    assert res.converged
    assert res.k == case["k"]
    assert res.level == case["level"]
    out = res.to_dict()
    bad = {}
    for ref_key, our_key in SCALARS.items():
        if not close(out[our_key], case[ref_key]):
            bad[ref_key] = (out[our_key], case[ref_key])
    for key in ("theta_mean", "theta_sd"):
        for i, (ours, ref) in enumerate(zip(out[key], case[key], strict=True)):
            if not close(ours, ref):
                bad[f"{key}[{i}]"] = (ours, ref)
    assert not bad, bad


def test_fixture_grid_is_complete():
    assert BAYES["meta"]["r_version"].startswith("R version")
    assert "Turner" in BAYES["meta"]["turner_prior"]
    assert set(BAYES["datasets"]) == set(DATASETS)
    assert set(BAYES["tau_priors"]) == set(TAU_PRIORS)
    keys = {(c["dataset"], c["tau_prior"], c["mu_prior"]) for c in CASES}
    expected = {(d, t, "normal(0,10)") for d in DATASETS for t in TAU_PRIORS}
    expected |= {(d, "halfnormal(0.5)", "flat") for d in DATASETS}
    assert keys == expected
    assert len(CASES) == len(expected)
    for c in CASES:
        for key in SCALARS:
            if key == "log_marglik" and c["mu_prior"] == "flat":
                assert c[key] is None
            else:
                assert isinstance(c[key], float | int) and math.isfinite(c[key]), (c, key)
        assert len(c["theta_mean"]) == len(c["theta_sd"]) == c["k"]


def test_fixture_data_are_the_rma_inputs():
    rma_inputs = fixture("rma.json")["inputs"]
    for name in DATASETS:
        src = name.removesuffix(":first2")
        n = 2 if name.endswith(":first2") else None
        d = BAYES["datasets"][name]
        assert d["yi"] == rma_inputs[src]["yi"][:n]
        assert d["vi"] == rma_inputs[src]["vi"][:n]
    bp = BAYES["tau_priors"]["lognormal_tau2(-2.56,1.74)"]
    assert (bp["meanlog"], bp["sdlog"]) == (-2.56, 1.74)
    assert TauPrior.turner2015() == _tau_prior(bp)


# ---------------------------------------------------------------------------------------------
# Sanity checks
# ---------------------------------------------------------------------------------------------


def test_wide_mu_prior_approaches_flat_prior():
    y, v = _data("bcg:RR")
    tp = TauPrior.uniform(10)
    flat = exact_posterior(y, v, MuPrior.flat(), tp)
    gaps = [
        abs(exact_posterior(y, v, MuPrior.normal(0, s), tp).mu_mean - flat.mu_mean)
        for s in (1, 10, 100, 1e4)
    ]
    assert all(a > b for a, b in zip(gaps, gaps[1:], strict=False))
    assert gaps[-1] < 1e-8


@pytest.mark.parametrize("dataset", DATASETS)
def test_tau_near_zero_gives_fixed_effect(dataset):
    y, v = _data(dataset)
    fe = rma(y, v, method="FE")
    res = exact_posterior(y, v, MuPrior.normal(0, 1e6), TauPrior.halfnormal(1e-6))
    assert close(res.mu_mean, fe.estimate, 1e-8)
    assert close(res.mu_sd, fe.se, 1e-8)
    z = stats.norm.ppf(0.975)
    assert close(res.mu_low, fe.estimate - z * fe.se, 1e-8)


@pytest.mark.parametrize("dataset", ["bcg:RR", "normand:SMD"])
def test_vague_priors_near_reml(dataset):
    y, v = _data(dataset)
    reml = rma(y, v, method="REML")
    res = exact_posterior(y, v, MuPrior.flat(), TauPrior.uniform(10))
    assert abs(res.mu_mean - reml.estimate) < 0.1 * res.mu_sd
    assert res.mu_low < reml.estimate < res.mu_high
    assert res.tau_low < math.sqrt(reml.tau2) < res.tau_high
    assert reml.se < res.mu_sd < 1.5 * reml.se  # tau uncertainty widens the interval


def test_uniform_tau_posterior_integrates_to_one():
    y, v = _data("ketamine_24h:OR")
    res = exact_posterior(y, v, MuPrior.normal(0, 10), TauPrior.uniform(5))
    total, _ = integrate.quad(lambda t: res.tau_pdf(t)[0], 0, 5, epsabs=0, epsrel=1e-12, limit=200)
    assert abs(total - 1) < 1e-9
    assert res.tau_pdf([-0.1, 5.1]).tolist() == [0.0, 0.0]
    assert res.tau_cdf([0.0, 5.0]).tolist() == pytest.approx([0.0, 1.0], abs=1e-12)
    mean, _ = integrate.quad(lambda t: t * res.tau_pdf(t)[0], 0, 5, epsabs=0, epsrel=1e-12)
    assert close(mean, res.tau_mean, 1e-9)


def test_densities_cdfs_and_quantiles_agree():
    y, v = _data("normand:SMD")
    res = exact_posterior(y, v, MuPrior.normal(0, 10), TauPrior.halfcauchy(0.5))
    t = np.array([0.2, 0.7, 1.5])
    cdf = res.tau_cdf(t)
    for ti, ci in zip(t, cdf, strict=True):
        ref, _ = integrate.quad(lambda s: res.tau_pdf(s)[0], 0, ti, epsabs=0, epsrel=1e-12)
        assert abs(ci - ref) < 1e-10
    assert res.tau_cdf(res.tau_median)[0] == pytest.approx(0.5, abs=1e-12)
    assert res.mu_cdf(res.mu_low)[0] == pytest.approx(0.025, abs=1e-12)
    assert res.predictive_cdf(res.pred_high)[0] == pytest.approx(0.975, abs=1e-12)
    mass, _ = integrate.quad(lambda x: res.mu_pdf(x)[0], -np.inf, np.inf, epsrel=1e-11)
    assert abs(mass - 1) < 1e-9
    grid = res.grid(n=51)
    assert set(grid["parameter"]) == {"tau", "mu", "theta_new"}
    assert len(grid) == 153 and np.all(np.diff(grid[grid.parameter == "mu"]["cdf"]) >= 0)


def test_benefit_direction_and_frames():
    y, v = _data("bcg:RR")
    pos = exact_posterior(y, v, benefit="positive")
    neg = exact_posterior(y, v, benefit="negative")
    assert close(pos.p_benefit + neg.p_benefit, 1.0, 1e-12)
    assert neg.benefit == "negative" and neg.p_benefit > 0.99
    frame = pos.to_frame()
    assert frame.shape[0] == 1 and "theta_mean" not in frame.columns
    studies = pos.studies(BAYES["datasets"]["bcg:RR"]["study"])
    assert np.allclose(studies["mean"], pos.theta_mean)
    assert np.all((studies["low"] < studies["mean"]) & (studies["mean"] < studies["high"]))
    # shrinkage: every study's posterior mean lies between its estimate and the pooled mean
    lo, hi = np.minimum(y, pos.mu_mean), np.maximum(y, pos.mu_mean)
    assert np.all((studies["mean"] >= lo - 1e-12) & (studies["mean"] <= hi + 1e-12))


def test_missing_studies_dropped_and_infinite_moments():
    y, v = _data("ketamine_24h:OR")
    res = exact_posterior(np.append(y, np.nan), np.append(v, 0.3))
    ref = _fit("ketamine_24h:OR", "halfnormal(0.5)", "normal(0,10)")
    assert res.k == len(y) and math.isnan(res.theta_mean[-1])
    assert close(res.mu_mean, ref.mu_mean, 1e-14)
    # half-Cauchy, flat mu, k = 2: p(tau | y) ~ tau^-3, so E[tau^2] (and the sds) are infinite
    heavy = exact_posterior(y[:2], v[:2], MuPrior.flat(), TauPrior.halfcauchy(0.5))
    assert math.isfinite(heavy.tau_mean) and math.isinf(heavy.tau_sd)
    assert math.isinf(heavy.mu_sd) and math.isinf(heavy.pred_sd)
    assert math.isfinite(heavy.mu_high) and math.isfinite(heavy.tau_high)
    assert math.isnan(heavy.log_marginal_likelihood)
    single = exact_posterior(y[:1], v[:1], MuPrior.normal(0, 10), TauPrior.halfnormal(0.5))
    assert single.k == 1 and single.converged


def test_prior_densities():
    t = np.linspace(1e-3, 3, 7)
    turner = TauPrior.turner2015()
    expected = stats.lognorm.logpdf(t**2, s=1.74, scale=math.exp(-2.56)) + np.log(2 * t)
    assert np.allclose(turner.logpdf(t), expected, rtol=0, atol=1e-12)
    assert np.allclose(TauPrior.halfcauchy(0.5).logpdf(t), stats.halfcauchy.logpdf(t, scale=0.5))
    assert np.allclose(TauPrior.halfnormal(0.5).logpdf(t), stats.halfnorm.logpdf(t, scale=0.5))
    for prior in (turner, TauPrior.halfnormal(0.5), TauPrior.halfcauchy(0.5), TauPrior.uniform(5)):
        mass, _ = integrate.quad(lambda x, p=prior: math.exp(p.logpdf(x)), 0, prior.upper_bound)
        assert abs(mass - 1) < 1e-8, prior.label
    assert np.isneginf(turner.logpdf(0.0)) and np.isneginf(TauPrior.uniform(5).logpdf(6.0))


def test_invalid_input():
    with pytest.raises(ValueError):
        TauPrior.halfnormal(0)
    with pytest.raises(ValueError):
        TauPrior("gamma", scale=1)
    with pytest.raises(ValueError):
        MuPrior.normal(0, math.inf)
    with pytest.raises(ValueError):
        exact_posterior([0.1], [0.0])
    with pytest.raises(ValueError):
        exact_posterior([0.1, 0.2], [0.1])
    with pytest.raises(ValueError):
        exact_posterior([0.1], [0.1], level=1.0)
    with pytest.raises(ValueError):
        exact_posterior([0.1], [0.1], benefit="up")
