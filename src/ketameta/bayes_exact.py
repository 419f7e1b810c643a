"""Exact posterior of the Bayesian normal-normal random-effects model by quadrature over tau.

Model (e.g. Spiegelhalter et al. 2004, ch. 5; Röver 2020):

    y_i | theta_i ~ N(theta_i, v_i),   theta_i | mu, tau ~ N(mu, tau^2),
    mu ~ N(mu0, s0^2) (or flat),       tau ~ p(tau),

with ``tau`` priors :class:`TauPrior` (half-normal, half-Cauchy, uniform on ``[0, upper]`` and the
log-normal prior on ``tau^2`` of Turner et al. 2015). The computation is the one of Röver's
``bayesmeta`` (Röver C, 2020, "Bayesian random-effects meta-analysis using the bayesmeta R
package", J Stat Softw 93(6), doi:10.18637/jss.v093.i06):

- given ``tau``, ``mu`` is conjugate normal. With ``w_i = 1/(v_i + tau^2)``, ``W = sum w_i`` and
  ``muhat = sum w_i y_i / W``, ``mu | tau, y ~ N(m(tau), V(tau))`` where ``V = 1/(W + 1/s0^2)`` and
  ``m = V (W muhat + mu0/s0^2)`` (``V = 1/W``, ``m = muhat`` for the flat prior), and the marginal
  likelihood ``p(y | tau)`` is closed form (``mu`` integrated out analytically);
- the one-dimensional marginal posterior ``p(tau | y) ∝ p(tau) p(y | tau)`` is integrated
  numerically: adaptive Gauss-Legendre quadrature (15 nodes per panel, panels bisected until the
  panel rule and its two halves agree to a relative 1e-11 for the normalising constant and the
  first two moments of ``tau`` and ``mu``) on ``u = tau/(c + tau)`` in ``[0, 1)`` (``c`` a scale
  from the prior and the data), or on ``u = tau/upper`` for the uniform prior;
- every other posterior quantity is a finite mixture over the quadrature nodes ``tau_j`` with
  weights ``w_j = p(tau_j | y) x quadrature weight``: ``mu | y`` is the normal mixture
  ``sum_j w_j N(m_j, V_j)``, the predictive ``theta_new | y`` (``theta_new ~ N(mu, tau^2)``) is
  ``sum_j w_j N(m_j, V_j + tau_j^2)``, and the study effects are
  ``theta_i | tau, y ~ N(B y_i + (1 - B) m, B v_i + (1 - B)^2 V)`` with ``B = tau^2/(v_i + tau^2)``
  mixed the same way (the "shrinkage" estimates).

Quantiles are found by root-finding (Brent) on the exact mixture CDFs; ``tau``'s CDF is the
cumulative quadrature up to the panel and a Gauss-Legendre integral of the density inside it.
Credible intervals are equal-tailed. Moments that do not exist (half-Cauchy prior with few
studies: the posterior of ``tau`` has a polynomial tail ``tau^-(k - f + 2)``, ``f = 1`` for the
flat ``mu`` prior, else 0) are reported as ``inf``.

The log marginal likelihood ``log p(y)`` includes every normalising constant; it is NaN for the
improper flat ``mu`` prior (as bayesmeta reports it).

Checked against a brute-force two-dimensional ``integrate()`` reference computed in R
(``tests/reference/make_bayes_fixtures.R``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtr

TAU_PRIOR_KINDS = ("halfnormal", "halfcauchy", "uniform", "lognormal_tau2")
# Turner et al. (2015), Stat Med 34(6):984-998: the "marginal" (any outcome, any comparison)
# predictive distribution log(tau^2) ~ N(-2.56, 1.74^2) for log odds ratios.
TURNER2015_GENERAL = (-2.56, 1.74)

_LOG2PI = math.log(2 * math.pi)
_GL_X, _GL_W = np.polynomial.legendre.leggauss(15)
_TOL = 1e-11  # relative tolerance of the adaptive quadrature (per panel, see _AdaptiveRule)
_MAX_LEVELS = 40
_INITIAL_PANELS = 24


@dataclass(frozen=True)
class TauPrior:
    """Prior for the between-study standard deviation ``tau`` (support ``tau >= 0``).

    ``kind`` is one of :data:`TAU_PRIOR_KINDS`:

    - ``halfnormal``: ``tau ~ |N(0, scale^2)|``;
    - ``halfcauchy``: ``tau ~ |Cauchy(0, scale)|`` (Gelman 2006);
    - ``uniform``: ``tau ~ U(0, upper)``;
    - ``lognormal_tau2``: ``log(tau^2) ~ N(meanlog, sdlog^2)`` (Turner et al. 2015), that is
      ``log(tau) ~ N(meanlog/2, (sdlog/2)^2)``. :meth:`turner2015` gives the general setting.

    Use the constructors :meth:`halfnormal`, :meth:`halfcauchy`, :meth:`uniform` and
    :meth:`lognormal_tau2`.
    """

    kind: str
    scale: float = math.nan
    upper: float = math.nan
    meanlog: float = math.nan
    sdlog: float = math.nan

    def __post_init__(self):
        if self.kind not in TAU_PRIOR_KINDS:
            raise ValueError(f"unknown tau prior {self.kind!r}; choose from {TAU_PRIOR_KINDS}")
        if self.kind in ("halfnormal", "halfcauchy") and not (0 < self.scale < math.inf):
            raise ValueError(f"{self.kind} prior needs a finite scale > 0, got {self.scale!r}")
        if self.kind == "uniform" and not (0 < self.upper < math.inf):
            raise ValueError(f"uniform prior needs a finite upper bound > 0, got {self.upper!r}")
        if self.kind == "lognormal_tau2" and not (
            math.isfinite(self.meanlog) and 0 < self.sdlog < math.inf
        ):
            raise ValueError("lognormal_tau2 prior needs a finite meanlog and a finite sdlog > 0")

    @classmethod
    def halfnormal(cls, scale: float) -> TauPrior:
        return cls("halfnormal", scale=float(scale))

    @classmethod
    def halfcauchy(cls, scale: float) -> TauPrior:
        return cls("halfcauchy", scale=float(scale))

    @classmethod
    def uniform(cls, upper: float) -> TauPrior:
        return cls("uniform", upper=float(upper))

    @classmethod
    def lognormal_tau2(cls, meanlog: float, sdlog: float) -> TauPrior:
        return cls("lognormal_tau2", meanlog=float(meanlog), sdlog=float(sdlog))

    @classmethod
    def turner2015(cls) -> TauPrior:
        """Turner et al. (2015) general setting: ``log(tau^2) ~ N(-2.56, 1.74^2)``."""
        return cls.lognormal_tau2(*TURNER2015_GENERAL)

    @property
    def label(self) -> str:
        if self.kind in ("halfnormal", "halfcauchy"):
            return f"{self.kind}({self.scale:g})"
        if self.kind == "uniform":
            return f"uniform(0,{self.upper:g})"
        return f"lognormal_tau2({self.meanlog:g},{self.sdlog:g})"

    @property
    def upper_bound(self) -> float:
        """Upper end of the support (``inf`` except for the uniform prior)."""
        return self.upper if self.kind == "uniform" else math.inf

    def median(self) -> float:
        """Prior median of ``tau``."""
        if self.kind == "halfnormal":
            return self.scale * 0.6744897501960817  # Phi^-1(0.75)
        if self.kind == "halfcauchy":
            return self.scale
        if self.kind == "uniform":
            return self.upper / 2
        return math.exp(self.meanlog / 2)

    def tail_exponent(self) -> float:
        """``a`` with ``p(tau) ~ tau^-a`` for large ``tau`` (``inf`` for lighter tails)."""
        return 2.0 if self.kind == "halfcauchy" else math.inf

    def logpdf(self, tau) -> np.ndarray:
        """Log prior density of ``tau`` (``-inf`` outside the support)."""
        t = np.asarray(tau, dtype=float)
        out = np.full(t.shape, -np.inf)
        if self.kind == "uniform":
            inside = (t >= 0) & (t <= self.upper)
            out[inside] = -math.log(self.upper)
            return out
        if self.kind == "lognormal_tau2":
            pos = t > 0
            mu, sd = self.meanlog / 2, self.sdlog / 2
            lt = np.log(t[pos])
            out[pos] = -lt - math.log(sd) - 0.5 * _LOG2PI - 0.5 * ((lt - mu) / sd) ** 2
            return out
        nonneg = t >= 0
        z = t[nonneg] / self.scale
        if self.kind == "halfnormal":
            out[nonneg] = math.log(2 / self.scale) - 0.5 * _LOG2PI - 0.5 * z**2
        else:  # halfcauchy
            out[nonneg] = math.log(2 / (math.pi * self.scale)) - np.log1p(z**2)
        return out


@dataclass(frozen=True)
class MuPrior:
    """Prior for the overall effect ``mu``: ``N(mean, sd^2)``, or flat (improper) for ``sd = inf``.

    Use the constructors :meth:`normal` and :meth:`flat`.
    """

    mean: float = 0.0
    sd: float = math.inf

    def __post_init__(self):
        if not math.isfinite(self.mean):
            raise ValueError("mu prior mean must be finite")
        if not self.sd > 0:
            raise ValueError("mu prior sd must be > 0 (use inf for a flat prior)")

    @classmethod
    def normal(cls, mean: float, sd: float) -> MuPrior:
        if not math.isfinite(sd):
            raise ValueError("normal mu prior needs a finite sd (use MuPrior.flat())")
        return cls(float(mean), float(sd))

    @classmethod
    def flat(cls) -> MuPrior:
        return cls(0.0, math.inf)

    @property
    def is_flat(self) -> bool:
        return math.isinf(self.sd)

    @property
    def label(self) -> str:
        return "flat" if self.is_flat else f"normal({self.mean:g},{self.sd:g})"

    def logpdf(self, mu) -> np.ndarray:
        """Log prior density (0 for the flat prior)."""
        x = np.asarray(mu, dtype=float)
        if self.is_flat:
            return np.zeros(x.shape)
        return -0.5 * _LOG2PI - math.log(self.sd) - 0.5 * ((x - self.mean) / self.sd) ** 2


# --------------------------------------------------------------------------------------------
# Conditional quantities given tau
# --------------------------------------------------------------------------------------------


def _conditional(tau: np.ndarray, y: np.ndarray, v: np.ndarray, mu_prior: MuPrior):
    """``log p(y | tau)`` and the conditional posterior ``mu | tau, y ~ N(m, V)`` for each tau."""
    s2 = v[None, :] + (tau**2)[:, None]
    w = 1.0 / s2
    W = w.sum(axis=1)
    muhat = (w * y).sum(axis=1) / W
    r = y[None, :] - muhat[:, None]
    base = -0.5 * (len(y) * _LOG2PI + np.log(s2).sum(axis=1) + (w * r * r).sum(axis=1))
    if mu_prior.is_flat:
        return base + 0.5 * (_LOG2PI - np.log(W)), muhat, 1.0 / W
    s0sq = mu_prior.sd**2
    dev = muhat - mu_prior.mean
    loglik = base - 0.5 * np.log1p(W * s0sq) - 0.5 * dev**2 / (1.0 / W + s0sq)
    prec = W + 1.0 / s0sq
    return loglik, (W * muhat + mu_prior.mean / s0sq) / prec, 1.0 / prec


class _Map:
    """``tau = c u / (1 - u)`` on ``u in [0, 1)`` (``upper = inf``) or ``tau = upper u``."""

    def __init__(self, c: float, upper: float):
        self.c, self.upper = c, upper

    def tau(self, u):
        if math.isfinite(self.upper):
            return self.upper * u
        return self.c * u / (1.0 - u)

    def log_jac(self, u):
        if math.isfinite(self.upper):
            return np.full(np.shape(u), math.log(self.upper))
        return math.log(self.c) - 2.0 * np.log1p(-u)

    def u(self, tau):
        tau = np.asarray(tau, dtype=float)
        if math.isfinite(self.upper):
            return tau / self.upper
        return tau / (self.c + tau)


class _Model:
    def __init__(self, y, v, mu_prior: MuPrior, tau_prior: TauPrior):
        self.y, self.v, self.mu_prior, self.tau_prior = y, v, mu_prior, tau_prior
        self.map = _Map(self._scale(), tau_prior.upper_bound)
        # p(tau | y) ~ tau^-a for large tau: moment r exists iff a - r > 1
        a = tau_prior.tail_exponent() + len(y) - (1 if mu_prior.is_flat else 0)
        self.finite_moment = {r: a - r > 1 for r in (1, 2)}

    def _scale(self) -> float:
        """Scale ``c`` of the u-transform: geometric mean of a prior and a data scale of tau."""
        y, v = self.y, self.v
        prior = self.tau_prior.median()
        if len(y) > 1:  # DerSimonian-Laird, as a rough data scale
            w = 1 / v
            q = float(np.sum(w * (y - np.sum(w * y) / np.sum(w)) ** 2))
            t2 = (q - (len(y) - 1)) / (np.sum(w) - np.sum(w**2) / np.sum(w))
        else:
            t2 = 0.0
        data = max(math.sqrt(max(t2, 0.0)), 0.5 * math.sqrt(float(np.median(v))))
        return math.sqrt(prior * data)

    def eval_u(self, u: np.ndarray):
        """tau, log integrand on the u-scale (unnormalised), m(tau), V(tau) at the points u."""
        tau = self.map.tau(u)
        loglik, m, V = _conditional(tau.ravel(), self.y, self.v, self.mu_prior)
        logf = self.tau_prior.logpdf(tau.ravel()) + loglik + self.map.log_jac(u.ravel())
        shape = np.shape(u)
        return tau, logf.reshape(shape), m.reshape(shape), V.reshape(shape)

    def logpost_tau(self, tau: np.ndarray) -> np.ndarray:
        """Unnormalised log p(tau | y) on the tau scale."""
        loglik, _, _ = _conditional(tau.ravel(), self.y, self.v, self.mu_prior)
        return (self.tau_prior.logpdf(tau.ravel()) + loglik).reshape(np.shape(tau))


def _panel_nodes(lo: np.ndarray, hi: np.ndarray):
    half = 0.5 * (hi - lo)
    u = (0.5 * (hi + lo))[:, None] + half[:, None] * _GL_X[None, :]
    return u, half[:, None] * _GL_W[None, :]


class _AdaptiveRule:
    """Adaptive Gauss-Legendre rule for ``p(tau | y)`` on ``u in [0, 1]``.

    Each panel is compared with its two halves on the vector integrand
    ``f x (1, tau, tau^2, m, m^2 + V)`` (only the components with a finite posterior moment); a
    panel is accepted, with the halves' nodes, when every component agrees to ``_TOL`` of that
    component's total absolute integral, otherwise both halves are examined in turn. The
    scaling ``exp(-offset)`` keeps the largest integrand value near 1.
    """

    def __init__(self, model: _Model):
        self.model = model
        comps = [True, model.finite_moment[1], model.finite_moment[2], True]
        comps.append(model.finite_moment[2] or not model.mu_prior.is_flat)
        self.comps = np.array(comps)
        edges = np.linspace(0.0, 1.0, _INITIAL_PANELS + 1)
        lo, hi = edges[:-1], edges[1:]
        whole = self._panels(lo, hi)
        self.offset = float(np.max(whole["logf"]))
        acc_lo, acc_hi, acc = [], [], []  # accepted half-panels and their node data
        totals_abs = np.zeros(5)
        levels = 0
        self.converged = True
        w_int = self._integrals(whole)
        while lo.size:
            mid = 0.5 * (lo + hi)
            left, right = self._panels(lo, mid), self._panels(mid, hi)
            new_max = float(max(np.max(left["logf"]), np.max(right["logf"])))
            if new_max > self.offset:
                scale = math.exp(self.offset - new_max)
                totals_abs *= scale
                w_int *= scale
                self.offset = new_max
            li, ri = self._integrals(left), self._integrals(right)
            halves = li + ri
            totals = totals_abs + np.abs(halves).sum(axis=0)
            err = np.abs(halves - w_int)
            ok = np.all((err <= _TOL * totals) | ~self.comps, axis=1)
            levels += 1
            if levels >= _MAX_LEVELS:
                ok[:] = True
                self.converged = False
            for part, a, b in ((left, lo, mid), (right, mid, hi)):
                acc_lo.append(a[ok])
                acc_hi.append(b[ok])
                acc.append({key: val[ok] for key, val in part.items()})
            totals_abs += np.abs(halves[ok]).sum(axis=0)
            keep = ~ok
            lo = np.concatenate([lo[keep], mid[keep]])
            hi = np.concatenate([mid[keep], hi[keep]])
            w_int = np.concatenate([li[keep], ri[keep]])
        order = np.argsort(np.concatenate(acc_lo))
        cat = {key: np.concatenate([d[key] for d in acc])[order] for key in acc[0]}
        self.lo = np.concatenate(acc_lo)[order]
        self.hi = np.concatenate(acc_hi)[order]
        raw = np.exp(cat["logf"] - self.offset) * cat["gw"]  # (panels, nodes)
        self.Z = float(raw.sum())
        mass = raw.sum(axis=1) / self.Z
        self.cum = np.concatenate([[0.0], np.cumsum(mass)])
        self.tau = cat["tau"].ravel()
        self.m = cat["m"].ravel()
        self.V = cat["V"].ravel()
        self.w = raw.ravel() / self.Z
        self.levels = levels

    def _panels(self, lo, hi) -> dict:
        u, gw = _panel_nodes(lo, hi)
        tau, logf, m, V = self.model.eval_u(u)
        return {"tau": tau, "logf": logf, "m": m, "V": V, "gw": gw}

    def _integrals(self, p: dict) -> np.ndarray:
        f = np.exp(p["logf"] - self.offset) * p["gw"]
        tau, m = p["tau"], p["m"]
        g = np.stack([f, f * tau, f * tau**2, f * m, f * (m * m + p["V"])], axis=-1)
        with np.errstate(invalid="ignore"):
            return np.nan_to_num(g.sum(axis=1), nan=0.0, posinf=0.0)

    # -- tau's CDF ------------------------------------------------------------------------------
    def _partial(self, idx: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Posterior mass of ``[lo[idx], u]`` (same panel) by Gauss-Legendre."""
        nodes, gw = _panel_nodes(self.lo[idx], u)
        _, logf, _, _ = self.model.eval_u(nodes)
        return (np.exp(logf - self.offset) * gw).sum(axis=1) / self.Z

    def cdf_u(self, u) -> np.ndarray:
        u = np.clip(np.atleast_1d(np.asarray(u, dtype=float)), 0.0, 1.0)
        idx = np.clip(np.searchsorted(self.hi, u, side="left"), 0, len(self.lo) - 1)
        out = self.cum[idx] + self._partial(idx, u)
        out[u >= 1.0] = 1.0
        return np.clip(out, 0.0, 1.0)

    def quantile_u(self, p: float) -> float:
        idx = int(np.clip(np.searchsorted(self.cum, p, side="right") - 1, 0, len(self.lo) - 1))
        a, b = float(self.lo[idx]), float(self.hi[idx])
        base = float(self.cum[idx])
        ii = np.array([idx])

        def f(u):
            return base + float(self._partial(ii, np.array([u]))[0]) - p

        fa, fb = base - p, float(self.cum[idx + 1]) - p
        if fa >= 0:
            return a
        if fb <= 0:
            return b
        return brentq(f, a, b, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=200)


