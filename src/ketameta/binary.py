"""Fixed-effect and GLMM methods for binary data, at parity with metafor's ``rma.mh``,
``rma.peto`` and ``rma.glmm`` (metafor 3.8-1 with lme4 1.1-31).

All methods work on the raw counts: ``ai`` events of ``n1i`` in the treatment group, ``ci`` events
of ``n2i`` in the control group (``bi = n1i - ai``, ``di = n2i - ci``, ``N = n1i + n2i``).

Fixed-effect methods (no continuity correction in the pooled estimate, as metafor's defaults
``add = c(1/2, 0)``, ``to = c("only0", "none")``, ``drop00 = c(TRUE, FALSE)``):

- :func:`mantel_haenszel`: Mantel & Haenszel (1959) pooled OR ``R/S`` with ``R = sum(a d / N)``,
  ``S = sum(b c / N)`` and the variance of its log by Robins, Breslow & Greenland (1986); pooled RR
  ``sum(a n2 / N) / sum(c n1 / N)`` with the variance of Greenland & Robins (1985); pooled RD
  ``sum((a n2 - c n1) / N) / sum(n1 n2 / N)`` with the variance of Sato, Greenland & Robins
  (1989), the one metafor uses. For the OR also the Cochran-Mantel-Haenszel test (with continuity
  correction by default, Mantel & Haenszel 1959), the Breslow-Day test of homogeneity
  (Breslow & Day 1980) and Tarone's (1985) corrected version.
- :func:`peto`: Peto's one-step OR (Yusuf et al. 1985): ``sum(a - E) / sum(V)`` with the
  hypergeometric mean ``E = (a + c) n1 / N`` and variance
  ``V = (a + c)(b + d) n1 n2 / (N^2 (N - 1))``; heterogeneity
  ``Q = sum((a - E)^2 / V) - sum(a - E)^2 / sum(V)``.

Which studies count (as metafor): a study with no events, or only events, in both groups
("double zero") contributes nothing to the MH OR and RR and to Peto's OR (all its terms are zero)
but is kept in the MH RD weights ``n1 n2 / N``; it is counted in ``k`` but left out of the
heterogeneity Q, whose degrees of freedom are ``k_yi - 1``. The MH Q is Cochran's Q of metafor's
``escalc`` effects (1/2 added to every cell of a study with a zero cell) around the MH estimate.

GLMMs (binomial-normal models; Stijnen, Hamza & Ozdemir 2010), fitted by maximum likelihood:

- :func:`glmm_plo`: random-intercept logistic model for single-arm proportions,
  ``logit p_i = mu + u_i``, ``u_i ~ N(0, tau2)`` (``rma.glmm(measure="PLO")``).
- :func:`glmm_or_umfs`: unconditional model with fixed study effects (``model="UM.FS"``).
  metafor fits ``glmer(cbind(x, n - x) ~ -1 + group1 + study + (group12 - 1 | study))``, with
  ``group1`` = 1 for the treatment arm, 0 for control, and ``group12`` = +1/2 / -1/2, i.e.
  ``logit p_i1 = alpha_i + mu + u_i / 2`` and ``logit p_i2 = alpha_i - u_i / 2`` with
  ``u_i ~ N(0, tau2)``; the study-specific log OR is ``mu + u_i``. Double-zero studies are dropped.

The random effect is integrated out by adaptive Gauss-Hermite quadrature (Liu & Pierce 1994),
centred at each study's conditional mode and scaled by the curvature there. metafor calls ``glmer``
with ``nAGQ = 7`` for both models (its default; only ``UM.RS`` is forced to the Laplace
approximation), so ``nagq = 7`` is the default here too: the estimates are then those of the
7-point AGQ likelihood, which differ from the exactly integrated likelihood in the fifth or sixth
decimal (``nagq=40`` gives the latter). ``nagq = 1`` is the Laplace approximation. The study
effects of ``UM.FS`` are profiled out (each enters one study's likelihood only); ``(mu, tau)`` are
found by Newton steps with finite-difference derivatives (Nelder-Mead on ``tau >= 0`` where Newton
fails or ``tau`` reaches the boundary 0). The SE of ``mu`` is from the numerical Hessian of the
deviance in ``(mu, tau)`` (of the profile deviance for ``UM.FS``, which equals the Schur
complement of the full Hessian), as lme4's ``vcov`` uses the finite-difference Hessian in
``(theta, beta)``; at an interior optimum this block does not depend on how ``tau`` is
parameterised.

Heterogeneity tests (metafor's ``QE.Wld`` and ``QE.LRT``, ``k - 1`` df): the Wald test of the
study-by-group terms of the saturated GLM, which equals Cochran's Q of the uncorrected logits
(log ORs) with the inverse-information variances ``1/x + 1/(n - x)`` (Woolf's variance); studies
with a zero cell have an infinite saturated coefficient with infinite variance and contribute 0
(the limit that R's ``glm`` approaches numerically); and the likelihood-ratio test of the
saturated against the fixed-effect GLM. ``I2`` and ``H2`` use ``tau2`` with the typical
within-study variance of the ``escalc`` effects (metafor's ``i2def = "1"``).

metafor's ``loglik`` for lme4 fits is ``ll_saturated - deviance/2`` where ``deviance`` is lme4's
``deviance()`` for a GLMM: the *conditional* deviance, the sum of squared deviance residuals at the
conditional modes of the random effects. It is not the marginal log-likelihood (which is
``loglik_marginal`` here, on the same scale, binomial coefficients included); both are reported.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from ketameta.effects import binary_effects, proportion_effects

MH_MEASURES = ("OR", "RR", "RD")


class _Result:
    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def to_frame(self):
        """One-row :class:`pandas.DataFrame` with the fields as columns."""
        import pandas as pd

        return pd.DataFrame([self.to_dict()], columns=[f.name for f in fields(self)])


@dataclass(frozen=True)
class FixedBinaryResult(_Result):
    """A Mantel-Haenszel or Peto fit (``rma.mh`` / ``rma.peto``).

    ``estimate`` is on the analysis scale (log OR, log RR, RD). ``k`` counts all tables, ``k_yi``
    those with an ``escalc`` effect (the Q test uses ``k_yi - 1`` df), ``k_pos`` the tables used by
    the Breslow-Day test (MH OR) or with a positive Peto variance. ``cmh``, ``breslow_day`` and
    ``tarone`` are NaN except for the MH OR. ``converged`` is false, with the reason in ``note``,
    when the estimate is undefined (e.g. no events in one group of every study).
    """

    model: str
    method: str
    measure: str
    k: int
    k_yi: int
    k_pos: int
    estimate: float
    se: float
    stat: float
    pval: float
    ci_low: float
    ci_high: float
    tau2: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_p: float
    cmh: float
    cmh_p: float
    breslow_day: float
    breslow_day_p: float
    tarone: float
    tarone_p: float
    level: float
    converged: bool
    note: str


@dataclass(frozen=True)
class GLMMResult(_Result):
    """A binomial-normal GLMM fitted by ML (``rma.glmm``).

    ``glmm`` is ``"PLO"`` (random-intercept logistic model) or ``"UM.FS"``. ``q``/``q_p`` are the
    Wald-type heterogeneity test and ``q_lrt``/``q_lrt_p`` the likelihood-ratio test, both with
    ``q_df = k - 1``. ``loglik`` and ``deviance`` follow metafor (see the module docstring);
    ``loglik_marginal`` is the AGQ marginal log-likelihood. ``nagq`` is the number of quadrature
    points. The prediction interval is ``estimate +/- z sqrt(se^2 + tau2)`` (metafor's
    ``predict.rma`` for ``rma.glmm``).
    """

    model: str
    method: str
    measure: str
    glmm: str
    k: int
    estimate: float
    se: float
    stat: float
    pval: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    tau2: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_p: float
    q_lrt: float
    q_lrt_p: float
    loglik: float
    loglik_marginal: float
    deviance: float
    nagq: int
    level: float
    converged: bool
    note: str


# ---------------------------------------------------------------------------------------------
# Input handling
# ---------------------------------------------------------------------------------------------


def _two_group(ai, n1i, ci, n2i) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    a, n1, c, n2 = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (ai, n1i, ci, n2i))
    if not (a.shape == n1.shape == c.shape == n2.shape) or a.ndim != 1:
        raise ValueError("ai, n1i, ci and n2i must be one-dimensional and of equal length")
    keep = np.isfinite(a) & np.isfinite(n1) & np.isfinite(c) & np.isfinite(n2)
    note = ""
    if not keep.all():
        dropped = int((~keep).sum())
        note = f"{dropped} {'study' if dropped == 1 else 'studies'} with missing counts omitted"
        a, n1, c, n2 = a[keep], n1[keep], c[keep], n2[keep]
    if np.any(a < 0) or np.any(c < 0) or np.any(a > n1) or np.any(c > n2):
        raise ValueError("counts must satisfy 0 <= events <= total in each group")
    if np.any(n1 <= 0) or np.any(n2 <= 0):
        raise ValueError("every group needs at least one participant")
    return a, n1, c, n2, note


def _double_zero(a, n1, c, n2) -> np.ndarray:
    return ((a == 0) & (c == 0)) | ((a == n1) & (c == n2))


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _z_summary(est: float, se: float, level: float) -> tuple[float, float, float, float]:
    from scipy.stats import norm

    if not (math.isfinite(est) and math.isfinite(se) and se > 0):
        return math.nan, math.nan, math.nan, math.nan
    crit = float(norm.isf((1 - level) / 2))
    stat = est / se
    return stat, float(2 * norm.sf(abs(stat))), est - crit * se, est + crit * se


def _chi2_sf(x: float, df: int) -> float:
    from scipy.stats import chi2

    if not math.isfinite(x) or df < 1:
        return math.nan
    return float(chi2.sf(x, df))


def _fixed_q(yi, vi, beta: float) -> tuple[float, int, float, float, float]:
    """metafor's inverse-variance Q around ``beta``, with I2 and H2 (``k_yi - 1`` df)."""
    ok = np.isfinite(yi) & np.isfinite(vi)
    y, v = yi[ok], vi[ok]
    k_yi = int(ok.sum())
    if k_yi <= 1:
        return 0.0, 0, 1.0, 0.0, 1.0
    if not math.isfinite(beta):
        return math.nan, k_yi - 1, math.nan, math.nan, math.nan
    q = max(0.0, float(np.sum((y - beta) ** 2 / v)))
    df = k_yi - 1
    i2 = max(0.0, 100 * (q - df) / q) if q > 0 else 0.0
    return q, df, _chi2_sf(q, df), i2, q / df


