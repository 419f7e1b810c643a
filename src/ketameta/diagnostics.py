"""Diagnostics for intercept-only models, at parity with metafor 3.8.1.

Every function takes the observed effects ``yi`` and sampling variances ``vi`` (numpy arrays or
sequences; studies with a missing or non-positive variance are dropped, as :func:`rma` drops them)
and returns a frozen dataclass whose ``to_frame()`` gives a :class:`pandas.DataFrame` with fixed
columns.

- :func:`leave_one_out`: the model refitted without each study in turn (metafor ``leave1out``).
- :func:`influence`: case-deletion diagnostics of Viechtbauer & Cheung (2010), as metafor's
  ``influence.rma.uni``: externally studentised residuals, DFFITS, Cook's distances, covariance
  ratios, leave-one-out tau2 and Q, hat values, weights and DFBETAS.
- :func:`egger_test`: Egger's regression test for funnel-plot asymmetry (Egger et al. 1997) with
  the standard error as predictor, as the classical weighted regression (``model="lm"``) or as a
  mixed-effects meta-regression (``model="rma"``; Sterne & Egger 2005), as metafor's ``regtest``.
- :func:`begg_test`: the rank correlation test of Begg & Mazumdar (1994), as metafor's
  ``ranktest``.
- :func:`trim_and_fill`: the trim-and-fill method of Duval & Tweedie (2000a, 2000b) with the
  ``L0`` or ``R0`` estimator, as metafor's ``trimfill``.
- :func:`baujat`: the coordinates of the Baujat et al. (2002) plot, as metafor's ``baujat``.

References: Viechtbauer W, Cheung MW-L (2010) Outlier and influence diagnostics for
meta-analysis. Res Synth Methods 1:112-125. Egger M, Davey Smith G, Schneider M, Minder C (1997)
Bias in meta-analysis detected by a simple, graphical test. BMJ 315:629-634. Begg CB, Mazumdar M
(1994) Operating characteristics of a rank correlation test for publication bias. Biometrics
50:1088-1101. Duval S, Tweedie R (2000) Trim and fill: a simple funnel-plot-based method of testing
and adjusting for publication bias in meta-analysis. Biometrics 56:455-463; and A nonparametric
"trim and fill" method of accounting for publication bias in meta-analysis. JASA 95:89-98.
Baujat B, Mahe C, Pignon J-P, Hill C (2002) A graphical method for exploring heterogeneity in
meta-analyses. Stat Med 21:2641-2652.

Where metafor stops with an error (``k = 1``, too few studies for a regression test, a
predictor collinear with the intercept) these functions return NaN with the reason in ``note``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from ketameta.frequentist import TAU2_METHODS, TESTS, MetaResult, _wls, estimate_tau2, rma

_TINY = 100 * np.finfo(float).eps  # metafor's cut-off for treating a residual as exactly zero
_KENDALL_EXACT_MAX_K = 170  # R's exact Kendall distribution overflows (k! in doubles) beyond this


def _frame(columns: list[str], data: dict):
    import pandas as pd

    return pd.DataFrame({c: list(data[c]) for c in columns}, columns=columns)


def _one_row(obj) -> object:
    import pandas as pd

    names = [f.name for f in fields(obj)]
    return pd.DataFrame([{n: getattr(obj, n) for n in names}], columns=names)


def _prepare(yi, vi, labels=None):
    """Float arrays without studies that :func:`rma` would drop, and their labels."""
    y = np.atleast_1d(np.asarray(yi, float))
    v = np.atleast_1d(np.asarray(vi, float))
    if y.shape != v.shape or y.ndim != 1:
        raise ValueError(f"yi and vi must be 1-d of equal length, got {y.shape} and {v.shape}")
    if labels is None:
        labels = [str(i + 1) for i in range(len(y))]
    else:
        labels = [str(lab) for lab in labels]
        if len(labels) != len(y):
            raise ValueError(f"{len(labels)} labels for {len(y)} studies")
    keep = np.isfinite(y) & np.isfinite(v) & (v > 0)
    return y[keep], v[keep], tuple(lab for lab, ok in zip(labels, keep, strict=True) if ok)


def _check_method(method: str) -> None:
    if method != "FE" and method not in TAU2_METHODS:
        raise ValueError(f"unknown method {method!r}; choose FE or one of {TAU2_METHODS}")


@dataclass(frozen=True)
class _Fit:
    beta: np.ndarray
    vb: np.ndarray
    tau2: float
    qe: float
    converged: bool
    note: str


def _fit(y: np.ndarray, v: np.ndarray, X: np.ndarray, method: str) -> _Fit:
    """Weighted least squares at the estimated tau2 (``rma.uni`` with ``mods``, z test)."""
    k, p = X.shape
    if method == "FE":
        tau2, ok, note = 0.0, True, ""
    else:
        tau2, ok, note = estimate_tau2(y, v, X, method)
    if not ok:
        nan = np.full(p, math.nan)
        return _Fit(nan, np.full((p, p), math.nan), math.nan, math.nan, False, note)
    beta, vb, _ = _wls(y, 1.0 / (v + tau2), X)
    qe = _wls(y, 1.0 / v, X)[2]
    return _Fit(beta, vb, float(tau2), float(qe), True, note)


# --------------------------------------------------------------------------------------------
# leave-one-out


@dataclass(frozen=True)
class LeaveOneOut:
    """The model refitted with each study left out; ``fits[i]`` omits ``labels[i]``.

    With ``k = 2`` every refit has ``k = 1``: the single remaining study is reported (tau2, Q, I2
    and H2 NaN) and the refit's ``note`` says so.
    """

    method: str
    test: str
    labels: tuple[str, ...]
    fits: tuple[MetaResult, ...]

    COLUMNS = (
        "study",
        "k",
        "estimate",
        "se",
        "stat",
        "df",
        "pval",
        "ci_low",
        "ci_high",
        "q",
        "q_df",
        "q_p",
        "tau2",
        "i2",
        "h2",
        "converged",
        "note",
    )

    def to_frame(self):
        """One row per left-out study (``study`` is the study left out)."""
        data = {"study": self.labels}
        for col in self.COLUMNS[1:]:
            data[col] = [getattr(f, col) for f in self.fits]
        return _frame(list(self.COLUMNS), data)


def leave_one_out(
    yi, vi, method: str = "REML", test: str = "z", level: float = 0.95, labels=None
) -> LeaveOneOut:
    """Refit :func:`rma` with each study omitted in turn (metafor ``leave1out``)."""
    _check_method(method)
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}; choose from {TESTS}")
    y, v, labs = _prepare(yi, vi, labels)
    idx = np.arange(len(y))
    fits = tuple(rma(y[idx != i], v[idx != i], method=method, test=test, level=level) for i in idx)
    return LeaveOneOut(method, test, labs, fits)


# --------------------------------------------------------------------------------------------
# influence diagnostics


@dataclass(frozen=True)
class Influence:
    """Case-deletion diagnostics (Viechtbauer & Cheung 2010), as ``influence.rma.uni``.

    Per study: ``rstudent`` (deleted residual over its standard error), ``dffits``, ``cook_d``,
    ``cov_r`` (ratio of the variance of the estimate without and with the study), ``tau2_del``
    and ``qe_del`` (tau2 and Q without the study), ``hat``, ``weight`` (percent), ``dfbs``
    (DFBETAS of the intercept) and ``is_infl`` (metafor's flag: ``|dffits| > 3 sqrt(p/(k-p))``,
    Cook's distance above the chi-square(1) median, ``hat > 3p/k`` or ``|dfbs| > 1``).
    """

    method: str
    k: int
    tau2: float
    qe: float
    labels: tuple[str, ...]
    rstudent: tuple[float, ...]
    dffits: tuple[float, ...]
    cook_d: tuple[float, ...]
    cov_r: tuple[float, ...]
    tau2_del: tuple[float, ...]
    qe_del: tuple[float, ...]
    hat: tuple[float, ...]
    weight: tuple[float, ...]
    dfbs: tuple[float, ...]
    is_infl: tuple[bool, ...]
    notes: tuple[str, ...]

    COLUMNS = (
        "study",
        "rstudent",
        "dffits",
        "cook_d",
        "cov_r",
        "tau2_del",
        "qe_del",
        "hat",
        "weight",
        "dfbs",
        "is_infl",
        "note",
    )

    def to_frame(self):
        data = {c: getattr(self, c, None) for c in self.COLUMNS}
        data["study"], data["note"] = self.labels, self.notes
        return _frame(list(self.COLUMNS), data)


def influence(yi, vi, method: str = "REML", labels=None) -> Influence:
    """Influence diagnostics of Viechtbauer & Cheung (2010) for the intercept-only model.

    As metafor's ``influence.rma.uni`` (z test): with ``b``/``var(b)`` from the full fit and
    ``b(-i)``, ``var(b(-i))``, ``tau2(-i)`` from the fit without study ``i``, and full-data weights
    ``w_i = 1/(v_i + tau2)``:

    - ``rstudent = (y_i - b(-i)) / sqrt(v_i + tau2(-i) + var(b(-i)))``
    - ``hat = w_i / sum(w)``, ``weight = 100 hat``
    - ``dffits = (b - b(-i)) / sqrt(hat_i (v_i + tau2(-i)))``
    - ``cook_d = (b - b(-i))^2 / var(b)``
    - ``cov_r = var(b(-i)) / var(b)``
    - ``dfbs = (b - b(-i)) / sqrt(1 / sum_j 1/(v_j + tau2(-i)))``

    ``k = 2``: each deleted fit has one study, whose tau2 is set to 0 (as metafor does); the
    per-study ``notes`` say so.
    """
    from scipy.stats import chi2

    _check_method(method)
    y, v, labs = _prepare(yi, vi, labels)
    k = len(y)
    nan_col = (math.nan,) * k
    if k < 2:
        return Influence(
            method,
            k,
            math.nan,
            math.nan,
            labs,
            *([nan_col] * 9),
            (False,) * k,
            ("k < 2: no influence diagnostics",) * k,
        )
    ones = np.ones((k, 1))
    full = _fit(y, v, ones, method)
    out = {
        name: np.full(k, math.nan)
        for name in ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del", "dfbs")
    }
    notes = []
    if not full.converged:
        hat = np.full(k, math.nan)
        notes = [f"full model: {full.note}"] * k
    else:
        w = 1.0 / (v + full.tau2)
        hat = w / w.sum()
        b, vb = full.beta[0], full.vb[0, 0]
        for i in range(k):
            keep = np.arange(k) != i
            d = _fit(y[keep], v[keep], ones[keep], method)
            notes.append(d.note)
            if not d.converged:
                continue
            b_del, vb_del_fit, t2 = d.beta[0], d.vb[0, 0], d.tau2
            out["tau2_del"][i], out["qe_del"][i] = t2, d.qe
            resid = y[i] - b_del
            if abs(resid) < _TINY:
                resid = 0.0
            out["rstudent"][i] = resid / math.sqrt(v[i] + vb_del_fit + t2)
            out["dffits"][i] = (b - b_del) / math.sqrt(hat[i] * (t2 + v[i]))
            out["dfbs"][i] = (b - b_del) / math.sqrt(1.0 / np.sum(1.0 / (v + t2)))
            out["cook_d"][i] = (b - b_del) ** 2 / vb
            out["cov_r"][i] = vb_del_fit / vb
    p = 1
    with np.errstate(invalid="ignore"):
        is_infl = (
            (np.abs(out["dffits"]) > 3 * math.sqrt(p / (k - p)))
            | (chi2.cdf(out["cook_d"], df=p) > 0.5)
            | (hat > 3 * p / k)
            | (np.abs(out["dfbs"]) > 1)
        )

    def tup(a):
        return tuple(float(x) for x in a)

    return Influence(
        method=method,
        k=k,
        tau2=full.tau2,
        qe=full.qe,
        labels=labs,
        rstudent=tup(out["rstudent"]),
        dffits=tup(out["dffits"]),
        cook_d=tup(out["cook_d"]),
        cov_r=tup(out["cov_r"]),
        tau2_del=tup(out["tau2_del"]),
        qe_del=tup(out["qe_del"]),
        hat=tup(hat),
        weight=tup(100 * hat),
        dfbs=tup(out["dfbs"]),
        is_infl=tuple(bool(x) for x in is_infl),
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------------------------
# Egger's regression test


@dataclass(frozen=True)
class EggerTest:
    """Egger's regression test with predictor ``sei`` and the limit estimate (intercept).

    ``model="lm"``: weighted least squares of ``yi`` on ``sei`` with weights ``1/vi`` and a
    residual variance; t test with ``k - 2`` df. ``model="rma"``: meta-regression on ``sei`` with
    tau2 by ``method``; z test (``df`` is infinite). ``slope`` is the coefficient of ``sei``;
    ``limit_*`` is the intercept, the estimate as ``sei -> 0``, with its CI at ``level``.
    """

    model: str
    method: str
    predictor: str
    k: int
    slope: float
    slope_se: float
    stat: float
    dist: str
    df: float
    pval: float
    limit_estimate: float
    limit_se: float
    limit_ci_low: float
    limit_ci_high: float
    tau2: float
    level: float
    note: str

    def to_frame(self):
        return _one_row(self)


def egger_test(yi, vi, model: str = "rma", method: str = "REML", level: float = 0.95) -> EggerTest:
    """Egger et al. (1997) regression test for funnel-plot asymmetry (metafor ``regtest``)."""
    from scipy import stats

    if model not in ("rma", "lm"):
        raise ValueError(f"unknown model {model!r}; choose 'rma' or 'lm'")
    _check_method(method)
    y, v, _ = _prepare(yi, vi)
    k = len(y)
    dist = "t" if model == "lm" else "z"
    df = float(k - 2) if model == "lm" else math.inf
    used_method = method if model == "rma" else "WLS"

    def failed(note: str) -> EggerTest:
        nan = math.nan
        return EggerTest(
            model, used_method, "sei", k, nan, nan, nan, dist, df, nan, nan, nan, nan, nan, nan,
            level, note,
        )  # fmt: skip

    if k < 3:
        return failed(f"k = {k}: the regression test needs at least 3 studies")
    sei = np.sqrt(v)
    if np.ptp(sei) <= _TINY * np.max(sei):
        return failed("all standard errors equal: predictor collinear with the intercept")
    X = np.column_stack([np.ones(k), sei])
    alpha = 1 - level
    note = ""
    if model == "lm":
        w = 1.0 / v
        beta, cov, rss = _wls(y, w, X)
        scale = float(np.sum(w * y**2))
        if rss <= (1e3 * np.finfo(float).eps) ** 2 * max(scale, np.finfo(float).tiny):
            return failed("essentially perfect fit: regression test undefined")
        cov = cov * rss / (k - 2)
        tau2 = math.nan
        crit = float(stats.t.isf(alpha / 2, k - 2))
        ref = stats.t(df=k - 2)
    else:
        fit = _fit(y, v, X, method)
        if not fit.converged:
            return failed(fit.note)
        beta, cov, tau2, note = fit.beta, fit.vb, fit.tau2, fit.note
        crit = float(stats.norm.isf(alpha / 2))
        ref = stats.norm()
    se = np.sqrt(np.diag(cov))
    stat = float(beta[1] / se[1])
    return EggerTest(
        model=model,
        method=used_method,
        predictor="sei",
        k=k,
        slope=float(beta[1]),
        slope_se=float(se[1]),
        stat=stat,
        dist=dist,
        df=df,
        pval=float(2 * ref.sf(abs(stat))),
        limit_estimate=float(beta[0]),
        limit_se=float(se[0]),
        limit_ci_low=float(beta[0] - crit * se[0]),
        limit_ci_high=float(beta[0] + crit * se[0]),
        tau2=float(tau2),
        level=level,
        note=note,
    )


# --------------------------------------------------------------------------------------------
# Begg's rank correlation test


@dataclass(frozen=True)
class BeggTest:
    """Begg & Mazumdar (1994) rank correlation test.

    ``tau`` is Kendall's tau (tau-b) between the standardised deviates and the variances. Without
    ties (and ``k <= 170``) the two-sided p is exact (``exact`` true; ``stat`` is the number of
    concordant pairs ``T``); with ties it is the normal approximation with the tie-corrected
    variance (``stat`` is ``z``), as R's ``cor.test(method="kendall", exact=TRUE)``.
    """

    k: int
    tau: float
    stat: float
    pval: float
    exact: bool
    note: str

    def to_frame(self):
        return _one_row(self)


def _kendall_cdf(q: int, n: int) -> float:
    """P(T <= q) for the number T of concordant pairs among n untied pairs (null distribution).

    T has the distribution of the number of inversions of a random permutation (Mahonian
    numbers); built by convolution, one element at a time, normalised at each step.
    """
    if q < 0:
        return 0.0
    if q >= n * (n - 1) // 2:
        return 1.0
    dist = np.ones(1)
    for m in range(2, n + 1):
        # adding element m: its inversions with the others are uniform on 0..m-1
        c = np.concatenate([[0.0], np.cumsum(dist)])
        new = np.empty(len(dist) + m - 1)
        idx = np.arange(len(new))
        new[:] = c[np.minimum(idx + 1, len(dist))] - c[np.maximum(idx - m + 1, 0)]
        dist = new / m
    return float(min(1.0, np.sum(dist[: q + 1])))


def _tie_sizes(x: np.ndarray) -> np.ndarray:
    _, counts = np.unique(x, return_counts=True)
    return counts[counts > 1].astype(float)


def begg_test(yi, vi) -> BeggTest:
    """Begg & Mazumdar (1994) rank correlation test for funnel-plot asymmetry (``ranktest``).

    Kendall's tau between ``(y_i - b_FE) / sqrt(v_i - var(b_FE))`` and ``v_i``.
    """
    from scipy.stats import norm

    y, v, _ = _prepare(yi, vi)
    n = len(y)
    if n < 2:
        return BeggTest(n, math.nan, math.nan, math.nan, False, f"k = {n}: test needs k >= 2")
    w = 1.0 / v
    theta = float(np.sum(w * y) / np.sum(w))
    ystar = (y - theta) / np.sqrt(v - 1.0 / np.sum(w))
    sx = np.sign(ystar[:, None] - ystar[None, :])
    sy = np.sign(v[:, None] - v[None, :])
    iu = np.triu_indices(n, 1)
    s = float(np.sum(sx[iu] * sy[iu]))  # concordant minus discordant pairs
    n0 = n * (n - 1) / 2
    tx, ty = _tie_sizes(ystar), _tie_sizes(v)
    n1, n2 = np.sum(tx * (tx - 1)) / 2, np.sum(ty * (ty - 1)) / 2
    if n1 == n0 or n2 == n0:
        return BeggTest(n, math.nan, math.nan, math.nan, False, "a variable is constant: tau NaN")
    tau = s / math.sqrt((n0 - n1) * (n0 - n2))
    if len(tx) == 0 and len(ty) == 0 and n <= _KENDALL_EXACT_MAX_K:
        q = round((s + n0) / 2)  # concordant pairs
        if q > n * (n - 1) / 4:
            p = 1 - _kendall_cdf(q - 1, n)
        else:
            p = _kendall_cdf(q, n)
        return BeggTest(n, tau, float(q), min(2 * p, 1.0), True, "")
    v0 = n * (n - 1) * (2 * n + 5)
    vt = np.sum(tx * (tx - 1) * (2 * tx + 5))
    vu = np.sum(ty * (ty - 1) * (2 * ty + 5))
    v1 = np.sum(tx * (tx - 1)) * np.sum(ty * (ty - 1))
    v2 = np.sum(tx * (tx - 1) * (tx - 2)) * np.sum(ty * (ty - 1) * (ty - 2))
    var_s = (v0 - vt - vu) / 18 + v1 / (2 * n * (n - 1))
    if n > 2:
        var_s += v2 / (9 * n * (n - 1) * (n - 2))
    z = s / math.sqrt(var_s)
    note = "ties: normal approximation" if len(tx) or len(ty) else f"k > {_KENDALL_EXACT_MAX_K}"
    return BeggTest(n, tau, z, float(2 * min(norm.cdf(z), norm.sf(z))), False, note)


# --------------------------------------------------------------------------------------------
# trim and fill


@dataclass(frozen=True)
class TrimFill:
    """Trim-and-fill result (Duval & Tweedie 2000).

    ``side`` is where studies are estimated missing, ``k0`` how many (``se_k0`` its standard
    error; ``p_k0`` the one-sided p of the R0 test of ``k0 = 0``, NaN for L0). ``yi``/``vi``/
    ``labels`` are the filled data set (original studies first, then ``"Filled 1"``, ...;
    ``filled`` flags the imputed ones) and ``fit`` the model refitted to it (z test).
    """

    estimator: str
    method: str
    side: str
    k0: int
    se_k0: float
    p_k0: float
    iterations: int
    converged: bool
    labels: tuple[str, ...]
    yi: tuple[float, ...]
    vi: tuple[float, ...]
    filled: tuple[bool, ...]
    fit: MetaResult
    note: str

    SUMMARY_COLUMNS = ("estimator", "method", "side", "k0", "se_k0", "p_k0", "converged")

    def to_frame(self):
        """One row: the trim-and-fill summary followed by every field of the refitted model."""
        row = {c: getattr(self, c) for c in self.SUMMARY_COLUMNS}
        fit = self.fit.to_dict()
        row.update({f"fit_{k}" if k in row else k: val for k, val in fit.items()})
        notes = [n for n in (self.note, fit["note"]) if n]
        row["note"] = "; ".join(notes)
        import pandas as pd

        return pd.DataFrame([row], columns=list(row))

    def studies_frame(self):
        """The filled data set: one row per study (``study``, ``yi``, ``vi``, ``filled``)."""
        data = {"study": self.labels, "yi": self.yi, "vi": self.vi, "filled": self.filled}
        return _frame(["study", "yi", "vi", "filled"], data)


def _funnel_side(y: np.ndarray, v: np.ndarray, method: str) -> tuple[str, str]:
    """metafor's choice: ``right`` if the slope of ``yi`` on ``sqrt(vi)`` is negative."""
    sei = np.sqrt(v)
    if np.ptp(sei) <= _TINY * np.max(sei):
        return "left", "side: all standard errors equal, left side assumed"
    fit = _fit(y, v, np.column_stack([np.ones(len(y)), sei]), method)
    if not fit.converged:
        return "left", f"side: regression on sqrt(vi) failed ({fit.note}), left side assumed"
    note = f"side regression: {fit.note}" if fit.note else ""
    return ("right" if fit.beta[1] < 0 else "left"), note


def trim_and_fill(
    yi,
    vi,
    estimator: str = "L0",
    method: str = "REML",
    side: str | None = None,
    labels=None,
    maxiter: int = 100,
) -> TrimFill:
    """Trim and fill (Duval & Tweedie 2000) as metafor's ``trimfill.rma.uni``.

    ``side=None`` picks the side as metafor does: ``right`` if the meta-regression of ``yi`` on
    ``sqrt(vi)`` (tau2 by ``method``) has a negative slope, else ``left``. The data are flipped
    so that missing studies are always sought on the left, sorted, and iterated: fit ``method``
    to the ``k - k0`` smallest, centre all ``k`` at that estimate, rank the absolute centred
    values (ties by position) and estimate ``k0`` by

    - ``L0 = (4 S_r - k(k+1)) / (2k - 1)`` with ``S_r`` the sum of the positive ranks, or
    - ``R0 = k - h - 1`` with ``h`` the largest rank of a negative centred value,

    rounded and truncated at 0, until ``k0`` repeats. The ``k0`` most extreme studies are then
    mirrored about the last estimate (``2b - y_i``, same variance) and the model refitted.

    One deviation from metafor: centred values within ``100 eps`` of zero count as zero (neither
    sign), so identical effects give ``k0 = 0`` instead of a rounding-noise-driven count (and R0
    with no negative centred value takes ``h`` as the largest rank of a zero one).
    """
    if estimator not in ("L0", "R0"):
        raise ValueError(f"unknown estimator {estimator!r}; choose 'L0' or 'R0'")
    if side not in (None, "left", "right"):
        raise ValueError(f"side must be None, 'left' or 'right', got {side!r}")
    _check_method(method)
    y0, v0, labs = _prepare(yi, vi, labels)
    k = len(y0)
    notes = []
    if k < 2:
        fit = rma(y0, v0, method=method)
        return TrimFill(
            estimator, method, side or "left", 0, math.nan, math.nan, 0, False, labs,
            tuple(map(float, y0)), tuple(map(float, v0)), (False,) * k, fit,
            f"k = {k}: trim and fill needs k >= 2",
        )  # fmt: skip
    if side is None:
        side, side_note = _funnel_side(y0, v0, method)
        if side_note:
            notes.append(side_note)
    sign = -1.0 if side == "right" else 1.0
    order = np.argsort(sign * y0, kind="stable")
    y, v = sign * y0[order], v0[order]

    k0, k0_prev, it = 0, -1, 0
    beta, se_k0, converged = math.nan, math.nan, True
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > maxiter:
            converged = False
            notes.append(f"trim and fill did not converge in {maxiter} iterations")
            break
        m = k - k0
        trunc = _fit(y[:m], v[:m], np.ones((m, 1)), method)
        if not trunc.converged:
            converged = False
            notes.append(f"fit to the trimmed data failed: {trunc.note}")
            break
        beta = float(trunc.beta[0])
        centred = y - beta
        centred[np.abs(centred) < _TINY * max(1.0, abs(beta), float(np.max(np.abs(y))))] = 0.0
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(centred), kind="stable")] = np.arange(1, k + 1)
        signed = np.sign(centred) * ranks
        if estimator == "R0":
            neg = ranks[signed < 0]
            h = (
                neg.max()
                if neg.size
                else (ranks[centred == 0].max() if (centred == 0).any() else 0)
            )
            k0_raw = k - h - 1
            se_k0 = math.sqrt(2 * max(0.0, k0_raw) + 2)
        else:
            sr = float(np.sum(signed[signed > 0]))
            k0_raw = (4 * sr - k * (k + 1)) / (2 * k - 1)
            var_sr = (
                k * (k + 1) * (2 * k + 1)
                + 10 * k0_raw**3
                + 27 * k0_raw**2
                + 17 * k0_raw
                - 18 * k * k0_raw**2
                - 18 * k * k0_raw
                + 6 * k**2 * k0_raw
            ) / 24
            se_k0 = 4 * math.sqrt(var_sr) / (2 * k - 1) if var_sr >= 0 else math.nan
        se_k0 = max(0.0, se_k0)
        k0 = max(0, round(k0_raw))  # round half to even, as R
        if k0 > k - 1:
            notes.append(f"k0 = {k0} truncated to k - 1")
            k0 = k - 1

    if k0 > 0:
        fill_y = sign * (2 * beta - y[k - k0 :])
        fill_v = v[k - k0 :]
        y_all = np.concatenate([y0, fill_y])
        v_all = np.concatenate([v0, fill_v])
        labs_all = labs + tuple(f"Filled {j + 1}" for j in range(k0))
    else:
        y_all, v_all, labs_all = y0, v0, labs
    fit = rma(y_all, v_all, method=method)
    return TrimFill(
        estimator=estimator,
        method=method,
        side=side,
        k0=int(k0),
        se_k0=float(se_k0),
        p_k0=0.5 ** (k0 + 1) if estimator == "R0" else math.nan,
        iterations=it,
        converged=converged,
        labels=labs_all,
        yi=tuple(float(x) for x in y_all),
        vi=tuple(float(x) for x in v_all),
        filled=(False,) * k + (True,) * k0,
        fit=fit,
        note="; ".join(notes),
    )


