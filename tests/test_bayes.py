"""MCMC random-effects models (ketameta.bayes) against independent formulas and exact posteriors.

Fast tier (default): the models' log densities against scipy at fixed points (PyMC graphs
compiled with FAST_COMPILE, no sampling); the nested-quadrature reference used for the binomial
models against ``exact_posterior`` (normal likelihoods) and its inner integral against
``scipy.integrate.quad``; one short seeded fit per model family on the ketamine 24 h and BCG data
(determinism, reuse of the compiled model via the compile counter, NetCDF round trip); degenerate
inputs.

Slow tier (``-m slow``): 4 chains x 5000 draws per tau prior and data set against
``exact_posterior`` (normal-normal) and against the quadrature references (binomial models),
within 3 MCSE and within 0.15 posterior standard deviations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import fixture
from scipy import integrate, stats
from scipy.special import expit

from ketameta import bayes
from ketameta.bayes_exact import MuPrior, TauPrior, exact_posterior

DIAG = fixture("diagnostics.json")["datasets"]
BAYES = fixture("bayes_exact.json")["datasets"]
K24 = DIAG["ketamine_24h"]
BCG = DIAG["bcg"]
PRITZ = DIAG["pritz"]

TAU_PRIORS = {
    "halfnormal": TauPrior.halfnormal(0.5),
    "halfcauchy": TauPrior.halfcauchy(0.5),
    "uniform": TauPrior.uniform(5.0),
    "lognormal_tau2": TauPrior.turner2015(),
}
MU_NORMAL = MuPrior.normal(0.0, 10.0)


def _yv(name: str) -> tuple[np.ndarray, np.ndarray]:
    d = BAYES[name]
    return np.array(d["yi"]), np.array(d["vi"])


def _counts(d: dict) -> tuple[np.ndarray, ...]:
    return tuple(np.array(d[c]) for c in ("ai", "n1i", "ci", "n2i"))


# --------------------------------------------------------------------------------------------
# Log densities against scipy (compile only)
# --------------------------------------------------------------------------------------------


def _scipy_tau_logpdf(prior: TauPrior, tau: float) -> float:
    """The tau prior densities, written with scipy.stats (independent of bayes_exact)."""
    if prior.kind == "halfnormal":
        return stats.halfnorm.logpdf(tau, scale=prior.scale)
    if prior.kind == "halfcauchy":
        return stats.halfcauchy.logpdf(tau, scale=prior.scale)
    if prior.kind == "uniform":
        return stats.uniform.logpdf(tau, 0.0, prior.upper)
    # log(tau^2) ~ N(m, s^2): density of tau^2 times |d tau^2 / d tau| = 2 tau
    s2 = stats.lognorm.logpdf(tau**2, s=prior.sdlog, scale=math.exp(prior.meanlog))
    return s2 + math.log(2 * tau)


def _transformed(prior: TauPrior, tau: float) -> tuple[str, float, float]:
    """Name and value of PyMC's unconstrained tau, and log |d tau / d value|."""
    if prior.kind == "uniform":
        return (
            "tau_interval__",
            math.log(tau / (prior.upper - tau)),
            math.log(tau * (prior.upper - tau) / prior.upper),
        )
    return "tau_log__", math.log(tau), math.log(tau)


def _logp(model, point: dict, jacobian: bool) -> float:
    return float(model.compile_logp(jacobian=jacobian, mode="FAST_COMPILE")(point))


