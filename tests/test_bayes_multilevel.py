"""Bayesian multilevel time-course model (ketameta.bayes_multilevel) against independent
computations.

Fast tier: the exact 2-D quadrature against (a) the Normal-conjugate closed form when both sigma
priors are concentrated at a point, (b) self-normalised importance sampling over
``(beta, sigmas)`` that integrates nothing analytically, and a rule with three times the nodes,
(c) one-dimensional computations when one component is left out (``scipy.integrate.quad`` on
the dense multivariate normal, and :func:`ketameta.bayes_exact.exact_posterior` for a
univariate meta-analysis); calibration of the exact posterior over 200 data sets simulated
from the prior (95% interval coverage and uniform posterior CDFs at the truth); the PyMC
model's log density against scipy.

Slow tier (``-m slow``): nutpie MCMC against the exact posterior on the ketamine time course
(log-time trend and one coefficient per timepoint; half-normal and half-Cauchy priors) and on a
simulated data set, every mean, median and interval end within 4 MCSE; determinism and reuse of
the compiled model.

No expected number here is copied from this module's output: every check compares two
computations.
"""

from __future__ import annotations

import math
import warnings
from functools import cache

import numpy as np
import pytest
import yaml
from conftest import REPO
from scipy import integrate, stats

from ketameta import bayes_multilevel as bm
from ketameta.bayes_exact import MuPrior, TauPrior, exact_posterior
from ketameta.multilevel import vcalc

HN = TauPrior.halfnormal(0.5)
PRIORS = {
    "halfnormal": TauPrior.halfnormal(0.5),
    "halfcauchy": TauPrior.halfcauchy(0.5),
    "uniform": TauPrior.uniform(4.0),
    "lognormal_tau2": TauPrior.turner2015(),
}
Z975 = stats.norm.ppf(0.975)


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


@cache
def _effects(outcome: str):
    """Study-level log odds ratios at every timepoint, as ketameta.timecourse builds them."""
    from ketameta.data import load_dataset
    from ketameta.spec import EffectOptions
    from ketameta.timecourse import timepoint_effects

    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    data = load_dataset(REPO / "data/raw/studies.csv", REPO / "data/raw/arms.csv")
    return timepoint_effects(data, outcome, "OR", EffectOptions(**cfg["effects"]))


def _ketamine(trend: bool, outcome: str = "response", phi: float = 0.9) -> bm.Design:
    return bm.timecourse_design(_effects(outcome), phi, trend=trend)


def _simulated_design(rng, k: int = 8, max_tp: int = 3):
    """``k`` trials, each reporting 1..max_tp of four timepoints; V from vcalc (phi = 0.9)."""
    hours_all = np.array([2.0, 24.0, 168.0, 672.0])
    study, hrs = [], []
    for i in range(k):
        m = int(rng.integers(1, max_tp + 1))
        for h in np.sort(rng.choice(hours_all, m, replace=False)):
            study.append(f"s{i}")
            hrs.append(h)
    hrs = np.array(hrs)
    vi = rng.uniform(0.05, 0.5, hrs.size)
    V = vcalc(vi, study, time=hrs / 24, phi=0.9, checkpd=False)
    X = np.column_stack([np.ones(hrs.size), np.log(hrs / 24)])
    Z1 = (np.array(study)[:, None] == np.array(sorted(set(study)))[None, :]).astype(float)
    Z2 = np.eye(hrs.size)  # one estimate per trial and timepoint
    return V, X, Z1, Z2


def _simulate_y(rng, V, X, Z1, Z2, beta, s1, s2):
    u = rng.normal(0, s1, Z1.shape[1])
    w = rng.normal(0, s2, Z2.shape[1])
    return X @ beta + Z1 @ u + Z2 @ w + rng.multivariate_normal(np.zeros(len(V)), V)


def _values(frame) -> np.ndarray:
    return frame[["mean", "sd", "median", "low", "high"]].to_numpy(float)


