"""MCMC for Bayesian random-effects meta-analysis: PyMC models sampled with nutpie.

Three models, all with the overall effect ``mu`` (prior :class:`MuPrior`: normal or flat) and the
between-study standard deviation ``tau`` (prior :class:`TauPrior`, the same densities as
:mod:`ketameta.bayes_exact`), written non-centred, ``theta_i = mu + tau z_i`` with
``z_i ~ N(0, 1)`` (Papaspiliopoulos, Roberts & Sköld 2007; Betancourt & Girolami 2015), which
avoids the funnel between ``tau`` and the study effects when there are few studies:

- **normal-normal** (:meth:`Sampler.fit_normal`) on estimates ``y_i`` with known variances
  ``v_i``: ``y_i ~ N(theta_i, v_i)`` (e.g. Spiegelhalter, Abrams & Myles 2004, ch. 5.2; Röver
  2020). :func:`ketameta.bayes_exact.exact_posterior` is its exact reference;
- **binomial-normal, arm-based** (:meth:`Sampler.fit_binomial`) on raw counts, no continuity
  correction (Smith, Spiegelhalter & Thomas 1995, Stat Med 14:2685-2699; Günhan, Röver & Friede
  2020, "Random-effects meta-analysis of few studies involving rare events", Res Synth Methods
  11:74-90): ``ci ~ Bin(n2i, expit(alpha_i))`` (control), ``ai ~ Bin(n1i, expit(alpha_i +
  theta_i))`` (treatment), fixed-effect baselines ``alpha_i ~ N(0, alpha_sd^2)`` (default
  ``alpha_sd = 10`` on the logit scale). ``mu`` is the pooled log odds ratio;
- **binomial-normal, single arm** (:meth:`Sampler.fit_proportion`) for proportions on the logit
  scale (PLO; Stijnen, Hamza & Ozdemir 2010, Stat Med 29:3046-3067, in a Bayesian version):
  ``xi ~ Bin(ni, expit(theta_i))``. ``expit(mu)`` is the pooled (median-study) proportion.

Prior parameterisation (the change of variables is exact, so the prior on ``tau`` is the density
:meth:`TauPrior.logpdf` of bayes_exact): ``HalfNormal(scale)``, ``HalfCauchy(scale)`` and
``Uniform(0, upper)`` directly on ``tau``; the log-normal prior on ``tau^2`` of Turner et al.
(2015), ``log(tau^2) ~ N(m, s^2)``, as ``tau ~ LogNormal(m/2, s/2)`` (``log tau = log(tau^2)/2``).
PyMC samples ``log tau`` (``logit(tau/upper)`` for the uniform prior) and adds the log-Jacobian.

Posterior predictive: ``theta_new = mu + tau eps`` with ``eps ~ N(0, 1)`` drawn once per posterior
draw from a generator seeded by ``(seed, 1)``, so it is reproducible.

Compilation: one nutpie compile (PyMC -> Numba, seconds) per *structure* (model family, kind of
``tau`` prior, flat or normal ``mu`` prior, padded number of studies); data and prior
hyperparameters are packed into one :func:`pymc.Data` container (one shared input compiles
faster than one per name) swapped in with nutpie's ``with_data`` (tens of milliseconds).
nutpie fixes the number of free parameters at compile time (a shape change fails at
initialisation), so the study dimension is padded to a bucket (4, 8, 16, 32, ...): padded
studies have no likelihood (mask 0 or ``n = 0``) and only add independent standard-normal ``z``
(and prior-only ``alpha``) coordinates that do not change the posterior of the real parameters.

Summaries are computed from the draws here (not with ``az.summary`` and its defaults): mean, sd,
median and the equal-tailed ``level`` interval (``numpy.quantile``, linear interpolation); MCSE of
the mean and of the quantiles (``arviz.mcse`` methods ``mean``/``quantile``; Vehtari et al. 2021,
"Rank-normalization, folding, and localization", Bayesian Anal 16:667-718), rank-normalised
split R-hat and bulk/tail ESS (same paper), divergences and the per-chain E-BFMI (Betancourt 2016,
arXiv:1604.00695). R-hat and ESS are taken over every sampled quantity of the real studies
(``mu``, ``tau``, ``theta_i``, and ``alpha_i`` for the binomial model).

Draws: :attr:`MCMCResult.idata` is an :class:`xarray.DataTree` (``posterior``,
``sample_stats``, ``constant_data``). ``DataTree.to_netcdf`` needs netCDF4 or h5netcdf, which
this environment lacks, so :func:`write_draws` falls back to one NetCDF3 file (scipy engine)
with ``group.variable`` names; :func:`read_draws` restores the tree.

Exact checks: :func:`compare_to_exact` flags summaries more than ``z_max`` MCSEs from a reference.
For the binomial models there is no one-dimensional exact integral, but given ``(mu, tau)`` the
studies are independent, so :func:`reference_posterior_binomial` and
:func:`reference_posterior_proportion` compute the posterior by nested deterministic quadrature:
each study's likelihood ``L_i(theta)`` (for the arm-based model ``alpha_i`` integrated out on a
trapezoid lattice) on a ``theta`` lattice, its convolution with ``N(mu, tau^2)`` on a
``(mu, tau)`` tensor grid, and the posterior on that grid (:func:`lattice_reference`). The
quadrature layer is validated against :func:`exact_posterior` with normal likelihoods.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.optimize import brentq
from scipy.special import gammaln, log_expit, logsumexp, ndtr

from ketameta.bayes_exact import MuPrior, TauPrior

if TYPE_CHECKING:
    import pandas as pd
    import pymc as pm
    import xarray as xr

FAMILIES = ("normal", "binomial", "proportion")
_LOG2PI = math.log(2 * math.pi)
_MIN_BUCKET = 4


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


def _defaults(mu_prior: MuPrior | None, tau_prior: TauPrior | None) -> tuple[MuPrior, TauPrior]:
    """The package defaults of :func:`exact_posterior`: ``mu ~ N(0, 10^2)``, ``tau ~ HN(0.5)``."""
    return (
        MuPrior.normal(0.0, 10.0) if mu_prior is None else mu_prior,
        TauPrior.halfnormal(0.5) if tau_prior is None else tau_prior,
    )


def _padded_size(k: int, min_bucket: int | None) -> int:
    """Smallest bucket ``max(min_bucket, 2^j) >= k``; ``k`` itself for ``min_bucket=None``."""
    if min_bucket is None:
        return k
    return max(int(min_bucket), 1 << (k - 1).bit_length())


def _counts(name: str, values, length: int | None = None) -> np.ndarray:
    """Finite, non-negative whole numbers as float64 (ValueError otherwise)."""
    x = np.asarray(values, dtype=float).ravel()
    if length is not None and x.size != length:
        raise ValueError(f"{name} has {x.size} values, expected {length}")
    if not np.all(np.isfinite(x)) or np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError(f"{name} must hold finite, non-negative whole numbers")
    return x


def _check_arm(events: np.ndarray, n: np.ndarray, ev_name: str, n_name: str) -> None:
    if np.any(n < 1):
        bad = np.flatnonzero(n < 1).tolist()
        raise ValueError(f"{n_name} must be >= 1 (arm without participants in studies {bad})")
    if np.any(events > n):
        bad = np.flatnonzero(events > n).tolist()
        raise ValueError(f"{ev_name} exceeds {n_name} in studies {bad}")


def _labels(study, k: int) -> list[str]:
    if study is None:
        return [str(i) for i in range(k)]
    out = [str(s) for s in study]
    if len(out) != k:
        raise ValueError(f"study has {len(out)} labels, expected {k}")
    return out


def _log_choose(n: np.ndarray, x: np.ndarray) -> np.ndarray:
    return gammaln(n + 1) - gammaln(x + 1) - gammaln(n - x + 1)


def _prior_data(mu_prior: MuPrior, tau_prior: TauPrior) -> dict[str, float]:
    """Hyperparameters as data containers, so that changing them needs no recompilation."""
    d: dict[str, float] = {}
    if not mu_prior.is_flat:
        d["mu_mean"], d["mu_sd"] = mu_prior.mean, mu_prior.sd
    if tau_prior.kind in ("halfnormal", "halfcauchy"):
        d["tau_scale"] = tau_prior.scale
    elif tau_prior.kind == "uniform":
        d["tau_upper"] = tau_prior.upper
    else:
        d["tau_meanlog"], d["tau_sdlog"] = tau_prior.meanlog, tau_prior.sdlog
    return d


def _pad(x: np.ndarray, size: int, fill: float) -> np.ndarray:
    out = np.full(size, fill, dtype=float)
    out[: x.size] = x
    return out


@dataclass(frozen=True)
class ModelKey:
    """Structure of a compiled model: one nutpie compile per distinct key."""

    family: str
    tau_kind: str
    mu_flat: bool
    size: int


@dataclass(frozen=True)
class _Problem:
    """A validated analysis: model structure, data for the containers, study bookkeeping."""

    key: ModelKey
    data: dict[str, Any]
    k: int
    labels: list[str]
    mu_prior: MuPrior
    tau_prior: TauPrior
    constant_data: dict[str, np.ndarray]
    notes: tuple[str, ...]
    flags: tuple[str, ...]


def _normal_problem(y, v, mu_prior, tau_prior, study, bucket: int | None) -> _Problem:
    mu_prior, tau_prior = _defaults(mu_prior, tau_prior)
    y_all = np.asarray(y, dtype=float).ravel()
    v_all = np.asarray(v, dtype=float).ravel()
    if y_all.shape != v_all.shape:
        raise ValueError("y and v must have the same length")
    labels_all = _labels(study, y_all.size)
    # As exact_posterior and rma: studies without a finite estimate and a positive variance
    # carry no information and are dropped (and said so).
    keep = np.isfinite(y_all) & np.isfinite(v_all) & (v_all > 0)
    yk, vk = y_all[keep], v_all[keep]
    k = int(yk.size)
    if k == 0:
        raise ValueError("no study with a finite y and a positive v")
    notes, flags = [], []
    if k < y_all.size:
        notes.append(f"{y_all.size - k} studies without a finite y and positive v dropped")
    if k == 1:
        notes.append("single study: tau is informed by its prior only")
        flags.append("k=1")
    size = _padded_size(k, bucket)
    data: dict[str, Any] = {
        "y": _pad(yk, size, 0.0),
        "sd": _pad(np.sqrt(vk), size, 1.0),
        "mask": _pad(np.ones(k), size, 0.0),
    }
    data.update(_prior_data(mu_prior, tau_prior))
    key = ModelKey("normal", tau_prior.kind, mu_prior.is_flat, size)
    labels = [lab for lab, kp in zip(labels_all, keep, strict=True) if kp]
    return _Problem(
        key, data, k, labels, mu_prior, tau_prior, {"y": yk, "v": vk}, tuple(notes), tuple(flags)
    )


def _binomial_problem(ai, n1i, ci, n2i, mu_prior, tau_prior, alpha_sd, study, bucket) -> _Problem:
    mu_prior, tau_prior = _defaults(mu_prior, tau_prior)
    a = _counts("ai", ai)
    n1, c, n2 = (_counts(nm, x, a.size) for nm, x in (("n1i", n1i), ("ci", ci), ("n2i", n2i)))
    if a.size == 0:
        raise ValueError("no studies")
    _check_arm(a, n1, "ai", "n1i")
    _check_arm(c, n2, "ci", "n2i")
    if not (0 < alpha_sd < math.inf):
        raise ValueError(f"alpha_sd must be finite and > 0, got {alpha_sd!r}")
    if a.sum() + c.sum() == 0 or (a.sum() + c.sum() == n1.sum() + n2.sum()):
        raise ValueError(
            "no events (or only events) in every arm: the odds ratio is not identified by the data"
        )
    # With a flat mu prior the posterior is improper when the likelihood has a plateau in mu:
    # all treatment arms without events (mu -> -inf) or with only events (mu -> +inf).
    if mu_prior.is_flat and (a.sum() == 0 or np.all(a == n1)):
        raise ValueError(
            "flat mu prior with no (or only) events in every treatment arm: improper posterior"
        )
    k = int(a.size)
    notes, flags = [], []
    if k == 1:
        notes.append("single study: tau is informed by its prior only")
        flags.append("k=1")
    dz = int(np.sum(((a == 0) & (c == 0)) | ((a == n1) & (c == n2))))
    if dz:
        notes.append(f"{dz} double-zero studies kept (no continuity correction is needed)")
    size = _padded_size(k, bucket)
    # Padded studies have n = 0 and no events: Bin(0 | 0, p) = 1, so they add nothing.
    data: dict[str, Any] = {
        "ai": _pad(a, size, 0.0),
        "n1i": _pad(n1, size, 0.0),
        "ci": _pad(c, size, 0.0),
        "n2i": _pad(n2, size, 0.0),
        "logchoose": _pad(_log_choose(n1, a) + _log_choose(n2, c), size, 0.0),
        "alpha_sd": float(alpha_sd),
    }
    data.update(_prior_data(mu_prior, tau_prior))
    key = ModelKey("binomial", tau_prior.kind, mu_prior.is_flat, size)
    const = {"ai": a, "n1i": n1, "ci": c, "n2i": n2}
    return _Problem(
        key, data, k, _labels(study, k), mu_prior, tau_prior, const, tuple(notes), tuple(flags)
    )


def _proportion_problem(xi, ni, mu_prior, tau_prior, study, bucket) -> _Problem:
    mu_prior, tau_prior = _defaults(mu_prior, tau_prior)
    x = _counts("xi", xi)
    n = _counts("ni", ni, x.size)
    if x.size == 0:
        raise ValueError("no studies")
    _check_arm(x, n, "xi", "ni")
    k = int(x.size)
    notes, flags = [], []
    none, only = x.sum() == 0, bool(np.all(x == n))
    if mu_prior.is_flat and (none or only):
        raise ValueError(
            "flat mu prior with no (or only) events in every study: improper posterior"
        )
    if none or only:
        notes.append(
            f"{'no' if none else 'only'} events in every study: one tail of the pooled "
            "proportion is set by the mu prior"
        )
        flags.append("no_events" if none else "all_events")
    if k == 1:
        notes.append("single study: tau is informed by its prior only")
        flags.append("k=1")
    size = _padded_size(k, bucket)
    data: dict[str, Any] = {
        "xi": _pad(x, size, 0.0),
        "ni": _pad(n, size, 0.0),
        "logchoose": _pad(_log_choose(n, x), size, 0.0),
    }
    data.update(_prior_data(mu_prior, tau_prior))
    key = ModelKey("proportion", tau_prior.kind, mu_prior.is_flat, size)
    const = {"xi": x, "ni": n}
    return _Problem(
        key, data, k, _labels(study, k), mu_prior, tau_prior, const, tuple(notes), tuple(flags)
    )


# --------------------------------------------------------------------------------------------
# PyMC models
# --------------------------------------------------------------------------------------------


def _tau_rv(kind: str, d: dict):
    import pymc as pm

    if kind == "halfnormal":
        return pm.HalfNormal("tau", sigma=d["tau_scale"])
    if kind == "halfcauchy":
        return pm.HalfCauchy("tau", beta=d["tau_scale"])
    if kind == "uniform":
        return pm.Uniform("tau", lower=0.0, upper=d["tau_upper"])
    # log(tau^2) ~ N(m, s^2)  <=>  log(tau) ~ N(m/2, (s/2)^2): Turner et al. (2015)
    return pm.LogNormal("tau", mu=d["tau_meanlog"] / 2, sigma=d["tau_sdlog"] / 2)


def _log_sigmoid(x):
    import pytensor.tensor as pt

    # log expit(x) = -softplus(-x); pytensor's softplus is evaluated stably for large |x|
    return -pt.softplus(-x)


def _layout(data: dict[str, Any]) -> list[tuple[str, int, int, bool]]:
    """Where each named array sits in the packed vector: ``(name, start, stop, is_scalar)``,
    names in sorted order (the same for every problem of one model structure)."""
    out, start = [], 0
    for name in sorted(data):
        size = int(np.size(data[name]))
        out.append((name, start, start + size, np.ndim(data[name]) == 0))
        start += size
    return out


def pack_data(data: dict[str, Any]) -> np.ndarray:
    """The problem's arrays and hyperparameters as one float vector (see :func:`_layout`)."""
    return np.concatenate(
        [np.atleast_1d(np.asarray(data[name], dtype=float)).ravel() for name in sorted(data)]
    )