@pytest.mark.parametrize("mu_flat", [False, True], ids=["mu_normal", "mu_flat"])
@pytest.mark.parametrize("kind", list(TAU_PRIORS))
def test_normal_model_log_density(kind, mu_flat):
    prior = TAU_PRIORS[kind]
    mu_prior = MuPrior.flat() if mu_flat else MuPrior.normal(0.3, 2.0)
    y, v = _yv("ketamine_24h:OR:first2")  # k = 2, padded to 4
    model = bayes.normal_model(y, v, mu_prior, prior)
    mu, tau = 0.7, 0.45
    z = np.array([0.3, -1.2, 0.8, 2.0])  # the last two are padding
    name, value, logjac = _transformed(prior, tau)
    point = {"mu": mu, name: value, "z": z}
    theta = mu + tau * z[:2]
    expected = (
        (0.0 if mu_flat else stats.norm.logpdf(mu, 0.3, 2.0))
        + _scipy_tau_logpdf(prior, tau)
        + stats.norm.logpdf(z).sum()
        + stats.norm.logpdf(y, theta, np.sqrt(v)).sum()
    )
    # PyMC's HalfCauchy adds pt.log(2), which pytensor evaluates in float32 (off by ~2e-9): a
    # constant that does not change the posterior
    tol = 1e-8 if kind == "halfcauchy" else 1e-12
    assert _logp(model, point, jacobian=False) == pytest.approx(expected, rel=tol, abs=tol)
    assert _logp(model, point, jacobian=True) == pytest.approx(expected + logjac, rel=tol)
    # the same prior on tau as the exact reference
    assert float(prior.logpdf(tau)) == pytest.approx(_scipy_tau_logpdf(prior, tau), rel=1e-13)


def test_binomial_model_log_density():
    a, n1, c, n2 = _counts(K24)
    prior = TauPrior.lognormal_tau2(-2.0, 1.5)
    model = bayes.binomial_model(a, n1, c, n2, MuPrior.normal(0.0, 3.0), prior, 7.0, bucket=8)
    rng = np.random.default_rng(5)
    mu, tau = 0.4, 0.6
    z, alpha = rng.normal(size=8), rng.normal(-1.0, 1.5, size=8)
    point = {"mu": mu, "tau_log__": math.log(tau), "z": z, "alpha": alpha}
    k = len(a)
    theta = mu + tau * z[:k]
    expected = (
        stats.norm.logpdf(mu, 0.0, 3.0)
        + _scipy_tau_logpdf(prior, tau)
        + stats.norm.logpdf(z).sum()
        + stats.norm.logpdf(alpha, 0.0, 7.0).sum()  # padded studies: prior only
        + stats.binom.logpmf(a, n1, expit(alpha[:k] + theta)).sum()
        + stats.binom.logpmf(c, n2, expit(alpha[:k])).sum()
    )
    assert _logp(model, point, jacobian=False) == pytest.approx(expected, rel=1e-12)


def test_proportion_model_log_density():
    x, n = np.array(PRITZ["xi"]), np.array(PRITZ["ni"])
    prior = TauPrior.halfcauchy(1.0)
    model = bayes.proportion_model(x, n, MuPrior.normal(0.0, 10.0), prior)  # 14 -> 16
    z = np.linspace(-2.0, 2.0, 16)
    mu, tau = 1.2, 0.8
    point = {"mu": mu, "tau_log__": math.log(tau), "z": z}
    expected = (
        stats.norm.logpdf(mu, 0.0, 10.0)
        + stats.halfcauchy.logpdf(tau, scale=1.0)
        + stats.norm.logpdf(z).sum()
        + stats.binom.logpmf(x, n, expit(mu + tau * z[:14])).sum()
    )
    # tolerance: see the float32 log(2) of PyMC's HalfCauchy above
    assert _logp(model, point, jacobian=False) == pytest.approx(expected, rel=1e-10)


def test_binomial_log_density_is_stable_for_extreme_logits():
    """log expit is evaluated stably: zero-event arms at very negative logits stay finite."""
    model = bayes.binomial_model([0, 3], [50, 40], [0, 35], [60, 40], bucket=None)
    point = {"mu": -30.0, "tau_log__": math.log(0.2), "z": np.zeros(2), "alpha": [-40.0, 40.0]}
    assert math.isfinite(_logp(model, point, jacobian=True))