# --------------------------------------------------------------------------------------------
# (a) concentrated sigma priors: the Normal-conjugate closed form
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("trend", [True, False], ids=["trend", "per_timepoint"])
def test_concentrated_priors_give_the_conjugate_posterior(trend):
    """With log(sigma^2) ~ N(log s^2, 1e-4^2) the sigmas are fixed to a relative 5e-5, and
    beta's posterior is the Normal-conjugate one at fixed M (BDA3 14.2), computed here with
    dense inverses: S = (X' M^-1 X + I/100)^-1, m = S X' M^-1 y."""
    d = _ketamine(trend)
    s1, s2, sdlog = 0.3, 0.2, 1e-4
    ex = bm.exact_posterior(
        d.y,
        d.V,
        d.X,
        d.Z1,
        d.Z2,
        sigma_trial_prior=TauPrior.lognormal_tau2(2 * math.log(s1), sdlog),
        sigma_timepoint_prior=TauPrior.lognormal_tau2(2 * math.log(s2), sdlog),
        coef_names=d.coef_names,
    )
    M = d.V + s1**2 * d.Z1 @ d.Z1.T + s2**2 * d.Z2 @ d.Z2.T
    Mi = np.linalg.inv(M)
    S = np.linalg.inv(d.X.T @ Mi @ d.X + np.eye(d.X.shape[1]) / 100.0)
    m = S @ d.X.T @ Mi @ d.y
    sd = np.sqrt(np.diag(S))
    # the error of fixing the sigmas is O(sdlog^2) ~ 1e-8
    np.testing.assert_allclose(ex.beta_mean, m, atol=1e-7)
    np.testing.assert_allclose(ex.beta_sd, sd, atol=1e-7)
    np.testing.assert_allclose(ex.beta_median, m, atol=1e-7)
    np.testing.assert_allclose(ex.beta_low, m - Z975 * sd, atol=1e-7)
    np.testing.assert_allclose(ex.beta_high, m + Z975 * sd, atol=1e-7)
    np.testing.assert_allclose(ex.beta_p_positive, stats.norm.sf(0, m, sd), atol=1e-7)
    # the sigmas keep their (log-normal) prior: log sigma ~ N(log s, (sdlog/2)^2)
    for name, s in (("sigma_trial", s1), ("sigma_timepoint", s2)):
        prior = stats.lognorm(s=sdlog / 2, scale=s)
        got = ex.sigmas[name]
        assert got["mean"] == pytest.approx(prior.mean(), rel=1e-7)
        assert got["sd"] == pytest.approx(prior.std(), rel=1e-3)
        for key, q in (("low", 0.025), ("median", 0.5), ("high", 0.975)):
            assert got[key] == pytest.approx(prior.ppf(q), rel=1e-7)


# --------------------------------------------------------------------------------------------
# (b) brute force: importance sampling over (beta, sigmas), and a finer rule
# --------------------------------------------------------------------------------------------


def _mvn_logpdf(y, mean, cov) -> np.ndarray:
    """log N(y; mean_g, cov_g) for a batch g (dense, by Cholesky)."""
    L = np.linalg.cholesky(cov)
    r = (y[None, :] - mean)[..., None]
    z = np.linalg.solve(L, r)[..., 0]
    logdet = 2 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
    return -0.5 * (y.size * math.log(2 * math.pi) + logdet + (z * z).sum(axis=1))


def _importance_sample(y, V, X, Z1, Z2, n_draws: int, rng):
    """Self-normalised importance sampling from ``p(beta) p(sigmas) p(y | beta, sigmas)`` with
    ``u`` and ``w`` in the marginal covariance (the model's definition) and nothing else
    integrated analytically. Proposal: sigmas from their half-normal(0.5) priors, beta from a
    multivariate t(4) around the GLS estimate at sigmas = 0.3, scale twice its sd."""
    n, p = X.shape
    K1, K2 = Z1 @ Z1.T, Z2 @ Z2.T
    M0 = V + 0.09 * K1 + 0.09 * K2
    Mi = np.linalg.inv(M0)
    cov0 = np.linalg.inv(X.T @ Mi @ X)
    b0 = cov0 @ X.T @ Mi @ y
    prop = stats.multivariate_t(loc=b0, shape=4 * cov0, df=4)
    chunks = []
    for start in range(0, n_draws, 50_000):
        g = min(50_000, n_draws - start)
        s = np.abs(rng.normal(0.0, 0.5, size=(g, 2)))
        beta = prop.rvs(size=g, random_state=rng).reshape(g, p)
        cov = V[None] + s[:, 0, None, None] ** 2 * K1[None] + s[:, 1, None, None] ** 2 * K2[None]
        logw = (
            _mvn_logpdf(y, beta @ X.T, cov)
            + stats.norm.logpdf(beta, 0.0, 10.0).sum(axis=1)
            - prop.logpdf(beta)
        )  # the sigma priors cancel against the proposal
        chunks.append((beta, s, logw))
    beta, s, logw = (np.concatenate(c) for c in zip(*chunks, strict=True))
    return beta, s, logw