def _check_p(p: float) -> float:
    if not 0 < p < 1:
        raise ValueError(f"probability must be in (0, 1), got {p!r}")
    return float(p)


def _mixture_cdf(x, w, m, s) -> np.ndarray:
    x = np.atleast_1d(np.asarray(x, dtype=float))
    return ndtr((x[:, None] - m[None, :]) / s[None, :]) @ w


def _mixture_pdf(x, w, m, s) -> np.ndarray:
    x = np.atleast_1d(np.asarray(x, dtype=float))
    z = (x[:, None] - m[None, :]) / s[None, :]
    return (np.exp(-0.5 * z * z) / (math.sqrt(2 * math.pi) * s[None, :])) @ w


def _mixture_quantile(p: float, w, m, s) -> float:
    """Root of ``sum_j w_j Phi((x - m_j) / s_j) = p`` by Brent's method."""
    live = w > 1e-300
    w, m, s = w[live], m[live], s[live]
    center = float(w @ m)
    spread = float(w @ s) + float(np.sqrt(w @ (m - center) ** 2))

    def f(x):
        return float(ndtr((x - m) / s) @ w) - p

    lo, hi = center - 4 * spread, center + 4 * spread
    while f(lo) > 0:
        lo -= 4 * (hi - lo)
    while f(hi) < 0:
        hi += 4 * (hi - lo)
    return brentq(f, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=200)