# --------------------------------------------------------------------------------------------
# The quadrature reference for the binomial models
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dataset, prior, half_range, n_tau",
    # k = 2 with a half-Cauchy prior: mu has heavy tails, so a wider lattice
    [
        ("ketamine_24h:OR", "halfnormal", 20, 200),
        pytest.param("ketamine_24h:OR:first2", "halfcauchy", 60, 400, marks=pytest.mark.slow),
    ],
)
def test_lattice_reference_matches_exact_posterior(dataset, prior, half_range, n_tau):
    """Normal likelihoods on the lattice reproduce the exact normal-normal posterior."""
    y, v = _yv(dataset)
    tp = TAU_PRIORS[prior]
    h = min(0.02, float(np.sqrt(v.min())) / 4)
    n = round(half_range / h)
    theta = np.arange(-n, n + 1) * h
    loglik = stats.norm.logpdf(y[:, None], theta[None, :], np.sqrt(v)[:, None])
    ref = bayes.lattice_reference(theta, loglik, MU_NORMAL, tp, n_tau=n_tau)
    ex = exact_posterior(y, v, mu_prior=MU_NORMAL, tau_prior=tp)
    for name in ("mu_mean", "mu_low", "mu_median", "mu_high", "tau_mean", "tau_median"):
        assert getattr(ref, name) == pytest.approx(getattr(ex, name), abs=1e-4), name
    for name in ("tau_low", "tau_high", "pred_low", "pred_high"):
        assert getattr(ref, name) == pytest.approx(getattr(ex, name), abs=1e-4), name
    # second moments: the half-Cauchy posterior of tau has a tau^-4 tail (k = 2), so E(tau^2)
    # converges slowly on the truncated grid
    sd_tol = 1e-4 if prior != "halfcauchy" else 1e-2
    for name in ("mu_sd", "pred_sd"):
        assert getattr(ref, name) == pytest.approx(getattr(ex, name), rel=sd_tol), name
    assert ref.edge_mass < 1e-8


@pytest.mark.parametrize("a, n1, c, n2", [(8, 18, 1, 18), (0, 20, 0, 20), (12, 34, 1, 33)])
def test_alpha_integral_matches_quad(a, n1, c, n2):
    theta = np.array([-2.0, 0.0, 0.5, 3.0])
    ours = bayes._binomial_study_loglik(a, n1, c, n2, 10.0, theta)
    for t, val in zip(theta, ours, strict=True):

        def f(al, t=t):
            return math.exp(
                stats.binom.logpmf(a, n1, expit(al + t))
                + stats.binom.logpmf(c, n2, expit(al))
                + stats.norm.logpdf(al, 0.0, 10.0)
            )

        ref = integrate.quad(f, -200, 200, points=[-5, 0, 5], limit=500, epsabs=0, epsrel=1e-12)[0]
        assert val == pytest.approx(math.log(ref), abs=1e-9)


# --------------------------------------------------------------------------------------------
# Short seeded fits (one compiled model per family)
# --------------------------------------------------------------------------------------------

SHORT = {"chains": 4, "draws": 500, "tune": 500}


@pytest.fixture(scope="module")
def sampler():
    # bucket 16: the ketamine (k = 4) and BCG (k = 13) fits share one compiled model per family
    return bayes.Sampler(bucket=16)


def _same_draws(r1: bayes.MCMCResult, r2: bayes.MCMCResult) -> bool:
    names = ["mu", "tau", "theta", "theta_new"]
    same = all(np.array_equal(r1.draws_of(n), r2.draws_of(n)) for n in names)
    e1, e2 = (r.idata["sample_stats"]["energy"].values for r in (r1, r2))
    return same and np.array_equal(e1, e2)


def test_normal_fit_reuses_compiled_model_and_is_deterministic(sampler, tmp_path):
    y, v = _yv("ketamine_24h:OR")
    start = sampler.n_compiles
    r1 = sampler.fit_normal(y, v, seed=11, study=BAYES["ketamine_24h:OR"]["study"], **SHORT)
    assert r1.compiled and sampler.n_compiles == start + 1
    yb, vb = _yv("bcg:RR")
    rb = sampler.fit_normal(yb, vb, seed=11, **SHORT)  # other data, other k, same bucket
    assert not rb.compiled and rb.compile_seconds == 0.0
    r2 = sampler.fit_normal(y, v, seed=11, study=BAYES["ketamine_24h:OR"]["study"], **SHORT)
    assert sampler.n_compiles == start + 1
    assert _same_draws(r1, r2)
    timing = ("compiled", "compile_seconds", "sample_seconds")
    d1, d2 = ({k: v for k, v in r.to_dict().items() if k not in timing} for r in (r1, r2))
    assert d1 == d2
    r3 = sampler.fit_normal(y, v, seed=12, **SHORT)
    assert not np.array_equal(r1.draws_of("mu"), r3.draws_of("mu"))

    assert r1.k == len(y) and rb.k == 13 and r1.draws_of("theta").shape == (4, 500, len(y))
    assert list(r1.to_frame()["parameter"]) == ["mu", "tau", "theta_new"]
    assert tuple(r1.to_frame().columns) == bayes.SUMMARY_COLUMNS
    # short run, but fixed seeds: loose agreement with the exact posterior
    for res, (yy, vv) in ((r1, (y, v)), (rb, (yb, vb))):
        check = bayes.compare_to_exact(res, exact_posterior(yy, vv), z_max=4.0)
        assert check.passed, check.to_frame()
    # draws survive a NetCDF round trip
    layout = r1.to_netcdf(tmp_path / "draws.nc")
    back = bayes.read_draws(tmp_path / "draws.nc")
    assert layout in ("flat", "groups")
    assert np.array_equal(back["posterior"]["mu"].values, r1.draws_of("mu"))
    assert list(back["posterior"]["study"].values) == BAYES["ketamine_24h:OR"]["study"]
    assert np.array_equal(back["constant_data"]["v"].values, v)
    assert int(back["sample_stats"]["diverging"].values.sum()) == r1.divergences