def test_exact_matches_importance_sampling():
    rng = np.random.default_rng(20261130)
    V, X, Z1, Z2 = _simulated_design(rng, k=6)
    y = _simulate_y(rng, V, X, Z1, Z2, np.array([0.8, -0.2]), 0.3, 0.25)
    ex = bm.exact_posterior(y, V, X, Z1, Z2, coef_names=["intercept", "log_time"])
    beta, s, logw = _importance_sample(y, V, X, Z1, Z2, 400_000, rng)
    w = np.exp(logw - logw.max())
    w /= w.sum()
    ess = 1.0 / np.sum(w**2)
    assert ess > 20_000  # 28 000 of 400 000 draws: MCSEs ~1% of a posterior sd

    def check(x, ref, label):
        mu = float(np.sum(w * x))
        mcse = math.sqrt(float(np.sum(w**2 * (x - mu) ** 2)))
        assert abs(mu - ref) <= 4 * mcse, (label, mu, ref, mcse)

    draws = {"intercept": beta[:, 0], "log_time": beta[:, 1]}
    draws.update({"sigma_trial": s[:, 0], "sigma_timepoint": s[:, 1]})
    for name, x in draws.items():
        ref = ex.summary(name)
        check(x, ref["mean"], f"{name} mean")
        check((x - ref["mean"]) ** 2, ref["sd"] ** 2, f"{name} variance")
        for key, q in (("low", 0.025), ("median", 0.5), ("high", 0.975)):
            check((x <= ref[key]).astype(float), q, f"{name} {key}")
    # log p(y): the mean of the raw importance weights, with its delta-method MCSE
    raw = np.exp(logw - logw.max())
    log_z = math.log(raw.mean()) + logw.max()
    mcse = raw.std() / math.sqrt(raw.size) / raw.mean()
    assert abs(log_z - ex.log_marginal_likelihood) <= 4 * mcse
    assert mcse < 0.01


@pytest.mark.parametrize(
    ("trend", "kind"),
    [(True, "halfnormal"), (True, "halfcauchy"), (True, "lognormal_tau2"), (False, "halfcauchy")],
)
def test_default_rule_agrees_with_a_finer_rule(trend, kind):
    d = _ketamine(trend)
    prior = PRIORS[kind]
    args = (d.y, d.V, d.X, d.Z1, d.Z2)
    kw = {"sigma_trial_prior": prior, "sigma_timepoint_prior": prior}
    default = bm.exact_posterior(*args, **kw)  # 12 panels x 14 nodes per axis
    # 3x the nodes per axis (2x for the 13-coefficient model, to keep this test fast)
    fine = bm.exact_posterior(*args, **kw, n_panels=36 if trend else 24, n_gl=14)
    assert default.note == "" and default.edge_mass < 1e-6
    np.testing.assert_allclose(
        _values(default.to_frame()), _values(fine.to_frame()), rtol=1e-8, atol=1e-9
    )
    assert default.log_marginal_likelihood == pytest.approx(fine.log_marginal_likelihood, abs=1e-9)