def _nan_result(cls, **given):
    """An instance of ``cls`` with every float field NaN except those ``given``."""
    values = {f.name: math.nan for f in fields(cls)}
    values.update(converged=False, **given)
    return cls(**values)


def _nan_fixed(method, measure, k, k_yi, level, note) -> FixedBinaryResult:
    return _nan_result(
        FixedBinaryResult,
        model="fixed",
        method=method,
        measure=measure,
        k=k,
        k_yi=k_yi,
        k_pos=0,
        tau2=0.0,
        q_df=max(k_yi - 1, 0),
        level=level,
        note=note,
    )


# ---------------------------------------------------------------------------------------------
# Mantel-Haenszel and Peto
# ---------------------------------------------------------------------------------------------


def mantel_haenszel(
    ai, n1i, ci, n2i, measure: str = "OR", level: float = 0.95, correct: bool = True
) -> FixedBinaryResult:
    """Mantel-Haenszel fixed-effect estimate of an OR, RR or RD, as metafor's ``rma.mh``.

    Parameters
    ----------
    ai, n1i: events and total in the treatment group; ci, n2i: the same in the control group.
    measure: ``"OR"`` (Mantel & Haenszel 1959; variance Robins, Breslow & Greenland 1986),
        ``"RR"`` (Greenland & Robins 1985) or ``"RD"`` (variance Sato, Greenland & Robins 1989).
    level: confidence level (0.95 for 95% intervals).
    correct: continuity correction of the CMH test (metafor's default ``correct=TRUE``).

    Returns a :class:`FixedBinaryResult`; for the OR it includes the CMH test and the Breslow-Day
    test with Tarone's correction. No continuity correction enters the pooled estimate; studies
    with missing counts are omitted (noted).
    """
    if measure not in MH_MEASURES:
        raise ValueError(f"unknown measure {measure!r}; choose from {MH_MEASURES}")
    a, n1, c, n2, note = _two_group(ai, n1i, ci, n2i)
    k = len(a)
    yi, vi = binary_effects(measure, a, n1, c, n2, add=0.5, to="only0", drop00=True)
    k_yi = int((np.isfinite(yi) & np.isfinite(vi)).sum())
    n00 = int(_double_zero(a, n1, c, n2).sum())
    if n00:
        note = _join(
            note,
            f"{n00} {'study' if n00 == 1 else 'studies'} with no events (or only events) in both "
            f"groups: left out of Q (k_yi = {k_yi})"
            + ("" if measure == "RD" else f", no contribution to the MH {measure}"),
        )
    if k == 0:
        return _nan_fixed("MH", measure, 0, 0, level, _join(note, "no studies"))
    b, d = n1 - a, n2 - c
    N = n1 + n2
    nan = math.nan
    cmh = cmh_p = bd = bd_p = ta = ta_p = nan
    k_pos = 0
    converged = True
    if measure == "OR":
        Pi = (a + d) / N
        Qi = (b + c) / N
        Ri = a * d / N
        Si = b * c / N
        R, S = float(Ri.sum()), float(Si.sum())
        if R == 0 or S == 0:
            psi = est = se = nan
            converged = False
            note = _join(note, "MH OR undefined: R or S is 0 (no informative table)")
        else:
            psi = R / S
            est = math.log(psi)
            se = math.sqrt(
                0.5
                * (
                    float(np.sum(Pi * Ri)) / R**2
                    + float(np.sum(Pi * Si + Qi * Ri)) / (R * S)
                    + float(np.sum(Qi * Si)) / S**2
                )
            )
        xt, yt = a + c, b + d
        if xt.sum() > 0 and yt.sum() > 0:
            dev = abs(float(np.sum(a - n1 / N * xt))) - (0.5 if correct else 0.0)
            cmh = dev**2 / float(np.sum((n1 / N) * (n2 / N) * (xt * (yt / (N - 1)))))
            cmh_p = _chi2_sf(cmh, 1)
        if math.isfinite(psi):
            if psi == 1:
                n11 = n1 / N * xt
            else:
                A = psi * (n1 + xt) + (n2 - xt)
                B = np.sqrt(A**2 - 4 * n1 * xt * psi * (psi - 1))
                n11 = (A - B) / (2 * (psi - 1))
            pos = (n11 > 0) & (xt > 0) & (yt > 0)
            k_pos = int(pos.sum())
            e11 = n11[pos]
            e12 = n1[pos] - e11
            e21 = xt[pos] - e11
            e22 = e11 - n1[pos] - xt[pos] + N[pos]
            inv_var = 1 / e11 + 1 / e12 + 1 / e21 + 1 / e22
            resid = a[pos] - e11
            bd = max(0.0, float(np.sum(resid**2 * inv_var)))
            ta = max(0.0, bd - float(np.sum(resid)) ** 2 / float(np.sum(1 / inv_var)))
            if k_pos > 1:
                bd_p, ta_p = _chi2_sf(bd, k_pos - 1), _chi2_sf(ta, k_pos - 1)
    elif measure == "RR":
        R = float(np.sum(a * (n2 / N)))
        S = float(np.sum(c * (n1 / N)))
        if a.sum() == 0 or c.sum() == 0:
            est = se = nan
            converged = False
            note = _join(note, "MH RR undefined: no events in one group of every study")
        else:
            est = math.log(R / S)
            se = math.sqrt(float(np.sum((n1 / N) * (n2 / N) * (a + c) - (a / N) * c)) / (R * S))
    else:  # RD
        w = float(np.sum(n1 * (n2 / N)))
        est = float(np.sum(a * (n2 / N) - c * (n1 / N))) / w
        p1, p2 = n1 / N, n2 / N
        var = (
            est * float(np.sum(c * p1**2 - a * p2**2 + p1 * p2 * (n2 - n1) / 2))
            + float(np.sum(a * (n2 - c) / N + c * (n1 - a) / N)) / 2
        ) / w**2
        se = math.sqrt(var) if var > 0 else nan
        if not var > 0:
            converged = False
            note = _join(note, "MH RD variance is 0 (no events, or only events, anywhere)")
    stat, pval, lo, hi = _z_summary(est, se, level)
    if not math.isfinite(stat) and converged:
        converged = False
    q, q_df, q_p, i2, h2 = _fixed_q(yi, vi, est)
    return FixedBinaryResult(
        model="fixed",
        method="MH",
        measure=measure,
        k=k,
        k_yi=k_yi,
        k_pos=k_pos,
        estimate=float(est),
        se=float(se),
        stat=stat,
        pval=pval,
        ci_low=lo,
        ci_high=hi,
        tau2=0.0,
        i2=i2,
        h2=h2,
        q=q,
        q_df=q_df,
        q_p=q_p,
        cmh=float(cmh),
        cmh_p=float(cmh_p),
        breslow_day=float(bd),
        breslow_day_p=float(bd_p),
        tarone=float(ta),
        tarone_p=float(ta_p),
        level=level,
        converged=converged,
        note=note,
    )


