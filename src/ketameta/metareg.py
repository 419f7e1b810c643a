"""Mixed-effects meta-regression and subgroup analysis, at parity with metafor 3.8's ``rma.uni``.

Model (Viechtbauer 2010; Thompson & Higgins 2002): ``y_i = x_i'b + u_i + e_i`` with
``e_i ~ N(0, v_i)`` and ``u_i ~ N(0, tau2)`` (``tau2 = 0`` for ``method="FE"``). With weights
``w_i = 1/(v_i + tau2)``, ``b = (X'WX)^-1 X'Wy`` and ``Var(b) = (X'WX)^-1``; the residual
``tau2`` comes from :func:`ketameta.frequentist.estimate_tau2` with the design matrix ``X``.

- Tests of coefficients: Wald ``z`` (``test="z"``) or Knapp & Hartung (2003) ``t`` with
  ``k - p`` df, where ``Var(b)`` is scaled by ``s2w = RSS / (k - p)`` (``test="knha"``).
- Omnibus test ``QM = b_m' Var(b_m)^-1 b_m`` of all coefficients except the intercept
  (Viechtbauer 2010 eq. 13): chi-square on ``m`` df, or ``QM/m ~ F(m, k - p)`` for ``knha``
  (metafor's ``QM``, ``QMdf``, ``QMp``).
- Residual heterogeneity ``QE = y'P y`` with fixed-effect weights ``w_i = 1/v_i`` and
  ``P = W - WX(X'WX)^-1X'W`` (Hedges & Olkin 1985; Viechtbauer 2010 eq. 12), chi-square on
  ``k - p`` df.
- Residual ``I2 = 100 tau2 / (tau2 + s2)`` and ``H2 = (tau2 + s2) / s2`` with the typical
  within-study variance ``s2 = (k - p) / tr(P)`` (Higgins & Thompson 2002, generalised as
  metafor); for ``method="FE"``, ``I2 = max(0, 100 (QE - (k-p)) / QE)`` and ``H2 = QE / (k-p)``.
- Pseudo ``R2 = max(0, 100 (tau2_RE - tau2) / tau2_RE)`` (Raudenbush 2009; Lopez-Lopez et al.
  2014), ``tau2_RE`` from the intercept-only model with the same estimator, and ``R2 = 0`` when
  ``tau2_RE = 0`` (metafor's rule); for ``method="FE"`` the adjusted R^2 of the weighted least
  squares regression, as metafor. Not defined for models without an intercept.
- tau2 CI: Q-profile (Viechtbauer 2007) via :func:`ketameta.frequentist.q_profile_ci`.

Subgroup analysis (Borenstein et al. 2009 ch. 19; Cochrane Handbook 10.11.3.1): random-effects
fits within each level (separate tau2, :func:`ketameta.frequentist.rma`) and three tests of
subgroup differences: ``separate`` (Q-between of a fixed-effect meta-analysis of the subgroup
estimates, as RevMan), ``fixed`` (QM of the fixed-effect model with the subgroup as moderator)
and ``common_tau2`` (QM of the mixed-effects model, one tau2 shared by all subgroups).

Design matrices follow R's ``model.matrix`` with treatment contrasts: numeric columns are used
as they are; string, categorical and boolean columns are dummy coded against their first level
(sorted order for strings and booleans, category order for a pandas ``Categorical``), named
column + level as metafor (``allocrandom``). Without an intercept the first categorical column
gets one indicator per level (cell means), as R does.

Known difference from metafor 3.8.1: for a model *without* an intercept whose columns do not
span the constant (e.g. ``mods=~ablat - 1``), metafor computes ``QE`` and the tau2 estimators from
mean-centred ``yi``; we use ``yi`` (the residual sum of squares of the fitted model). Cell-means
models (``~alloc - 1``) and every model with an intercept agree.

Degenerate inputs never raise: the result has ``converged=False`` and ``note`` says why
(no studies, ``k <= p``, a constant or collinear moderator, a failed tau2 estimator).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace

import numpy as np
import pandas as pd
from scipy import stats

from .frequentist import (
    TAU2_METHODS,
    TESTS,
    MetaResult,
    _p_matrix,
    _wls,
    estimate_tau2,
    q_profile_ci,
    rma,
)

METHODS = ("FE", *TAU2_METHODS)
SUBGROUP_TESTS = ("separate", "fixed", "common_tau2")
_RSS_EPS = np.finfo(float).eps  # metafor: s2w = 0 when the Knapp-Hartung RSS is below this


def _wls_qr(y: np.ndarray, w: np.ndarray, X: np.ndarray):
    """Weighted least squares by QR of ``sqrt(W) X``, as metafor's ``.invcalc``.

    Returns ``(beta, (X'WX)^-1, RSS)``. Inverting ``X'WX`` directly loses ~cond(X)^2 digits with
    covariates such as calendar years; the QR route loses ~cond(X).
    """
    sw = np.sqrt(w)
    q, r = np.linalg.qr(sw[:, None] * X)
    # R is p x p and triangular; numpy's LU solve is as accurate here and far cheaper to call
    # than scipy.linalg.solve_triangular
    r_inv = np.linalg.inv(r)
    beta = r_inv @ (q.T @ (sw * y))
    resid = y - X @ beta
    return beta, r_inv @ r_inv.T, float(np.sum(w * resid**2))


def _basis(X: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the column space of ``X``.

    tau2 estimators, QE, tr(P) and the Q-profile depend on ``X`` only through its column space
    (``P`` is unchanged by ``X -> XA``; Viechtbauer 2005), so the engine gets a well-conditioned
    design with the same answers.
    """
    return np.linalg.qr(X)[0]


# --------------------------------------------------------------------------------------------
# Design matrix
# --------------------------------------------------------------------------------------------


def _is_categorical(s: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


def _levels(s: pd.Series) -> list:
    """Levels of a categorical column in R's order: categories as given, else sorted."""
    values = s.dropna()
    if isinstance(s.dtype, pd.CategoricalDtype):
        present = set(values)
        return [c for c in s.cat.categories if c in present]
    return sorted(set(values))


def _level_label(value) -> str:
    # R prints logical levels as TRUE/FALSE, so a boolean column b gives the term bTRUE
    if isinstance(value, bool | np.bool_):
        return "TRUE" if value else "FALSE"
    return str(value)


def design_matrix(
    mods: pd.DataFrame, intercept: bool = True
) -> tuple[np.ndarray, tuple[str, ...], list[str]]:
    """Model matrix of ``mods`` with treatment contrasts, as R's ``model.matrix`` (metafor).

    Returns ``(X, names, problems)``. Rows with a missing covariate are NaN in ``X``.
    ``problems`` lists moderators that cannot be estimated (constant numeric column next to an
    intercept, factor with a single level); the caller reports them instead of fitting, where
    metafor drops the column with a warning (or stops, for a single-level factor). Collinearity
    among the studies actually used is checked by :func:`meta_regression`.
    """
    n = len(mods)
    cols: list[np.ndarray] = []
    names: list[str] = []
    problems: list[str] = []
    if intercept:
        cols.append(np.ones(n))
        names.append("intrcpt")
    full_coding = not intercept  # R: first factor of a model without intercept gets all levels
    for col in mods.columns:
        s = mods[col]
        if _is_categorical(s):
            lev = _levels(s)
            if len(lev) < 2:
                problems.append(f"moderator {col!r} has a single level (constant)")
                continue
            use = lev if full_coding else lev[1:]
            full_coding = False
            missing = s.isna().to_numpy()
            for lv in use:
                d = (s == lv).to_numpy(dtype=float)
                d[missing] = np.nan
                cols.append(d)
                names.append(f"{col}{_level_label(lv)}")
        else:
            x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
            obs = x[np.isfinite(x)]
            if intercept and obs.size and np.ptp(obs) == 0:
                problems.append(f"moderator {col!r} is constant (collinear with the intercept)")
                continue
            cols.append(x)
            names.append(str(col))
    X = np.column_stack(cols) if cols else np.empty((n, 0))
    return X, tuple(names), problems


# --------------------------------------------------------------------------------------------
# Meta-regression
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetaRegression:
    """A fitted mixed-effects (or fixed-effect) meta-regression, metafor's ``rma(mods=)``.

    Coefficient-level fields are tuples aligned with ``terms``. ``stat`` is z (``test="z"``) or
    t with ``df = k - p`` (``test="knha"``). ``qm`` is chi-square on ``qm_df1`` df, or
    ``F(qm_df1, qm_df2)`` for knha; ``qm_btt`` are the 0-based coefficients it tests. ``i2``,
    ``h2`` and ``r2`` are percentages / ratios as metafor prints them; ``r2`` is NaN without an
    intercept. When ``converged`` is false the numbers are NaN and ``note`` gives the reason.
    """

    k: int
    p: int
    method: str
    test: str
    level: float
    intercept: bool
    moderators: tuple[str, ...]
    terms: tuple[str, ...]
    coef: tuple[float, ...]
    se: tuple[float, ...]
    stat: tuple[float, ...]
    pval: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    df: float
    qm: float
    qm_df1: int
    qm_df2: float
    qm_p: float
    qm_btt: tuple[int, ...]
    qe: float
    qe_df: int
    qe_p: float
    tau2: float
    tau2_ci_low: float
    tau2_ci_high: float
    i2: float
    h2: float
    r2: float
    converged: bool
    note: str

    @property
    def stat_dist(self) -> str:
        return "t" if self.test == "knha" else "z"

    @property
    def qm_dist(self) -> str:
        return "F" if self.test == "knha" else "chisq"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def to_frame(self, analysis: str = "metareg"):
        """Tidy :class:`pandas.DataFrame`: one row per coefficient, model fields repeated.

        A model that could not be fitted and has no terms gives one row with an empty term.
        """
        model = {
            "qm": self.qm,
            "qm_df1": self.qm_df1,
            "qm_df2": self.qm_df2,
            "qm_p": self.qm_p,
            "qe": self.qe,
            "qe_df": self.qe_df,
            "qe_p": self.qe_p,
            "tau2": self.tau2,
            "tau2_ci_low": self.tau2_ci_low,
            "tau2_ci_high": self.tau2_ci_high,
            "i2": self.i2,
            "h2": self.h2,
            "r2": self.r2,
            "k": self.k,
            "p": self.p,
            "method": self.method,
            "test": self.test,
            "level": self.level,
            "converged": self.converged,
            "note": self.note,
        }
        moderator = " + ".join(self.moderators)
        rows = []
        terms = self.terms or ("",)
        for i, term in enumerate(terms):
            coef = [self.coef, self.se, self.stat, self.pval, self.ci_low, self.ci_high]
            vals = [c[i] if i < len(c) else math.nan for c in coef]
            rows.append(
                {
                    "analysis": analysis,
                    "moderator": moderator,
                    "term": term,
                    "estimate": vals[0],
                    "se": vals[1],
                    "stat": vals[2],
                    "stat_dist": self.stat_dist,
                    "df": self.df,
                    "pval": vals[3],
                    "ci_low": vals[4],
                    "ci_high": vals[5],
                    **model,
                }
            )
        return pd.DataFrame(rows, columns=FRAME_COLUMNS)


FRAME_COLUMNS = (
    "analysis",
    "moderator",
    "term",
    "estimate",
    "se",
    "stat",
    "stat_dist",
    "df",
    "pval",
    "ci_low",
    "ci_high",
    "qm",
    "qm_df1",
    "qm_df2",
    "qm_p",
    "qe",
    "qe_df",
    "qe_p",
    "tau2",
    "tau2_ci_low",
    "tau2_ci_high",
    "i2",
    "h2",
    "r2",
    "k",
    "p",
    "method",
    "test",
    "level",
    "converged",
    "note",
)


def _failed(k, p, method, test, level, intercept, moderators, terms, note) -> MetaRegression:
    nan = math.nan
    na = tuple(nan for _ in terms)
    return MetaRegression(
        k=k,
        p=p,
        method=method,
        test=test,
        level=level,
        intercept=intercept,
        moderators=moderators,
        terms=terms,
        coef=na,
        se=na,
        stat=na,
        pval=na,
        ci_low=na,
        ci_high=na,
        df=nan,
        qm=nan,
        qm_df1=0,
        qm_df2=nan,
        qm_p=nan,
        qm_btt=(),
        qe=nan,
        qe_df=k - p,
        qe_p=nan,
        tau2=nan,
        tau2_ci_low=nan,
        tau2_ci_high=nan,
        i2=nan,
        h2=nan,
        r2=nan,
        converged=False,
        note=note,
    )


def _as_frame(mods, n: int) -> pd.DataFrame:
    if mods is None:
        return pd.DataFrame(index=range(n))
    if isinstance(mods, pd.Series):
        return mods.reset_index(drop=True).to_frame(name=mods.name or "mod")
    frame = pd.DataFrame(mods)
    if frame.shape[1] == 0:  # no moderators at all: intercept-only model
        return pd.DataFrame(index=range(n))
    return frame.reset_index(drop=True)


def _fe_r2(y: np.ndarray, w: np.ndarray, X: np.ndarray, k: int, p: int) -> float:
    """Adjusted R^2 of the weighted regression, as metafor's ``lm(yi ~ X, weights=wi)``."""
    if np.var(y) == 0:
        return 0.0
    beta, _, rss = _wls_qr(y, w, X)
    fitted = X @ beta
    mean = np.sum(w * fitted) / np.sum(w)
    mss = float(np.sum(w * (fitted - mean) ** 2))
    r2 = mss / (mss + rss)
    return max(0.0, 100 * (1 - (1 - r2) * (k - 1) / (k - p)))


def meta_regression(
    yi,
    vi,
    mods: pd.DataFrame | Mapping | pd.Series | None,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    intercept: bool = True,
) -> MetaRegression:
    """Fit ``rma(yi, vi, mods=~..., method=method, test=test)`` with the columns of ``mods``.

    Studies with a missing ``yi``, ``vi`` or covariate, or with ``vi <= 0``, are left out (metafor
    omits missing values with a warning); ``k`` counts the studies used.
    """
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}; choose from {TESTS}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {METHODS}")
    y = np.asarray(yi, float)
    v = np.asarray(vi, float)
    frame = _as_frame(mods, len(y))
    if not (len(y) == len(v) == len(frame)):
        raise ValueError(f"yi, vi and mods differ in length: {len(y)}, {len(v)}, {len(frame)}")
    moderators = tuple(str(c) for c in frame.columns)
    X_all, terms, problems = design_matrix(frame, intercept)
    keep = np.isfinite(y) & np.isfinite(v) & (v > 0) & np.all(np.isfinite(X_all), axis=1)
    y, v, X = y[keep], v[keep], X_all[keep]
    k, p = X.shape
    note: list[str] = []
    if (~keep).any():
        dropped = int((~keep).sum())
        note.append(
            f"{dropped} of {keep.size} studies omitted (missing yi/vi/moderator or vi <= 0)"
        )

    def fail(reason: str) -> MetaRegression:
        return _failed(
            k, p, method, test, level, intercept, moderators, terms, "; ".join([*note, reason])
        )

    if problems:
        return fail("; ".join(problems))
    if p == 0:
        return fail("no intercept and no moderators: nothing to estimate")
    if k == 0:
        return fail("no studies")
    if k <= p:
        return fail(f"k <= p ({k} studies, {p} coefficients): no residual df to fit the model")
    # a moderator can vary overall yet be constant among the studies kept (or two can coincide)
    if np.linalg.matrix_rank(X) < p:
        return fail("moderators are collinear among the studies used (design not of full rank)")

    Xb = _basis(X)
    if method == "FE":
        tau2 = 0.0
    else:
        tau2, ok, msg = estimate_tau2(y, v, Xb, method)
        if msg:
            note.append(msg)
        if not ok:
            return fail("tau2 estimator failed")

    w = 1.0 / (v + tau2)
    beta, vb, rss = _wls_qr(y, w, X)
    df_res = k - p
    if test == "knha":
        if method == "FE":
            note.append("knha is not meant for fixed-effect models (metafor warns)")
        # metafor: an exact fit (RSS ~ 0) gives s2w = 0, i.e. zero standard errors
        s2w = rss / df_res if rss > _RSS_EPS else 0.0
        if s2w == 0.0:
            note.append("knha: residual RSS is 0, standard errors are 0")
        vb = s2w * vb
        df = float(df_res)
    else:
        df = math.inf
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
    # scipy's frozen distributions cost ~1 ms each to build; call the functions directly
    if test == "knha":
        pval = 2 * stats.t.sf(np.abs(stat), df_res)
        crit = float(stats.t.isf((1 - level) / 2, df_res))
    else:
        pval = 2 * stats.norm.sf(np.abs(stat))
        crit = float(stats.norm.isf((1 - level) / 2))
    ci_low, ci_high = beta - crit * se, beta + crit * se

    # omnibus test of all coefficients except the intercept (all of them when there is none)
    btt = list(range(1, p)) if (intercept and p > 1) else list(range(p))
    m = len(btt)
    try:
        sub = vb[np.ix_(btt, btt)]
        np.linalg.cholesky(sub)  # metafor's chol2inv(chol()): QM is NA for a singular block
        qm = float(beta[btt] @ np.linalg.solve(sub, beta[btt]))
    except np.linalg.LinAlgError:
        qm = math.nan
    if test == "knha":
        qm /= m
        qm_df2 = float(df_res)
        qm_p = float(stats.f.sf(qm, m, df_res))
    else:
        qm_df2 = math.nan
        qm_p = float(stats.chi2.sf(qm, m))

    w_fe = 1.0 / v
    qe = max(0.0, _wls(y, w_fe, Xb)[2])
    qe_p = float(stats.chi2.sf(qe, df_res))
    s2 = df_res / float(np.trace(_p_matrix(w_fe, Xb)))
    if method == "FE":
        # QE = 0 gives -inf before truncation in metafor, i.e. I2 = 0
        i2 = max(0.0, 100 * (qe - df_res) / qe) if qe > 0 else 0.0
        h2 = qe / df_res
        tau2_ci = (math.nan, math.nan)
    else:
        i2 = 100 * tau2 / (s2 + tau2)
        h2 = (s2 + tau2) / s2
        lb, ub, ci_note = q_profile_ci(y, v, tau2, level, Xb)
        if ci_note:
            note.append(ci_note)
        tau2_ci = (lb, ub)

    r2 = math.nan
    if intercept and p > 1:
        if method == "FE":
            r2 = _fe_r2(y, w_fe, X, k, p)
        else:
            tau2_re, ok_re, _ = estimate_tau2(y, v, None, method)
            if not ok_re:
                note.append("R2: tau2 of the intercept-only model could not be estimated")
            elif tau2_re == 0:
                r2 = 0.0
            else:
                r2 = max(0.0, 100 * (tau2_re - tau2) / tau2_re)

    return MetaRegression(
        k=k,
        p=p,
        method=method,
        test=test,
        level=level,
        intercept=intercept,
        moderators=moderators,
        terms=terms,
        coef=tuple(float(b) for b in beta),
        se=tuple(float(s) for s in se),
        stat=tuple(float(s) for s in stat),
        pval=tuple(float(s) for s in pval),
        ci_low=tuple(float(c) for c in ci_low),
        ci_high=tuple(float(c) for c in ci_high),
        df=df,
        qm=float(qm),
        qm_df1=m,
        qm_df2=qm_df2,
        qm_p=qm_p,
        qm_btt=tuple(btt),
        qe=float(qe),
        qe_df=df_res,
        qe_p=qe_p,
        tau2=float(tau2),
        tau2_ci_low=float(tau2_ci[0]),
        tau2_ci_high=float(tau2_ci[1]),
        i2=float(i2),
        h2=float(h2),
        r2=float(r2),
        converged=True,
        note="; ".join(note),
    )


# --------------------------------------------------------------------------------------------
# Subgroup analysis
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubgroupLevels:
    """Per-subgroup random-effects fits (separate tau2), in level order."""

    names: tuple[str, ...]
    fits: tuple[MetaResult, ...]

    def __getitem__(self, name: str) -> MetaResult:
        return self.fits[self.names.index(name)]

    def __iter__(self) -> Iterator[tuple[str, MetaResult]]:
        return iter(zip(self.names, self.fits, strict=True))

    def __len__(self) -> int:
        return len(self.names)

    def to_dict(self) -> dict[str, dict[str, object]]:
        return {n: f.to_dict() for n, f in self}

    def to_frame(self):
        """One row per subgroup: ``subgroup`` followed by the :class:`MetaResult` fields."""
        cols = ["subgroup", *(f.name for f in fields(MetaResult))]
        return pd.DataFrame([{"subgroup": n, **f.to_dict()} for n, f in self], columns=cols)


@dataclass(frozen=True)
class SubgroupTest:
    """One test of subgroup differences (Q-between).

    ``dist`` is ``chisq`` (``df2`` NaN) or ``F`` (``common_tau2`` with knha). ``tau2`` is the
    common tau2 for ``common_tau2`` and NaN otherwise.
    """

    test: str
    stat: float
    df1: int
    df2: float
    dist: str
    pval: float
    n_levels: int
    k: int
    tau2: float
    converged: bool
    note: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def to_frame(self):
        return pd.DataFrame([self.to_dict()], columns=[f.name for f in fields(self)])


@dataclass(frozen=True)
class SubgroupTests:
    """The three tests of subgroup differences: ``separate``, ``fixed``, ``common_tau2``."""

    tests: tuple[SubgroupTest, ...]

    def __getitem__(self, name: str) -> SubgroupTest:
        for t in self.tests:
            if t.test == name:
                return t
        raise KeyError(name)

    def __iter__(self) -> Iterator[SubgroupTest]:
        return iter(self.tests)

    def __len__(self) -> int:
        return len(self.tests)

    def to_dict(self) -> dict[str, dict[str, object]]:
        return {t.test: t.to_dict() for t in self.tests}

    def to_frame(self):
        return pd.DataFrame(
            [t.to_dict() for t in self.tests], columns=[f.name for f in fields(SubgroupTest)]
        )


@dataclass(frozen=True)
class SubgroupAnalysis:
    """Subgroup analysis: per-level fits and tests of subgroup differences.

    ``converged`` is true when all three tests could be computed; ``note`` collects why not.
    """

    by: str
    method: str
    test: str
    level: float
    k: int
    levels: SubgroupLevels
    tests: SubgroupTests
    converged: bool
    note: str

    def to_dict(self) -> dict[str, object]:
        return {
            "by": self.by,
            "method": self.method,
            "test": self.test,
            "level": self.level,
            "k": self.k,
            "levels": self.levels.to_dict(),
            "tests": self.tests.to_dict(),
            "converged": self.converged,
            "note": self.note,
        }

    def to_frame(self):
        """Per-level frame with ``by`` and each test's statistic, df and p repeated per row."""
        frame = self.levels.to_frame()
        frame.insert(0, "by", self.by)
        for t in self.tests:
            frame[f"{t.test}_stat"] = t.stat
            frame[f"{t.test}_df1"] = t.df1
            frame[f"{t.test}_df2"] = t.df2
            frame[f"{t.test}_p"] = t.pval
        return frame


def _test_failed(name: str, n_levels: int, k: int, note: str) -> SubgroupTest:
    nan = math.nan
    return SubgroupTest(
        name, nan, max(n_levels - 1, 0), nan, "chisq", nan, n_levels, k, nan, False, note
    )


def _qm_test(name: str, fit: MetaRegression, n_levels: int) -> SubgroupTest:
    if not fit.converged:
        return _test_failed(name, n_levels, fit.k, fit.note)
    return SubgroupTest(
        test=name,
        stat=fit.qm,
        df1=fit.qm_df1,
        df2=fit.qm_df2,
        dist=fit.qm_dist,
        pval=fit.qm_p,
        n_levels=n_levels,
        k=fit.k,
        tau2=fit.tau2 if name == "common_tau2" else math.nan,
        converged=True,
        note=fit.note,
    )


def _group_levels(g: pd.Series) -> list:
    if isinstance(g.dtype, pd.CategoricalDtype):
        present = set(g.dropna())
        return [c for c in g.cat.categories if c in present]
    return sorted(set(g.dropna()))


def subgroup_analysis(
    yi,
    vi,
    groups: Sequence | pd.Series,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
) -> SubgroupAnalysis:
    """Random-effects fits per subgroup and the three tests of subgroup differences.

    ``groups`` gives each study's subgroup (a missing value leaves the study out). Levels are in
    sorted order (category order for a pandas ``Categorical``). A level with a single study
    gets a row with ``tau2 = 0`` (metafor's k = 1 fit: the study itself, z interval).
    """
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}; choose from {TESTS}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {METHODS}")
    y = np.asarray(yi, float)
    v = np.asarray(vi, float)
    g = groups.reset_index(drop=True) if isinstance(groups, pd.Series) else pd.Series(groups)
    if not (len(y) == len(v) == len(g)):
        raise ValueError(f"yi, vi and groups differ in length: {len(y)}, {len(v)}, {len(g)}")
    by = str(g.name) if g.name is not None else "group"
    keep = (np.isfinite(y) & np.isfinite(v) & (v > 0) & g.notna().to_numpy()).astype(bool)
    y, v, g = y[keep], v[keep], g[keep].reset_index(drop=True)
    k = len(y)
    note: list[str] = []
    if (~keep).any():
        note.append(
            f"{int((~keep).sum())} of {keep.size} studies omitted (missing yi/vi/group or vi <= 0)"
        )

    lev = _group_levels(g)
    names = tuple(_level_label(x) for x in lev)
    fits = []
    for lv in lev:
        mask = (g == lv).to_numpy()
        fit = rma(y[mask], v[mask], method=method, test=test, level=level)
        if fit.k == 1:
            # metafor fits a single study with tau2 = 0, QE = 0 (p = 1), I2 = 0, H2 = 1
            fit = replace(fit, tau2=0.0, i2=0.0, h2=1.0, q=0.0, q_df=0, q_p=1.0)
        fits.append(fit)
    levels = SubgroupLevels(names, tuple(fits))

    n_lev = len(lev)
    if n_lev < 2:
        reason = f"{n_lev} subgroup level(s): no test of subgroup differences"
        tests = tuple(_test_failed(t, n_lev, k, reason) for t in SUBGROUP_TESTS)
        return SubgroupAnalysis(
            by,
            method,
            test,
            level,
            k,
            levels,
            SubgroupTests(tests),
            False,
            "; ".join([*note, reason]),
        )

    # (a) separate tau2: fixed-effect meta-analysis of the subgroup estimates (RevMan)
    ok = [f for f in fits if f.converged and np.isfinite(f.estimate) and f.se > 0]
    if len(ok) < 2:
        sep = _test_failed("separate", n_lev, k, "fewer than 2 subgroups could be fitted")
    else:
        est = np.array([f.estimate for f in ok])
        se = np.array([f.se for f in ok])
        fe = rma(est, se**2, method="FE")
        sep_note = "" if len(ok) == n_lev else f"{n_lev - len(ok)} subgroup fit(s) failed, left out"
        sep = SubgroupTest(
            "separate",
            fe.q,
            fe.q_df,
            math.nan,
            "chisq",
            fe.q_p,
            len(ok),
            k,
            math.nan,
            True,
            sep_note,
        )

    # (b) and (c): the subgroup as a categorical moderator
    mods = pd.DataFrame({by: pd.Categorical(g, categories=lev)})
    fixed = _qm_test("fixed", meta_regression(y, v, mods, "FE", "z", level), n_lev)
    common = _qm_test("common_tau2", meta_regression(y, v, mods, method, test, level), n_lev)
    tests = SubgroupTests((sep, fixed, common))
    failed = [t.test for t in tests if not t.converged]
    if failed:
        note.append("test(s) not available: " + ", ".join(failed))
    return SubgroupAnalysis(by, method, test, level, k, levels, tests, not failed, "; ".join(note))