def build_model(key: ModelKey, data: dict[str, Any]) -> pm.Model:
    """The PyMC model of structure ``key`` with data containers initialised to ``data``.

    Free variables: ``mu``, ``tau``, ``z`` (``key.size``) and, for the binomial model,
    ``alpha`` (``key.size``); deterministic ``theta = mu + tau z``. The likelihood is one
    ``pm.Potential`` ("loglik") with every normalising constant, so that the model's log density
    equals the textbook formula (tested against scipy).
    """
    import pymc as pm

    if key.family not in FAMILIES:
        raise ValueError(f"unknown model family {key.family!r}")
    with pm.Model() as model:
        # One data container holding every array and hyperparameter: nutpie compiles a model
        # with one shared input about 30% faster than with one input per name (measured: 6.7 s
        # against 9.2 s for the normal-normal model), and new data is still swapped in with
        # ``with_data`` (see pack_data).
        packed = pm.Data("data", pack_data(data))
        d = {}
        for name, start, stop, scalar in _layout(data):
            d[name] = packed[start] if scalar else packed[start:stop]
        if key.mu_flat:
            mu = pm.Flat("mu")
        else:
            mu = pm.Normal("mu", mu=d["mu_mean"], sigma=d["mu_sd"])
        tau = _tau_rv(key.tau_kind, d)
        z = pm.Normal("z", mu=0.0, sigma=1.0, shape=key.size)
        theta = pm.Deterministic("theta", mu + tau * z)
        if key.family == "normal":
            r = (d["y"] - theta) / d["sd"]
            ll = d["mask"] * (-0.5 * _LOG2PI - pm.math.log(d["sd"]) - 0.5 * r * r)
        elif key.family == "binomial":
            alpha = pm.Normal("alpha", mu=0.0, sigma=d["alpha_sd"], shape=key.size)
            eta_t = alpha + theta
            ll = (
                d["logchoose"]
                + d["ai"] * _log_sigmoid(eta_t)
                + (d["n1i"] - d["ai"]) * _log_sigmoid(-eta_t)
                + d["ci"] * _log_sigmoid(alpha)
                + (d["n2i"] - d["ci"]) * _log_sigmoid(-alpha)
            )
        else:
            ll = (
                d["logchoose"]
                + d["xi"] * _log_sigmoid(theta)
                + (d["ni"] - d["xi"]) * _log_sigmoid(-theta)
            )
        pm.Potential("loglik", ll.sum())
    return model