def peto(ai, n1i, ci, n2i, level: float = 0.95) -> FixedBinaryResult:
    """Peto's one-step log odds ratio (Yusuf et al. 1985), as metafor's ``rma.peto``.

    ``estimate = sum(a - E) / sum(V)``, ``se = 1 / sqrt(sum(V))`` with the hypergeometric mean
    ``E`` and variance ``V`` of ``a`` given the margins; ``Q = sum((a - E)^2 / V) - sum(a - E)^2 /
    sum(V)`` over tables with ``V > 0`` (``k_pos``), on ``k_yi - 1`` df (metafor; ``q_p = 1``,
    ``I2 = 0``, ``H2 = 1`` when ``k_pos < 2``). Tables without events (or non-events) in both
    groups have ``V = 0`` and contribute nothing.
    """
    a, n1, c, n2, note = _two_group(ai, n1i, ci, n2i)
    k = len(a)
    double = _double_zero(a, n1, c, n2)
    k_yi = int((~double).sum())
    if double.any():
        note = _join(
            note,
            f"{int(double.sum())} {'study' if double.sum() == 1 else 'studies'} with no events "
            f"(or only events) in both groups: no contribution (k_yi = {k_yi})",
        )
    if k == 0:
        return _nan_fixed("PETO", "PETO", 0, 0, level, _join(note, "no studies"))
    b, d = n1 - a, n2 - c
    N = n1 + n2
    xt, yt = a + c, b + d
    E = xt * n1 / N
    V = xt * yt * (n1 / N) * (n2 / N) / (N - 1)
    sum_v = float(V.sum())
    if sum_v == 0:
        return _nan_fixed(
            "PETO", "PETO", k, k_yi, level,
            _join(note, "one of the two outcomes never occurred: Peto's method cannot be used"),
        )  # fmt: skip
    o_e = a - E
    est = float(o_e.sum()) / sum_v
    se = math.sqrt(1 / sum_v)
    stat, pval, lo, hi = _z_summary(est, se, level)
    pos = V > 0
    k_pos = int(pos.sum())
    q = max(0.0, float(np.sum(o_e[pos] ** 2 / V[pos])) - float(o_e.sum()) ** 2 / sum_v)
    q_df = max(k_yi - 1, 0)
    if k_pos > 1:
        q_p = _chi2_sf(q, q_df)
        i2 = max(0.0, 100 * (q - q_df) / q) if q > 0 else 0.0
        h2 = q / q_df
    else:
        q_p, i2, h2 = 1.0, 0.0, 1.0
    nan = math.nan
    return FixedBinaryResult(
        model="fixed",
        method="PETO",
        measure="PETO",
        k=k,
        k_yi=k_yi,
        k_pos=k_pos,
        estimate=est,
        se=se,
        stat=stat,
        pval=pval,
        ci_low=lo,
        ci_high=hi,
        tau2=0.0,
        i2=i2,
        h2=h2,
        q=q,
        q_df=q_df,
        q_p=q_p,
        cmh=nan,
        cmh_p=nan,
        breslow_day=nan,
        breslow_day_p=nan,
        tarone=nan,
        tarone_p=nan,
        level=level,
        converged=True,
        note=note,
    )