# --------------------------------------------------------------------------------------------
# (c) one component left out: one-dimensional calculations
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(PRIORS))
def test_univariate_data_match_the_one_dimensional_exact_posterior(kind):
    """One estimate per trial (the 24 h effects), ``Z1 = I`` and no timepoint component: the
    model is the normal-normal random-effects model of bayes_exact (Röver 2020), computed there
    by adaptive 1-D quadrature."""
    eff = _effects("response")
    rows = eff[(eff["timepoint"] == "24h") & eff["included"].astype(bool)]
    y, v = rows["yi"].to_numpy(float), rows["vi"].to_numpy(float)
    prior = PRIORS[kind]
    ex = bm.exact_posterior(
        y, np.diag(v), np.ones(y.size), np.eye(y.size), None, sigma_trial_prior=prior
    )
    ref = exact_posterior(y, v, mu_prior=MuPrior.normal(0.0, 10.0), tau_prior=prior)
    got = ex.summary("b0")
    for key in ("mean", "sd", "median", "low", "high"):
        assert got[key] == pytest.approx(getattr(ref, f"mu_{key}"), rel=1e-7, abs=1e-8), key
    tau = ex.sigmas["sigma_trial"]
    for key in ("mean", "sd", "median", "low", "high"):
        assert tau[key] == pytest.approx(getattr(ref, f"tau_{key}"), rel=1e-7, abs=1e-8), key
    assert ex.beta_p_positive[0] == pytest.approx(ref.p_benefit, abs=1e-8)
    # the left-out component keeps its half-normal(0.5) prior, and adds nothing to log p(y)
    assert ex.log_marginal_likelihood == pytest.approx(ref.log_marginal_likelihood, abs=1e-8)
    hn = stats.halfnorm(scale=0.5)
    other = ex.sigmas["sigma_timepoint"]
    assert other["mean"] == pytest.approx(hn.mean(), rel=1e-8)
    assert other["sd"] == pytest.approx(hn.std(), rel=1e-8)
    assert other["high"] == pytest.approx(hn.ppf(0.975), rel=1e-8)


def test_uninformed_half_cauchy_component_is_noted():
    """A half-Cauchy sigma that the data do not inform has no mean: said in ``note``."""
    rng = np.random.default_rng(1)
    y, v = rng.normal(size=5), np.full(5, 0.2)
    ex = bm.exact_posterior(
        y, np.diag(v), np.ones(5), np.eye(5), None, sigma_timepoint_prior=PRIORS["halfcauchy"]
    )
    assert "sigma_timepoint" in ex.note and "moments may not exist" in ex.note
    # its quantiles are still the prior's
    hc = stats.halfcauchy(scale=0.5)
    assert ex.sigmas["sigma_timepoint"]["median"] == pytest.approx(hc.median(), rel=1e-5)
    # (to the prior mass beyond the integration cap, 1e6 x the scale: ~6e-7)
    assert ex.sigma_quantile("sigma_timepoint", 0.9) == pytest.approx(hc.ppf(0.9), rel=1e-4)


def _one_dimensional(y, V, X, K, prior: TauPrior, beta_sd: float = 10.0):
    """Posterior with a single random component ``sigma^2 K``, by ``scipy.integrate.quad``:
    ``p(y | sigma) = N(y; 0, V + sigma^2 K + beta_sd^2 X X')`` (beta integrated out in the
    marginal covariance) and beta's conditional moments in the covariance form
    ``m = B0 X' C^-1 y``, ``S = B0 - B0 X' C^-1 X B0`` (not the precision form of the module)."""
    B0 = beta_sd**2 * np.eye(X.shape[1])

    def parts(s):
        C = V + s**2 * K + X @ B0 @ X.T
        lml = stats.multivariate_normal.logpdf(y, np.zeros(y.size), C)
        G = B0 @ X.T @ np.linalg.inv(C)
        return lml + float(prior.logpdf(s)), G @ y, B0 - G @ X @ B0

    top = max(parts(s)[0] for s in np.linspace(0.01, 3, 40))

    def dens(s):
        return math.exp(parts(s)[0] - top)

    def quad(f):  # [0, 3] holds nearly all of the mass; the tail separately
        with warnings.catch_warnings():
            # QUADPACK flags "roundoff" on the integrals of normal CDF tails; its own error
            # estimates there are ~1e-10, far below the 1e-8 compared
            warnings.simplefilter("ignore", integrate.IntegrationWarning)
            head = integrate.quad(f, 0, 3, epsabs=1e-12, epsrel=1e-10, limit=400)[0]
            return head + integrate.quad(f, 3, np.inf, epsabs=1e-14 * abs(head), limit=400)[0]

    Z = quad(dens)
    out = {"sigma_mean": quad(lambda s: s * dens(s)) / Z}
    out["sigma_cdf"] = lambda q: (
        integrate.quad(dens, 0, q, epsabs=0, epsrel=1e-11, limit=400)[0] / Z
    )
    out["beta_mean"] = np.array(
        [quad(lambda s, j=j: parts(s)[1][j] * dens(s)) / Z for j in range(X.shape[1])]
    )

    def beta_cdf(j, q):
        def f(s):
            _, m, S = parts(s)
            return stats.norm.cdf(q, m[j], math.sqrt(S[j, j])) * dens(s)

        return quad(f) / Z

    out["beta_cdf"] = beta_cdf
    out["log_ml"] = top + math.log(Z)
    return out