def normal_model(y, v, mu_prior=None, tau_prior=None, bucket: int | None = _MIN_BUCKET) -> pm.Model:
    """PyMC normal-normal model with the data of ``y``/``v`` (for inspection and tests)."""
    p = _normal_problem(y, v, mu_prior, tau_prior, None, bucket)
    return build_model(p.key, p.data)


def binomial_model(
    ai,
    n1i,
    ci,
    n2i,
    mu_prior=None,
    tau_prior=None,
    alpha_sd: float = 10.0,
    bucket: int | None = _MIN_BUCKET,
) -> pm.Model:
    """PyMC arm-based binomial-normal model with the given counts."""
    p = _binomial_problem(ai, n1i, ci, n2i, mu_prior, tau_prior, alpha_sd, None, bucket)
    return build_model(p.key, p.data)


def proportion_model(
    xi, ni, mu_prior=None, tau_prior=None, bucket: int | None = _MIN_BUCKET
) -> pm.Model:
    """PyMC single-arm binomial-normal (logit) model with the given counts."""
    p = _proportion_problem(xi, ni, mu_prior, tau_prior, None, bucket)
    return build_model(p.key, p.data)


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """Diagnostic thresholds; a result's ``flags`` lists the ones it fails.

    Defaults follow Vehtari et al. (2021): rank-normalised R-hat <= 1.01 and bulk/tail ESS >= 400
    (100 per chain for 4 chains); no divergent transitions; E-BFMI >= 0.3 (Betancourt 2016).
    """

    rhat_max: float = 1.01
    ess_min: float = 400.0
    divergences_max: int = 0
    bfmi_min: float = 0.3

    def to_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class ParameterSummary:
    """Posterior summary of one scalar quantity from its draws.

    ``low``/``high``: equal-tailed ``level`` interval. ``mcse_*``: Monte Carlo standard errors of
    the mean and of the quantiles (median, ``low``, ``high``). ``ess_*``/``rhat``: this
    quantity's bulk/tail ESS and rank-normalised R-hat.
    """

    parameter: str
    mean: float
    sd: float
    median: float
    low: float
    high: float
    mcse_mean: float
    mcse_median: float
    mcse_low: float
    mcse_high: float
    ess_bulk: float
    ess_tail: float
    rhat: float

    def to_dict(self) -> dict[str, float | str]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


SUMMARY_COLUMNS = tuple(f.name for f in fields(ParameterSummary))


def _summarise(name: str, x: np.ndarray, level: float) -> ParameterSummary:
    import arviz as az

    lo_p, hi_p = (1 - level) / 2, (1 + level) / 2
    q = np.quantile(x, [lo_p, 0.5, hi_p])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return ParameterSummary(
            parameter=name,
            mean=float(np.mean(x)),
            sd=float(np.std(x, ddof=1)),
            median=float(q[1]),
            low=float(q[0]),
            high=float(q[2]),
            mcse_mean=float(az.mcse(x, method="mean")),
            mcse_median=float(az.mcse(x, method="quantile", prob=0.5)),
            mcse_low=float(az.mcse(x, method="quantile", prob=lo_p)),
            mcse_high=float(az.mcse(x, method="quantile", prob=hi_p)),
            ess_bulk=float(az.ess(x, method="bulk")),
            ess_tail=float(az.ess(x, method="tail", prob=0.05)),
            rhat=float(az.rhat(x, method="rank")),
        )


class FitAccess:
    """What every MCMC result offers on top of its fields ``summaries``, ``flags`` and ``idata``
    (:class:`MCMCResult`, :class:`ketameta.bayes_multilevel.MultilevelMCMCResult`)."""

    @property
    def ok(self) -> bool:
        """True when no threshold failed and there is no data caveat."""
        return self.flags == ""

    def summary(self, parameter: str) -> ParameterSummary:
        for s in self.summaries:
            if s.parameter == parameter:
                return s
        raise KeyError(f"no summary {parameter!r}; have {[s.parameter for s in self.summaries]}")

    def draws_of(self, name: str) -> np.ndarray:
        """Posterior draws of a variable, shape ``(chain, draw[, study or coefficient])``."""
        return np.asarray(self.idata["posterior"][name].values)