# ---------------------------------------------------------------------------------------------
# GLMM machinery: per-study marginal likelihood by adaptive Gauss-Hermite quadrature
# ---------------------------------------------------------------------------------------------


def _log_binom(y, n, eta):
    """Binomial log-likelihood kernel ``y log p + (n - y) log(1 - p)``, ``p = expit(eta)``."""
    return y * eta - n * np.logaddexp(0.0, eta)


def _log_choose(y, n) -> float:
    from scipy.special import gammaln

    return float(np.sum(gammaln(n + 1) - gammaln(y + 1) - gammaln(n - y + 1)))


def _saturated_loglik(y, n) -> float:
    from scipy.special import xlogy

    return _log_choose(y, n) + float(np.sum(xlogy(y, y / n) + xlogy(n - y, (n - y) / n)))


def _modes(off, z, y, n, tau: float, u0=None):
    """Conditional modes of the random effect per study (damped Newton) and the curvature there.

    ``off``, ``z``, ``y``, ``n`` have shape ``(k, J)`` (J arms); the linear predictor of arm j of
    study i is ``off[i, j] + z[i, j] * u_i`` with ``u_i ~ N(0, tau^2)``.
    """
    from scipy.special import expit

    k = off.shape[0]
    u = np.zeros(k) if u0 is None else np.array(u0, dtype=float)
    prec = 1.0 / tau**2

    def objective(u):
        return _log_binom(y, n, off + z * u[:, None]).sum(1) - 0.5 * prec * u**2

    f = objective(u)
    for _ in range(200):
        p = expit(off + z * u[:, None])
        grad = (z * (y - n * p)).sum(1) - prec * u
        curv = (z * z * n * p * (1 - p)).sum(1) + prec
        step = grad / curv
        new = u + step
        f_new = objective(new)
        for _ in range(60):  # step halving where the objective did not increase
            worse = f_new < f - 1e-12 * np.abs(f)
            if not worse.any():
                break
            step = np.where(worse, step / 2, step)
            new = u + step
            f_new = objective(new)
        u, f = new, f_new
        if np.max(np.abs(step)) < 1e-12 * max(1.0, float(np.max(np.abs(u)))):
            break
    p = expit(off + z * u[:, None])
    curv = (z * z * n * p * (1 - p)).sum(1) + prec
    return u, curv