def test_binomial_fit(sampler):
    start = sampler.n_compiles
    r1 = sampler.fit_binomial(*_counts(K24), seed=3, study=K24["study"], **SHORT)
    rb = sampler.fit_binomial(*_counts(BCG), seed=3, **SHORT)
    r2 = sampler.fit_binomial(*_counts(K24), seed=3, study=K24["study"], **SHORT)
    assert sampler.n_compiles == start + 1 and r1.compiled and not rb.compiled
    assert _same_draws(r1, r2)
    assert np.array_equal(r1.draws_of("alpha"), r2.draws_of("alpha"))
    assert r1.draws_of("alpha").shape == (4, 500, len(K24["study"]))
    params = [s.parameter for s in r1.summaries]
    assert params == ["mu", "tau", "theta_new", "or_pooled", "or_new"]
    # quantiles are equivariant under exp (up to the interpolation between order statistics)
    mu, orp = r1.summary("mu"), r1.summary("or_pooled")
    assert orp.median == pytest.approx(math.exp(mu.median), rel=1e-3)
    assert orp.low == pytest.approx(math.exp(mu.low), rel=1e-3)
    assert orp.mean == pytest.approx(float(np.exp(r1.draws_of("mu")).mean()), rel=1e-12)
    # ketamine: a clear benefit at 24 h; BCG: protective
    assert r1.summary("mu").low > 0 and rb.summary("mu").high < 0


def test_proportion_fit(sampler):
    start = sampler.n_compiles
    r1 = sampler.fit_proportion(BCG["ai"], BCG["n1i"], seed=5, **SHORT)
    r2 = sampler.fit_proportion(BCG["ai"], BCG["n1i"], seed=5, **SHORT)
    rk = sampler.fit_proportion(K24["ai"], K24["n1i"], seed=5, **SHORT)
    assert sampler.n_compiles == start + 1 and not r2.compiled and not rk.compiled
    assert _same_draws(r1, r2)
    p = r1.summary("p_pooled")
    assert p.median == pytest.approx(float(expit(r1.summary("mu").median)), rel=1e-3)
    assert 0 < p.low < p.median < p.high < 0.1  # BCG: rare tuberculosis cases