# --------------------------------------------------------------------------------------------
# Baujat plot data


@dataclass(frozen=True)
class Baujat:
    """Baujat et al. (2002) plot coordinates, as metafor's ``baujat``.

    ``x``: the study's contribution to the heterogeneity statistic,
    ``(y_i - b)^2 / (v_i + tau2)`` (with ``method="FE"`` the terms of Cochran's Q). ``y``: its
    influence on the pooled estimate, ``(b(-i) - b)^2 / var(b(-i))``, from the fit without it.
    """

    method: str
    labels: tuple[str, ...]
    x: tuple[float, ...]
    y: tuple[float, ...]

    def to_frame(self):
        return _frame(["study", "x", "y"], {"study": self.labels, "x": self.x, "y": self.y})


def baujat(yi, vi, method: str = "FE", labels=None) -> Baujat:
    """Baujat plot data: contribution to Q against influence on the pooled estimate."""
    _check_method(method)
    y, v, labs = _prepare(yi, vi, labels)
    k = len(y)
    if k < 2:
        return Baujat(method, labs, (math.nan,) * k, (math.nan,) * k)
    ones = np.ones((k, 1))
    full = _fit(y, v, ones, method)
    b = full.beta[0]
    xs = (y - b) ** 2 / (v + full.tau2)
    ys = np.full(k, math.nan)
    for i in range(k):
        keep = np.arange(k) != i
        d = _fit(y[keep], v[keep], ones[keep], method)
        if d.converged:
            ys[i] = (d.beta[0] - b) ** 2 / d.vb[0, 0]
    return Baujat(method, labs, tuple(map(float, xs)), tuple(map(float, ys)))