def _gh_rule(nagq: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes and log weights for the weight ``exp(-x^2/2)`` (lme4's ``GHrule``)."""
    x, w = np.polynomial.hermite_e.hermegauss(nagq)
    return x, np.log(w) + x**2 / 2


def _study_loglik(off, z, y, n, tau: float, rule, u0=None) -> tuple[np.ndarray, np.ndarray]:
    """Per-study log marginal likelihood (binomial coefficients excluded), AGQ-integrated.

    Returns it with the conditional modes (``u0`` is a warm start for them).
    """
    if tau <= 0:
        return _log_binom(y, n, off).sum(1), np.zeros(off.shape[0])
    x, logw = rule
    u, curv = _modes(off, z, y, n, tau, u0)
    s = 1.0 / np.sqrt(curv)
    uu = u[:, None] + s[:, None] * x[None, :]  # (k, Q)
    eta = off[:, :, None] + z[:, :, None] * uu[:, None, :]
    lg = (
        _log_binom(y[:, :, None], n[:, :, None], eta).sum(1)
        - uu**2 / (2 * tau**2)
        - 0.5 * math.log(2 * math.pi * tau**2)
        + logw[None, :]
    )
    top = lg.max(1)
    return top + np.log(np.exp(lg - top[:, None]).sum(1)) + np.log(s), u


def _conditional_deviance(off, z, y, n, tau: float) -> float:
    """lme4's ``deviance()`` of a GLMM: sum of squared deviance residuals at the modes."""
    from scipy.special import expit, xlogy

    u = _modes(off, z, y, n, tau)[0] if tau > 0 else np.zeros(off.shape[0])
    mu = n * expit(off + z * u[:, None])
    return float(2 * np.sum(xlogy(y, y / mu) + xlogy(n - y, (n - y) / (n - mu))))


class _Model:
    """Binomial-normal GLMM ``logit p_ij = alpha_i a_ij + mu x_ij + u_i z_ij``.

    With ``per_study`` the ``alpha_i`` are fixed study effects (profiled out); otherwise absent.
    """

    def __init__(self, y, n, x, z, per_study: bool, nagq: int):
        self.y, self.n, self.x, self.z = y, n, x, z
        self.per_study = per_study
        self.rule = _gh_rule(nagq)
        self.alpha = np.zeros(y.shape[0])
        self.u = np.zeros(y.shape[0])  # warm start for the conditional modes
        if per_study:  # start at the observed control-arm logits (1/2 added)
            yc, nc = y[:, -1], n[:, -1]
            self.alpha = np.log((yc + 0.5) / (nc - yc + 0.5))

    def offset(self, alpha, mu):
        return (alpha[:, None] if self.per_study else 0.0) + mu * self.x

    def study_ll(self, alpha, mu, tau):
        off = self.offset(alpha, mu)
        ll, u = _study_loglik(off, self.z, self.y, self.n, tau, self.rule, self.u)
        if tau > 0 and np.all(np.isfinite(u)):
            self.u = u
        return ll

    def profile_alpha(self, mu: float, tau: float) -> np.ndarray:
        """Per-study maximisers of the marginal likelihood in ``alpha_i`` (Newton, FD steps)."""
        alpha = self.alpha.copy()
        h = 1e-4
        f0 = self.study_ll(alpha, mu, tau)
        for _ in range(100):
            fp = self.study_ll(alpha + h, mu, tau)
            fm = self.study_ll(alpha - h, mu, tau)
            grad = (fp - fm) / (2 * h)
            curv = (fp - 2 * f0 + fm) / h**2
            step = np.where(curv < 0, -grad / np.where(curv < 0, curv, 1.0), np.sign(grad))
            step = np.clip(step, -5.0, 5.0)
            new = alpha + step
            f_new = self.study_ll(new, mu, tau)
            for _ in range(60):
                worse = f_new < f0 - 1e-13 * np.abs(f0)
                if not worse.any():
                    break
                step = np.where(worse, step / 2, step)
                new = alpha + step
                f_new = self.study_ll(new, mu, tau)
            alpha, f0 = new, f_new
            if np.max(np.abs(step)) < 1e-10:
                break
        return alpha

    def deviance(self, params) -> float:
        """-2 x marginal log-likelihood (kernel) at ``(mu, tau)``, study effects profiled out."""
        mu, tau = float(params[0]), abs(float(params[1]))
        if self.per_study:
            self.alpha = self.profile_alpha(mu, tau)
        return -2.0 * float(self.study_ll(self.alpha, mu, tau).sum())


def _fd_hessian(f, p: np.ndarray, steps: np.ndarray) -> np.ndarray:
    m = len(p)
    H = np.zeros((m, m))
    f0 = f(p)
    for i in range(m):
        ei = np.zeros(m)
        ei[i] = steps[i]
        H[i, i] = (f(p + ei) - 2 * f0 + f(p - ei)) / steps[i] ** 2
        for j in range(i + 1, m):
            ej = np.zeros(m)
            ej[j] = steps[j]
            H[i, j] = H[j, i] = (
                f(p + ei + ej) - f(p + ei - ej) - f(p - ei + ej) + f(p - ei - ej)
            ) / (4 * steps[i] * steps[j])
    return H


def _fd_gradient(f, p: np.ndarray, steps: np.ndarray) -> np.ndarray:
    g = np.zeros(len(p))
    for i in range(len(p)):
        e = np.zeros(len(p))
        e[i] = steps[i]
        g[i] = (f(p + e) - f(p - e)) / (2 * steps[i])
    return g


def _steps(p: np.ndarray) -> np.ndarray:
    """Finite-difference steps: ``1e-4`` (relative) for ``mu``, at most ``tau/10`` for ``tau``."""
    st = [1e-4 * max(1.0, abs(p[0]))]
    if len(p) > 1:
        st.append(min(1e-4, p[1] / 10))
    return np.array(st)


def _newton_polish(f, p: np.ndarray, fval: float, iters: int = 20):
    """Newton steps with finite-difference derivatives and backtracking (``tau`` kept > 0).

    Returns ``(p, f(p), converged)``; stops early where the Hessian is not positive definite.
    """
    for _ in range(iters):
        st = _steps(p)
        g = _fd_gradient(f, p, st)
        H = _fd_hessian(f, p, st)
        if not np.all(np.isfinite(H)) or np.linalg.eigvalsh(H).min() <= 0:
            break
        step = -np.linalg.solve(H, g)
        t = 1.0
        while t > 1e-4:
            cand = p + t * step
            if len(cand) == 1 or cand[1] > 0:
                f_c = f(cand)
                if f_c <= fval + 1e-12 * abs(fval):
                    break
            t /= 2
        else:
            break
        p, fval = cand, f_c
        if np.max(np.abs(t * step)) < 1e-10:
            return p, fval, True
    return p, fval, False


def _maximise(model: _Model, mu0: float, tau0: float) -> tuple[float, float, float, str]:
    """ML estimates of ``(mu, tau)``: Nelder-Mead on ``tau >= 0``, then Newton steps.

    ``tau`` below ``1e-6`` is taken as the boundary ``tau = 0`` (lme4's ``theta`` has the lower
    bound 0); ``mu`` is then the fixed-effect GLM estimate.
    """
    from scipy.optimize import minimize

    start = np.array([mu0, tau0])
    p, f, ok = _newton_polish(model.deviance, start, model.deviance(start), iters=30)
    note = ""
    if not ok or p[1] < 1e-6:  # Newton from the start failed (or hit the boundary): simplex
        res = minimize(
            model.deviance,
            start,
            method="Nelder-Mead",
            bounds=[(None, None), (0.0, None)],
            options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 4000, "maxfev": 8000},
        )
        p, f = np.asarray(res.x, float), float(res.fun)
        note = "" if res.success else f"Nelder-Mead: {res.message}"
        if p[1] >= 1e-6:
            p, f, _ = _newton_polish(model.deviance, p, f)
    if p[1] < 1e-6:

        def at_zero(q):
            return model.deviance([q[0], 0.0])

        q, f, _ = _newton_polish(at_zero, p[:1], at_zero(p[:1]))
        model.deviance([q[0], 0.0])
        return float(q[0]), 0.0, f, note
    model.deviance(p)  # leave the study effects at the optimum
    return float(p[0]), float(p[1]), f, note


def _nan_glmm(measure, glmm, k, nagq, level, note) -> GLMMResult:
    return _nan_result(
        GLMMResult,
        model="random",
        method="ML",
        measure=measure,
        glmm=glmm,
        k=k,
        q_df=max(k - 1, 0),
        nagq=nagq,
        level=level,
        note=note,
    )


def _typical_variance(vi) -> float:
    """metafor's ``vt = (k - 1) / tr(P)`` of the finite sampling variances (i2def = "1")."""
    v = vi[np.isfinite(vi)]
    w = 1 / v
    return (len(v) - 1) / float(w.sum() - np.sum(w**2) / w.sum())


def _cochran_q(yi, vi) -> float:
    if len(yi) < 2:
        return 0.0
    w = 1 / vi
    mean = float(np.sum(w * yi) / w.sum())
    return float(np.sum(w * (yi - mean) ** 2))


def _fit_glmm(
    model: _Model,
    measure: str,
    glmm: str,
    k: int,
    mu0: float,
    tau0: float,
    ll_sat: float,
    ll_fe: float,
    q_wald: float,
    vt: float,
    nagq: int,
    level: float,
    note: str,
) -> GLMMResult:
    mu, tau, dev_marg, opt_note = _maximise(model, mu0, tau0)
    note = _join(note, opt_note)
    p = np.array([mu, tau])
    if tau > 0:
        V = 2 * np.linalg.inv(_fd_hessian(model.deviance, p, _steps(p)))
        var = float(V[0, 0])
    else:
        note = _join(note, "tau2 estimated at the boundary 0")
        h = 1e-4 * max(1.0, abs(mu))
        d2 = _fd_hessian(lambda m: model.deviance([m[0], 0.0]), p[:1], np.array([h]))[0, 0]
        var = 2 / d2
    model.deviance(p)
    se = math.sqrt(var) if var > 0 else math.nan
    stat, pval, lo, hi = _z_summary(mu, se, level)
    tau2 = tau**2
    # metafor's predict.rma for rma.glmm: normal quantiles, sqrt(se^2 + tau2)
    _, _, pi_lo, pi_hi = _z_summary(mu, math.sqrt(var + tau2) if var > 0 else math.nan, level)
    off = model.offset(model.alpha, mu)
    cond_dev = _conditional_deviance(off, model.z, model.y, model.n, tau)
    q_df = k - 1
    q_lrt = max(0.0, 2 * (ll_sat - ll_fe))
    return GLMMResult(
        model="random",
        method="ML",
        measure=measure,
        glmm=glmm,
        k=k,
        estimate=mu,
        se=se,
        stat=stat,
        pval=pval,
        ci_low=lo,
        ci_high=hi,
        pi_low=pi_lo,
        pi_high=pi_hi,
        tau2=tau2,
        i2=100 * tau2 / (vt + tau2),
        h2=tau2 / vt + 1,
        q=q_wald,
        q_df=q_df,
        q_p=_chi2_sf(q_wald, q_df) if q_df > 0 else 1.0,
        q_lrt=q_lrt,
        q_lrt_p=_chi2_sf(q_lrt, q_df) if q_df > 0 else 1.0,
        loglik=ll_sat - cond_dev / 2,
        loglik_marginal=_log_choose(model.y, model.n) - dev_marg / 2,
        deviance=cond_dev,
        nagq=nagq,
        level=level,
        converged=math.isfinite(se),
        note=note,
    )


def _check_nagq(nagq: int) -> int:
    nagq = int(nagq)
    if nagq < 1:
        raise ValueError("nagq must be at least 1 (1 = Laplace approximation)")
    return nagq


def glmm_plo(xi, ni, level: float = 0.95, nagq: int = 7) -> GLMMResult:
    """Random-intercept logistic model for proportions (binomial-normal; Stijnen et al. 2010).

    ``logit p_i = mu + u_i``, ``u_i ~ N(0, tau2)``, fitted by ML as metafor's
    ``rma.glmm(measure="PLO")`` (lme4 ``glmer`` with ``nAGQ = 7``). ``estimate`` is the pooled
    logit. ``q`` is the Wald test (Cochran's Q of the uncorrected logits of studies with
    ``0 < x < n``) and ``q_lrt`` the likelihood-ratio test against the common-proportion model.
    """
    nagq = _check_nagq(nagq)
    x, n = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (xi, ni))
    if x.shape != n.shape or x.ndim != 1:
        raise ValueError("xi and ni must be one-dimensional and of equal length")
    keep = np.isfinite(x) & np.isfinite(n)
    note = ""
    if not keep.all():
        note = f"{int((~keep).sum())} studies with missing counts omitted"
        x, n = x[keep], n[keep]
    if np.any(x < 0) or np.any(x > n) or np.any(n <= 0):
        raise ValueError("counts must satisfy 0 <= xi <= ni and ni > 0")
    k = len(x)
    if k < 2:
        return _nan_glmm("PLO", "PLO", k, nagq, level, _join(note, "k < 2: cannot fit the GLMM"))
    if x.sum() == 0 or x.sum() == n.sum():
        return _nan_glmm(
            "PLO", "PLO", k, nagq, level,
            _join(note, "no events (or only events) in any study: logit not estimable"),
        )  # fmt: skip
    if not np.any((x > 0) & (x < n)):
        # every study is 0/n or n/n: the likelihood keeps rising as tau2 grows (no ML estimate;
        # metafor/lme4 stop somewhere on that ridge and report it without a warning)
        return _nan_glmm(
            "PLO", "PLO", k, nagq, level,
            _join(note, "no study with 0 < events < n: the GLMM has no ML estimate"),
        )  # fmt: skip
    y2, n2 = x[:, None], n[:, None]
    model = _Model(y2, n2, np.ones_like(y2), np.ones_like(y2), per_study=False, nagq=nagq)
    ll_sat = _saturated_loglik(x, n)
    p_fe = x.sum() / n.sum()
    ll_fe = _log_choose(x, n) + float(np.sum(x * math.log(p_fe) + (n - x) * math.log1p(-p_fe)))
    inner = (x > 0) & (x < n)
    yi_raw = np.log(x[inner] / (n[inner] - x[inner]))
    q_wald = _cochran_q(yi_raw, 1 / x[inner] + 1 / (n[inner] - x[inner]))
    yi, vi = proportion_effects("PLO", x, n)
    vt = _typical_variance(vi)
    w = 1 / vi
    mu0 = float(np.sum(w * yi) / w.sum())
    tau0 = max(0.3, math.sqrt(max(0.0, float(np.var(yi, ddof=1)) - float(np.mean(vi)))))
    return _fit_glmm(
        model, "PLO", "PLO", k, mu0, tau0, ll_sat, ll_fe, q_wald, vt, nagq, level, note
    )


