"""Multivariate / multilevel random-effects meta-analysis, at parity with metafor's ``rma.mv``.

The model (Viechtbauer 2010, metafor ``rma.mv``; Berkey et al. 1998; Konstantopoulos 2011) is

    y = X beta + sum_j Z_j u_j + (Z1 G Z1') o (Z2 Z2') + e,   e ~ N(0, V),

with ``V`` the known sampling covariance, one random intercept per ``~ 1 | factor`` term
(variance ``sigma2_j``, nested terms ``~ 1 | a/b`` give the factors ``a`` and ``a/b``) and at most
one ``~ inner | outer`` term whose (inner x inner) covariance ``G`` has a structure:

=========  ==================================================================================
struct     G (``tau2`` variances, ``rho`` correlations)
=========  ==================================================================================
``CS``     compound symmetry: ``tau2`` on the diagonal, ``rho tau2`` off it
``HCS``    heteroscedastic CS: ``tau2_i`` per level, common ``rho``
``UN``     unstructured: ``tau2_i`` per level and one ``rho`` per pair (Cholesky-parametrised)
``AR``     AR(1) over the sorted inner levels: ``tau2 rho^|i - j|``
``HAR``    heteroscedastic AR(1): ``sqrt(tau2_i tau2_j) rho^|i - j|``
``CAR``    continuous-time AR(1): ``tau2 rho^|t_i - t_j|``, ``t`` the numeric inner values
``ID``     ``tau2 I`` (``rho`` = 0)
``DIAG``   ``diag(tau2_i)`` (``rho`` = 0)
=========  ==================================================================================

Estimation follows ``rma.mv``: the (restricted) log-likelihood is maximised over variances on the
log scale, correlations on the atanh scale (``CAR``: logit, as its ``rho`` is in (0, 1)) and, for
``UN``, the Cholesky factor of ``G``; starting values as metafor (the residual variance of the
fixed-effects fit, split evenly over the variance components, correlations 0.5). We use
scipy's BFGS with the analytic gradient (the score ``-1/2 tr(P dM) + 1/2 y'P dM P y``,
Harville 1977), the derivatives of ``G`` by complex-step differentiation (exact to rounding).
The REML log-likelihood includes metafor's constant ``+1/2 log|X'X|`` (its ``REMLf = TRUE``).
Fixed effects are the GLS estimates given the fitted marginal covariance ``M``; tests are Wald
``z`` or ``t`` with ``k - p`` degrees of freedom (metafor's ``dfs = "residual"``). ``QE`` is the
residual heterogeneity statistic of the fixed-effects fit, ``(y - Xb)' V^-1 (y - Xb)``.

Also here: :func:`vcalc` (metafor's ``vcalc``: sampling covariances of dependent effects) and
:func:`robust_cr2` (cluster-robust CR2 standard errors with Satterthwaite degrees of freedom,
Bell & McCaffrey 2002, Pustejovsky & Tipton 2018; what ``robust(fit, cluster, clubSandwich =
TRUE)`` reports via clubSandwich's ``vcovCR(type = "CR2")`` and ``coef_test``).

References: Viechtbauer W (2010) Conducting meta-analyses in R with the metafor package, J Stat
Softw 36(3); Berkey CS, Hoaglin DC, Antczak-Bouckoms A, Mosteller F, Colditz GA (1998)
Meta-analysis of multiple outcomes by regression with random effects, Stat Med 17:2537-50;
Konstantopoulos S (2011) Fixed effects and variance components estimation in three-level
meta-analysis, Res Synth Methods 2:61-76; Harville DA (1977) Maximum likelihood approaches to
variance component estimation, JASA 72:320-38; Pustejovsky JE, Tipton E (2018) Small-sample
methods for cluster-robust variance estimation and hypothesis testing in fixed effects models,
J Bus Econ Stat 36:672-83.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from scipy import optimize, stats

STRUCTS = ("CS", "HCS", "UN", "AR", "HAR", "CAR", "ID", "DIAG")
METHODS = ("REML", "ML")
TESTS = ("z", "t")
_EPS_ZERO = 10 * np.finfo(float).eps  # metafor: variances below this are 0
_CSTEP = 1e-30  # complex-step size


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MVResult:
    """A fitted ``rma.mv``-type model.

    Per coefficient (arrays of length ``p``, names in ``coef_names``): ``beta``, ``se``,
    ``zval`` (the Wald statistic, named as metafor names it for both tests; ``tval`` is an
    alias), ``pval``, ``ci_low``/``ci_high`` and ``df`` (NaN for ``test="z"``).

    Variance components: ``sigma2`` (one per ``~ 1 | factor`` term, named in ``sigma2_names``),
    ``tau2`` and ``rho`` of the ``~ inner | outer`` term (``G`` is its covariance matrix over
    ``inner_levels``), in metafor's order (``rho`` by column of the lower triangle for ``UN``).
    Empty arrays for absent terms.

    Fit: ``loglik`` (of ``method``; ``loglik_ml``/``loglik_reml`` both as metafor's
    ``fit.stats``), ``deviance``, ``aic``, ``bic``, ``aicc``, ``parms``; ``qe``/``qe_df``/
    ``qe_p`` the test of residual heterogeneity. ``converged`` is false (reason in ``note``)
    when the optimiser did not reach a stationary point; the numbers are then those at its
    last iterate. ``notes`` lists components fixed by the model structure.
    """

    method: str
    test: str
    struct: str | None
    k: int
    p: int
    coef_names: tuple[str, ...]
    beta: np.ndarray
    se: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    df: np.ndarray
    vcov: np.ndarray
    sigma2: np.ndarray
    sigma2_names: tuple[str, ...]
    tau2: np.ndarray
    rho: np.ndarray
    G: np.ndarray | None
    inner_levels: tuple
    outer_name: str | None
    inner_name: str | None
    loglik: float
    loglik_ml: float
    loglik_reml: float
    deviance: float
    aic: float
    bic: float
    aicc: float
    parms: int
    qe: float
    qe_df: int
    qe_p: float
    level: float
    converged: bool
    iterations: int
    note: str
    notes: tuple[str, ...]
    yi: np.ndarray = field(repr=False)
    X: np.ndarray = field(repr=False)
    V: np.ndarray = field(repr=False)
    M: np.ndarray = field(repr=False)

    @property
    def tval(self) -> np.ndarray:
        """Alias of :attr:`zval` (the Wald statistic ``beta / se``)."""
        return self.zval

    @property
    def residuals(self) -> np.ndarray:
        """``y - X beta``."""
        return self.yi - self.X @ self.beta

    def to_frame(self):
        """Coefficient table: one row per coefficient, as metafor prints it."""
        import pandas as pd

        return pd.DataFrame(
            {
                "term": list(self.coef_names),
                "estimate": self.beta,
                "se": self.se,
                "stat": self.zval,
                "df": self.df,
                "pval": self.pval,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field except the data (``yi``, ``X``, ``V``, ``M``)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in ("yi", "X", "V", "M"):
                continue
            out[f.name] = _jsonable(getattr(self, f.name))
        return out


@dataclass(frozen=True, eq=False)
class RobustResult:
    """Cluster-robust (CR2) inference for the fixed effects of an :class:`MVResult`.

    ``se``, ``tval`` (``beta / se``), Satterthwaite ``df``, ``pval`` and the ``level`` CI
    ``beta -/+ t_{df, 1 - alpha/2} se``, per coefficient; ``vcov`` the CR2 covariance matrix;
    ``n_clusters`` the number of clusters.
    """

    coef_names: tuple[str, ...]
    beta: np.ndarray
    se: np.ndarray
    tval: np.ndarray
    df: np.ndarray
    pval: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    vcov: np.ndarray
    n_clusters: int
    level: float

    def to_frame(self):
        """Coefficient table, one row per coefficient."""
        import pandas as pd

        return pd.DataFrame(
            {
                "term": list(self.coef_names),
                "estimate": self.beta,
                "se": self.se,
                "tval": self.tval,
                "df": self.df,
                "pval": self.pval,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


# --------------------------------------------------------------------------------------------
# Random-effects specification
# --------------------------------------------------------------------------------------------

_FORMULA = re.compile(r"^\s*~\s*(?P<lhs>[^|]+?)\s*\|\s*(?P<rhs>.+?)\s*$")


@dataclass(frozen=True)
class _Intercept:
    name: str
    codes: np.ndarray  # level index per row
    nlevels: int


@dataclass(frozen=True)
class _InnerOuter:
    inner_name: str
    outer_name: str
    inner_codes: np.ndarray
    outer_codes: np.ndarray
    levels: tuple
    values: np.ndarray | None  # CAR: numeric inner values per level


def _column(data: Mapping[str, Any] | None, name: str, k: int) -> np.ndarray:
    if data is None:
        raise ValueError(f"random-effects formula refers to '{name}': pass data=")
    try:
        values = data[name]
    except (KeyError, IndexError, TypeError):
        raise ValueError(f"random-effects variable '{name}' is not in data") from None
    arr = np.asarray(values)
    if arr.ndim != 1 or len(arr) != k:
        raise ValueError(
            f"random-effects variable '{name}' has {arr.size} values, but there are {k} effects"
        )
    if arr.dtype.kind in "fc" and np.any(~np.isfinite(arr)):
        raise ValueError(f"random-effects variable '{name}' has missing values")
    if arr.dtype.kind == "O" and any(v is None or (isinstance(v, float) and v != v) for v in arr):
        raise ValueError(f"random-effects variable '{name}' has missing values")
    return arr


def _codes(arr: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Factor codes with levels sorted as R's ``factor()`` (numerically if numeric)."""
    if arr.dtype.kind in "biuf":
        levels, codes = np.unique(arr, return_inverse=True)
        return codes.astype(int), tuple(levels.tolist())
    strs = np.asarray([str(v) for v in arr])
    levels, codes = np.unique(strs, return_inverse=True)
    return codes.astype(int), tuple(levels.tolist())


