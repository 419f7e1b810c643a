"""Fixed- and random-effects meta-analysis, at parity with metafor's ``rma.uni``.

Notation follows Viechtbauer (2005, 2010): ``yi`` observed effects, ``vi`` sampling variances,
``wi = 1/(vi + tau2)``, ``P = W - W X (X'WX)^-1 X'W`` and ``RSS(tau2) = y'Py`` (the generalised Q).

tau^2 estimators (``method``):

- ``DL``  DerSimonian & Laird (1986): ``(Q - (k-p)) / tr(P_FE)``, truncated at 0.
- ``HE``  Hedges (1983), Hedges & Olkin (1985): ``(RSS_OLS - tr(P_OLS V)) / (k-p)``, truncated.
- ``SJ``  Sidik & Jonkman (2005): ``tau0 * RSS(tau0) / (k-p)`` with
  ``tau0 = var(y) (k-1)/k``.
- ``PM``  Paule & Mandel (1982): root of ``RSS(tau2) = k-p`` (0 if ``RSS(0) < k-p``).
- ``EB``  Morris (1983), Berkey et al. (1995): root of ``RSS(tau2) k/(k-p) = k`` (same equation as
  PM, solved by metafor's iteration).
- ``ML``, ``REML``  (restricted) maximum likelihood by Fisher scoring (Viechtbauer 2005), started
  at the HE estimate, with step halving at the boundary and metafor's check that the likelihood at
  ``tau2 = 0`` is not larger.

Tests (``test``): ``z`` (Wald, normal quantiles) and ``knha`` (Hartung & Knapp 2001; Sidik &
Jonkman 2002): ``se^2`` multiplied by ``RSS / (k-p)`` and t quantiles with ``k-p`` df.

Prediction interval: ``estimate +/- crit * sqrt(se^2 + tau2)``, crit from the test's distribution
(metafor's ``predict.rma``; Riley et al. 2011, IntHout et al. 2016).

Heterogeneity: ``Q`` (Cochran 1954) with FE weights; ``I2 = 100 tau2 / (tau2 + s2)`` and
``H2 = (tau2 + s2) / s2`` with the typical within-study variance ``s2 = (k-p) / tr(P_FE)``
(Higgins & Thompson 2002); for the fixed-effect model ``I2 = 100 (Q-(k-p))/Q`` and ``H2 = Q/(k-p)``.
tau^2 CI by the Q-profile method (Viechtbauer 2007), searched on ``[0, max(100, 10 tau2)]`` as
metafor's ``confint.rma.uni``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

TAU2_METHODS = ("DL", "REML", "PM", "ML", "HE", "SJ", "EB")
TESTS = ("z", "knha")
_THRESHOLD = 1e-12  # Fisher-scoring convergence: metafor's default is 1e-5; we solve to precision
_MAXITER = 1000


@dataclass(frozen=True)
class MetaResult:
    """One fitted model, with every field metafor's ``rma`` printout shows.

    Estimates are on the analysis scale (log OR, log RR, logit proportion, ...). ``i2`` and its
    CI are percentages, as in metafor. ``converged`` is false, with the reason in ``note``, when the
    estimator failed; the other numbers are then NaN.
    """

    model: str
    method: str
    test: str
    k: int
    estimate: float
    se: float
    stat: float
    pval: float
    df: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    tau2: float
    tau2_ci_low: float
    tau2_ci_high: float
    i2: float
    i2_ci_low: float
    i2_ci_high: float
    h2: float
    q: float
    q_df: int
    q_p: float
    level: float
    converged: bool
    note: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def to_frame(self):
        """One-row :class:`pandas.DataFrame` with the fields as columns."""
        import pandas as pd

        return pd.DataFrame([self.to_dict()], columns=[f.name for f in fields(self)])


def _intercept_only(X: np.ndarray) -> bool:
    return X.shape[1] == 1 and X[0, 0] == 1.0 and bool(np.all(X == 1.0))


def _wls(y: np.ndarray, w: np.ndarray, X: np.ndarray):
    """Weighted least squares: coefficients, their covariance (X'WX)^-1 and the residual RSS."""
    if _intercept_only(X):  # every pooled model: the weighted mean, without a matrix inverse
        sw = float(np.sum(w))
        mean = float(np.dot(w, y)) / sw
        resid = y - mean
        return np.array([mean]), np.array([[1.0 / sw]]), float(np.sum(w * resid**2))
    XtW = X.T * w
    cov = np.linalg.inv(XtW @ X)
    beta = cov @ (XtW @ y)
    resid = y - X @ beta
    return beta, cov, float(np.sum(w * resid**2))


def _p_matrix(w: np.ndarray, X: np.ndarray) -> np.ndarray:
    if _intercept_only(X):
        return np.diag(w) - np.outer(w, w) / float(np.sum(w))
    W = np.diag(w)
    WX = w[:, None] * X
    return W - WX @ np.linalg.inv(X.T @ WX) @ WX.T


def generalized_q(tau2: float, y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    """Generalised Q: ``RSS(tau2) = sum w_i (y_i - x_i b)^2``, ``w_i = 1/(v_i + tau2)``."""
    return _wls(y, 1.0 / (v + tau2), X)[2]


def _brent(f, lo: float, hi: float) -> float:
    from scipy.optimize import brentq

    return float(brentq(f, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500))


def _tau2_pm(y, v, X, target: float) -> tuple[float, bool, str]:
    if generalized_q(0.0, y, v, X) < target:
        return 0.0, True, ""
    hi = 100.0
    while generalized_q(hi, y, v, X) > target:
        hi *= 10
        if hi > 1e12:
            return math.nan, False, "Paule-Mandel: no root of the generalised Q below 1e12"
    return _brent(lambda t: generalized_q(t, y, v, X) - target, 0.0, hi), True, ""


def _loglik(tau2: float, y, v, X, reml: bool) -> float:
    w = 1.0 / (v + tau2)
    _, cov, rss = _wls(y, w, X)
    k, p = X.shape
    if reml:
        return float(
            -0.5 * (k - p) * math.log(2 * math.pi)
            - 0.5 * np.sum(np.log(v + tau2))
            + 0.5 * np.linalg.slogdet(cov)[1]
            - 0.5 * rss
        )
    return float(-0.5 * k * math.log(2 * math.pi) - 0.5 * np.sum(np.log(v + tau2)) - 0.5 * rss)


def _tau2_scoring(y, v, X, method: str, start: float) -> tuple[float, bool, str]:
    """Fisher scoring for ML, REML and EB as metafor's ``rma.uni`` (Viechtbauer 2005)."""
    k, p = X.shape
    tau2 = max(0.0, start)
    for _ in range(_MAXITER):
        w = 1.0 / (v + tau2)
        P = _p_matrix(w, X)
        Py = P @ y
        if method == "ML":
            adj = (float(Py @ Py) - float(np.sum(w))) / float(np.sum(w**2))
        elif method == "REML":
            PP = P @ P
            adj = (float(Py @ Py) - float(np.trace(P))) / float(np.trace(PP))
        else:  # EB
            adj = (float(y @ Py) * k / (k - p) - k) / float(np.sum(w))
        while tau2 + adj < 0:
            adj /= 2
        new = tau2 + adj
        change = abs(new - tau2)
        tau2 = new
        if change <= _THRESHOLD * max(1.0, tau2):
            break
    else:
        return math.nan, False, f"{method}: Fisher scoring did not converge in {_MAXITER} steps"
    if method in ("ML", "REML") and tau2 > 0:
        reml = method == "REML"
        if _loglik(0.0, y, v, X, reml) - _loglik(tau2, y, v, X, reml) > 1e-10:
            return 0.0, True, f"{method}: likelihood larger at tau2 = 0 (local maximum avoided)"
    return max(0.0, tau2), True, ""


def estimate_tau2(y, v, X=None, method: str = "REML") -> tuple[float, bool, str]:
    """Between-study variance ``tau2`` by one of :data:`TAU2_METHODS`.

    Returns ``(tau2, converged, note)``.
    """
    y = np.asarray(y, float)
    v = np.asarray(v, float)
    X = np.ones((len(y), 1)) if X is None else np.asarray(X, float)
    k, p = X.shape
    if method not in TAU2_METHODS:
        raise ValueError(f"unknown tau2 method {method!r}; choose from {TAU2_METHODS}")
    if k - p < 1:
        return 0.0, True, "k too small to estimate tau2: set to 0"
    if method == "DL":
        w = 1.0 / v
        P = _p_matrix(w, X)
        rss = float(y @ P @ y)
        return max(0.0, (rss - (k - p)) / float(np.trace(P))), True, ""
    if method in ("HE", "ML", "REML", "EB"):
        P = _p_matrix(np.ones(k), X)
        he = (float(y @ P @ y) - float(np.trace(P @ np.diag(v)))) / (k - p)
        if method == "HE":
            return max(0.0, he), True, ""
        return _tau2_scoring(y, v, X, method, he)
    if method == "SJ":
        tau0 = float(np.var(y, ddof=1) * (k - 1) / k)
        if tau0 <= 0:
            return 0.0, True, "SJ: all estimates identical, tau2 = 0"
        return tau0 * generalized_q(tau0, y, v, X) / (k - p), True, ""
    return _tau2_pm(y, v, X, k - p)  # PM


def q_profile_ci(y, v, tau2: float, level: float = 0.95, X=None) -> tuple[float, float, str]:
    """Q-profile confidence interval for tau2 (Viechtbauer 2007), as metafor's ``confint``.

    The interval is searched on ``[0, max(100, 10 tau2)]``; a bound beyond the upper limit is
    returned as that limit with a note, as metafor prints it with a ``>`` sign.
    """
    y = np.asarray(y, float)
    v = np.asarray(v, float)
    X = np.ones((len(y), 1)) if X is None else np.asarray(X, float)
    lo_lim, hi_lim = min(0.0, tau2), max(100.0, 10 * tau2)
    # The interval depends on the data and the search range only, not on the tau2 estimator:
    # the seven estimators of one analysis share one search (pure function, small cache).
    key = (y.tobytes(), v.tobytes(), X.tobytes(), X.shape, level, lo_lim, hi_lim)
    if key not in _QP_CACHE:
        if len(_QP_CACHE) >= 256:
            _QP_CACHE.pop(next(iter(_QP_CACHE)))
        _QP_CACHE[key] = _q_profile(y, v, X, level, lo_lim, hi_lim)
    return _QP_CACHE[key]


_QP_CACHE: dict[tuple, tuple[float, float, str]] = {}


def _q_profile(y, v, X, level, lo_lim, hi_lim) -> tuple[float, float, str]:
    k, p = X.shape
    alpha = 1 - level
    crit_u = _chi2_isf(alpha / 2, k - p)
    crit_l = _chi2_ppf(alpha / 2, k - p)
    q_min = generalized_q(lo_lim, y, v, X)
    q_max = generalized_q(hi_lim, y, v, X)
    note = []
    if q_min < crit_l:
        return lo_lim, lo_lim, "tau2 CI is the null set (Q below its lower critical value at 0)"
    if q_max > crit_l:
        ub = hi_lim
        note.append(f"tau2 CI upper bound > {hi_lim:g}")
    else:
        ub = _brent(lambda t: generalized_q(t, y, v, X) - crit_l, lo_lim, hi_lim)
    if q_max > crit_u:
        lb = ub = hi_lim
        note.append(f"tau2 CI lower bound > {hi_lim:g}")
    elif q_min < crit_u:
        lb = lo_lim
    else:
        lb = _brent(lambda t: generalized_q(t, y, v, X) - crit_u, lo_lim, hi_lim)
    return lb, ub, "; ".join(note)


# Quantiles and tail areas through scipy.special, as scipy.stats computes them internally
# (same functions, same numbers) without its per-call argument checking (about 0.2 ms a call,
# which was most of the time of a fit).
class _Norm:
    @staticmethod
    def isf(q):
        from scipy.special import ndtri

        return -ndtri(q)

    @staticmethod
    def sf(x):
        from scipy.special import ndtr

        return ndtr(-x)


class _T:
    def __init__(self, df: float) -> None:
        self.df = df

    def isf(self, q):
        from scipy.special import stdtrit

        return -stdtrit(self.df, q)

    def sf(self, x):
        from scipy.special import stdtr

        return stdtr(self.df, -x)


_NORM = _Norm()


def _chi2_sf(x, df):
    from scipy.special import chdtrc

    return chdtrc(df, x)


def _chi2_isf(q, df):
    from scipy.special import gammainccinv

    return 2 * gammainccinv(df / 2, q)


def _chi2_ppf(p, df):
    from scipy.special import gammaincinv

    return 2 * gammaincinv(df / 2, p)


def _nan_result(model, method, test, k, level, note) -> MetaResult:
    nan = math.nan
    return MetaResult(
        model,
        method,
        test,
        k,
        nan,
        nan,
        nan,
        nan,
        nan,
        nan,
        nan,
        nan,
        nan,
        nan,
        nan,
        nan,
        nan,
        nan,
        nan,
        nan,
        nan,
        max(k - 1, 0),
        nan,
        level,
        False,
        note,
    )


def rma(yi, vi, method: str = "REML", test: str = "z", level: float = 0.95) -> MetaResult:
    """Fit a fixed-effect (``method="FE"``) or random-effects model to ``yi``/``vi``.

    Mirrors ``metafor::rma(yi, vi, method=method, test=test)`` with ``predict()`` and ``confint()``.
    ``k = 1`` is reported as the single study (no pooling, flagged in ``note``).
    """
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}; choose from {TESTS}")
    if method != "FE" and method not in TAU2_METHODS:
        raise ValueError(f"unknown method {method!r}; choose FE or one of {TAU2_METHODS}")
    y = np.asarray(yi, float)
    v = np.asarray(vi, float)
    keep = np.isfinite(y) & np.isfinite(v) & (v > 0)
    y, v = y[keep], v[keep]
    k = len(y)
    model = "fixed" if method == "FE" else "random"
    if k == 0:
        return _nan_result(model, method, test, 0, level, "no studies")
    X = np.ones((k, 1))
    p = 1
    w_fe = 1.0 / v
    _, _, q = _wls(y, w_fe, X)
    q_df = k - p
    if k == 1:
        se = math.sqrt(v[0])
        z = _NORM.isf((1 - level) / 2)
        return MetaResult(
            model,
            method,
            test,
            1,
            float(y[0]),
            se,
            float(y[0] / se),
            float(2 * _NORM.sf(abs(y[0] / se))),
            math.inf,
            float(y[0] - z * se),
            float(y[0] + z * se),
            # as metafor at k = 1: no heterogeneity to estimate (tau2 = 0, Q = 0), PI = CI
            float(y[0] - z * se),
            float(y[0] + z * se),
            0.0,
            math.nan,
            math.nan,
            0.0,
            math.nan,
            math.nan,
            1.0,
            0.0,
            0,
            1.0,
            level,
            True,
            "k = 1: single study shown, not pooled (z interval)",
        )
    note = []
    if method == "FE":
        tau2, converged = 0.0, True
    else:
        tau2, converged, msg = estimate_tau2(y, v, X, method)
        if msg:
            note.append(msg)
        if not converged:
            return _nan_result(model, method, test, k, level, "; ".join(note))
    w = 1.0 / (v + tau2)
    beta, cov, rss = _wls(y, w, X)
    est = float(beta[0])
    var = float(cov[0, 0])
    if test == "knha":
        var *= rss / (k - p)
        dist = _T(k - p)
        df = float(k - p)
        if rss <= np.finfo(float).eps:
            note.append(
                "knha: the residual Q is 0 (identical estimates), so the Hartung-Knapp SE and CI "
                "width are 0 (as metafor); read the z test"
            )
    else:
        dist = _NORM
        df = math.inf
    se = math.sqrt(var)
    crit = float(dist.isf((1 - level) / 2))
    stat = est / se if se > 0 else math.nan
    pval = float(2 * dist.sf(abs(stat))) if se > 0 else math.nan
    ci = (est - crit * se, est + crit * se)
    pi_se = math.sqrt(var + tau2)
    pi = (est - crit * pi_se, est + crit * pi_se)
    q_p = float(_chi2_sf(q, q_df))
    tr_p = float(np.trace(_p_matrix(w_fe, X)))
    s2 = q_df / tr_p
    if method == "FE":
        i2 = max(0.0, 100 * (q - q_df) / q) if q > 0 else 0.0
        h2 = q / q_df
        tau2_ci = (math.nan, math.nan)
        i2_ci = (math.nan, math.nan)
    else:
        i2 = 100 * tau2 / (s2 + tau2)
        h2 = (s2 + tau2) / s2
        lb, ub, ci_note = q_profile_ci(y, v, tau2, level, X)
        if ci_note:
            note.append(ci_note)
        tau2_ci = (lb, ub)
        i2_ci = tuple(100 * t / (s2 + t) for t in tau2_ci)
    if k == 2 and method != "FE":
        note.append("k = 2: tau2 is very imprecise")
    return MetaResult(
        model=model,
        method=method,
        test=test,
        k=k,
        estimate=est,
        se=se,
        stat=stat,
        pval=pval,
        df=df,
        ci_low=ci[0],
        ci_high=ci[1],
        pi_low=pi[0],
        pi_high=pi[1],
        tau2=float(tau2),
        tau2_ci_low=float(tau2_ci[0]),
        tau2_ci_high=float(tau2_ci[1]),
        i2=float(i2),
        i2_ci_low=float(i2_ci[0]),
        i2_ci_high=float(i2_ci[1]),
        h2=float(h2),
        q=float(q),
        q_df=q_df,
        q_p=q_p,
        level=level,
        converged=converged,
        note="; ".join(note),
    )