def test_degenerate_inputs(sampler):
    compiles = sampler.n_compiles
    # k = 1: fitted (tau from its prior), flagged
    one = sampler.fit_normal([0.5], [0.2], seed=1, **SHORT)
    assert one.k == 1 and "k=1" in one.flags.split(";") and not one.ok
    # no events in any arm: not identified
    with pytest.raises(ValueError, match="no events"):
        sampler.fit_binomial([0, 0], [10, 12], [0, 0], [11, 9])
    # an arm without participants, events above n, non-integer counts
    with pytest.raises(ValueError, match="n2i must be >= 1"):
        sampler.fit_binomial([2, 3], [10, 12], [1, 0], [11, 0])
    with pytest.raises(ValueError, match="exceeds"):
        sampler.fit_binomial([12, 3], [10, 12], [1, 0], [11, 9])
    with pytest.raises(ValueError, match="whole numbers"):
        sampler.fit_binomial([1.5, 3], [10, 12], [1, 0], [11, 9])
    with pytest.raises(ValueError, match="ni must be >= 1"):
        sampler.fit_proportion([0, 1], [0, 5])
    # flat mu prior with a plateau in the likelihood: improper posterior
    with pytest.raises(ValueError, match="improper"):
        sampler.fit_proportion([0, 0], [5, 5], MuPrior.flat())
    with pytest.raises(ValueError, match="improper"):
        sampler.fit_binomial([0, 0], [10, 12], [1, 2], [11, 9], MuPrior.flat())
    # no events in any study, proper prior: fitted and flagged
    none = sampler.fit_proportion([0, 0, 0], [20, 30, 25], seed=2, **SHORT)
    assert "no_events" in none.flags and none.summary("p_pooled").high < 0.2
    # nothing usable, mismatched lengths, bad settings
    with pytest.raises(ValueError, match="no study"):
        sampler.fit_normal([math.nan], [0.1])
    with pytest.raises(ValueError, match="same length"):
        sampler.fit_normal([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="level"):
        sampler.fit_normal([0.1, 0.2], [0.1, 0.1], level=1.5)
    assert sampler.n_compiles == compiles  # none of these needed a new model


def test_threshold_flags(sampler):
    y, v = _yv("ketamine_24h:OR")
    strict = bayes.Thresholds(rhat_max=1.0, ess_min=1e9, divergences_max=0, bfmi_min=1e9)
    res = sampler.fit_normal(y, v, seed=11, thresholds=strict, **SHORT)
    flags = res.flags.split(";")
    assert {"rhat", "ess_bulk", "ess_tail", "bfmi"} <= set(flags) and not res.ok
    assert res.to_dict()["thresholds"]["ess_min"] == 1e9


def test_compare_to_exact_flags_a_wrong_reference(sampler):
    y, v = _yv("ketamine_24h:OR")
    res = sampler.fit_normal(y, v, seed=11, **SHORT)
    ex = exact_posterior(y + 0.5, v)  # the posterior of other data
    check = bayes.compare_to_exact(res, ex)
    assert not check.passed and "mu_mean" in check.flags and check.max_abs_z > 3
    assert list(check.to_frame().columns) == [
        "quantity",
        "mcmc",
        "exact",
        "mcse",
        "diff",
        "z",
        "flagged",
    ]
    with pytest.raises(ValueError, match="levels differ"):
        bayes.compare_to_exact(res, exact_posterior(y, v, level=0.9))


# --------------------------------------------------------------------------------------------
# Slow tier: long runs against exact and quadrature references
# --------------------------------------------------------------------------------------------

LONG = {"chains": 4, "draws": 5000, "tune": 1000}
SLOW_DATASETS = ("ketamine_24h:OR", "bcg:RR", "normand:SMD", "ketamine_24h:OR:first2")
_SD = {"mu": "mu_sd", "tau": "tau_sd", "pred": "pred_sd"}


@pytest.fixture(scope="module")
def long_sampler():
    return bayes.Sampler(bucket=16)


def _assert_close(check: bayes.ExactCheck, ref) -> None:
    """Within 3 MCSE, and within 0.15 posterior sds of the quantity's parameter."""
    assert check.passed, check.to_frame().to_string()
    for row in check.rows:
        if not math.isfinite(row.exact):
            continue
        sd = getattr(ref, _SD[row.quantity.split("_")[0]])
        assert abs(row.diff) <= 0.15 * sd, (row, sd)


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(TAU_PRIORS))
@pytest.mark.parametrize("dataset", SLOW_DATASETS)
def test_normal_long_run_matches_exact(long_sampler, dataset, kind):
    y, v = _yv(dataset)
    prior = TAU_PRIORS[kind]
    # the package's defaults: 0.99 for a half-Cauchy prior, 0.95 for the others (0.95 is the
    # least a half-Cauchy prior needs; on the 5-trial response data it left 3 divergences and
    # the lower predictive quantile 3.1 MCSE off the exact one, for this seed)
    accept = 0.99 if kind == "halfcauchy" else 0.95
    res = long_sampler.fit_normal(y, v, MU_NORMAL, prior, seed=2024, target_accept=accept, **LONG)
    ex = exact_posterior(y, v, mu_prior=MU_NORMAL, tau_prior=prior)
    check = bayes.compare_to_exact(res, ex)
    if dataset.endswith("first2") and kind == "halfcauchy":
        # k = 2 with a half-Cauchy prior: tau's tail ~ tau^-4 takes the non-centred z into the
        # narrow "reverse funnel" at large tau and NUTS diverges (52 of 20000 here, more at
        # target_accept 0.99). The estimates agree with the exact ones or the fit is flagged.
        assert check.passed or "divergences" in res.flags.split(";")
        return
    _assert_close(check, ex)


