"""Bayesian multilevel time-course model: exact posterior by 2-D quadrature, and MCMC (PyMC).

The Bayesian counterpart of the frequentist multilevel model of :mod:`ketameta.timecourse`
(metafor's ``rma.mv(yi, V, mods = X, random = ~ 1 | study/timepoint)``):

    y = X beta + Z1 u + Z2 w + e,     e ~ MVN(0, V),
    u ~ N(0, sigma_trial^2 I),        w ~ N(0, sigma_timepoint^2 I),
    beta_j ~ N(b0_j, s0_j^2),         sigma_trial ~ p1,   sigma_timepoint ~ p2,

with ``V`` the known within-trial sampling covariance (:func:`ketameta.multilevel.vcalc`),
``Z1`` the trial indicators, ``Z2`` the trial/timepoint indicators and ``X`` either one column
per timepoint or ``(intercept, log(hours/24))`` (:func:`timecourse_design`). Defaults:
``beta_j ~ N(0, 10^2)`` (log odds ratio scale), ``sigma_trial, sigma_timepoint ~ HalfNormal(0.5)``;
the sigma priors are :class:`ketameta.bayes_exact.TauPrior` objects (half-normal, half-Cauchy,
uniform or log-normal on ``sigma^2``), the same densities as the normal-normal model.

Both computations marginalise the random effects ``u`` and ``w`` analytically:

    y | beta, sigmas ~ MVN(X beta, M),    M = V + sigma_trial^2 Z1 Z1' + sigma_timepoint^2 Z2 Z2'.

**Exact posterior** (:func:`exact_posterior`), the multilevel analogue of the one-dimensional
computation of Röver's ``bayesmeta`` (Röver C, 2020, J Stat Softw 93(6),
doi:10.18637/jss.v093.i06; :mod:`ketameta.bayes_exact`); the conditional-conjugate steps are the
ones of Gelman et al., *Bayesian Data Analysis* (3rd ed., 2013), ch. 5.4 (hierarchical normal
model: ``p(tau | y)`` from the marginal likelihood with the mean integrated out) and ch. 14.2
(normal linear regression with a conjugate normal prior, here with known ``M``). With
``B0 = diag(s0^2)``, ``r = y - X b0``:

- given the sigmas, ``beta`` is conjugate normal:
  ``A = X' M^-1 X + B0^-1``, ``beta | sigmas, y ~ N(b0 + A^-1 X' M^-1 r, A^-1)``;
- the marginal likelihood (``beta`` integrated out, with the prior's normalising terms) is
  ``p(y | sigmas) = N(y; X b0, M + X B0 X')``, computed as

      log p(y | sigmas) = -1/2 [ n log(2 pi) + log|M| + log|B0| + log|A|
                                 + r' M^-1 r - (X' M^-1 r)' A^-1 (X' M^-1 r) ]

  (matrix determinant lemma and Woodbury identity); ``M`` is block-diagonal by trial (``V``,
  ``Z1 Z1'`` and ``Z2 Z2'`` all are when timepoints are nested in trials), so ``M^-1`` is applied
  block by block (connected components of the non-zero pattern; a dense ``M`` is one block);
- ``p(sigmas | y) ∝ p1(sigma_trial) p2(sigma_timepoint) p(y | sigmas)`` is integrated by a
  tensor-product composite Gauss-Legendre rule (``n_panels`` panels x ``n_gl`` nodes per axis,
  default 12 x 14) in variables ``v`` with the Jacobian of the change: ``sigma = c sinh(v)``
  for the half-normal, half-Cauchy and uniform priors (linear near 0, where their density is
  positive and the posterior smooth in sigma; logarithmic in the tail, where a polynomial tail
  becomes exponential), ``sigma = c exp(v)`` for the log-normal prior (whose density vanishes
  at 0 faster than any power). ``c`` is the posterior mode of ``log sigma`` (Nelder-Mead from
  the best point of a coarse grid and from the prior medians). The box of the rule: a pilot
  grid around the mode is widened until the log density on every edge is more than ``_DROP``
  (40) below the top (on the upper edges also the log density times ``sigma^2``, so that the
  second moments are covered), then shrunk to the pilot cells above that threshold; ``sigma``
  runs at most to ``_CAP`` (1e6) times ``c`` (reached only when the data do not bound a
  half-Cauchy tail, which is reported in ``note``). Because the box follows the posterior's
  own scale, priors concentrated near a point are handled as well as diffuse ones;
- every posterior quantity of ``beta`` is then a finite normal mixture over the nodes:
  ``beta_j | y ~ sum_g w_g N(m_gj, (A_g^-1)_jj)``; its mean and sd are sums, its quantiles roots
  of the mixture CDF (safeguarded Newton); the marginal posterior of each sigma is the node sum
  over the other axis, its CDF the cumulative rule plus, inside a panel, the integral of the
  Legendre interpolant through the panel's nodes (exact for the rule's polynomial degree).

``log p(y)`` (the log marginal likelihood) includes every normalising constant.

**MCMC** (:class:`MultilevelSampler`, :func:`fit_mcmc`): PyMC samples ``beta``, ``sigma_trial``
and ``sigma_timepoint`` (PyMC's log transform of the sigmas, with Jacobian) with ``u`` and ``w``
marginalised, so there is no funnel between the sigmas and the random effects. The likelihood is
written as one ``pm.Potential`` (``-n/2 log(2 pi) - sum log diag(L) - |L^-1 (y - X beta)|^2/2``,
``L`` the Cholesky factor of ``M``) rather than ``pm.MvNormal``: nutpie compiled the
``MvNormal`` version in 21 s against 5 s for this one (n = 18, p = 13, measured; the cause in
PyMC's MvNormal graph was not traced), and both are the same density. As in
:mod:`ketameta.bayes`, the model is compiled once per structure (padded numbers of observations
and coefficients, kinds of the two sigma priors) with nutpie, all data and hyperparameters are
packed into one :func:`pymc.Data` vector and swapped in with nutpie's ``with_data``; padded
observations have ``y = 0``, ``V = I`` and zero design rows (a constant factor, removed from the
log density), padded coefficients a zero column in ``X`` (prior only).
Draws are bit-identical for the same data, priors, seed, settings and bucket.

Summaries and diagnostics are those of :mod:`ketameta.bayes` (mean, sd, median, equal-tailed
interval, MCSE of the mean and of the quantiles, rank-normalised R-hat, bulk/tail ESS,
divergences, E-BFMI; Vehtari et al. 2021). :func:`compare_to_exact` flags MCMC summaries more
than ``z_max`` (default 4) MCSEs from the exact posterior.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import optimize
from scipy.special import ndtr

from ketameta.bayes import (
    FitAccess,
    ParameterSummary,
    Thresholds,
    _available_cores,
    _fresh_seed,
    _summarise,
    pack_data,
)
from ketameta.bayes_exact import TauPrior

if TYPE_CHECKING:
    import pandas as pd
    import pymc as pm
    import xarray as xr

_LOG2PI = math.log(2 * math.pi)
SIGMAS = ("sigma_trial", "sigma_timepoint")
_DROP = 40.0  # the box holds every point whose log density is within _DROP of the mode
_PILOT = 61  # pilot grid points per axis
_CAP = 1e6  # sigma is integrated up to at most _CAP times its scale c (the mode in log sigma)
_CHUNK = 8192  # grid points per batch of linear algebra
_BUCKET = 8


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


def _matrix(name: str, value, n: int, square: bool = False) -> np.ndarray:
    a = np.asarray(value, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] != n or (square and a.shape[1] != n):
        want = f"({n}, {n})" if square else f"({n}, q)"
        raise ValueError(f"{name} has shape {a.shape}, expected {want}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} has missing or infinite values")
    return a


def _coef_names(X, names, p: int) -> tuple[str, ...]:
    if names is not None:
        out = tuple(str(c) for c in names)
    elif hasattr(X, "columns"):
        out = tuple(str(c) for c in X.columns)
    else:
        out = tuple(f"b{j}" for j in range(p))
    if len(out) != p:
        raise ValueError(f"{len(out)} coefficient names for {p} columns of X")
    if set(out) & set(SIGMAS):
        raise ValueError(f"coefficient names may not be {SIGMAS}")
    return out


@dataclass(frozen=True, eq=False)
class Problem:
    """A validated model: data, the random-effect covariance patterns ``K = Z Z'`` and priors."""

    y: np.ndarray
    V: np.ndarray
    X: np.ndarray
    K1: np.ndarray
    K2: np.ndarray
    beta_mean: np.ndarray
    beta_sd: np.ndarray
    priors: tuple[TauPrior, TauPrior]
    coef_names: tuple[str, ...]

    @property
    def n(self) -> int:
        return int(self.y.size)

    @property
    def p(self) -> int:
        return int(self.X.shape[1])