def _parse_random(random, data, k: int) -> tuple[list[_Intercept], _InnerOuter | None, list]:
    terms = [random] if isinstance(random, str) else list(random)
    intercepts: list[_Intercept] = []
    inner_outer: _InnerOuter | None = None
    raw: list = []
    for term in terms:
        if not isinstance(term, str):
            raise ValueError(f"random-effects term {term!r} is not a formula string")
        m = _FORMULA.match(term)
        if not m:
            raise ValueError(
                f"cannot parse random-effects formula {term!r}: expected '~ 1 | a', "
                "'~ 1 | a/b' or '~ inner | outer'"
            )
        lhs, rhs = m.group("lhs"), m.group("rhs")
        if lhs == "1":
            names = [s.strip() for s in rhs.split("/")]
            if any(not s for s in names):
                raise ValueError(f"cannot parse random-effects formula {term!r}")
            cols = [_column(data, s, k) for s in names]
            for depth in range(1, len(names) + 1):
                label = "/".join(names[:depth])
                keys = np.asarray(["\x1f".join(str(c[i]) for c in cols[:depth]) for i in range(k)])
                codes, levels = _codes(keys)
                intercepts.append(_Intercept(label, codes, len(levels)))
        else:
            if "/" in rhs:
                raise ValueError(f"'~ inner | outer1/outer2' terms are not supported: {term!r}")
            if inner_outer is not None:
                raise ValueError("only one '~ inner | outer' term is supported")
            inner = _column(data, lhs, k)
            outer = _column(data, rhs, k)
            raw.append((lhs, inner))
            inner_codes, levels = _codes(inner)
            outer_codes, _ = _codes(outer)
            inner_outer = _InnerOuter(lhs, rhs, inner_codes, outer_codes, levels, None)
    return intercepts, inner_outer, raw