def _logistic_fe_loglik(y, n) -> float:
    """Log-likelihood of the fixed-effect GLM with study effects and a common log OR (IRLS)."""
    from scipy.special import expit

    k = y.shape[0]
    yy, nn = y.ravel(), n.ravel()
    X = np.zeros((2 * k, k + 1))
    X[np.arange(2 * k), np.repeat(np.arange(k), 2)] = 1.0
    X[0::2, k] = 1.0  # treatment arm
    p0 = (yy + 0.5) / (nn + 1)
    eta = np.log(p0 / (1 - p0))
    beta = np.linalg.lstsq(X, eta, rcond=None)[0]
    ll_old = -math.inf
    for _ in range(100):
        eta = X @ beta
        p = expit(eta)
        W = nn * p * (1 - p)
        grad = X.T @ (yy - nn * p)
        info = (X.T * W) @ X
        beta = beta + np.linalg.solve(info, grad)
        ll = float(np.sum(_log_binom(yy, nn, X @ beta)))
        if abs(ll - ll_old) < 1e-12 * (abs(ll) + 0.1):
            break
        ll_old = ll
    return _log_choose(yy, nn) + float(np.sum(_log_binom(yy, nn, X @ beta)))


def glmm_or_umfs(ai, n1i, ci, n2i, level: float = 0.95, nagq: int = 7) -> GLMMResult:
    """Binomial-normal model for the log OR with fixed study effects (metafor ``model="UM.FS"``).

    ``logit p_i1 = alpha_i + mu + u_i/2``, ``logit p_i2 = alpha_i - u_i/2``, ``u_i ~ N(0, tau2)``
    (Stijnen et al. 2010; metafor's +1/2 / -1/2 coding of the random slope, ``coding = 1/2``),
    fitted by ML with 7-point adaptive Gauss-Hermite quadrature as ``glmer(nAGQ = 7)``.
    Double-zero studies are dropped (metafor's ``drop00 = TRUE``). ``q`` is the Wald test
    (Cochran's Q of the uncorrected log ORs of studies without a zero cell, Woolf variances) and
    ``q_lrt`` the likelihood-ratio test of the saturated against the common-OR logistic model.
    """
    nagq = _check_nagq(nagq)
    a, n1, c, n2, note = _two_group(ai, n1i, ci, n2i)
    double = _double_zero(a, n1, c, n2)
    if double.any():
        m = int(double.sum())
        note = _join(
            note,
            f"{m} {'study' if m == 1 else 'studies'} with no events (or only events) in both "
            "groups dropped",
        )
        a, n1, c, n2 = a[~double], n1[~double], c[~double], n2[~double]
    k = len(a)
    if k < 2:
        return _nan_glmm("OR", "UM.FS", k, nagq, level, _join(note, "k < 2: cannot fit the GLMM"))
    b, d = n1 - a, n2 - c
    if min(a.sum(), b.sum(), c.sum(), d.sum()) == 0:
        return _nan_glmm(
            "OR", "UM.FS", k, nagq, level,
            _join(note, "a group has no events (or only events) in every study: OR not estimable"),
        )  # fmt: skip
    y = np.stack([a, c], axis=1)
    n = np.stack([n1, n2], axis=1)
    xm = np.tile([1.0, 0.0], (k, 1))
    zm = np.tile([0.5, -0.5], (k, 1))
    model = _Model(y, n, xm, zm, per_study=True, nagq=nagq)
    ll_sat = _saturated_loglik(y, n)
    ll_fe = _logistic_fe_loglik(y, n)
    inner = (a > 0) & (b > 0) & (c > 0) & (d > 0)
    q_wald = _cochran_q(
        np.log(a[inner] * d[inner] / (b[inner] * c[inner])),
        1 / a[inner] + 1 / b[inner] + 1 / c[inner] + 1 / d[inner],
    )
    yi, vi = binary_effects("OR", a, n1, c, n2, add=0.5, to="only0", drop00=True)
    vt = _typical_variance(vi)
    ok = np.isfinite(yi)
    w = 1 / vi[ok]
    mu0 = float(np.sum(w * yi[ok]) / w.sum())
    tau0 = max(0.3, math.sqrt(max(0.0, float(np.var(yi[ok], ddof=1)) - float(np.mean(vi[ok])))))
    return _fit_glmm(
        model, "OR", "UM.FS", k, mu0, tau0, ll_sat, ll_fe, q_wald, vt, nagq, level, note
    )