def make_problem(
    y,
    V,
    X,
    Z1=None,
    Z2=None,
    *,
    beta_mean=0.0,
    beta_sd=10.0,
    sigma_trial_prior: TauPrior | None = None,
    sigma_timepoint_prior: TauPrior | None = None,
    coef_names: Sequence[str] | None = None,
) -> Problem:
    """Check and collect the inputs of :func:`exact_posterior` and :func:`fit_mcmc`.

    ``y`` (n), ``V`` (n x n, symmetric positive definite), ``X`` (n x p), ``Z1``/``Z2``
    (n x q; ``None`` leaves that component out: its sigma keeps its prior). ``beta_mean`` and
    ``beta_sd`` are scalars or length-p vectors (``beta_sd`` finite and > 0: a proper prior).
    """
    yv = np.asarray(y, dtype=float).ravel()
    n = yv.size
    if n < 1 or not np.all(np.isfinite(yv)):
        raise ValueError("y must hold at least one finite value, none missing")
    Vm = _matrix("V", V, n, square=True)
    if not np.allclose(Vm, Vm.T, rtol=0, atol=1e-12 * max(1.0, float(np.abs(Vm).max()))):
        raise ValueError("V must be symmetric")
    Vm = (Vm + Vm.T) / 2
    if np.linalg.eigvalsh(Vm).min() <= 0:
        raise ValueError("V must be positive definite")
    Xm = _matrix("X", X, n)
    p = Xm.shape[1]
    Ks = []
    for name, Z in (("Z1", Z1), ("Z2", Z2)):
        Zm = np.zeros((n, 1)) if Z is None else _matrix(name, Z, n)
        Ks.append(Zm @ Zm.T)
    bm = np.broadcast_to(np.asarray(beta_mean, dtype=float), (p,)).copy()
    bs = np.broadcast_to(np.asarray(beta_sd, dtype=float), (p,)).copy()
    if not (np.all(np.isfinite(bm)) and np.all(np.isfinite(bs)) and np.all(bs > 0)):
        raise ValueError("beta_mean must be finite and beta_sd finite and > 0")
    priors = tuple(
        TauPrior.halfnormal(0.5) if pr is None else pr
        for pr in (sigma_trial_prior, sigma_timepoint_prior)
    )
    return Problem(yv, Vm, Xm, Ks[0], Ks[1], bm, bs, priors, _coef_names(X, coef_names, p))


@dataclass(frozen=True, eq=False)
class Design:
    """Data of the multilevel time-course model (:func:`timecourse_design`)."""

    y: np.ndarray
    V: np.ndarray
    X: np.ndarray
    Z1: np.ndarray
    Z2: np.ndarray
    coef_names: tuple[str, ...]
    study: tuple[str, ...]
    timepoint: tuple[str, ...]
    hours: np.ndarray

    def problem(self, **priors) -> Problem:
        return make_problem(
            self.y, self.V, self.X, self.Z1, self.Z2, coef_names=self.coef_names, **priors
        )


def _indicators(labels) -> np.ndarray:
    levels = list(dict.fromkeys(labels))
    return np.array([[lab == lev for lev in levels] for lab in labels], dtype=float)


def timecourse_design(eff, phi: float, trend: bool = False) -> Design:
    """The design of :mod:`ketameta.timecourse`'s multilevel model from
    :func:`ketameta.timecourse.timepoint_effects` output (rows with ``included``).

    ``V`` is ``vcalc(vi, study_id, time = hours/24, phi)`` as there; ``X`` has one column per
    timepoint (in time order) or, with ``trend``, ``(intercept, log_time = log(hours/24))``;
    ``Z1`` indicates the trial and ``Z2`` the trial/timepoint pair.
    """
    from ketameta.multilevel import vcalc

    used = eff[eff["included"].astype(bool)].reset_index(drop=True)
    study = [str(s) for s in used["study_id"]]
    tps = [str(t) for t in used["timepoint"]]
    hrs = used["hours"].to_numpy(float)
    V = vcalc(used["vi"], used["study_id"], time=hrs / 24.0, phi=phi, checkpd=False)
    if trend:
        X = np.column_stack([np.ones(len(used)), np.log(hrs / 24.0)])
        names: tuple[str, ...] = ("intercept", "log_time")
    else:
        X = _indicators(tps)
        names = tuple(dict.fromkeys(tps))
    return Design(
        y=used["yi"].to_numpy(float),
        V=V,
        X=X,
        Z1=_indicators(study),
        Z2=_indicators([f"{s}/{t}" for s, t in zip(study, tps, strict=True)]),
        coef_names=names,
        study=tuple(study),
        timepoint=tuple(tps),
        hours=hrs,
    )


# --------------------------------------------------------------------------------------------
# Exact posterior: conditional quantities given the sigmas
# --------------------------------------------------------------------------------------------


def _blocks(pattern: np.ndarray) -> list[np.ndarray]:
    """Index sets of the connected components of a symmetric non-zero pattern."""
    from scipy.sparse.csgraph import connected_components

    n_comp, lab = connected_components(pattern != 0, directed=False)
    return [np.flatnonzero(lab == c) for c in range(n_comp)]