# --------------------------------------------------------------------------------------------
# Variance-component parametrisation
# --------------------------------------------------------------------------------------------


def _as_fixed(value, n: int, name: str) -> np.ndarray:
    """User-fixed values: None/NaN = estimate; a scalar is recycled as metafor does."""
    if value is None:
        return np.full(n, np.nan)
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    if arr.size == 1:
        arr = np.full(n, arr[0])
    if arr.size != n:
        raise ValueError(f"{name} has {arr.size} values, but the model has {n}")
    return arr.copy()


class _GTerm:
    """The ``~ inner | outer`` covariance G(theta) and its free parameters."""

    def __init__(self, io: _InnerOuter, struct: str, tau2_fix, rho_fix, k: int, data_inner):
        self.io = io
        self.struct = struct
        q = len(io.levels)
        self.q = q
        self.notes: list[str] = []
        if struct == "CAR":
            if np.asarray(data_inner).dtype.kind not in "biuf":
                raise ValueError(
                    f"struct 'CAR' needs a numeric inner variable; '{io.inner_name}' is not"
                )
            self.values = np.round(np.asarray(io.levels, dtype=float), 8)
        else:
            self.values = None
        ntau = q if struct in ("HCS", "HAR", "DIAG", "UN") else 1
        nrho = q * (q - 1) // 2 if (struct == "UN" and q > 1) else 1
        self.tau2 = _as_fixed(tau2_fix, ntau, "tau2")
        self.rho = _as_fixed(rho_fix, nrho, "rho")
        if np.any(self.tau2 < 0):
            raise ValueError("fixed tau2 values must be >= 0")
        lo = 0.0 if struct == "CAR" else -1.0
        if np.any((self.rho < lo) | (self.rho > 1)):
            raise ValueError(f"fixed rho values must be in [{lo:g}, 1] for struct '{struct}'")
        if struct in ("ID", "DIAG"):
            self.rho[:] = 0.0
        if q == 1 and np.isnan(self.rho).any() and struct != "ID":
            self.rho[:] = 0.0
            self.notes.append("inner factor has a single level: rho fixed to 0")
        n_outer = len(np.unique(io.outer_codes))
        if n_outer == k and struct in ("CS", "HCS", "AR", "HAR", "CAR") and np.isnan(self.rho[0]):
            self.rho[:] = 0.0
            self.notes.append("each level of the outer factor has a single effect: rho fixed to 0")
        # the index pairs of rho for UN: lower triangle by column, as R's lower.tri()
        cols, rows = np.triu_indices(q, 1)
        self.pairs = (rows, cols)
        if struct == "UN" and q > 1:
            Z1 = np.eye(q)[io.inner_codes]
            Z2 = np.eye(n_outer)[io.outer_codes]
            occurs = Z2.T @ Z1 > 0  # (outer x inner): which inner levels each cluster has
            together = occurs.T.astype(int) @ occurs.astype(int)
            never = together[rows, cols] == 0
            if np.any(never & np.isnan(self.rho)):
                self.rho[never & np.isnan(self.rho)] = 0.0
                self.notes.append(
                    "some pairs of inner levels never occur together: their rho fixed to 0"
                )
        if q == 2 and struct in ("CS", "AR", "CAR") and self.tau2[0] == 0:
            self.rho[:] = 0.0
        if q == 2 and struct in ("HCS", "UN", "HAR") and np.any(self.tau2 == 0):
            self.rho[:] = 0.0
        self.cholesky = (
            struct == "UN" and not np.any(~np.isnan(self.tau2)) and not np.any(~np.isnan(self.rho))
        )
        if self.cholesky:
            self.n_par = q * (q + 1) // 2
        else:
            self.n_par = int(np.isnan(self.tau2).sum() + np.isnan(self.rho).sum())
        # design: Z1 (k x q) one-hot inner, O (k x k) same-outer indicator
        self.Z1 = np.eye(q)[io.inner_codes]
        self.O = (io.outer_codes[:, None] == io.outer_codes[None, :]).astype(float)
        if struct in ("AR", "HAR"):
            idx = np.arange(q, dtype=float)
            self.dist = np.abs(idx[:, None] - idx[None, :])
        elif struct == "CAR":
            self.dist = np.abs(self.values[:, None] - self.values[None, :])
        else:
            self.dist = None
        self.n_est = int(np.isnan(self.tau2).sum() + np.isnan(self.rho).sum())

    # -- parameters --------------------------------------------------------------------------
    def start(self, tau2_init: float) -> np.ndarray:
        """Transformed starting values, as metafor's (variances ``tau2_init``, rho 0.5)."""
        q = self.q
        if self.cholesky:
            tau = np.full(q, tau2_init)
            R = np.full((q, q), 0.5)
            np.fill_diagonal(R, 1.0)
            G0 = np.sqrt(np.outer(tau, tau)) * R
            U = np.linalg.cholesky(G0).T
            # metafor starts from the diagonal of chol(G0), off-diagonal elements 0
            return np.concatenate([np.diag(U), np.zeros(q * (q - 1) // 2)])
        out = [np.log(np.full(int(np.isnan(self.tau2).sum()), tau2_init))]
        nr = int(np.isnan(self.rho).sum())
        if self.struct == "CAR":
            out.append(np.full(nr, 0.0))  # logit(0.5)
        else:
            out.append(np.full(nr, math.atanh(0.5)))
        return np.concatenate(out)

    def components(self, theta) -> tuple[Any, Any, Any]:
        """``(tau2, rho, G)`` at transformed ``theta`` (works on complex input)."""
        q = self.q
        if self.cholesky:
            L = np.zeros((q, q), dtype=np.result_type(theta, float))
            L[np.diag_indices(q)] = theta[:q]
            L[self.pairs] = theta[q:]
            G = L @ L.T
            tau2 = np.diagonal(G).copy()
            s = np.sqrt(tau2)
            rho = G[self.pairs] / (s[self.pairs[0]] * s[self.pairs[1]]) if q > 1 else np.zeros(1)
            return tau2, rho, G
        dtype = np.result_type(theta, float)
        tau2 = self.tau2.astype(dtype)
        rho = self.rho.astype(dtype)
        nt = int(np.isnan(self.tau2).sum())
        tau2[np.isnan(self.tau2)] = np.exp(theta[:nt])
        if self.struct == "CAR":
            rho[np.isnan(self.rho)] = 1.0 / (1.0 + np.exp(-theta[nt:]))
        else:
            rho[np.isnan(self.rho)] = np.tanh(theta[nt:])
        return tau2, rho, self._build(tau2, rho)

    def _build(self, tau2, rho):
        q, s = self.q, self.struct
        dtype = np.result_type(tau2, rho, float)
        t = tau2 if len(tau2) == q else np.repeat(tau2, q)
        sd = np.sqrt(t)
        if s in ("CS", "HCS"):
            R = np.full((q, q), rho[0], dtype=dtype)
            np.fill_diagonal(R, 1.0)
        elif s == "UN":
            R = np.ones((q, q), dtype=dtype)
            if q > 1:
                R[self.pairs] = rho
                R[self.pairs[1], self.pairs[0]] = rho
        elif s in ("AR", "HAR", "CAR"):
            if q > 1:
                R = rho[0] ** self.dist if s == "CAR" else _int_power(rho[0], self.dist)
            else:
                R = np.ones((1, 1), dtype=dtype)
        else:  # ID, DIAG
            R = np.eye(q, dtype=dtype)
        G = sd[:, None] * R * sd[None, :]
        G[np.diag_indices(q)] = t
        return G

    def jacobian(self, theta: np.ndarray) -> list[np.ndarray]:
        """dG/dtheta_i by complex-step differentiation (exact to rounding)."""
        out = []
        for i in range(len(theta)):
            th = theta.astype(complex)
            th[i] += 1j * _CSTEP
            out.append(np.imag(self.components(th)[2]) / _CSTEP)
        return out


def _int_power(base, dist: np.ndarray):
    """``base ** dist`` for integer distances (AR), exact for negative ``base``."""
    out = np.ones(dist.shape, dtype=np.result_type(base, float))
    for d in np.unique(dist):
        out[dist == d] = base ** int(d)
    return out


# --------------------------------------------------------------------------------------------
# Likelihood
# --------------------------------------------------------------------------------------------


class _Model:
    def __init__(self, y, V, X, intercepts, sigma2_fix, gterm: _GTerm | None, reml: bool):
        self.y, self.V, self.X = y, V, X
        self.k, self.p = X.shape
        self.reml = reml
        self.intercepts = intercepts
        self.D = [(t.codes[:, None] == t.codes[None, :]).astype(float) for t in intercepts]
        self.Z = [np.eye(t.nlevels)[t.codes] for t in intercepts]
        self.sigma2_fix = sigma2_fix
        self.s_free = np.isnan(sigma2_fix)
        self.g = gterm
        self.logdet_xtx = np.linalg.slogdet(X.T @ X)[1]

    @property
    def n_par(self) -> int:
        return int(self.s_free.sum()) + (self.g.n_par if self.g else 0)

    def unpack(self, theta):
        ns = int(self.s_free.sum())
        sigma2 = self.sigma2_fix.copy()
        sigma2[self.s_free] = np.exp(theta[:ns])
        if self.g is None:
            return sigma2, np.zeros(0), np.zeros(0), None
        tau2, rho, G = self.g.components(theta[ns:])
        return sigma2, np.asarray(tau2, float), np.asarray(rho, float), np.asarray(G, float)

    def marginal(self, sigma2, G) -> np.ndarray:
        M = self.V.copy()
        for s2, D in zip(sigma2, self.D, strict=True):
            if s2 > _EPS_ZERO:
                M += s2 * D
        if G is not None:
            M += (self.g.Z1 @ G @ self.g.Z1.T) * self.g.O
        return M

    def gls(self, M):
        """Cholesky-based GLS pieces, or None if ``M`` is not positive definite."""
        try:
            C = np.linalg.cholesky(M)
        except np.linalg.LinAlgError:
            return None
        W = _chol_inverse(C)
        XtW = self.X.T @ W
        XtWX = XtW @ self.X
        try:
            Cx = np.linalg.cholesky(XtWX)
        except np.linalg.LinAlgError:
            return None
        vb = _chol_inverse(Cx)
        beta = vb @ (XtW @ self.y)
        r = self.y - self.X @ beta
        Wr = W @ r
        rss = float(r @ Wr)
        logdet_m = 2.0 * float(np.sum(np.log(np.diag(C))))
        logdet_xwx = 2.0 * float(np.sum(np.log(np.diag(Cx))))
        ll_ml = -0.5 * self.k * math.log(2 * math.pi) - 0.5 * logdet_m - 0.5 * rss
        ll_reml = (
            -0.5 * (self.k - self.p) * math.log(2 * math.pi)
            + 0.5 * self.logdet_xtx
            - 0.5 * logdet_m
            - 0.5 * logdet_xwx
            - 0.5 * rss
        )
        return {
            "W": W,
            "XtW": XtW,
            "vb": vb,
            "beta": beta,
            "Wr": Wr,
            "ll_ml": ll_ml,
            "ll_reml": ll_reml,
        }

    def objective(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Minus the (restricted) log-likelihood and its gradient in ``theta``."""
        sigma2, _, _, G = self.unpack(theta)
        fit = self.gls(self.marginal(sigma2, G))
        if fit is None or not np.isfinite(fit["ll_reml"]):
            return math.inf, np.zeros_like(theta)
        W, u = fit["W"], fit["Wr"]  # P y = W r
        if self.reml:
            P = W - fit["XtW"].T @ fit["vb"] @ fit["XtW"]
            ll = fit["ll_reml"]
        else:
            P = W
            ll = fit["ll_ml"]
        grad = np.zeros(len(theta))
        j = 0
        for idx in np.flatnonzero(self.s_free):
            Z = self.Z[idx]
            tr = float(np.sum((Z.T @ P) * Z.T))  # tr(P Z Z')
            zu = Z.T @ u
            grad[j] = sigma2[idx] * (-0.5 * tr + 0.5 * float(zu @ zu))
            j += 1
        if self.g is not None and self.g.n_par:
            Z1, same = self.g.Z1, self.g.O
            A = Z1.T @ (P * same) @ Z1
            B = Z1.T @ (np.outer(u, u) * same) @ Z1
            for dG in self.g.jacobian(theta[j:]):
                grad[j] = -0.5 * float(np.sum(A * dG)) + 0.5 * float(np.sum(B * dG))
                j += 1
        return -ll, -grad


def _chol_inverse(C: np.ndarray) -> np.ndarray:
    from scipy.linalg import cho_solve

    return cho_solve((C, True), np.eye(C.shape[0]))


# --------------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------------


def _check_inputs(yi, V, X) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = np.asarray(yi, dtype=float)
    if y.ndim != 1:
        raise ValueError(f"yi must be one-dimensional, got shape {y.shape}")
    k = len(y)
    if k < 2:
        raise ValueError("need at least 2 effects")
    Vm = np.asarray(V, dtype=float)
    if Vm.ndim == 1 or (Vm.ndim == 2 and 1 in Vm.shape and Vm.shape != (1, 1)):
        Vm = Vm.ravel()
        if len(Vm) != k:
            raise ValueError(f"V has {len(Vm)} sampling variances, but yi has {k} effects")
        Vm = np.diag(Vm)
    if Vm.shape != (k, k):
        raise ValueError(
            f"V must be a vector of {k} variances or a {k} x {k} matrix, got {Vm.shape}"
        )
    if X is None:
        Xm = np.ones((k, 1))
    else:
        Xm = np.asarray(X, dtype=float)
        if Xm.ndim == 1:
            Xm = Xm[:, None]
        if Xm.ndim != 2 or Xm.shape[0] != k:
            raise ValueError(f"X must have {k} rows (one per effect), got shape {Xm.shape}")
    for name, arr in (("yi", y), ("V", Vm), ("X", Xm)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} has missing or non-finite values")
    if not np.allclose(Vm, Vm.T, rtol=1e-10, atol=1e-14):
        raise ValueError("V must be symmetric")
    Vm = (Vm + Vm.T) / 2
    try:
        np.linalg.cholesky(Vm)
    except np.linalg.LinAlgError:
        raise ValueError(
            "V is not positive definite (check the sampling covariances, e.g. vcalc's rho/phi)"
        ) from None
    if np.linalg.matrix_rank(Xm) < Xm.shape[1]:
        raise ValueError("X is not of full column rank: cannot fit the model")
    return y, Vm, Xm


def _coef_names(X, coef_names, p: int) -> tuple[str, ...]:
    if coef_names is not None:
        names = tuple(str(c) for c in coef_names)
    elif hasattr(X, "columns"):
        names = tuple(str(c) for c in X.columns)
    elif X is None:
        names = ("intrcpt",)
    else:
        names = tuple(f"X{i + 1}" for i in range(p))
    if len(names) != p:
        raise ValueError(f"{len(names)} coefficient names for {p} coefficients")
    return names


def rma_mv(
    yi,
    V,
    X=None,
    *,
    random: str | Sequence[str] | None = None,
    struct: str = "CS",
    data: Mapping[str, Any] | None = None,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    coef_names: Sequence[str] | None = None,
    sigma2=None,
    tau2=None,
    rho=None,
    maxiter: int = 2000,
) -> MVResult:
    """Fit a multivariate/multilevel random-effects model as metafor's ``rma.mv``.

    Parameters
    ----------
    yi: the ``k`` observed effects.
    V: their sampling variances (vector) or ``k x k`` sampling covariance matrix (see
        :func:`vcalc`); must be symmetric positive definite.
    X: ``k x p`` design matrix of the fixed effects (default: intercept only). A DataFrame's
        column names become the coefficient names.
    random: one formula string or a list of them, metafor's syntax with variables taken from
        ``data``: ``"~ 1 | study"`` (random intercepts), ``"~ 1 | district/school"`` (nested:
        factors ``district`` and ``district/school``), ``"~ inner | outer"`` (correlated effects
        of the inner levels within each outer level, covariance structure ``struct``). At most
        one ``~ inner | outer`` term. ``None``: no random effects (equal-effects model).
    struct: structure of the ``~ inner | outer`` term, one of :data:`STRUCTS`.
    data: mapping (e.g. a DataFrame) holding the variables of the formulas.
    method: ``"REML"`` or ``"ML"``.
    test: ``"z"`` (normal) or ``"t"`` (t with ``k - p`` df, metafor's ``dfs = "residual"``).
    level: confidence level of the intervals.
    coef_names: names of the coefficients (default: DataFrame columns, ``intrcpt`` for the
        intercept-only model, ``X1..Xp`` otherwise).
    sigma2, tau2, rho: fix variance components at values (scalar or one per component, NaN to
        estimate), as metafor's arguments of the same names.
    maxiter: iteration limit of the optimiser.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {METHODS}")
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}; choose from {TESTS}")
    if struct not in STRUCTS:
        raise ValueError(f"unknown struct {struct!r}; choose from {STRUCTS}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    y, Vm, Xm = _check_inputs(yi, V, X)
    k, p = Xm.shape
    names = _coef_names(X, coef_names, p)
    notes: list[str] = []

    intercepts: list[_Intercept] = []
    io: _InnerOuter | None = None
    raw_inner = None
    if random is not None:
        intercepts, io, raw = _parse_random(random, data, k)
        raw_inner = raw[0][1] if raw else None
    s_fix = _as_fixed(sigma2, len(intercepts), "sigma2")
    if np.any(s_fix < 0):
        raise ValueError("fixed sigma2 values must be >= 0")
    for j, t in enumerate(intercepts):
        if t.nlevels == 1 and np.isnan(s_fix[j]):
            s_fix[j] = 0.0
            notes.append(f"single-level factor '{t.name}': sigma2 fixed to 0")
    gterm = _GTerm(io, struct, tau2, rho, k, raw_inner) if io is not None else None
    if gterm is not None:
        notes.extend(gterm.notes)
    if p == k:  # saturated: metafor fixes the variance components to 0
        s_fix[np.isnan(s_fix)] = 0.0
        if gterm is not None:
            gterm.tau2[np.isnan(gterm.tau2)] = 0.0
            gterm.rho[np.isnan(gterm.rho)] = 0.0
            gterm.cholesky = False
            gterm.n_par = gterm.n_est = 0
        notes.append("saturated model (k = p): variance components fixed to 0")

    model = _Model(y, Vm, Xm, intercepts, s_fix, gterm, method == "REML")

    # fixed-effects fit: QE and metafor's starting values
    fe = model.gls(Vm)
    r_fe = y - Xm @ fe["beta"]
    qe = float(r_fe @ fe["Wr"])
    n_s = len(intercepts) if intercepts else 1
    n_g = (len(gterm.tau2) if gterm is not None else 1) + 1  # + 1: metafor's absent 2nd term
    total = max(
        0.001 * (n_s + n_g),
        float(np.var(r_fe, ddof=1)) - 1.0 / float(np.mean(1.0 / np.diag(Vm))),
    )
    init = total / (n_s + n_g)
    theta0 = np.log(np.full(int(model.s_free.sum()), init))
    if gterm is not None and gterm.n_par:
        theta0 = np.concatenate([theta0, gterm.start(init)])

    converged, iterations, note = True, 0, ""
    theta = theta0
    if model.n_par:
        theta, converged, iterations, note = _optimise(model, theta0, maxiter)

    sigma2_hat, tau2_hat, rho_hat, G = model.unpack(theta)
    sigma2_hat = np.where(sigma2_hat <= _EPS_ZERO, 0.0, sigma2_hat)
    if gterm is not None:
        tau2_hat = np.where(tau2_hat <= _EPS_ZERO, 0.0, tau2_hat)
    if gterm is not None and np.isnan(gterm.rho).any():
        free_rho = rho_hat[np.isnan(gterm.rho)]
        lo = 0.0 if struct == "CAR" else -1.0
        if np.any(free_rho > 1 - 1e-6) or np.any(free_rho < lo + 1e-6):
            notes.append(
                "rho estimate at the boundary of its range: the likelihood increases towards "
                "it (the correlation is not identified from these data)"
            )
    M = model.marginal(sigma2_hat, G)
    fit = model.gls(M)
    if fit is None:
        raise ValueError("the fitted marginal covariance matrix is not positive definite")
    beta, vb = fit["beta"], fit["vb"]
    se = np.sqrt(np.diag(vb))
    zval = beta / se
    alpha = 1 - level
    if test == "t":
        df = np.full(p, float(k - p))
        with np.errstate(invalid="ignore"):
            pval = np.where(df > 0, 2 * stats.t.sf(np.abs(zval), np.maximum(df, 1)), np.nan)
            crit = np.where(df > 0, stats.t.isf(alpha / 2, np.maximum(df, 1)), np.nan)
    else:
        df = np.full(p, np.nan)
        pval = 2 * stats.norm.sf(np.abs(zval))
        crit = np.full(p, stats.norm.isf(alpha / 2))
    qe_df = k - p
    qe_p = float(stats.chi2.sf(qe, qe_df)) if qe_df > 0 else 1.0
    if qe_df <= 0:
        qe = 0.0

    n_vc = int(np.isnan(s_fix).sum()) + (gterm.n_est if gterm is not None else 0)
    parms = p + n_vc
    ll_ml, ll_reml = fit["ll_ml"], fit["ll_reml"]
    ll_sat = -0.5 * k * math.log(2 * math.pi) - 0.5 * np.linalg.slogdet(Vm)[1]
    if method == "REML":
        ll, dev, n_eff = ll_reml, -2 * ll_reml, k - p
    else:
        ll, dev, n_eff = ll_ml, -2 * (ll_ml - ll_sat), k
    aic = -2 * ll + 2 * parms
    bic = -2 * ll + parms * math.log(n_eff) if n_eff > 0 else math.nan
    denom = max(n_eff, parms + 2)
    aicc = -2 * ll + 2 * parms * denom / (denom - parms - 1)

    return MVResult(
        method=method,
        test=test,
        struct=struct if gterm is not None else None,
        k=k,
        p=p,
        coef_names=names,
        beta=beta,
        se=se,
        zval=zval,
        pval=pval,
        ci_low=beta - crit * se,
        ci_high=beta + crit * se,
        df=df,
        vcov=vb,
        sigma2=sigma2_hat,
        sigma2_names=tuple(t.name for t in intercepts),
        tau2=tau2_hat,
        rho=rho_hat,
        G=G,
        inner_levels=io.levels if io is not None else (),
        outer_name=io.outer_name if io is not None else None,
        inner_name=io.inner_name if io is not None else None,
        loglik=float(ll),
        loglik_ml=float(ll_ml),
        loglik_reml=float(ll_reml),
        deviance=float(dev),
        aic=float(aic),
        bic=float(bic),
        aicc=float(aicc),
        parms=parms,
        qe=qe,
        qe_df=qe_df,
        qe_p=qe_p,
        level=level,
        converged=converged,
        iterations=iterations,
        note=note,
        notes=tuple(notes),
        yi=y,
        X=Xm,
        V=Vm,
        M=M,
    )


def _optimise(model: _Model, theta0: np.ndarray, maxiter: int):
    """BFGS on the transformed scale; converged when the score is ~0 at the final iterate."""
    f0, _ = model.objective(theta0)
    if not math.isfinite(f0):
        raise ValueError(
            "the marginal covariance matrix is not positive definite at the starting values"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = optimize.minimize(
            model.objective,
            theta0,
            jac=True,
            method="BFGS",
            options={"gtol": 1e-9, "maxiter": maxiter},
        )
    theta = res.x
    _, grad = model.objective(theta)
    # the score at the final iterate (BFGS may stop on "precision loss" at the optimum)
    tol = 1e-5
    converged = bool(np.all(np.isfinite(grad)) and np.max(np.abs(grad), initial=0.0) < tol)
    note = "" if converged else f"optimiser stopped without convergence: {res.message}"
    return theta, converged, int(res.nit), note


# --------------------------------------------------------------------------------------------
# vcalc
# --------------------------------------------------------------------------------------------


def vcalc(
    vi,
    cluster,
    time=None,
    phi: float | None = None,
    obs=None,
    rho: float | Sequence[float] | None = None,
    type=None,  # noqa: A002 - metafor's argument name
    *,
    checkpd: bool = True,
) -> np.ndarray:
    """Sampling covariance matrix of dependent effects, as metafor's ``vcalc``.

    ``V[i, j] = sqrt(vi_i vi_j) R[i, j]`` for effects of the same ``cluster`` (0 otherwise),
    with the correlation

        R[i, j] = c(i, j) * (1 if time_i == time_j else phi ** |time_i - time_j|),
        c(i, j) = 1 if same type and same obs; rho_obs if same type, other obs;
                  rho_type if other type,

    i.e. metafor's ``vcalc(vi, cluster, obs, type, time1, rho, phi)`` without groups/weights.
    ``rho`` is the correlation between different ``obs`` (observations: outcomes, measures)
    when only ``obs`` is given, between different ``type`` (constructs) when only ``type`` is
    given, and ``(rho_obs, rho_type)`` when both are. ``time`` (numeric, e.g. hours from
    :func:`ketameta.timepoints.hours`) needs ``phi``, the autocorrelation per unit of time.
    Without ``obs``, ``type`` and ``time``, effects of a cluster are perfectly correlated (as in
    metafor). Rows stay in the input order, so the matrix is block-diagonal when the rows are
    grouped by cluster. ``checkpd`` warns (as metafor) for clusters whose block is not
    positive definite.
    """
    v = np.asarray(vi, dtype=float).ravel()
    k = len(v)
    if k < 2:
        raise ValueError("vcalc needs at least 2 effects")
    if np.any(~np.isfinite(v)) or np.any(v < 0):
        raise ValueError("vi must be finite and non-negative")

    def as_labels(x, name):
        arr = np.asarray(x).ravel()
        if len(arr) != k:
            raise ValueError(f"{name} has {len(arr)} values, but vi has {k}")
        if arr.dtype.kind in "fc" and np.any(~np.isfinite(arr)):
            raise ValueError(f"{name} has missing values")
        return np.asarray([str(a) for a in arr]) if arr.dtype.kind == "O" else arr

    cl = as_labels(cluster, "cluster")
    same_cluster = cl[:, None] == cl[None, :]
    R = np.ones((k, k))
    rho_vals = None if rho is None else np.atleast_1d(np.asarray(rho, dtype=float))
    if rho_vals is not None and np.any(np.abs(rho_vals) > 1):
        raise ValueError("rho must be in [-1, 1]")
    if obs is not None or type is not None:
        if rho_vals is None:
            raise ValueError("rho is needed when obs or type is given")
        want = 2 if (obs is not None and type is not None) else 1
        if rho_vals.size != want:
            raise ValueError(
                "rho must be one correlation"
                if want == 1
                else "rho must be (rho_obs, rho_type) when both obs and type are given"
            )
        rho_obs = rho_vals[0] if obs is not None else 0.0
        rho_type = rho_vals[-1] if type is not None else 0.0
        ob = as_labels(obs, "obs") if obs is not None else np.zeros(k)
        ty = as_labels(type, "type") if type is not None else np.zeros(k)
        same_obs = ob[:, None] == ob[None, :]
        same_type = ty[:, None] == ty[None, :]
        R = np.where(same_type, np.where(same_obs, 1.0, rho_obs), rho_type)
    if time is not None:
        if phi is None:
            raise ValueError("phi is needed when time is given")
        if abs(phi) > 1:
            raise ValueError("phi must be in [-1, 1]")
        t = np.asarray(time, dtype=float).ravel()
        if len(t) != k:
            raise ValueError(f"time has {len(t)} values, but vi has {k}")
        if np.any(~np.isfinite(t)):
            raise ValueError("time has missing values")
        dt = np.abs(t[:, None] - t[None, :])
        with np.errstate(divide="ignore", invalid="ignore"):
            decay = np.where(dt == 0, 1.0, float(phi) ** dt)
        R = R * decay
    R = np.where(same_cluster, R, 0.0)
    np.fill_diagonal(R, 1.0)
    if checkpd:
        for c in dict.fromkeys(cl.tolist()):
            idx = np.flatnonzero(cl == c)
            if len(idx) > 1 and np.linalg.eigvalsh(R[np.ix_(idx, idx)]).min() <= 1e-12:
                warnings.warn(
                    f"vcalc: the correlation matrix of cluster {c!r} is not positive definite",
                    stacklevel=2,
                )
    s = np.sqrt(v)
    return s[:, None] * R * s[None, :]


# --------------------------------------------------------------------------------------------
# CR2 cluster-robust inference
# --------------------------------------------------------------------------------------------


def _sym_power(x: np.ndarray, power: float, tol: float = 1e-12) -> np.ndarray:
    """Symmetric matrix power by eigendecomposition, eigenvalues <= tol set to 0 (clubSandwich)."""
    vals, vecs = np.linalg.eigh((x + x.T) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        vp = np.where(vals > tol, np.abs(vals) ** power, 0.0)
    return (vecs * vp) @ vecs.T


def robust_cr2(result: MVResult, cluster, level: float | None = None) -> RobustResult:
    """CR2 cluster-robust covariance and Satterthwaite t-tests for ``result``'s coefficients.

    The bias-reduced linearisation estimator (Bell & McCaffrey 2002) with the working model
    the fitted marginal covariance ``M`` (inverse-variance weights), as clubSandwich's
    ``vcovCR(fit, cluster, type = "CR2")`` and ``coef_test(test = "Satterthwaite")``, which
    metafor's ``robust(fit, cluster, clubSandwich = TRUE)`` calls (Pustejovsky & Tipton 2018):

        V_CR2 = B (sum_j X_j' W_j A_j e_j e_j' A_j W_j X_j) B,  B = (X' W X)^-1,
        A_j = D_j' (D_j (I - X_j B X_j' W_j) M_j D_j')^{-1/2} D_j,  M_j = D_j' D_j,

    with ``W_j = M_j^-1``. The degrees of freedom of coefficient ``c`` are
    ``(tr P)^2 / sum(P^2)`` for the (J x J) matrix ``P`` of Pustejovsky & Tipton's
    Satterthwaite approximation under the working model. ``cluster`` must contain every random
    effect (the model's random effects nested within it, ``V`` block-diagonal by it).
    """
    level = result.level if level is None else level
    cl = np.asarray(cluster).ravel()
    k, p = result.X.shape
    if len(cl) != k:
        raise ValueError(f"cluster has {len(cl)} values, but the model has {k} effects")
    codes, levels = _codes(cl if cl.dtype.kind != "O" else np.asarray([str(c) for c in cl]))
    J = len(levels)
    if J < 2:
        raise ValueError("cluster-robust variance estimation needs at least 2 clusters")
    if J <= p:  # as metafor's robust.rma.mv: the sandwich would be rank deficient
        raise ValueError(
            f"number of clusters ({J}) must be larger than the number of fixed effects ({p})"
        )
    M = result.M
    cross = codes[:, None] != codes[None, :]
    if np.any(M[cross] != 0):
        raise ValueError(
            "random effects or sampling covariances are not nested within the clustering "
            "variable (the marginal covariance has entries between clusters)"
        )
    X, e = result.X, result.residuals
    B = result.vcov  # (X' M^-1 X)^-1
    L_B = np.linalg.cholesky(B)
    comps = np.zeros((p, J))
    G_rows = []  # per cluster: B E_j D_j' (p x n_j)
    H = np.zeros((J, p, p))  # per cluster: B E_j X_j L_B
    for j in range(J):
        idx = np.flatnonzero(codes == j)
        Mj = M[np.ix_(idx, idx)]
        Cj = np.linalg.cholesky(Mj)  # lower, Mj = Cj Cj'; clubSandwich's D_j = Cj'
        Wj = _chol_inverse(Cj)
        Xj = X[idx]
        XWj = Xj.T @ Wj
        IH = np.eye(len(idx)) - Xj @ B @ XWj
        Gj = Cj.T @ IH @ Mj @ Cj
        Aj = Cj @ _sym_power(Gj, -0.5) @ Cj.T
        Ej = XWj @ Aj
        comps[:, j] = Ej @ e[idx]
        BE = B @ Ej
        G_rows.append(BE @ Cj)
        H[j] = BE @ Xj @ L_B
    vcov = B @ (comps @ comps.T) @ B
    se = np.sqrt(np.diag(vcov))
    beta = result.beta
    tval = beta / se
    df = np.empty(p)
    for i in range(p):
        h = H[:, i, :]  # (J x p)
        P = -h @ h.T
        P[np.diag_indices(J)] += np.array([np.sum(g[i] ** 2) for g in G_rows])
        df[i] = np.trace(P) ** 2 / np.sum(P**2)
    pval = 2 * stats.t.sf(np.abs(tval), df)
    crit = stats.t.isf((1 - level) / 2, df)
    return RobustResult(
        coef_names=result.coef_names,
        beta=beta.copy(),
        se=se,
        tval=tval,
        df=df,
        pval=pval,
        ci_low=beta - crit * se,
        ci_high=beta + crit * se,
        vcov=vcov,
        n_clusters=J,
        level=level,
    )