@pytest.mark.slow
@pytest.mark.parametrize("dataset", SLOW_DATASETS[:3])
def test_normal_long_run_flat_mu_prior(long_sampler, dataset):
    y, v = _yv(dataset)
    res = long_sampler.fit_normal(y, v, MuPrior.flat(), TAU_PRIORS["halfnormal"], seed=7, **LONG)
    ex = exact_posterior(y, v, mu_prior=MuPrior.flat(), tau_prior=TAU_PRIORS["halfnormal"])
    _assert_close(bayes.compare_to_exact(res, ex), ex)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["halfnormal", "halfcauchy"])
@pytest.mark.parametrize("name", ["ketamine_24h", "bcg"])
def test_binomial_long_run_matches_quadrature(long_sampler, name, kind):
    counts = _counts(DIAG[name])
    prior = TAU_PRIORS[kind]
    res = long_sampler.fit_binomial(*counts, MU_NORMAL, prior, seed=99, **LONG)
    ref = bayes.reference_posterior_binomial(*counts, MU_NORMAL, prior)
    assert ref.edge_mass < 1e-6
    _assert_close(bayes.compare_to_exact(res, ref), ref)


@pytest.mark.slow
@pytest.mark.parametrize(
    "xi, ni", [(PRITZ["xi"], PRITZ["ni"]), (BCG["ci"], BCG["n2i"])], ids=["pritz", "bcg_control"]
)
def test_proportion_long_run_matches_quadrature(long_sampler, xi, ni):
    res = long_sampler.fit_proportion(xi, ni, MU_NORMAL, TAU_PRIORS["halfnormal"], seed=5, **LONG)
    ref = bayes.reference_posterior_proportion(xi, ni, MU_NORMAL, TAU_PRIORS["halfnormal"])
    _assert_close(bayes.compare_to_exact(res, ref), ref)


@pytest.mark.slow
def test_binomial_large_counts_approach_normal_normal(long_sampler):
    """With large counts the binomial-normal posterior of mu nears the normal-normal one on the
    study log odds ratios (a consistency check, not an exact one: 0.05 on the log OR scale)."""
    a, n1, c, n2 = (x * 50 for x in _counts(K24))
    yi = np.log(a / (n1 - a)) - np.log(c / (n2 - c))
    vi = 1 / a + 1 / (n1 - a) + 1 / c + 1 / (n2 - c)
    res = long_sampler.fit_binomial(a, n1, c, n2, MU_NORMAL, TAU_PRIORS["halfnormal"], seed=1)
    ex = exact_posterior(yi, vi, mu_prior=MU_NORMAL, tau_prior=TAU_PRIORS["halfnormal"])
    assert res.summary("mu").mean == pytest.approx(ex.mu_mean, abs=0.05)
    assert res.summary("tau").median == pytest.approx(ex.tau_median, abs=0.05)


def test_packed_data_layout_round_trips():
    """Every named array and hyperparameter sits at its layout slice of the packed vector, in
    the same place for every problem of one structure (so with_data swaps the right numbers)."""
    a = bayes._binomial_problem([3, 5], [10, 12], [1, 2], [11, 12], None, None, 7.0, None, 4)
    b = bayes._binomial_problem([0, 9, 4], [8, 20, 9], [2, 2, 1], [8, 19, 9], None, None, 3.0,
                                None, 4)  # fmt: skip
    assert a.key == b.key
    la, lb = bayes._layout(a.data), bayes._layout(b.data)
    assert la == lb
    for p in (a, b):
        packed = bayes.pack_data(p.data)
        assert packed.size == la[-1][2]
        for name, start, stop, scalar in la:
            got = packed[start] if scalar else packed[start:stop]
            np.testing.assert_array_equal(got, np.asarray(p.data[name], dtype=float))