@dataclass(frozen=True)
class ExactPosterior:
    """Posterior summaries of the normal-normal random-effects model (``level`` intervals).

    ``mu_*``: overall effect; ``tau_*``: between-study sd; ``pred_*``: a new study's effect
    ``theta_new ~ N(mu, tau^2)`` (posterior predictive). Intervals are equal-tailed.
    ``p_benefit`` is ``P(mu > 0 | y)`` if ``benefit == "positive"``, else ``P(mu < 0 | y)``.
    ``theta_mean``/``theta_sd`` are the studies' shrunken posterior means/sds, in input order
    (NaN for studies dropped for a missing ``yi``/``vi``). Non-existent moments are ``inf``.
    ``log_marginal_likelihood`` is ``log p(y)`` (NaN for a flat ``mu`` prior).

    The posterior densities, CDFs and quantiles are available as methods (:meth:`tau_pdf`,
    :meth:`mu_cdf`, ...), evaluated from the same quadrature rule.
    """

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
    pred_low: float
    pred_high: float
    p_benefit: float
    benefit: str
    log_marginal_likelihood: float
    theta_mean: tuple[float, ...]
    theta_sd: tuple[float, ...]
    n_nodes: int
    converged: bool
    note: str
    _rule: _AdaptiveRule = field(repr=False, compare=False)
    _keep: np.ndarray = field(repr=False, compare=False)

    def to_dict(self) -> dict[str, object]:
        out = {}
        for f in fields(self):
            if f.name.startswith("_"):
                continue
            val = getattr(self, f.name)
            out[f.name] = list(val) if isinstance(val, tuple) else val
        return out

    def to_frame(self):
        """One-row :class:`pandas.DataFrame` of the scalar fields (study effects: ``studies``)."""
        import pandas as pd

        row = {k: v for k, v in self.to_dict().items() if not isinstance(v, list)}
        return pd.DataFrame([row], columns=list(row))

    # -- densities, CDFs, quantiles -------------------------------------------------------------
    def tau_pdf(self, tau) -> np.ndarray:
        """Posterior density ``p(tau | y)`` at ``tau`` (exact, not interpolated)."""
        r = self._rule
        t = np.atleast_1d(np.asarray(tau, dtype=float))
        out = np.zeros(t.shape)
        ok = (t >= 0) & (t <= r.model.tau_prior.upper_bound) & np.isfinite(t)
        out[ok] = np.exp(r.model.logpost_tau(t[ok]) - r.offset) / r.Z
        return out

    def tau_cdf(self, tau) -> np.ndarray:
        """Posterior CDF ``P(tau' <= tau | y)``."""
        t = np.atleast_1d(np.asarray(tau, dtype=float))
        with np.errstate(invalid="ignore"):
            u = self._rule.model.map.u(np.clip(t, 0.0, np.finfo(float).max))
        out = self._rule.cdf_u(np.minimum(u, 1.0))
        out[t <= 0] = 0.0
        return out

    def tau_quantile(self, p: float) -> float:
        """Posterior quantile of tau (``0 < p < 1``)."""
        return float(self._rule.model.map.tau(self._rule.quantile_u(_check_p(p))))

    def _mu_mix(self, predictive: bool = False):
        r = self._rule
        s = np.sqrt(r.V + r.tau**2) if predictive else np.sqrt(r.V)
        return r.w, r.m, s

    def mu_pdf(self, mu) -> np.ndarray:
        """Posterior density ``p(mu | y)`` (normal mixture over the tau nodes)."""
        return _mixture_pdf(mu, *self._mu_mix())

    def mu_cdf(self, mu) -> np.ndarray:
        return _mixture_cdf(mu, *self._mu_mix())

    def mu_quantile(self, p: float) -> float:
        """Posterior quantile of mu (``0 < p < 1``)."""
        return _mixture_quantile(_check_p(p), *self._mu_mix())

    def predictive_pdf(self, theta) -> np.ndarray:
        """Posterior predictive density of a new study's effect ``theta_new``."""
        return _mixture_pdf(theta, *self._mu_mix(predictive=True))

    def predictive_cdf(self, theta) -> np.ndarray:
        return _mixture_cdf(theta, *self._mu_mix(predictive=True))

    def predictive_quantile(self, p: float) -> float:
        """Quantile of the posterior predictive distribution of theta_new (``0 < p < 1``)."""
        return _mixture_quantile(_check_p(p), *self._mu_mix(predictive=True))

    def _theta_mix(self, i: int):
        """Mixture (weights, means, sds) of study ``i``'s effect (index among kept studies)."""
        r = self._rule
        y, v = r.model.y[i], r.model.v[i]
        B = r.tau**2 / (v + r.tau**2)
        return r.w, B * y + (1 - B) * r.m, np.sqrt(B * v + (1 - B) ** 2 * r.V)

    def studies(self, study=None):
        """Per-study shrunken posterior: mean, sd and equal-tailed ``level`` interval of theta_i.

        Returns a :class:`pandas.DataFrame` in input order; dropped studies have NaN.
        """
        import pandas as pd

        lo_p, hi_p = (1 - self.level) / 2, (1 + self.level) / 2
        n = len(self._keep)
        low, high = np.full(n, np.nan), np.full(n, np.nan)
        for j, i in enumerate(np.flatnonzero(self._keep)):
            mix = self._theta_mix(j)
            low[i] = _mixture_quantile(lo_p, *mix)
            high[i] = _mixture_quantile(hi_p, *mix)
        return pd.DataFrame(
            {
                "study": list(study) if study is not None else list(range(n)),
                "mean": self.theta_mean,
                "sd": self.theta_sd,
                "low": low,
                "high": high,
            }
        )

    def grid(self, n: int = 201):
        """Posterior densities and CDFs of tau, mu and theta_new on plotting grids.

        Grids span the 0.1%-99.9% posterior range (tau from 0). Returns a long
        :class:`pandas.DataFrame` with columns ``parameter``, ``x``, ``pdf``, ``cdf``.
        """
        import pandas as pd

        parts = []
        t = np.linspace(0.0, self.tau_quantile(0.999), n)
        parts.append(("tau", t, self.tau_pdf(t), self.tau_cdf(t)))
        x = np.linspace(self.mu_quantile(0.001), self.mu_quantile(0.999), n)
        parts.append(("mu", x, self.mu_pdf(x), self.mu_cdf(x)))
        x = np.linspace(self.predictive_quantile(0.001), self.predictive_quantile(0.999), n)
        parts.append(("theta_new", x, self.predictive_pdf(x), self.predictive_cdf(x)))
        return pd.concat(
            [pd.DataFrame({"parameter": p, "x": a, "pdf": d, "cdf": c}) for p, a, d, c in parts],
            ignore_index=True,
        )