@pytest.mark.parametrize("left_out", ["sigma_timepoint", "sigma_trial"])
def test_one_component_left_out_matches_one_dimensional_quadrature(left_out):
    d = _ketamine(trend=True)
    Z1, Z2 = (d.Z1, None) if left_out == "sigma_timepoint" else (None, d.Z2)
    kept = "sigma_trial" if left_out == "sigma_timepoint" else "sigma_timepoint"
    ex = bm.exact_posterior(d.y, d.V, d.X, Z1, Z2, coef_names=d.coef_names)
    Z = d.Z1 if Z1 is not None else d.Z2
    ref = _one_dimensional(d.y, d.V, d.X, Z @ Z.T, HN)
    np.testing.assert_allclose(ex.beta_mean, ref["beta_mean"], rtol=1e-8, atol=1e-9)
    assert ex.sigmas[kept]["mean"] == pytest.approx(ref["sigma_mean"], rel=1e-8)
    for key, q in (("low", 0.025), ("median", 0.5), ("high", 0.975)):
        assert ref["sigma_cdf"](ex.sigmas[kept][key]) == pytest.approx(q, abs=1e-8), key
        for j, name in enumerate(d.coef_names):
            assert ref["beta_cdf"](j, ex.summary(name)[key]) == pytest.approx(q, abs=1e-8)
    assert ex.log_marginal_likelihood == pytest.approx(ref["log_ml"], abs=1e-8)
    hn = stats.halfnorm(scale=0.5)
    assert ex.sigmas[left_out]["median"] == pytest.approx(hn.median(), rel=1e-8)


# --------------------------------------------------------------------------------------------
# Calibration: 200 data sets simulated from the prior
# --------------------------------------------------------------------------------------------


def test_exact_intervals_are_calibrated_on_data_simulated_from_the_prior():
    """Drawing (beta, sigmas) from the prior and y from the model, the posterior CDF at the
    true value is uniform and the 95% intervals cover the truth in 95% of data sets (exactly,
    for a correct posterior: Cook, Gelman & Rubin 2006; Talts et al. 2018). 200 data sets of
    8 trials with 1-3 timepoints each, log-time trend. A 6 x 8 node rule keeps this fast (it
    agrees with the default rule to ~1e-6, far below what the counts can see)."""
    rng = np.random.default_rng(42)
    n_sets = 200
    pit = {name: [] for name in ("intercept", "log_time", *bm.SIGMAS)}
    cover = {name: 0 for name in pit}
    for _ in range(n_sets):
        V, X, Z1, Z2 = _simulated_design(rng)
        truth = {"intercept": rng.normal(0, 10), "log_time": rng.normal(0, 10)}
        truth["sigma_trial"], truth["sigma_timepoint"] = np.abs(rng.normal(0, 0.5, 2))
        beta = np.array([truth["intercept"], truth["log_time"]])
        y = _simulate_y(rng, V, X, Z1, Z2, beta, truth["sigma_trial"], truth["sigma_timepoint"])
        ex = bm.exact_posterior(
            y, V, X, Z1, Z2, coef_names=["intercept", "log_time"], n_panels=6, n_gl=8
        )
        for name, value in truth.items():
            s = ex.summary(name)
            cover[name] += int(s["low"] <= value <= s["high"])
            if name in bm.SIGMAS:
                pit[name].append(ex.sigma_cdf(name, value))
            else:
                pit[name].append(ex.beta_cdf(name, value))
    for name in pit:
        # two-sided binomial test of 95% coverage, and Kolmogorov-Smirnov for uniform PITs
        assert stats.binomtest(cover[name], n_sets, 0.95).pvalue > 1e-3, (name, cover[name])
        assert stats.kstest(pit[name], "uniform").pvalue > 1e-3, name


def test_coarse_rule_of_the_calibration_test_is_accurate():
    rng = np.random.default_rng(7)
    V, X, Z1, Z2 = _simulated_design(rng)
    y = _simulate_y(rng, V, X, Z1, Z2, np.array([0.5, 0.1]), 0.4, 0.2)
    a = bm.exact_posterior(y, V, X, Z1, Z2, n_panels=6, n_gl=8)
    b = bm.exact_posterior(y, V, X, Z1, Z2)
    np.testing.assert_allclose(_values(a.to_frame()), _values(b.to_frame()), atol=1e-5)