@dataclass(frozen=True)
class MCMCResult(FitAccess):
    """Posterior summaries, diagnostics and draws of one MCMC fit.

    ``family``: "normal", "binomial" or "proportion". ``summaries``: one
    :class:`ParameterSummary` per quantity: ``mu``, ``tau``, ``theta_new`` (a new study's
    effect), plus ``or_pooled = exp(mu)`` and ``or_new = exp(theta_new)`` for the binomial model
    and ``p_pooled = expit(mu)``, ``p_new = expit(theta_new)`` for proportions.
    Diagnostics are over all sampled quantities of the real studies: ``max_rhat``,
    ``min_ess_bulk``, ``min_ess_tail``, ``divergences`` (post-warmup) and ``min_bfmi`` (lowest
    per-chain E-BFMI). ``flags``: ";"-separated failed thresholds (``rhat``, ``ess_bulk``,
    ``ess_tail``, ``divergences``, ``bfmi``) and data caveats (``k=1``, ``no_events``, ...);
    empty when all is well. ``notes``: the caveats in words. ``compiled``: whether this fit
    compiled a model (``compile_seconds``), ``sample_seconds``: sampling wall time.
    ``idata``: :class:`xarray.DataTree` with groups ``posterior`` (``mu``, ``tau``,
    ``theta_new``, ``theta`` and ``alpha`` by ``study``), ``sample_stats`` and
    ``constant_data``; write it with :meth:`to_netcdf`.
    """

    family: str
    k: int
    mu_prior: str
    tau_prior: str
    level: float
    seed: int
    chains: int
    draws: int
    tune: int
    target_accept: float
    backend: str
    summaries: tuple[ParameterSummary, ...]
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    min_bfmi: float
    thresholds: Thresholds
    flags: str
    notes: str
    compiled: bool
    compile_seconds: float
    sample_seconds: float
    idata: xr.DataTree = field(repr=False, compare=False)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for f in fields(self):
            if f.name == "idata":
                continue
            val = getattr(self, f.name)
            if f.name == "summaries":
                val = [s.to_dict() for s in val]
            elif f.name == "thresholds":
                val = val.to_dict()
            out[f.name] = val
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per quantity, columns :data:`SUMMARY_COLUMNS`."""
        import pandas as pd

        return pd.DataFrame([s.to_dict() for s in self.summaries], columns=list(SUMMARY_COLUMNS))

    def diagnostics(self) -> dict[str, object]:
        names = ("max_rhat", "min_ess_bulk", "min_ess_tail", "divergences", "min_bfmi", "flags")
        return {n: getattr(self, n) for n in names}

    def studies(self) -> pd.DataFrame:
        """Per-study (shrunken) effects ``theta_i``: mean, sd and equal-tailed interval."""
        import pandas as pd

        th = self.draws_of("theta")
        flat = th.reshape(-1, th.shape[-1])
        q = np.quantile(flat, [(1 - self.level) / 2, (1 + self.level) / 2], axis=0)
        return pd.DataFrame(
            {
                "study": [str(s) for s in self.idata["posterior"]["study"].values],
                "mean": flat.mean(axis=0),
                "sd": flat.std(axis=0, ddof=1),
                "low": q[0],
                "high": q[1],
            }
        )

    def to_netcdf(self, path) -> str:
        """Write the draws (all groups) to NetCDF; see :func:`write_draws`."""
        return write_draws(self.idata, path)


_FLAT_LAYOUT = "ketameta-flat-groups-v1"
_GROUP_SEP = "."


def write_draws(tree: xr.DataTree, path) -> str:
    """Write a DataTree of draws to NetCDF at ``path``; returns the layout used.

    With netCDF4 or h5netcdf installed, the standard ArviZ layout (one NetCDF4 group per
    DataTree group, ``"groups"``). Otherwise (only scipy's NetCDF3 writer, which has no groups)
    one NetCDF3 file whose variables are named ``group.variable`` and whose global attribute
    ``ketameta_layout`` marks it (``"flat"``); :func:`read_draws` reads both back.
    """
    from importlib.util import find_spec

    import xarray as xr

    if find_spec("netCDF4") is not None or find_spec("h5netcdf") is not None:
        tree.to_netcdf(path)
        return "groups"
    data_vars, coords = {}, {}
    for node in tree.subtree:
        if node.is_root:
            continue
        ds = node.to_dataset(inherit=False)
        for cname, cval in ds.coords.items():
            coords.setdefault(cname, cval.variable)
        for vname, var in ds.data_vars.items():
            flat_var = var.variable.copy()
            flat_var.attrs = dict(var.attrs, group=node.name)
            data_vars[f"{node.name}{_GROUP_SEP}{vname}"] = flat_var
    flat = xr.Dataset(
        data_vars, coords=coords, attrs=dict(tree.attrs, ketameta_layout=_FLAT_LAYOUT)
    )
    flat.to_netcdf(path, engine="scipy")
    return "flat"


def read_draws(path) -> xr.DataTree:
    """Read draws written by :func:`write_draws` (either layout) as a DataTree."""
    import xarray as xr

    with open(path, "rb") as fh:
        magic = fh.read(4)
    if not magic.startswith(b"CDF"):  # NetCDF4/HDF5: the standard grouped layout
        return xr.open_datatree(path)
    with xr.open_dataset(path, engine="scipy") as ds:
        ds = ds.load()
    if ds.attrs.get("ketameta_layout") != _FLAT_LAYOUT:
        return xr.DataTree(ds)
    groups: dict[str, dict] = {}
    for name, var in ds.data_vars.items():
        group, vname = name.split(_GROUP_SEP, 1)
        attrs = {key: val for key, val in var.attrs.items() if key != "group"}
        groups.setdefault(group, {})[vname] = var.assign_attrs(attrs)
    nodes = {}
    for group, variables in groups.items():
        sub = xr.Dataset(variables)
        nodes[group] = sub.drop_vars([c for c in sub.coords if c not in sub.dims])
    attrs = {key: val for key, val in ds.attrs.items() if key != "ketameta_layout"}
    tree = xr.DataTree.from_dict(nodes)
    tree.attrs = attrs
    return tree


# --------------------------------------------------------------------------------------------
# Sampler
# --------------------------------------------------------------------------------------------


def _available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _fresh_seed() -> int:
    # recorded in the result, so a fit without a given seed can still be reproduced
    return int(np.random.SeedSequence().generate_state(1, np.uint32)[0])


_STATS_KEPT = ("diverging", "energy", "step_size", "n_steps", "depth", "mean_tree_accept", "logp")


class Sampler:
    """Holds compiled nutpie models keyed by :class:`ModelKey` and fits analyses with them.

    One instance per process is enough (see :func:`default_sampler`); every fit whose structure
    was seen before reuses the compiled model with new data (``n_compiles`` counts compiles).
    ``bucket``: analyses with ``k`` studies are padded to ``max(bucket, 2^ceil(log2 k))``
    studies (4 -> 4, 13 -> 16, 20 -> 32 with the default 4), so every ``k`` in a bucket shares
    one compiled model; ``None`` compiles one model per exact ``k``. Draws are bit-identical for
    the same data, priors, seed, settings and bucket. ``cores``: chains run in parallel threads
    (default: the CPUs available to the process).
    """

    def __init__(
        self,
        *,
        cores: int | None = None,
        bucket: int | None = _MIN_BUCKET,
        thresholds: Thresholds | None = None,
    ) -> None:
        if bucket is not None and bucket < 1:
            raise ValueError("bucket must be >= 1 (or None)")
        self.cores = cores if cores is not None else _available_cores()
        self.bucket = bucket
        self.thresholds = thresholds if thresholds is not None else Thresholds()
        self._compiled: dict[ModelKey, Any] = {}
        self.compile_log: list[tuple[ModelKey, float]] = []

    @property
    def n_compiles(self) -> int:
        """Number of nutpie compiles done by this sampler."""
        return len(self.compile_log)

    @property
    def keys(self) -> tuple[ModelKey, ...]:
        return tuple(self._compiled)

    def compiled_model(self, key: ModelKey, data: dict[str, Any]):
        """The compiled nutpie model for ``key`` with ``data`` swapped in; compiles on first use.

        Returns ``(compiled model, compile seconds)`` (0 when it was cached).
        """
        seconds = 0.0
        if key not in self._compiled:
            import nutpie

            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                self._compiled[key] = nutpie.compile_pymc_model(build_model(key, data))
            seconds = time.perf_counter() - t0
            self.compile_log.append((key, seconds))
        return self._compiled[key].with_data(data=pack_data(data)), seconds

    # -- public fits -------------------------------------------------------------------------
    def fit_normal(
        self,
        y,
        v,
        mu_prior: MuPrior | None = None,
        tau_prior: TauPrior | None = None,
        *,
        seed: int | None = None,
        chains: int = 4,
        draws: int = 2000,
        tune: int = 1000,
        target_accept: float | None = None,
        level: float = 0.95,
        study: Sequence | None = None,
        thresholds: Thresholds | None = None,
    ) -> MCMCResult:
        """Normal-normal random-effects model on estimates ``y`` with variances ``v``.

        Defaults as :func:`exact_posterior`: ``mu ~ N(0, 10^2)``, ``tau ~ HalfNormal(0.5)``.
        ``target_accept`` defaults to 0.95, 0.99 for a half-Cauchy ``tau`` prior (which needs
        at least 0.95; lower values are flagged ``target_accept``). The same defaults and
        flags hold for :meth:`fit_binomial` and :meth:`fit_proportion`.
        """
        p = _normal_problem(y, v, mu_prior, tau_prior, study, self.bucket)
        return self._fit(p, seed, chains, draws, tune, target_accept, level, thresholds)

    def fit_binomial(
        self,
        ai,
        n1i,
        ci,
        n2i,
        mu_prior: MuPrior | None = None,
        tau_prior: TauPrior | None = None,
        *,
        alpha_sd: float = 10.0,
        seed: int | None = None,
        chains: int = 4,
        draws: int = 2000,
        tune: int = 1000,
        target_accept: float | None = None,
        level: float = 0.95,
        study: Sequence | None = None,
        thresholds: Thresholds | None = None,
    ) -> MCMCResult:
        """Arm-based binomial-normal model: ``ai`` of ``n1i`` (treatment), ``ci`` of ``n2i``.

        ``mu`` is the pooled log odds ratio (``or_pooled = exp(mu)``); ``alpha_sd`` the prior sd
        of the control-arm logits. Raises ValueError for arms with ``n < 1``, events outside
        ``[0, n]``, or data without any event (or only events).
        """
        p = _binomial_problem(ai, n1i, ci, n2i, mu_prior, tau_prior, alpha_sd, study, self.bucket)
        return self._fit(p, seed, chains, draws, tune, target_accept, level, thresholds)

    def fit_proportion(
        self,
        xi,
        ni,
        mu_prior: MuPrior | None = None,
        tau_prior: TauPrior | None = None,
        *,
        seed: int | None = None,
        chains: int = 4,
        draws: int = 2000,
        tune: int = 1000,
        target_accept: float | None = None,
        level: float = 0.95,
        study: Sequence | None = None,
        thresholds: Thresholds | None = None,
    ) -> MCMCResult:
        """Single-arm binomial-normal model for ``xi`` events of ``ni`` on the logit scale.

        ``p_pooled = expit(mu)``, ``p_new = expit(theta_new)`` (a new study's proportion).
        """
        p = _proportion_problem(xi, ni, mu_prior, tau_prior, study, self.bucket)
        return self._fit(p, seed, chains, draws, tune, target_accept, level, thresholds)

    # -- internals ---------------------------------------------------------------------------
    def _fit(self, p: _Problem, seed, chains, draws, tune, target_accept, level, thresholds):
        import nutpie

        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        if chains < 1 or draws < 4 or tune < 0:
            raise ValueError("need chains >= 1, draws >= 4 and tune >= 0")
        halfcauchy = p.tau_prior.kind == "halfcauchy"
        if target_accept is None:
            # Few studies give funnel-like geometry (and, with informative studies, the reverse
            # funnel of the non-centred z at large tau); smaller steps cost little at these
            # sizes. Half-Cauchy tails reach further: on the ketamine 24 h counts (k = 4) the
            # binomial model had 27 divergences in 20000 draws at 0.95, none at 0.98 or 0.99.
            target_accept = 0.99 if halfcauchy else 0.95
        if not 0 < target_accept < 1:
            raise ValueError(f"target_accept must be in (0, 1), got {target_accept!r}")
        notes, flags = list(p.notes), list(p.flags)
        if halfcauchy and target_accept < 0.95:
            notes.append("half-Cauchy tau prior sampled with target_accept < 0.95")
            flags.append("target_accept")
        seed = _fresh_seed() if seed is None else int(seed)
        thresholds = thresholds if thresholds is not None else self.thresholds

        model, compile_seconds = self.compiled_model(p.key, p.data)
        t0 = time.perf_counter()
        trace = nutpie.sample(
            model,
            draws=draws,
            tune=tune,
            chains=chains,
            cores=max(1, min(chains, self.cores)),
            seed=seed,
            target_accept=target_accept,
            progress_bar=False,
            save_warmup=False,
        )
        sample_seconds = time.perf_counter() - t0
        return _result(
            p,
            trace,
            seed=seed,
            chains=chains,
            draws=draws,
            tune=tune,
            target_accept=target_accept,
            level=level,
            thresholds=thresholds,
            notes=notes,
            flags=flags,
            compile_seconds=compile_seconds,
            sample_seconds=sample_seconds,
        )


_DEFAULT: Sampler | None = None


def default_sampler() -> Sampler:
    """A process-wide :class:`Sampler`, so that every analysis reuses its compiled models."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Sampler()
    return _DEFAULT


def _result(p: _Problem, trace, *, seed, level, thresholds, notes, flags, **meta) -> MCMCResult:
    import arviz as az

    post, stats = trace["posterior"], trace["sample_stats"]
    k = p.k
    mu = np.asarray(post["mu"].values)
    tau = np.asarray(post["tau"].values)
    theta = np.asarray(post["theta"].values)[..., :k]
    # A second stream from the same seed: reproducible, and independent of nutpie's RNG.
    eps = np.random.default_rng([seed, 1]).standard_normal(mu.shape)
    theta_new = mu + tau * eps
    variables = {"mu": mu, "tau": tau, "theta_new": theta_new, "theta": theta}
    if p.key.family == "binomial":
        variables["alpha"] = np.asarray(post["alpha"].values)[..., :k]

    scalars = [("mu", mu), ("tau", tau), ("theta_new", theta_new)]
    if p.key.family == "binomial":
        scalars += [("or_pooled", np.exp(mu)), ("or_new", np.exp(theta_new))]
    elif p.key.family == "proportion":
        scalars += [("p_pooled", _expit(mu)), ("p_new", _expit(theta_new))]
    summaries = tuple(_summarise(name, x, level) for name, x in scalars)

    sampled = [mu, tau] + [theta[..., i] for i in range(k)]
    if "alpha" in variables:
        sampled += [variables["alpha"][..., i] for i in range(k)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rhat = [float(az.rhat(x, method="rank")) for x in sampled]
        ess_b = [float(az.ess(x, method="bulk")) for x in sampled]
        ess_t = [float(az.ess(x, method="tail", prob=0.05)) for x in sampled]
        bfmi = np.atleast_1d(az.bfmi(np.asarray(stats["energy"].values, dtype=float)))
    max_rhat = float(np.nanmax(rhat)) if meta["chains"] > 1 else math.nan
    min_ess_bulk, min_ess_tail = float(np.nanmin(ess_b)), float(np.nanmin(ess_t))
    divergences = int(np.asarray(stats["diverging"].values).sum())
    min_bfmi = float(np.min(bfmi))

    failed = []
    # NaN (e.g. R-hat of a constant) counts as a failure: it is not evidence of convergence.
    if meta["chains"] > 1 and not max_rhat <= thresholds.rhat_max:
        failed.append("rhat")
    if not min_ess_bulk >= thresholds.ess_min:
        failed.append("ess_bulk")
    if not min_ess_tail >= thresholds.ess_min:
        failed.append("ess_tail")
    if divergences > thresholds.divergences_max:
        failed.append("divergences")
    if not min_bfmi >= thresholds.bfmi_min:
        failed.append("bfmi")

    idata = _datatree(p, variables, stats, seed=seed, level=level, **meta)
    return MCMCResult(
        family=p.key.family,
        k=k,
        mu_prior=p.mu_prior.label,
        tau_prior=p.tau_prior.label,
        level=level,
        seed=seed,
        backend="nutpie",
        summaries=summaries,
        max_rhat=max_rhat,
        min_ess_bulk=min_ess_bulk,
        min_ess_tail=min_ess_tail,
        divergences=divergences,
        min_bfmi=min_bfmi,
        thresholds=thresholds,
        flags=";".join(failed + flags),
        notes="; ".join(notes),
        compiled=meta["compile_seconds"] > 0,
        idata=idata,
        **meta,
    )


def _expit(x: np.ndarray) -> np.ndarray:
    return np.exp(log_expit(x))


def _datatree(p: _Problem, variables: dict, stats, **attrs):
    import arviz as az

    sample_stats = {
        name: np.asarray(stats[name].values) for name in _STATS_KEPT if name in stats.data_vars
    }
    # NetCDF3 (the scipy engine, the only one installed) has no bool or 64-bit integers
    for name, val in sample_stats.items():
        if val.dtype == bool or np.issubdtype(val.dtype, np.integer):
            sample_stats[name] = val.astype(np.int32)
    dims = {"theta": ["study"], "alpha": ["study"]}
    dims.update({name: ["study"] for name in p.constant_data})
    root = {
        "family": p.key.family,
        "mu_prior": p.mu_prior.label,
        "tau_prior": p.tau_prior.label,
        "sampler": "nutpie",
    }
    root.update({key: val for key, val in attrs.items() if key != "thresholds"})
    return az.from_dict(
        {"posterior": variables, "sample_stats": sample_stats, "constant_data": p.constant_data},
        coords={"study": np.array(p.labels, dtype=str)},
        dims=dims,
        attrs={"/": root},
    )


# --------------------------------------------------------------------------------------------
# Deterministic references for the binomial models (nested quadrature)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferencePosterior:
    """Posterior summaries from nested quadrature (:func:`lattice_reference`).

    Field names match :class:`ketameta.bayes_exact.ExactPosterior` so that
    :func:`compare_to_exact` accepts either. ``h``: step of the ``theta``/``mu`` lattice,
    ``n_mu``/``n_tau``: grid sizes, ``edge_mass``: posterior mass in the outermost ``mu`` cells
    (should be ~0: the grid covers the posterior).
    """

    model: str
    k: int
    mu_prior: str
    tau_prior: str
    level: float
    mu_mean: float
    mu_sd: float
    mu_median: float
    mu_low: float
    mu_high: float
    tau_mean: float
    tau_sd: float
    tau_median: float
    tau_low: float
    tau_high: float
    pred_mean: float
    pred_sd: float
    pred_median: float
    pred_low: float
    pred_high: float
    h: float
    n_mu: int
    n_tau: int
    edge_mass: float

    def to_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        row = self.to_dict()
        return pd.DataFrame([row], columns=list(row))


_N_TAU = 400
_GH_X, _GH_W = np.polynomial.hermite.hermgauss(40)


def _tau_grid(tau_prior: TauPrior, n: int):
    """Nodes ``u`` (uniform on [0, 1]), trapezoid weights in ``u``, ``tau(u)``, ``dtau/du`` and
    the log prior density of ``tau``.

    ``tau = c u/(1 - u)`` with ``c`` the prior median (``u = 1``, ``tau = inf``, has zero
    posterior density and is left out), or ``tau = upper u`` for the uniform prior.
    """
    u = np.linspace(0.0, 1.0, n + 1)
    wu = np.full(n + 1, 1.0 / n)
    wu[[0, -1]] /= 2
    if tau_prior.kind == "uniform":
        tau, jac = tau_prior.upper * u, np.full(n + 1, tau_prior.upper)
    else:
        u, wu = u[:-1], wu[:-1]
        c = tau_prior.median()
        tau, jac = c * u / (1 - u), c / (1 - u) ** 2
    with np.errstate(divide="ignore"):
        return u, wu, tau, jac, tau_prior.logpdf(tau)


def _study_logp(theta, E, lmax, spline, mu_idx, tau, h):
    """``log p_i(mu, tau) = log int L_i(t) N(t; mu, tau^2) dt`` at ``mu = theta[mu_idx]``.

    ``E = exp(loglik - lmax)`` on the lattice ``theta`` (step ``h``); ``mu_idx`` is an arithmetic
    progression of lattice indices. For ``tau >= 3h`` the trapezoid rule on the lattice
    (spectrally accurate for a smooth integrand of width >= 3h), with ``L_i`` held constant
    beyond the lattice ends (where it is flat or negligible); for smaller ``tau`` 40-point
    Gauss-Hermite on the cubic spline of ``log L_i``.
    """
    mu = theta[mu_idx]
    if tau < 3 * h:
        pts = np.clip(mu[:, None] + math.sqrt(2) * tau * _GH_X[None, :], theta[0], theta[-1])
        ll = spline(pts)  # (M, G, k)
        lw = np.log(_GH_W / math.sqrt(math.pi))
        return logsumexp(ll + lw[None, :, None], axis=1)
    lo = max(0, int(np.searchsorted(theta, mu[0] - 12 * tau)) - 1)
    hi = min(theta.size, int(np.searchsorted(theta, mu[-1] + 12 * tau)) + 1)
    m0, n_mu = int(mu_idx[0]), mu.size
    step = int(mu_idx[1] - mu_idx[0]) if n_mu > 1 else 1
    # Toeplitz kernel K[r, c] = phi((t_{lo+c} - mu_r)/tau)/tau from one vector of offsets
    # d = j - m: row r (m = m0 + step r) is the window of g starting at step (n_mu - 1 - r)
    d = np.arange(lo - (m0 + step * (n_mu - 1)), hi - m0) * h
    g = np.exp(-0.5 * (d / tau) ** 2) / (tau * math.sqrt(2 * math.pi))
    K = np.lib.stride_tricks.sliding_window_view(g, hi - lo)[::-1][::step]
    w = np.full(hi - lo, h)
    if lo == 0:
        w[0] = h / 2
    if hi == theta.size:
        w[-1] = h / 2
    P = (K * w[None, :]) @ E[:, lo:hi].T  # (M, k)
    if lo == 0:
        P += ndtr((theta[0] - mu) / tau)[:, None] * E[:, 0][None, :]
    if hi == theta.size:
        P += ndtr((mu - theta[-1]) / tau)[:, None] * E[:, -1][None, :]
    with np.errstate(divide="ignore"):
        return np.log(P) + lmax[None, :]


def _log_joint(theta, loglik, mu_idx, tau, tau_lp, mu_prior, h):
    E = np.exp(loglik - loglik.max(axis=1, keepdims=True))
    lmax = loglik.max(axis=1)
    spline = CubicSpline(theta, loglik.T)
    out = np.full((mu_idx.size, tau.size), -np.inf)
    for j, t in enumerate(tau):
        if not np.isfinite(tau_lp[j]):
            continue
        out[:, j] = _study_logp(theta, E, lmax, spline, mu_idx, t, h).sum(axis=1) + tau_lp[j]
    return out + mu_prior.logpdf(theta[mu_idx])[:, None]


def _spline_quantiles(x: np.ndarray, f: np.ndarray, probs) -> list[float]:
    """Quantiles of the density known at the nodes ``x`` (interpolated by a cubic spline, so
    the CDF is accurate to O(h^4) rather than the O(h^2) of a cumulative trapezoid)."""
    F = CubicSpline(x, f).antiderivative()
    total = float(F(x[-1]))
    cum = F(x) / total
    out = []
    for p in probs:
        j = int(np.clip(np.searchsorted(cum, p), 1, x.size - 1))
        a, b = float(x[max(j - 2, 0)]), float(x[min(j + 1, x.size - 1)])
        out.append(brentq(lambda t, p=p: float(F(t)) / total - p, a, b, xtol=1e-13))
    return out


def _mixture_quantile(p: float, w, m, s) -> float:
    s = np.maximum(s, 1e-300)

    def f(x):
        return float(ndtr((x - m) / s) @ w) - p

    lo, hi = float(m.min() - 10 * s.max() - 1), float(m.max() + 10 * s.max() + 1)
    return brentq(f, lo, hi, xtol=1e-12, rtol=1e-14, maxiter=300)


def lattice_reference(
    theta: np.ndarray,
    loglik: np.ndarray,
    mu_prior: MuPrior,
    tau_prior: TauPrior,
    level: float = 0.95,
    model: str = "custom",
    n_tau: int = _N_TAU,
) -> ReferencePosterior:
    """Posterior of a random-effects model from each study's likelihood on a ``theta`` lattice.

    ``theta``: uniform lattice (step ``h``); ``loglik[i, j] = log L_i(theta_j)``, where study
    ``i``'s likelihood depends on its effect ``theta_i ~ N(mu, tau^2)`` only. Given ``(mu, tau)``
    the studies are independent, so ``p(mu, tau | y) ∝ p(mu) p(tau) prod_i p_i(mu, tau)`` with
    ``p_i = int L_i(t) N(t; mu, tau^2) dt`` (:func:`_study_logp`). ``mu`` runs over the lattice
    points where the posterior is not negligible (trapezoid rule), ``tau`` over a mapped uniform
    grid of ``n_tau`` cells (:func:`_tau_grid`, trapezoid rule). Quantiles of ``mu`` and ``tau``
    interpolate the cumulative trapezoid sums (error O(h^2)); ``theta_new``'s are roots of the
    normal-mixture CDF ``sum w N(mu, tau^2)``. Accuracy: about 1e-4 on the checks against
    :func:`exact_posterior` (normal likelihoods), far below Monte Carlo error.
    """
    theta = np.asarray(theta, dtype=float)
    loglik = np.atleast_2d(np.asarray(loglik, dtype=float))
    h = float(theta[1] - theta[0])
    if not np.allclose(np.diff(theta), h, rtol=1e-9, atol=0):
        raise ValueError("theta must be a uniform lattice")
    u, wu, tau, jac, tau_lp = _tau_grid(tau_prior, n_tau)
    tau_w = wu * jac
    # Pilot on a coarse subgrid: the range of mu where the posterior is not negligible, and the
    # narrowest conditional posterior of mu given tau, which sets the step of the mu grid.
    sub = np.arange(0, tau.size, max(1, n_tau // 25))
    idx = np.arange(0, theta.size, 4)
    with np.errstate(divide="ignore"):
        lw_sub = tau_lp[sub] + np.log(tau_w[sub])
    pilot = _log_joint(theta, loglik, idx, tau[sub], lw_sub, mu_prior, h)
    prof = pilot.max(axis=1)
    live = np.flatnonzero(prof > prof.max() - 30)
    lo = max(0, int(idx[live[0]]) - 8)
    hi = min(theta.size - 1, int(idx[live[-1]]) + 8)
    wp = np.exp(pilot - pilot.max())
    col = wp.sum(axis=0)
    m_p = theta[idx]
    sds = [
        math.sqrt(max(float(wp[:, j] @ (m_p - wp[:, j] @ m_p / col[j]) ** 2 / col[j]), 0.0))
        for j in np.flatnonzero(col > 1e-8 * col.sum())
    ]
    stride = max(1, int(min(sds) / (3 * h))) if sds else 1
    mu_idx = np.arange(lo, hi + 1, stride)
    lj = _log_joint(theta, loglik, mu_idx, tau, tau_lp, mu_prior, h)
    W = np.exp(lj - lj.max()) * tau_w[None, :]
    W /= W.sum()
    mu = theta[mu_idx]
    f_mu, f_tau = W.sum(axis=1), W.sum(axis=0)

    lo_p, hi_p = (1 - level) / 2, (1 + level) / 2
    mu_q = _spline_quantiles(mu, f_mu, (lo_p, 0.5, hi_p))
    # tau: density in u at the nodes (undo the trapezoid weights); u = 1 has density 0
    g_u = f_tau / wu
    uu = u if tau_prior.kind == "uniform" else np.append(u, 1.0)
    gg = g_u if tau_prior.kind == "uniform" else np.append(g_u, 0.0)
    u_q = _spline_quantiles(uu, gg, (lo_p, 0.5, hi_p))
    if tau_prior.kind == "uniform":
        tau_q = [tau_prior.upper * q for q in u_q]
    else:
        c = tau_prior.median()
        tau_q = [c * q / (1 - q) for q in u_q]
    mu_mean = float(f_mu @ mu)
    mu_var = float(f_mu @ (mu - mu_mean) ** 2)
    tau_mean = float(f_tau @ tau)

    keep = W > W.max() * 1e-15
    mm = np.broadcast_to(mu[:, None], W.shape)[keep]
    ss = np.broadcast_to(tau[None, :], W.shape)[keep]
    ww = W[keep] / W[keep].sum()
    pred_q = [_mixture_quantile(p, ww, mm, ss) for p in (lo_p, 0.5, hi_p)]
    edge = float(f_mu[:2].sum() + f_mu[-2:].sum()) if mu.size > 4 else 1.0
    return ReferencePosterior(
        model=model,
        k=int(loglik.shape[0]),
        mu_prior=mu_prior.label,
        tau_prior=tau_prior.label,
        level=level,
        mu_mean=mu_mean,
        mu_sd=math.sqrt(mu_var),
        mu_median=mu_q[1],
        mu_low=mu_q[0],
        mu_high=mu_q[2],
        tau_mean=tau_mean,
        tau_sd=float(np.sqrt(f_tau @ (tau - tau_mean) ** 2)),
        tau_median=tau_q[1],
        tau_low=tau_q[0],
        tau_high=tau_q[2],
        pred_mean=mu_mean,
        pred_sd=math.sqrt(mu_var + float(f_tau @ tau**2)),
        pred_median=pred_q[1],
        pred_low=pred_q[0],
        pred_high=pred_q[2],
        h=h,
        n_mu=int(mu.size),
        n_tau=int(tau.size),
        edge_mass=edge,
    )


_HALF_RANGES = (20.0, 60.0)


def _lattice(widths: np.ndarray, half_range: float) -> np.ndarray:
    """Symmetric uniform ``theta`` lattice whose step resolves the narrowest likelihood."""
    h = min(0.02, float(np.min(widths)) / 4)
    n = math.ceil(half_range / h)
    return np.arange(-n, n + 1) * h


def _binomial_study_loglik(a, n1, c, n2, alpha_sd: float, theta: np.ndarray) -> np.ndarray:
    """``log L(theta) = log int Bin(a|n1, expit(alpha + theta)) Bin(c|n2, expit(alpha))
    N(alpha; 0, alpha_sd^2) d alpha`` at each ``theta`` (trapezoid rule in ``alpha``).

    The ``alpha`` step is a sixth of the narrower arm's likelihood width (so the integrand, a
    smooth log-concave bump, is resolved to far below 1e-10); the ``alpha`` range is where the
    control-arm factor ``f(alpha)`` is within ``e^-60`` of its maximum (the treatment factor is
    a probability, at most 1, so outside that range the integrand is negligible).
    """
    wc = math.sqrt(1 / (c + 0.5) + 1 / (n2 - c + 0.5))
    wt = math.sqrt(1 / (a + 0.5) + 1 / (n1 - a + 0.5))
    step = min(wc, wt) / 6
    span = 15 * alpha_sd
    grid = np.arange(-math.ceil(span / step), math.ceil(span / step) + 1) * step
    f = (
        _log_choose(np.float64(n2), np.float64(c))
        + c * log_expit(grid)
        + (n2 - c) * log_expit(-grid)
        - 0.5 * (grid / alpha_sd) ** 2
        - math.log(alpha_sd)
        - 0.5 * _LOG2PI
    )
    alpha = grid[f > f.max() - 60]
    fa = f[f > f.max() - 60]
    lc_t = float(_log_choose(np.float64(n1), np.float64(a)))
    out = np.empty(theta.size)
    chunk = max(1, 4_000_000 // alpha.size)
    for s in range(0, theta.size, chunk):
        eta = alpha[:, None] + theta[None, s : s + chunk]
        g = a * log_expit(eta) + (n1 - a) * log_expit(-eta)
        out[s : s + chunk] = logsumexp(fa[:, None] + g, axis=0)
    return out + lc_t + math.log(step)


def reference_posterior_binomial(
    ai,
    n1i,
    ci,
    n2i,
    mu_prior: MuPrior | None = None,
    tau_prior: TauPrior | None = None,
    alpha_sd: float = 10.0,
    level: float = 0.95,
) -> ReferencePosterior:
    """Deterministic posterior of the arm-based binomial-normal model (nested quadrature).

    Each study's likelihood in its log odds ratio ``theta_i`` (``alpha_i`` integrated out,
    :func:`_binomial_study_loglik`) on a lattice, then :func:`lattice_reference`. Independent of
    PyMC: the check of :meth:`Sampler.fit_binomial`.
    """
    p = _binomial_problem(ai, n1i, ci, n2i, mu_prior, tau_prior, alpha_sd, None, None)
    a, n1, c, n2 = (p.constant_data[nm] for nm in ("ai", "n1i", "ci", "n2i"))
    widths = np.sqrt(1 / (a + 0.5) + 1 / (n1 - a + 0.5) + 1 / (c + 0.5) + 1 / (n2 - c + 0.5))

    def loglik(theta):
        rows = [_binomial_study_loglik(*s, alpha_sd, theta) for s in zip(a, n1, c, n2, strict=True)]
        return np.vstack(rows)

    return _widening(widths, loglik, p, level, "binomial")


def _widening(widths, loglik, p: _Problem, level: float, label: str) -> ReferencePosterior:
    """:func:`lattice_reference` on a lattice of half-range 20, or 60 when the posterior of
    ``mu`` is not contained in the first (heavy tails: half-Cauchy prior, very few studies)."""
    for half_range in _HALF_RANGES:
        theta = _lattice(widths, half_range)
        ref = lattice_reference(theta, loglik(theta), p.mu_prior, p.tau_prior, level, label)
        if ref.edge_mass < 1e-9:
            break
    return ref


def reference_posterior_proportion(
    xi,
    ni,
    mu_prior: MuPrior | None = None,
    tau_prior: TauPrior | None = None,
    level: float = 0.95,
) -> ReferencePosterior:
    """Deterministic posterior of the single-arm binomial-normal (logit) model."""
    p = _proportion_problem(xi, ni, mu_prior, tau_prior, None, None)
    x, n = p.constant_data["xi"], p.constant_data["ni"]

    def loglik(theta):
        return (
            _log_choose(n, x)[:, None]
            + x[:, None] * log_expit(theta)[None, :]
            + (n - x)[:, None] * log_expit(-theta)[None, :]
        )

    return _widening(np.sqrt(1 / (x + 0.5) + 1 / (n - x + 0.5)), loglik, p, level, "proportion")


# --------------------------------------------------------------------------------------------
# MCMC against an exact (or quadrature) reference
# --------------------------------------------------------------------------------------------

# (label, reference attribute, MCMC parameter, statistic) with statistic "mean" or a quantile
_CHECKS = (
    ("mu_mean", "mu_mean", "mu", "mean"),
    ("mu_low", "mu_low", "mu", "low"),
    ("mu_high", "mu_high", "mu", "high"),
    ("tau_mean", "tau_mean", "tau", "mean"),
    ("tau_median", "tau_median", "tau", "median"),
    ("pred_low", "pred_low", "theta_new", "low"),
    ("pred_high", "pred_high", "theta_new", "high"),
)


@dataclass(frozen=True)
class ExactCheckRow:
    """One summary: MCMC estimate, exact value, MCSE, ``z = (mcmc - exact)/mcse``."""

    quantity: str
    mcmc: float
    exact: float
    mcse: float
    diff: float
    z: float
    flagged: bool

    def to_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class ExactCheck:
    """:func:`compare_to_exact` result: rows, the largest ``|z|`` and the flagged quantities."""

    family: str
    mu_prior: str
    tau_prior: str
    z_max: float
    rows: tuple[ExactCheckRow, ...]
    max_abs_z: float
    flags: str

    @property
    def passed(self) -> bool:
        return self.flags == ""

    def to_dict(self) -> dict[str, object]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "rows"}
        out["rows"] = [r.to_dict() for r in self.rows]
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per quantity: quantity, mcmc, exact, mcse, diff, z, flagged."""
        import pandas as pd

        cols = [f.name for f in fields(ExactCheckRow)]
        return pd.DataFrame([r.to_dict() for r in self.rows], columns=cols)


def compare_to_exact(result: MCMCResult, exact, z_max: float = 3.0) -> ExactCheck:
    """Flag MCMC summaries more than ``z_max`` MCSEs from an exact (or quadrature) reference.

    ``exact``: :class:`ketameta.bayes_exact.ExactPosterior` (normal-normal model) or
    :class:`ReferencePosterior`, at the same ``level``. Checked: ``mu`` mean and interval ends,
    ``tau`` mean and median, ``theta_new`` interval ends. A reference value that is infinite (a
    posterior moment that does not exist) is reported with ``z = NaN`` and not flagged.
    """
    if not math.isclose(result.level, exact.level):
        raise ValueError(f"levels differ: MCMC {result.level}, exact {exact.level}")
    rows = []
    for label, attr, param, stat in _CHECKS:
        s = result.summary(param)
        ref = float(getattr(exact, attr))
        est = float(getattr(s, stat))
        mcse = float(getattr(s, "mcse_" + stat))
        diff = est - ref
        z = diff / mcse if math.isfinite(ref) and mcse > 0 else math.nan
        rows.append(ExactCheckRow(label, est, ref, mcse, diff, z, bool(abs(z) > z_max)))
    zs = [abs(r.z) for r in rows if math.isfinite(r.z)]
    return ExactCheck(
        family=result.family,
        mu_prior=result.mu_prior,
        tau_prior=result.tau_prior,
        z_max=z_max,
        rows=tuple(rows),
        max_abs_z=max(zs) if zs else math.nan,
        flags=";".join(r.quantity for r in rows if r.flagged),
    )