class _Conditional:
    """``log p(y | sigmas)`` and ``beta | sigmas, y ~ N(m, S)`` at many sigma pairs at once."""

    def __init__(self, prob: Problem):
        self.prob = prob
        r = prob.y - prob.X @ prob.beta_mean
        B = np.column_stack([prob.X, r])  # M^-1 applied to [X r] block by block
        # blocks of equal size stacked, so that each size is one batched call
        by_size: dict[int, list[np.ndarray]] = {}
        for i in _blocks(np.abs(prob.V) + np.abs(prob.K1) + np.abs(prob.K2)):
            by_size.setdefault(i.size, []).append(i)
        self.blocks = [
            tuple(np.stack([a[np.ix_(i, i)] for i in group]) for a in (prob.V, prob.K1, prob.K2))
            + (np.stack([B[i] for i in group]),)
            for group in by_size.values()
        ]
        self.prior_prec = 1.0 / prob.beta_sd**2
        self.const = prob.n * _LOG2PI + float(np.sum(np.log(prob.beta_sd**2)))

    def __call__(self, s1: np.ndarray, s2: np.ndarray, need_beta: bool = True):
        s1, s2 = np.atleast_1d(s1).astype(float), np.atleast_1d(s2).astype(float)
        outs = [
            self._chunk(s1[a : a + _CHUNK], s2[a : a + _CHUNK], need_beta)
            for a in range(0, s1.size, _CHUNK)
        ]
        if not need_beta:
            return np.concatenate(outs)
        return tuple(np.concatenate(parts) for parts in zip(*outs, strict=True))

    def _chunk(self, s1, s2, need_beta):
        """Points where the linear algebra fails (a sigma so large that ``M`` is singular
        in floating point) get log density ``-inf`` (and a placeholder conditional)."""
        G, p = s1.size, self.prob.p
        loglik = np.full(G, -np.inf)
        m = np.tile(self.prob.beta_mean, (G, 1))
        sv = np.ones((G, p))
        good = np.flatnonzero(np.isfinite(s1) & np.isfinite(s2) & (s1 >= 0) & (s2 >= 0))
        try:
            parts = [(good, self._eval(s1[good], s2[good]))]
        except np.linalg.LinAlgError:
            parts = []
            for i in good:
                try:
                    parts.append((np.array([i]), self._eval(s1[i : i + 1], s2[i : i + 1])))
                except np.linalg.LinAlgError:
                    continue
        for idx, (ll, mm, vv) in parts:
            loglik[idx], m[idx], sv[idx] = ll, mm, vv
        bad = ~np.isfinite(loglik)
        loglik[bad], m[bad], sv[bad] = -np.inf, self.prob.beta_mean, 1.0
        if not need_beta:
            return loglik
        return loglik, m, sv

    def _eval(self, s1, s2):
        p = self.prob.p
        G = s1.size
        C = np.zeros((G, p + 1, p + 1))  # [X r]' M^-1 [X r]
        logdet = np.zeros(G)
        ok = np.ones(G, dtype=bool)
        a1, a2 = (s1**2)[:, None, None, None], (s2**2)[:, None, None, None]
        for Vb, K1b, K2b, Bb in self.blocks:  # (blocks, b, b) and (blocks, b, p + 1)
            M = Vb[None] + a1 * K1b[None] + a2 * K2b[None]
            sign, ld = np.linalg.slogdet(M)
            ok &= np.all(sign > 0, axis=1)
            W = np.linalg.solve(M, np.broadcast_to(Bb, (G, *Bb.shape)))
            C += np.einsum("kia,gkib->gab", Bb, W)
            logdet += ld.sum(axis=1)
        A = C[:, :p, :p] + np.diag(self.prior_prec)[None]
        q = C[:, :p, p]
        L = np.linalg.cholesky(A)
        ldA = 2 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
        Ainv = np.linalg.inv(A)
        Ainv = (Ainv + np.swapaxes(Ainv, 1, 2)) / 2
        shift = np.einsum("gab,gb->ga", Ainv, q)
        quad = C[:, p, p] - np.einsum("ga,ga->g", q, shift)
        loglik = -0.5 * (self.const + logdet + ldA + quad)
        loglik[~ok] = -np.inf
        m = self.prob.beta_mean[None] + shift
        return loglik, m, np.diagonal(Ainv, axis1=1, axis2=2).copy()