# --------------------------------------------------------------------------------------------
# Inputs, design and the PyMC model's log density
# --------------------------------------------------------------------------------------------


def test_design_matches_the_frequentist_time_course_model():
    from ketameta.multilevel import rma_mv

    d = _ketamine(trend=False)
    eff = _effects("response")
    used = eff[eff["included"].astype(bool)].reset_index(drop=True)
    assert list(d.coef_names) == list(dict.fromkeys(used["timepoint"]))
    assert np.array_equal(d.X.sum(axis=1), np.ones(len(used)))
    assert d.Z1.shape[1] == used["study_id"].nunique()
    # the same V as timecourse.py: rma_mv on this design gives its REML fit
    fit = rma_mv(d.y, d.V, d.X, random="~ 1 | study_id/timepoint", data=used, method="REML")
    fit2 = rma_mv(
        used["yi"],
        vcalc(used["vi"], used["study_id"], time=used["hours"] / 24.0, phi=0.9, checkpd=False),
        d.X,
        random="~ 1 | study_id/timepoint",
        data=used,
        method="REML",
    )
    np.testing.assert_allclose(fit.beta, fit2.beta, rtol=1e-12)
    assert np.allclose(d.Z2 @ d.Z2.T, np.eye(len(used)))  # one estimate per trial/timepoint


def test_inputs_are_checked():
    y, V, X = np.zeros(3), np.eye(3), np.ones(3)
    with pytest.raises(ValueError, match="positive definite"):
        bm.exact_posterior(y, np.zeros((3, 3)), X)
    with pytest.raises(ValueError, match="symmetric"):
        bm.exact_posterior(y, np.triu(np.ones((3, 3))) + np.eye(3), X)
    with pytest.raises(ValueError, match="shape"):
        bm.exact_posterior(y, np.eye(2), X)
    with pytest.raises(ValueError, match="beta_sd"):
        bm.exact_posterior(y, V, X, beta_sd=math.inf)
    with pytest.raises(ValueError, match="missing"):
        bm.exact_posterior([0.0, np.nan, 1.0], V, X)
    with pytest.raises(ValueError, match="may not be"):
        bm.exact_posterior(y, V, X, coef_names=["sigma_trial"])


def _scipy_sigma_logpdf(prior: TauPrior, s: float) -> float:
    if prior.kind == "halfnormal":
        return stats.halfnorm.logpdf(s, scale=prior.scale)
    if prior.kind == "halfcauchy":
        return stats.halfcauchy.logpdf(s, scale=prior.scale)
    if prior.kind == "uniform":
        return stats.uniform.logpdf(s, 0.0, prior.upper)
    return stats.lognorm.logpdf(s**2, s=prior.sdlog, scale=math.exp(prior.meanlog)) + math.log(
        2 * s
    )


@pytest.mark.parametrize(
    "kinds", [("halfnormal", "halfcauchy"), ("uniform", "lognormal_tau2")], ids=lambda k: str(k)
)
def test_pymc_model_log_density_matches_scipy(kinds):
    d = _ketamine(trend=True)
    pr = tuple(PRIORS[k] for k in kinds)
    prob = d.problem(
        beta_mean=[0.1, -0.2],
        beta_sd=[2.0, 3.0],
        sigma_trial_prior=pr[0],
        sigma_timepoint_prior=pr[1],
    )
    key, data = bm.model_data(prob)  # padded: n 18 -> 24, p 2 -> 4
    assert key.n % 8 == 0 and key.n >= prob.n and key.p == 4
    model = bm.build_model(key, data)
    beta = np.array([0.7, -0.1, 0.3, -2.0])  # the last two are padding (prior only)
    s1, s2 = 0.35, 0.6
    point = {"beta": beta}
    for name, prior, s in (("sigma_trial", pr[0], s1), ("sigma_timepoint", pr[1], s2)):
        if prior.kind == "uniform":
            point[f"{name}_interval__"] = math.log(s / (prior.upper - s))
        else:
            point[f"{name}_log__"] = math.log(s)
    M = d.V + s1**2 * d.Z1 @ d.Z1.T + s2**2 * d.Z2 @ d.Z2.T
    expected = (
        stats.norm.logpdf(beta[:2], [0.1, -0.2], [2.0, 3.0]).sum()
        + stats.norm.logpdf(beta[2:], 0.0, 10.0).sum()
        + _scipy_sigma_logpdf(pr[0], s1)
        + _scipy_sigma_logpdf(pr[1], s2)
        + stats.multivariate_normal.logpdf(d.y, d.X @ beta[:2], M)
    )
    logp = float(model.compile_logp(jacobian=False, mode="FAST_COMPILE")(point))
    # PyMC's HalfCauchy adds log(2) in float32 (~2e-9); see tests/test_bayes.py
    assert logp == pytest.approx(expected, rel=1e-8)