def exact_posterior(
    yi,
    vi,
    mu_prior: MuPrior | None = None,
    tau_prior: TauPrior | None = None,
    level: float = 0.95,
    benefit: str = "positive",
) -> ExactPosterior:
    """Exact posterior of the normal-normal random-effects model for ``yi``/``vi``.

    ``mu_prior`` defaults to ``N(0, 10^2)``, ``tau_prior`` to ``HalfNormal(0.5)``. Studies with a
    missing or non-positive ``vi`` (or missing ``yi``) are dropped (as :func:`rma` does).
    ``benefit`` ("positive" or "negative") chooses ``p_benefit = P(mu > 0)`` or ``P(mu < 0)``.
    """
    if mu_prior is None:
        mu_prior = MuPrior.normal(0.0, 10.0)
    if tau_prior is None:
        tau_prior = TauPrior.halfnormal(0.5)
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if benefit not in ("positive", "negative"):
        raise ValueError("benefit must be 'positive' (mu > 0) or 'negative' (mu < 0)")
    y_all = np.asarray(yi, dtype=float).ravel()
    v_all = np.asarray(vi, dtype=float).ravel()
    if y_all.shape != v_all.shape:
        raise ValueError("yi and vi must have the same length")
    keep = np.isfinite(y_all) & np.isfinite(v_all) & (v_all > 0)
    y, v = y_all[keep], v_all[keep]
    k = len(y)
    if k == 0:
        raise ValueError("no study with a finite yi and a positive vi")

    model = _Model(y, v, mu_prior, tau_prior)
    rule = _AdaptiveRule(model)
    w, tau, m, V = rule.w, rule.tau, rule.m, rule.V
    notes = []
    if not rule.converged:
        notes.append("quadrature over tau did not reach its tolerance")
    if mu_prior.is_flat:
        notes.append("flat mu prior: marginal likelihood undefined")

    mu_mean = float(w @ m)
    tau_mean = float(w @ tau) if model.finite_moment[1] else math.inf
    e_tau2 = float(w @ tau**2) if model.finite_moment[2] else math.inf
    mu_var_ok = model.finite_moment[2] or not mu_prior.is_flat
    mu_var = float(w @ (V + (m - mu_mean) ** 2)) if mu_var_ok else math.inf
    tau_sd = math.sqrt(float(w @ (tau - tau_mean) ** 2)) if model.finite_moment[2] else math.inf
    pred_sd = math.sqrt(mu_var + e_tau2)
    if any(not model.finite_moment[r] for r in (1, 2)):
        notes.append("half-Cauchy prior with few studies: some posterior moments are infinite")

    sd_mu = np.sqrt(V)
    sd_pred = np.sqrt(V + tau**2)
    lo_p, hi_p = (1 - level) / 2, (1 + level) / 2
    mu_q = [_mixture_quantile(p, w, m, sd_mu) for p in (lo_p, 0.5, hi_p)]
    pred_q = [_mixture_quantile(p, w, m, sd_pred) for p in (lo_p, hi_p)]
    tau_q = [float(model.map.tau(rule.quantile_u(p))) for p in (lo_p, 0.5, hi_p)]
    z = m / sd_mu
    p_benefit = float(w @ ndtr(z if benefit == "positive" else -z))

    th_mean = np.full(len(y_all), np.nan)
    th_sd = np.full(len(y_all), np.nan)
    B = tau[None, :] ** 2 / (v[:, None] + tau[None, :] ** 2)  # (k, nodes)
    cm = B * y[:, None] + (1 - B) * m[None, :]
    cv = B * v[:, None] + (1 - B) ** 2 * V[None, :]
    mean_i = cm @ w
    th_mean[keep] = mean_i
    th_sd[keep] = np.sqrt((cv + (cm - mean_i[:, None]) ** 2) @ w)

    logml = math.nan if mu_prior.is_flat else rule.offset + math.log(rule.Z)
    return ExactPosterior(
        k=k,
        mu_prior=mu_prior.label,
        tau_prior=tau_prior.label,
        level=level,
        mu_mean=mu_mean,
        mu_sd=math.sqrt(mu_var),
        mu_median=mu_q[1],
        mu_low=mu_q[0],
        mu_high=mu_q[2],
        tau_mean=tau_mean,
        tau_sd=tau_sd,
        tau_median=tau_q[1],
        tau_low=tau_q[0],
        tau_high=tau_q[2],
        pred_mean=mu_mean,
        pred_sd=pred_sd,
        pred_low=pred_q[0],
        pred_high=pred_q[1],
        p_benefit=p_benefit,
        benefit=benefit,
        log_marginal_likelihood=logml,
        theta_mean=tuple(float(x) for x in th_mean),
        theta_sd=tuple(float(x) for x in th_sd),
        n_nodes=int(w.size),
        converged=rule.converged,
        note="; ".join(notes),
        _rule=rule,
        _keep=keep,
    )