def _log_prior(prior: TauPrior, s: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return prior.logpdf(s)


class _Axis:
    """The integration variable ``v`` of one sigma, with scale ``c`` (the mode in log sigma).

    ``asinh``: ``sigma = c sinh(v)``, ``v >= 0`` -- linear near 0 (where half-normal,
    half-Cauchy and uniform priors have a positive density, so the posterior is smooth in
    sigma) and logarithmic in the tail (a polynomial tail becomes exponential); ``log``:
    ``sigma = c exp(v)`` for the log-normal prior, whose density vanishes at 0 faster than any
    power (in log sigma it is Gaussian). ``hi``: the support's end, at most ``sigma = _CAP c``.
    """

    def __init__(self, prior: TauPrior, c: float):
        self.kind = "log" if prior.kind == "lognormal_tau2" else "asinh"
        self.c = float(c)
        self.s_max = prior.upper_bound
        self.lo = -math.inf if self.kind == "log" else 0.0
        self.end = float(self.v(self.s_max)) if math.isfinite(self.s_max) else math.inf
        self.hi = min(self.end, float(self.v(_CAP * self.c)))
        self.v0 = min(0.0 if self.kind == "log" else math.asinh(1.0), self.hi)

    def sigma(self, v):
        v = np.asarray(v, dtype=float)
        return self.c * (np.exp(v) if self.kind == "log" else np.sinh(v))

    def v(self, s):
        s = np.asarray(s, dtype=float)
        with np.errstate(divide="ignore"):
            return np.log(s / self.c) if self.kind == "log" else np.arcsinh(s / self.c)

    def log_jac(self, v):
        v = np.asarray(v, dtype=float)
        if self.kind == "log":
            return math.log(self.c) + v
        # log(c cosh v), stable for large v
        a = np.abs(v)
        return math.log(self.c) + a + np.log1p(np.exp(-2 * a)) - math.log(2)


class _LogPost:
    """Unnormalised log posterior density of the two sigmas: on the sigma scale, on
    ``t = log sigma`` (the mode search) and on the integration variables ``v`` (:class:`_Axis`,
    set once the mode is known)."""

    def __init__(self, prob: Problem):
        self.cond = _Conditional(prob)
        self.priors = prob.priors
        self.s_max = np.array([pr.upper_bound for pr in prob.priors])
        self.axes: list[_Axis] = []
        self.n_evals = 0

    def sigma(self, s1, s2, need_beta: bool = False):
        s1, s2 = np.broadcast_arrays(np.asarray(s1, dtype=float), np.asarray(s2, dtype=float))
        shape = s1.shape
        s1, s2 = s1.ravel(), s2.ravel()
        self.n_evals += s1.size
        prior = _log_prior(self.priors[0], s1) + _log_prior(self.priors[1], s2)
        out = self.cond(s1, s2, need_beta)
        if need_beta:
            loglik, m, sv = out
            return (prior + loglik).reshape(shape), m, sv
        return (prior + out).reshape(shape)

    def t(self, t1, t2):
        t1, t2 = np.asarray(t1, dtype=float), np.asarray(t2, dtype=float)
        return self.sigma(np.exp(t1), np.exp(t2)) + t1 + t2

    def v(self, v1, v2, need_beta: bool = False):
        a1, a2 = self.axes
        jac = a1.log_jac(v1) + a2.log_jac(v2)
        out = self.sigma(a1.sigma(v1), a2.sigma(v2), need_beta)
        if need_beta:
            return (out[0] + jac, out[1], out[2])
        return out + jac


def _mode(lp: _LogPost, prob: Problem) -> np.ndarray:
    """Mode of the log density in ``t = log sigma`` (it always exists, and sets the scales
    ``c`` of the v-transform): Nelder-Mead from the best point of a coarse vectorised grid
    and from the prior medians (which find a peak too narrow for the grid)."""
    t_max = np.log(lp.s_max)
    meds = np.array([math.log(pr.median()) for pr in prob.priors])
    g = [np.minimum(np.linspace(meds[j] - 12, meds[j] + 5, 35), t_max[j] - 1e-9) for j in (0, 1)]
    F = lp.t(g[0][:, None], g[1][None, :])
    i, k = np.unravel_index(int(np.argmax(F)), F.shape)

    def f(t):
        t = np.minimum(t, t_max)
        val = float(lp.t(t[0], t[1]))
        return -val if math.isfinite(val) else 1e300

    best = None
    for x0 in (np.array([g[0][i], g[1][k]]), np.minimum(meds, t_max - 1e-9)):
        res = optimize.minimize(
            # stops when the simplex is within 1e-3 in t *and* 1e-4 in log density: loose for
            # wide posteriors (c only sets a scale), tight relative to the width of a narrow one
            f,
            x0,
            method="Nelder-Mead",
            options={"xatol": 1e-3, "fatol": 1e-4, "maxiter": 2000},
        )
        if best is None or res.fun < best.fun:
            best = res
    return np.minimum(best.x, t_max)


def _scales(lp: _LogPost, v0: np.ndarray, f0: float) -> np.ndarray:
    """Per axis and side the distance from ``v0`` at which the log density drops by 2
    (searched on a geometric ladder of distances, 1e-9 to 1e3, so that narrow and wide
    posteriors alike are resolved), capped at the distance to the end of the support."""
    ladder = 1e-9 * 2.0 ** np.arange(41)
    out = np.zeros((2, 2))
    for j, ax in enumerate(lp.axes):
        ends = (ax.lo, ax.hi)
        for side, sign in enumerate((-1.0, 1.0)):
            room = abs(ends[side] - v0[j])
            d = ladder[ladder < room]
            if d.size == 0:
                out[j, side] = room
                continue
            pts = np.tile(v0, (d.size, 1))
            pts[:, j] += sign * d
            below = np.flatnonzero(lp.v(pts[:, 0], pts[:, 1]) < f0 - 2)
            out[j, side] = d[below[0]] if below.size else ladder[-1]
    return out


def _box(lp: _LogPost, v0: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Box ``[[lo1, hi1], [lo2, hi2]]`` in ``v`` holding the posterior (module docstring), and
    notes on an axis whose posterior reaches the cap ``sigma = _CAP c`` (an uninformative
    half-Cauchy tail: mass, or only the second moment, beyond the cap)."""
    f0 = float(lp.v(v0[0], v0[1]))
    sc = _scales(lp, v0, f0)
    ends = np.array([[ax.lo, ax.hi] for ax in lp.axes])
    box = np.array([[v0[j] - 6 * sc[j, 0], v0[j] + 6 * sc[j, 1]] for j in range(2)])
    box = np.clip(box, ends[:, :1], ends[:, 1:])

    def lift(j: int, v: np.ndarray) -> np.ndarray:
        """``2 max(log(sigma / c), 0)``: the log of ``sigma^2`` (in units of ``c``) where it
        exceeds 1, which the upper edges must also cover (second moments)."""
        ax = lp.axes[j]
        with np.errstate(divide="ignore"):
            logs = v if ax.kind == "log" else np.log(np.sinh(np.maximum(v, 1e-300)))
        return 2 * np.maximum(logs, 0.0)

    converged = False
    for _ in range(16):
        g = [np.linspace(box[j, 0], box[j, 1], _PILOT) for j in range(2)]
        F = lp.v(g[0][:, None], g[1][None, :])
        top = max(f0, float(np.max(F)))
        edges = {
            (0, 0): (F[0, :], 0.0),
            (0, 1): (F[-1, :], float(lift(0, g[0][-1]))),
            (1, 0): (F[:, 0], 0.0),
            (1, 1): (F[:, -1], float(lift(1, g[1][-1]))),
        }
        grew = False
        for (j, side), (vals, up) in edges.items():
            if box[j, side] == ends[j, side] or np.max(vals) + up <= top - _DROP:
                continue
            width = box[j, 1] - box[j, 0]
            if side == 0:
                box[j, 0] = max(box[j, 0] - width, ends[j, 0])
            else:
                box[j, 1] = min(box[j, 1] + width, ends[j, 1])
            grew = True
        if not grew:
            converged = True
            break
    notes = [] if converged else ["the integration box did not settle in 16 widenings"]
    for (j, side), (vals, up) in edges.items():
        ax = lp.axes[j]
        capped = side == 1 and box[j, 1] >= ax.hi and ax.hi < ax.end
        if capped and np.max(vals) + up > top - _DROP:
            what = "mass" if np.max(vals) > top - _DROP else "its second moment"
            notes.append(
                f"{SIGMAS[j]}: {what} beyond {_CAP:g} x its scale (a heavy tail that the data do "
                "not bound); moments may not exist"
            )
    # shrink to the cells above the threshold, sigma^2 x density included (one pilot cell of
    # margin)
    live = F + np.maximum(lift(0, g[0])[:, None], lift(1, g[1])[None, :]) > top - _DROP
    out = box.copy()
    for j in range(2):
        idx = np.flatnonzero(live.any(axis=1 - j))
        if idx.size:
            h = g[j][1] - g[j][0]
            out[j, 0] = max(g[j][idx[0]] - h, box[j, 0])
            out[j, 1] = min(g[j][idx[-1]] + h, box[j, 1])
    return out, notes


def _composite(lo: float, hi: float, n_panels: int, n_gl: int):
    """Nodes and weights of the composite Gauss-Legendre rule, and the panel edges."""
    x, w = np.polynomial.legendre.leggauss(n_gl)
    edges = np.linspace(lo, hi, n_panels + 1)
    half = 0.5 * (edges[1:] - edges[:-1])
    mid = 0.5 * (edges[1:] + edges[:-1])
    nodes = (mid[:, None] + half[:, None] * x[None, :]).ravel()
    weights = (half[:, None] * w[None, :]).ravel()
    return nodes, weights, edges


# --------------------------------------------------------------------------------------------
# Exact posterior: mixtures and marginal CDFs
# --------------------------------------------------------------------------------------------


def _mixture_cdf(x: float, w, m, s) -> float:
    return float(np.sum(ndtr(np.clip((x - m) / s, -37.0, 37.0)) * w))


def _mixture_quantile(p: float, w, m, s) -> float:
    """Root of ``sum_g w_g Phi((x - m_g)/s_g) = p``: Newton steps, bisection of the bracket
    when a step leaves it."""
    mean = float(np.sum(w * m))
    sd = math.sqrt(float(np.sum(w * (s**2 + (m - mean) ** 2))))
    lo, hi = mean - 40 * sd, mean + 40 * sd
    x = mean + sd * float(_norm_ppf(p))
    for _ in range(200):
        # z clipped so that exp and ndtr stay clear of subnormal numbers (slow arithmetic; the
        # terms beyond |z| = 37 are below 1e-297), and elementwise sums, not BLAS dot products
        # (on a loaded machine OpenBLAS's threads made each sum take ms instead of us)
        z = np.clip((x - m) / s, -37.0, 37.0)
        F = float(np.sum(ndtr(z) * w)) - p
        if F == 0:
            return x
        if F > 0:
            hi = min(hi, x)
        else:
            lo = max(lo, x)
        f = float(np.sum(np.exp(-0.5 * z * z) / s * w)) / math.sqrt(2 * math.pi)
        step = F / f if f > 0 else math.inf
        tol = 1e-14 * max(1.0, abs(x))
        if abs(step) <= tol:
            return x - step
        nxt = x - step
        if not lo < nxt < hi:
            nxt = 0.5 * (lo + hi)
        if hi - lo <= tol:
            return nxt
        x = nxt
    return x


def _norm_ppf(p):
    from scipy.special import ndtri

    return ndtri(p)


class _Marginal:
    """Marginal posterior of one integration variable ``v`` from the node masses of its
    panels (density at the nodes; the CDF inside a panel from the Legendre interpolant)."""

    def __init__(self, edges: np.ndarray, f_nodes: np.ndarray, n_gl: int):
        from numpy.polynomial import legendre

        x, w = legendre.leggauss(n_gl)
        self.edges = edges
        vals = f_nodes.reshape(-1, n_gl)  # density in t at the nodes, per panel
        half = 0.5 * (edges[1:] - edges[:-1])
        # Legendre coefficients of the interpolant (discrete orthogonality of the GL nodes)
        P = np.stack([legendre.legval(x, np.eye(n_gl)[k]) for k in range(n_gl)])  # (k, node)
        coef = (vals * w[None, :]) @ P.T * ((2 * np.arange(n_gl) + 1) / 2)[None, :]
        self.integ = [legendre.legint(c, lbnd=-1) for c in coef]
        mass = (vals * w[None, :]).sum(axis=1) * half
        self.total = float(mass.sum())
        self.cum = np.concatenate([[0.0], np.cumsum(mass)]) / self.total
        self.half = half

    def cdf(self, t: float) -> float:
        from numpy.polynomial import legendre

        if t <= self.edges[0]:
            return 0.0
        if t >= self.edges[-1]:
            return 1.0
        i = int(np.clip(np.searchsorted(self.edges, t, side="right") - 1, 0, self.half.size - 1))
        x = (t - self.edges[i]) / self.half[i] - 1.0
        part = float(legendre.legval(x, self.integ[i])) * self.half[i] / self.total
        return float(self.cum[i] + part)

    def quantile(self, p: float) -> float:
        i = int(np.clip(np.searchsorted(self.cum, p, side="right") - 1, 0, self.half.size - 1))
        a, b = float(self.edges[i]), float(self.edges[i + 1])
        fa, fb = self.cdf(a) - p, self.cdf(b) - p
        if fa >= 0:
            return a
        if fb <= 0:
            return b
        return optimize.brentq(lambda t: self.cdf(t) - p, a, b, xtol=1e-14, rtol=1e-14)


@dataclass(frozen=True, eq=False)
class ExactMultilevelPosterior:
    """Exact posterior summaries of the multilevel model (``level`` intervals, equal-tailed).

    Per coefficient (tuples in the order of ``coef_names``): ``beta_mean``, ``beta_sd``,
    ``beta_median``, ``beta_low``, ``beta_high``, ``beta_p_positive`` (``P(beta_j > 0 | y)``).
    Per sigma (``sigma_trial``, ``sigma_timepoint``): ``mean``, ``sd``, ``median``, ``low``,
    ``high`` in :attr:`sigmas`. ``log_marginal_likelihood``: ``log p(y)``. ``mode``: the
    posterior mode of ``(log sigma_trial, log sigma_timepoint)``, as sigmas. Rule: ``box`` (the
    integration range of each sigma), ``n_nodes`` (per axis), ``edge_mass`` (posterior mass in
    the outermost panel on each side of each axis that is not the end of the support: small,
    noted above 1e-6), ``n_evals`` (density evaluations, mode search and pilot included).
    ``note``: caveats (a sigma whose posterior tail reaches the integration cap, edge mass);
    empty normally.
    """

    coef_names: tuple[str, ...]
    priors: tuple[str, str, str]
    level: float
    beta_mean: tuple[float, ...]
    beta_sd: tuple[float, ...]
    beta_median: tuple[float, ...]
    beta_low: tuple[float, ...]
    beta_high: tuple[float, ...]
    beta_p_positive: tuple[float, ...]
    sigmas: dict[str, dict[str, float]]
    log_marginal_likelihood: float
    mode: tuple[float, float]
    box: tuple[tuple[float, float], tuple[float, float]]
    n_nodes: int
    edge_mass: float
    n_evals: int
    note: str
    _w: np.ndarray = field(repr=False)
    _m: np.ndarray = field(repr=False)
    _s: np.ndarray = field(repr=False)
    _marg: tuple[_Marginal, _Marginal] = field(repr=False)
    _axes: tuple[_Axis, _Axis] = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per parameter: parameter, mean, sd, median, low, high."""
        import pandas as pd

        rows = [
            {
                "parameter": c,
                "mean": self.beta_mean[j],
                "sd": self.beta_sd[j],
                "median": self.beta_median[j],
                "low": self.beta_low[j],
                "high": self.beta_high[j],
            }
            for j, c in enumerate(self.coef_names)
        ]
        rows += [{"parameter": s, **self.sigmas[s]} for s in SIGMAS]
        return pd.DataFrame(rows, columns=["parameter", "mean", "sd", "median", "low", "high"])

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for f in fields(self):
            if f.name.startswith("_"):
                continue
            val = getattr(self, f.name)
            out[f.name] = list(val) if isinstance(val, tuple) else val
        return out

    def summary(self, parameter: str) -> dict[str, float]:
        """``mean``, ``sd``, ``median``, ``low``, ``high`` of a coefficient or a sigma."""
        if parameter in SIGMAS:
            return dict(self.sigmas[parameter])
        j = self._index(parameter)
        return {
            "mean": self.beta_mean[j],
            "sd": self.beta_sd[j],
            "median": self.beta_median[j],
            "low": self.beta_low[j],
            "high": self.beta_high[j],
        }

    def _index(self, coef: str | int) -> int:
        if isinstance(coef, int | np.integer):
            return int(coef)
        return self.coef_names.index(coef)

    def beta_cdf(self, coef: str | int, x: float) -> float:
        """``P(beta_coef <= x | y)`` (the normal mixture)."""
        j = self._index(coef)
        return _mixture_cdf(float(x), self._w, self._m[:, j], self._s[:, j])

    def beta_quantile(self, coef: str | int, p: float) -> float:
        j = self._index(coef)
        return _mixture_quantile(float(p), self._w, self._m[:, j], self._s[:, j])

    def sigma_cdf(self, name: str, sigma: float) -> float:
        """``P(sigma_name <= sigma | y)``."""
        if sigma <= 0:
            return 0.0
        j = SIGMAS.index(name)
        return self._marg[j].cdf(float(self._axes[j].v(sigma)))

    def sigma_quantile(self, name: str, p: float) -> float:
        j = SIGMAS.index(name)
        return float(self._axes[j].sigma(self._marg[j].quantile(float(p))))


def exact_posterior(
    y,
    V,
    X,
    Z1=None,
    Z2=None,
    *,
    beta_mean=0.0,
    beta_sd=10.0,
    sigma_trial_prior: TauPrior | None = None,
    sigma_timepoint_prior: TauPrior | None = None,
    coef_names: Sequence[str] | None = None,
    level: float = 0.95,
    n_panels: int = 12,
    n_gl: int = 14,
) -> ExactMultilevelPosterior:
    """Exact posterior of the multilevel model by 2-D quadrature over the two sigmas.

    Inputs as :func:`make_problem`; priors ``beta_j ~ N(beta_mean, beta_sd^2)`` (default
    ``N(0, 10^2)``), ``sigma_trial``/``sigma_timepoint`` default ``HalfNormal(0.5)``. The rule has
    ``n_panels`` x ``n_gl`` Gauss-Legendre nodes per axis (on the ketamine time course the
    defaults agree with a rule of 3 x the nodes per axis to a relative 1e-9 or better, and with
    :func:`ketameta.bayes_exact.exact_posterior` on univariate data to 2e-10). See the module
    docstring for the formulas.
    """
    prob = make_problem(
        y,
        V,
        X,
        Z1,
        Z2,
        beta_mean=beta_mean,
        beta_sd=beta_sd,
        sigma_trial_prior=sigma_trial_prior,
        sigma_timepoint_prior=sigma_timepoint_prior,
        coef_names=coef_names,
    )
    return exact_from_problem(prob, level=level, n_panels=n_panels, n_gl=n_gl)


def exact_from_problem(
    prob: Problem, level: float = 0.95, n_panels: int = 12, n_gl: int = 14
) -> ExactMultilevelPosterior:
    """:func:`exact_posterior` for a :class:`Problem`."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if n_panels < 1 or n_gl < 2:
        raise ValueError("need n_panels >= 1 and n_gl >= 2")
    lp = _LogPost(prob)
    t0 = _mode(lp, prob)
    lp.axes = [_Axis(pr, math.exp(t)) for pr, t in zip(prob.priors, t0, strict=True)]
    v0 = np.array([ax.v0 for ax in lp.axes])
    box, notes = _box(lp, v0)
    n1, w1, e1 = _composite(box[0, 0], box[0, 1], n_panels, n_gl)
    n2, w2, e2 = _composite(box[1, 0], box[1, 1], n_panels, n_gl)
    F, m, sv = lp.v(n1[:, None], n2[None, :], need_beta=True)
    top = float(np.max(F))
    W = np.exp(F - top) * w1[:, None] * w2[None, :]
    Z = float(W.sum())
    W /= Z
    logml = top + math.log(Z)
    w = W.ravel()
    s = np.sqrt(sv)

    mean = w @ m
    var = w @ (sv + (m - mean[None]) ** 2)
    lo_p, hi_p = (1 - level) / 2, (1 + level) / 2
    live = w > 1e-16 * w.max()
    wl, ml, sl = w[live] / w[live].sum(), m[live], s[live]
    qs = np.array(
        [
            [_mixture_quantile(q, wl, ml[:, j], sl[:, j]) for q in (lo_p, 0.5, hi_p)]
            for j in range(prob.p)
        ]
    )
    p_pos = 1.0 - (ndtr(-m / s).T @ w)

    f1, f2 = W.sum(axis=1), W.sum(axis=0)  # node masses
    margs = (_Marginal(e1, f1 / w1, n_gl), _Marginal(e2, f2 / w2, n_gl))
    sigmas = {}
    edge = 0.0
    for j, (name, nodes, f, marg) in enumerate(zip(SIGMAS, (n1, n2), (f1, f2), margs, strict=True)):
        ax = lp.axes[j]
        sig = ax.sigma(nodes)
        mu = float(f @ sig)
        sigmas[name] = {
            "mean": mu,
            "sd": math.sqrt(float(f @ (sig - mu) ** 2)),
            "median": float(ax.sigma(marg.quantile(0.5))),
            "low": float(ax.sigma(marg.quantile(lo_p))),
            "high": float(ax.sigma(marg.quantile(hi_p))),
        }
        # mass in the outermost panels, where the box does not end at the support's end
        if box[j, 0] > ax.lo:
            edge += float(f[:n_gl].sum())
        if box[j, 1] < ax.hi:
            edge += float(f[-n_gl:].sum())
    # the box ends where the density is e^-40 of its top, but a wide outer panel reaches in
    # further (1e-8 seen): only more than 1e-6 is noted
    if edge > 1e-6:
        notes.append(f"posterior mass {edge:.2g} in the outermost panels")
    sbox = tuple(
        (float(ax.sigma(box[j, 0])), float(ax.sigma(box[j, 1]))) for j, ax in enumerate(lp.axes)
    )
    return ExactMultilevelPosterior(
        coef_names=prob.coef_names,
        priors=(f"normal({_fmt(prob.beta_mean)},{_fmt(prob.beta_sd)})",)
        + tuple(pr.label for pr in prob.priors),
        level=level,
        beta_mean=tuple(float(x) for x in mean),
        beta_sd=tuple(float(x) for x in np.sqrt(var)),
        beta_median=tuple(float(x) for x in qs[:, 1]),
        beta_low=tuple(float(x) for x in qs[:, 0]),
        beta_high=tuple(float(x) for x in qs[:, 2]),
        beta_p_positive=tuple(float(x) for x in p_pos),
        sigmas=sigmas,
        log_marginal_likelihood=logml,
        mode=(lp.axes[0].c, lp.axes[1].c),
        box=sbox,
        n_nodes=int(n1.size),
        edge_mass=edge,
        n_evals=lp.n_evals,
        note="; ".join(notes),
        _w=wl,
        _m=ml,
        _s=sl,
        _marg=margs,
        _axes=tuple(lp.axes),
    )


def _fmt(a: np.ndarray) -> str:
    return f"{a[0]:g}" if np.all(a == a[0]) else "[" + " ".join(f"{x:g}" for x in a) + "]"


# --------------------------------------------------------------------------------------------
# MCMC: the PyMC model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MLKey:
    """Structure of a compiled model: padded sizes and the kinds of the two sigma priors."""

    n: int
    p: int
    trial_kind: str
    timepoint_kind: str


def _round_up(k: int, step: int | None) -> int:
    return k if step is None else -(-k // step) * step


def _prior_data(prefix: str, prior: TauPrior) -> dict[str, float]:
    if prior.kind in ("halfnormal", "halfcauchy"):
        return {f"{prefix}_scale": prior.scale}
    if prior.kind == "uniform":
        return {f"{prefix}_upper": prior.upper}
    return {f"{prefix}_meanlog": prior.meanlog, f"{prefix}_sdlog": prior.sdlog}


def model_data(prob: Problem, bucket: int | None = _BUCKET) -> tuple[MLKey, dict[str, Any]]:
    """The structure key and the padded arrays of the PyMC model for ``prob``: observations
    padded to a multiple of ``bucket``, coefficients to a multiple of ``bucket // 2``
    (``None``: no padding)."""
    n_pad = _round_up(prob.n, bucket)
    p_pad = _round_up(prob.p, None if bucket is None else max(1, bucket // 2))
    n, p = prob.n, prob.p

    def sq(a):
        out = np.zeros((n_pad, n_pad))
        out[:n, :n] = a
        return out

    V = sq(prob.V)
    V[np.arange(n, n_pad), np.arange(n, n_pad)] = 1.0
    X = np.zeros((n_pad, p_pad))
    X[:n, :p] = prob.X
    bm = np.zeros(p_pad)
    bm[:p] = prob.beta_mean
    bs = np.full(p_pad, 10.0)
    bs[:p] = prob.beta_sd
    y = np.zeros(n_pad)
    y[:n] = prob.y
    data: dict[str, Any] = {
        "y": y,
        "V": V,
        "X": X,
        "K1": sq(prob.K1),
        "K2": sq(prob.K2),
        "beta_mean": bm,
        "beta_sd": bs,
        "n_obs": float(n),
    }
    data.update(_prior_data("trial", prob.priors[0]))
    data.update(_prior_data("timepoint", prob.priors[1]))
    return MLKey(n_pad, p_pad, prob.priors[0].kind, prob.priors[1].kind), data


def _layout(data: dict[str, Any]) -> list[tuple[str, int, int, tuple[int, ...]]]:
    out, start = [], 0
    for name in sorted(data):
        shape = np.shape(data[name])
        size = int(np.prod(shape)) if shape else 1
        out.append((name, start, start + size, shape))
        start += size
    return out


def _sigma_rv(name: str, kind: str, d: dict, prefix: str):
    import pymc as pm

    if kind == "halfnormal":
        return pm.HalfNormal(name, sigma=d[f"{prefix}_scale"])
    if kind == "halfcauchy":
        return pm.HalfCauchy(name, beta=d[f"{prefix}_scale"])
    if kind == "uniform":
        return pm.Uniform(name, lower=0.0, upper=d[f"{prefix}_upper"])
    # log(sigma^2) ~ N(m, s^2)  <=>  log(sigma) ~ N(m/2, (s/2)^2)
    return pm.LogNormal(name, mu=d[f"{prefix}_meanlog"] / 2, sigma=d[f"{prefix}_sdlog"] / 2)


def build_model(key: MLKey, data: dict[str, Any]) -> pm.Model:
    """PyMC model of structure ``key``, data container initialised to ``data``.

    Free: ``beta`` (``key.p``), ``sigma_trial``, ``sigma_timepoint``. Log likelihood:
    ``log N(y; X beta, V + sigma_trial^2 K1 + sigma_timepoint^2 K2)`` over the real
    observations, as one ``pm.Potential`` ("loglik") with its normalising constant.
    """
    import pymc as pm
    import pytensor.tensor as pt
    from pytensor.tensor.linalg import cholesky, solve_triangular

    with pm.Model() as model:
        packed = pm.Data("data", pack_data(data))
        d = {}
        for name, start, stop, shape in _layout(data):
            d[name] = packed[start] if not shape else packed[start:stop].reshape(shape)
        beta = pm.Normal("beta", mu=d["beta_mean"], sigma=d["beta_sd"], shape=key.p)
        s1 = _sigma_rv("sigma_trial", key.trial_kind, d, "trial")
        s2 = _sigma_rv("sigma_timepoint", key.timepoint_kind, d, "timepoint")
        M = d["V"] + s1**2 * d["K1"] + s2**2 * d["K2"]
        L = cholesky(M, lower=True)
        z = solve_triangular(L, d["y"] - pt.dot(d["X"], beta), lower=True)
        ll = -0.5 * d["n_obs"] * _LOG2PI - pt.sum(pt.log(pt.diagonal(L))) - 0.5 * pt.sum(z * z)
        pm.Potential("loglik", ll)
    return model


# --------------------------------------------------------------------------------------------
# MCMC: results
# --------------------------------------------------------------------------------------------


FRAME_COLUMNS = (*(f.name for f in fields(ParameterSummary)), "divergences")


@dataclass(frozen=True)
class MultilevelMCMCResult(FitAccess):
    """Summaries and diagnostics of one MCMC fit of the multilevel model.

    ``summaries``: one :class:`ketameta.bayes.ParameterSummary` per coefficient (named as
    ``coef_names``) and per sigma (``sigma_trial``, ``sigma_timepoint``): mean, sd, median,
    equal-tailed ``level`` interval, MCSEs, bulk/tail ESS, R-hat. Over all of them:
    ``max_rhat``, ``min_ess_bulk``, ``min_ess_tail``; ``divergences`` (post-warmup) and
    ``min_bfmi``. ``flags``: failed thresholds (:class:`ketameta.bayes.Thresholds`) and
    ``target_accept`` (half-Cauchy prior sampled below 0.95); empty when all is well.
    ``idata``: :class:`xarray.DataTree` with ``posterior`` (``beta`` by ``coef``, the sigmas)
    and ``sample_stats``.
    """

    coef_names: tuple[str, ...]
    n: int
    priors: tuple[str, str, str]
    level: float
    seed: int
    chains: int
    draws: int
    tune: int
    target_accept: float
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

    def to_frame(self) -> pd.DataFrame:
        """One row per parameter, columns :data:`FRAME_COLUMNS` (divergences of the fit)."""
        import pandas as pd

        rows = [{**s.to_dict(), "divergences": self.divergences} for s in self.summaries]
        return pd.DataFrame(rows, columns=list(FRAME_COLUMNS))

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
            elif isinstance(val, tuple):
                val = list(val)
            out[f.name] = val
        return out


_STATS_KEPT = ("diverging", "energy", "step_size", "n_steps", "depth", "mean_tree_accept", "logp")


def _result(prob: Problem, trace, *, seed, level, thresholds, notes, flags, **meta):
    import arviz as az

    post, stats = trace["posterior"], trace["sample_stats"]
    beta = np.asarray(post["beta"].values)[..., : prob.p]
    sig = {s: np.asarray(post[s].values) for s in SIGMAS}
    scalars = [(c, beta[..., j]) for j, c in enumerate(prob.coef_names)]
    scalars += [(s, sig[s]) for s in SIGMAS]
    summaries = tuple(_summarise(name, x, level) for name, x in scalars)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        bfmi = np.atleast_1d(az.bfmi(np.asarray(stats["energy"].values, dtype=float)))
    chains = meta["chains"]
    max_rhat = max(s.rhat for s in summaries) if chains > 1 else math.nan
    min_b = min(s.ess_bulk for s in summaries)
    min_t = min(s.ess_tail for s in summaries)
    div = int(np.asarray(stats["diverging"].values).sum())
    min_bfmi = float(np.min(bfmi))
    failed = []
    if chains > 1 and not max_rhat <= thresholds.rhat_max:
        failed.append("rhat")
    if not min_b >= thresholds.ess_min:
        failed.append("ess_bulk")
    if not min_t >= thresholds.ess_min:
        failed.append("ess_tail")
    if div > thresholds.divergences_max:
        failed.append("divergences")
    if not min_bfmi >= thresholds.bfmi_min:
        failed.append("bfmi")
    sample_stats = {
        name: np.asarray(stats[name].values) for name in _STATS_KEPT if name in stats.data_vars
    }
    for name, val in sample_stats.items():
        if val.dtype == bool or np.issubdtype(val.dtype, np.integer):
            sample_stats[name] = val.astype(np.int32)
    priors = (
        f"normal({_fmt(prob.beta_mean)},{_fmt(prob.beta_sd)})",
        prob.priors[0].label,
        prob.priors[1].label,
    )
    idata = az.from_dict(
        {"posterior": {"beta": beta, **sig}, "sample_stats": sample_stats},
        coords={"coef": np.array(prob.coef_names, dtype=str)},
        dims={"beta": ["coef"]},
        attrs={"/": {"model": "multilevel", "sampler": "nutpie", "seed": seed}},
    )
    return MultilevelMCMCResult(
        coef_names=prob.coef_names,
        n=prob.n,
        priors=priors,
        level=level,
        seed=seed,
        summaries=summaries,
        max_rhat=float(max_rhat),
        min_ess_bulk=float(min_b),
        min_ess_tail=float(min_t),
        divergences=div,
        min_bfmi=min_bfmi,
        thresholds=thresholds,
        flags=";".join(failed + flags),
        notes="; ".join(notes),
        compiled=meta["compile_seconds"] > 0,
        idata=idata,
        **meta,
    )


# --------------------------------------------------------------------------------------------
# MCMC: the sampler
# --------------------------------------------------------------------------------------------


def _one_blas_thread():
    """OpenBLAS limited to one thread while nutpie's chains run in parallel threads: the
    compiled log density calls BLAS for its matrix products, and from n = 32 observations (or
    p = 16 coefficients) OpenBLAS threads each call; with 2 chains on 2 cores a gradient then
    took 0.7-4.6 ms instead of 40 us (measured, 100x). threadpoolctl comes with PyMC."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


class MultilevelSampler:
    """Compiled nutpie models of the multilevel model keyed by :class:`MLKey`.

    ``bucket``: pad the number of observations to a multiple of ``bucket`` and the number of
    coefficients to a multiple of ``bucket // 2`` (default 8: n = 18 -> 24, p = 13 -> 16), so
    that designs of similar size share one compiled model; ``None`` compiles one model per exact
    shape. Padding costs some sampling time (measured on the ketamine time course, n = 19: 25 us
    per gradient unpadded, 28 us padded to 24, 41 us padded to 32).
    ``cores``: chains in parallel threads (default: all available).
    """

    def __init__(
        self,
        *,
        cores: int | None = None,
        bucket: int | None = _BUCKET,
        thresholds: Thresholds | None = None,
    ) -> None:
        if bucket is not None and bucket < 1:
            raise ValueError("bucket must be >= 1 (or None)")
        self.cores = cores if cores is not None else _available_cores()
        self.bucket = bucket
        self.thresholds = thresholds if thresholds is not None else Thresholds()
        self._compiled: dict[MLKey, Any] = {}
        self.compile_log: list[tuple[MLKey, float]] = []

    @property
    def n_compiles(self) -> int:
        return len(self.compile_log)

    def compiled_model(self, key: MLKey, data: dict[str, Any]):
        """``(compiled model with data swapped in, compile seconds)`` (0 when cached)."""
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

    def fit(
        self,
        prob: Problem,
        *,
        seed: int | None = None,
        chains: int = 4,
        draws: int = 2000,
        tune: int = 1000,
        target_accept: float = 0.95,
        level: float = 0.95,
        thresholds: Thresholds | None = None,
    ) -> MultilevelMCMCResult:
        """Sample the posterior of ``prob`` (a :class:`Problem`). ``seed`` None draws a fresh
        seed (recorded in the result). A half-Cauchy sigma prior needs ``target_accept >=
        0.95`` (lower values are flagged ``target_accept``)."""
        import nutpie

        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        if chains < 1 or draws < 4 or tune < 0:
            raise ValueError("need chains >= 1, draws >= 4 and tune >= 0")
        if not 0 < target_accept < 1:
            raise ValueError(f"target_accept must be in (0, 1), got {target_accept!r}")
        notes, flags = [], []
        if any(pr.kind == "halfcauchy" for pr in prob.priors) and target_accept < 0.95:
            notes.append("half-Cauchy sigma prior sampled with target_accept < 0.95")
            flags.append("target_accept")
        seed = _fresh_seed() if seed is None else int(seed)
        key, data = model_data(prob, self.bucket)
        model, compile_seconds = self.compiled_model(key, data)
        t0 = time.perf_counter()
        with _one_blas_thread():
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
            prob,
            trace,
            seed=seed,
            level=level,
            thresholds=thresholds if thresholds is not None else self.thresholds,
            notes=notes,
            flags=flags,
            chains=chains,
            draws=draws,
            tune=tune,
            target_accept=target_accept,
            compile_seconds=compile_seconds,
            sample_seconds=sample_seconds,
        )


_DEFAULT: MultilevelSampler | None = None


def default_sampler() -> MultilevelSampler:
    """A process-wide :class:`MultilevelSampler` (compiled models are reused across fits)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = MultilevelSampler()
    return _DEFAULT


def fit_mcmc(
    y,
    V,
    X,
    Z1=None,
    Z2=None,
    *,
    beta_mean=0.0,
    beta_sd=10.0,
    sigma_trial_prior: TauPrior | None = None,
    sigma_timepoint_prior: TauPrior | None = None,
    coef_names: Sequence[str] | None = None,
    seed: int | None = None,
    chains: int = 4,
    draws: int = 2000,
    tune: int = 1000,
    target_accept: float = 0.95,
    level: float = 0.95,
    thresholds: Thresholds | None = None,
    sampler: MultilevelSampler | None = None,
) -> MultilevelMCMCResult:
    """MCMC (nutpie) for the multilevel model; inputs and priors as :func:`exact_posterior`.

    ``sampler`` defaults to the process-wide :func:`default_sampler`, so a second call with a
    design of the same (padded) shape and the same kinds of sigma priors reuses the compiled
    model with the new data.
    """
    prob = make_problem(
        y,
        V,
        X,
        Z1,
        Z2,
        beta_mean=beta_mean,
        beta_sd=beta_sd,
        sigma_trial_prior=sigma_trial_prior,
        sigma_timepoint_prior=sigma_timepoint_prior,
        coef_names=coef_names,
    )
    s = sampler if sampler is not None else default_sampler()
    return s.fit(
        prob,
        seed=seed,
        chains=chains,
        draws=draws,
        tune=tune,
        target_accept=target_accept,
        level=level,
        thresholds=thresholds,
    )


# --------------------------------------------------------------------------------------------
# MCMC against the exact posterior
# --------------------------------------------------------------------------------------------


def compare_to_exact(
    result: MultilevelMCMCResult, exact: ExactMultilevelPosterior, z_max: float = 4.0
) -> pd.DataFrame:
    """MCMC summaries against the exact posterior: one row per parameter and statistic
    (``mean``, ``median``, ``low``, ``high``) with ``mcmc``, ``exact``, ``mcse``, ``diff``,
    ``z = diff/mcse`` and ``flagged`` (``|z| > z_max``)."""
    import pandas as pd

    if not math.isclose(result.level, exact.level):
        raise ValueError(f"levels differ: MCMC {result.level}, exact {exact.level}")
    if tuple(result.coef_names) != tuple(exact.coef_names):
        raise ValueError("the two fits have different coefficients")
    rows = []
    for s in result.summaries:
        ref = exact.summary(s.parameter)
        for stat in ("mean", "median", "low", "high"):
            est, mcse = getattr(s, stat), getattr(s, f"mcse_{stat}")
            diff = est - ref[stat]
            z = diff / mcse if mcse > 0 else math.nan
            rows.append(
                {
                    "parameter": s.parameter,
                    "statistic": stat,
                    "mcmc": est,
                    "exact": ref[stat],
                    "mcse": mcse,
                    "diff": diff,
                    "z": z,
                    "flagged": not abs(z) <= z_max,
                }
            )
    return pd.DataFrame(rows)