# --------------------------------------------------------------------------------------------
# Slow tier: MCMC against the exact posterior
# --------------------------------------------------------------------------------------------

LONG = {"chains": 4, "draws": 4000, "tune": 1000}


@pytest.fixture(scope="module")
def sampler():
    return bm.MultilevelSampler()


def _assert_agrees(res: bm.MultilevelMCMCResult, ex) -> None:
    check = bm.compare_to_exact(res, ex, z_max=4.0)
    assert not check["flagged"].any(), check.to_string()
    assert res.divergences == 0 and res.ok, res.flags
    # and close in posterior-sd units (MCSE alone could hide a badly mixing chain)
    for _, row in check.iterrows():
        assert abs(row["diff"]) <= 0.1 * ex.summary(row["parameter"])["sd"], row.to_dict()


@pytest.mark.slow
@pytest.mark.parametrize("trend", [True, False], ids=["trend", "per_timepoint"])
def test_mcmc_matches_exact_on_ketamine_time_course(sampler, trend):
    prob = _ketamine(trend).problem()
    res = sampler.fit(prob, seed=2026, **LONG)
    _assert_agrees(res, bm.exact_from_problem(prob))


@pytest.mark.slow
def test_mcmc_matches_exact_with_half_cauchy_priors(sampler):
    prob = _ketamine(True, outcome="remission").problem(
        sigma_trial_prior=PRIORS["halfcauchy"], sigma_timepoint_prior=PRIORS["halfcauchy"]
    )
    res = sampler.fit(prob, seed=11, target_accept=0.95, **LONG)
    _assert_agrees(res, bm.exact_from_problem(prob))


@pytest.mark.slow
def test_mcmc_matches_exact_on_simulated_data(sampler):
    rng = np.random.default_rng(99)
    V, X, Z1, Z2 = _simulated_design(rng, k=12)
    y = _simulate_y(rng, V, X, Z1, Z2, np.array([0.6, -0.15]), 0.4, 0.25)
    prob = bm.make_problem(y, V, X, Z1, Z2, coef_names=["intercept", "log_time"])
    res = sampler.fit(prob, seed=5, **LONG)
    _assert_agrees(res, bm.exact_from_problem(prob))


@pytest.mark.slow
def test_mcmc_is_deterministic_and_reuses_the_compiled_model():
    s = bm.MultilevelSampler()
    d = _ketamine(trend=True)
    short = {"chains": 2, "draws": 300, "tune": 300}
    a = s.fit(d.problem(), seed=3, **short)
    b = s.fit(d.problem(), seed=3, **short)
    assert a.compiled and not b.compiled and s.n_compiles == 1
    for name in ("beta", *bm.SIGMAS):
        assert np.array_equal(a.draws_of(name), b.draws_of(name))
    # other data of the same padded shape: the compiled model with new data
    c = s.fit(d.problem(beta_sd=5.0), seed=3, **short)
    other = _ketamine(trend=True, phi=0.5)  # another V
    e = s.fit(other.problem(), seed=3, **short)
    assert s.n_compiles == 1 and not c.compiled and not e.compiled
    assert not np.array_equal(a.draws_of("beta"), c.draws_of("beta"))
    frame = a.to_frame()
    assert list(frame["parameter"]) == ["intercept", "log_time", *bm.SIGMAS]
    assert {"mean", "sd", "low", "high", "mcse_mean", "rhat", "ess_bulk", "divergences"} <= set(
        frame.columns
    )
    assert a.to_dict()["coef_names"] == ["intercept", "log_time"]
