"""Time course: the effect at every timepoint a trial reports, and one model over all of them.

``timecourse.csv`` holds, per outcome (``timecourse.outcomes``):

- ``model = REML``: the random-effects odds ratio at each timepoint with at least ``min_k``
  trials (the workflow's single-analysis path: ``compute_effects`` + ``rma``), and the pooled
  response proportion of the treatment and of the control arms there (``measure = PLO``,
  ``arm`` treatment / control);
- ``model = multilevel``: one model over all timepoints of all trials, respecting that a trial
  contributes several correlated estimates: ``yi = X beta + u_study + u_study/timepoint + e``
  with one coefficient per timepoint (metafor's ``rma.mv(yi, V, mods = ~ factor(timepoint) - 1,
  random = ~ 1 | study/timepoint)``), where the within-trial sampling covariance of two
  timepoints ``V`` is built as metafor's ``vcalc(vi, cluster = study, time1 = days, phi)``: an
  assumed autocorrelation ``phi`` per day (the same patients are measured again), with the
  sensitivity values of ``timecourse.phi_sensitivity`` as further rows.

``timecourse_trend.csv`` holds the same model with the log OR linear in log time (intercept at
24 h, slope per log-unit of hours), with model-based and cluster-robust CR2 intervals
(Satterthwaite df, Pustejovsky & Tipton 2018), which do not rely on ``phi`` being right; CR2
needs more trials than coefficients, so it is not computed for the one-coefficient-per-timepoint
model.

Timepoints are placed on the time axis by :func:`ketameta.timepoints.hours` (phases such as
``maintenance`` have no position and are left out).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

TIMECOURSE_COLUMNS = [
    "outcome",
    "measure",
    "arm",
    "timepoint",
    "hours",
    "k",
    "n",
    "estimate",
    "ci_low",
    "ci_high",
    "pi_low",
    "pi_high",
    "model",
    "phi",
    "tau2",
    "estimate_bt",
    "ci_low_bt",
    "ci_high_bt",
    "pi_low_bt",
    "pi_high_bt",
    "note",
]


def check_data(cfg: dict, data, label: str) -> None:
    """Before any job: every followed outcome is binary (odds ratios and proportions)."""
    from ketameta.errors import InputError

    arms = data.arms
    for i, outcome in enumerate(cfg["outcomes"]):
        rows = arms[arms["outcome"] == outcome]
        if len(rows) and not rows["events"].notna().all():
            raise InputError(
                f"outcome '{outcome}' is continuous; the time course follows binary outcomes "
                "(odds ratios and proportions)",
                file=label,
                key=f"timecourse.outcomes[{i}]",
            )


def timepoint_effects(data, outcome: str, measure: str, options) -> pd.DataFrame:
    """Study-level effects of ``outcome`` at every timepoint with a place on the time axis."""
    from ketameta.effects import compute_effects
    from ketameta.spec import AnalysisSpec
    from ketameta.timepoints import hours

    arms = data.arms[data.arms["outcome"] == outcome]
    parts = []
    for tp in sorted(set(arms["timepoint"])):
        try:
            h = hours(tp)
        except ValueError:
            continue
        eff = compute_effects(data, AnalysisSpec(f"{outcome}_{tp}", outcome, tp, measure), options)
        if len(eff):
            parts.append(eff.assign(timepoint=tp, hours=h))
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["hours", "study_id"], kind="stable", ignore_index=True)


def _row(outcome, measure, arm, tp, h, k, n, fit: dict, model, phi=math.nan) -> dict:
    from ketameta.effects import back_transform

    row = {
        "outcome": outcome,
        "measure": measure,
        "arm": arm,
        "timepoint": tp,
        "hours": h,
        "k": k,
        "n": n,
        "model": model,
        "phi": phi,
        **{c: fit.get(c, math.nan) for c in ("estimate", "ci_low", "ci_high", "pi_low")},
        **{c: fit.get(c, math.nan) for c in ("pi_high", "tau2")},
        "note": fit.get("note", ""),
    }
    for col in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
        row[f"{col}_bt"] = float(back_transform(measure, row[col]))
    return row


def per_timepoint_rows(eff: pd.DataFrame, outcome: str, cfg: dict, level: float) -> list[dict]:
    """REML random-effects OR per timepoint (k >= min_k), and the pooled response proportions
    of the treatment and control arms there (logit scale, REML)."""
    from ketameta.effects import proportion_effects
    from ketameta.frequentist import rma

    rows = []
    for (tp, h), part in eff.groupby(["timepoint", "hours"], sort=False):
        used = part[part["included"].astype(bool)]
        if len(used) < cfg["min_k"]:
            continue
        n = float(used["n_treat"].sum() + used["n_ctrl"].sum())
        fit = rma(used["yi"], used["vi"], method="REML", test="z", level=level).to_dict()
        rows.append(_row(outcome, "OR", "", tp, h, len(used), n, fit, "REML"))
        counted = part[part["n_treat"].notna()]
        for arm, events, size in (
            ("treatment", "events_treat", "n_treat"),
            ("control", "events_ctrl", "n_ctrl"),
        ):
            yi, vi = proportion_effects("PLO", counted[events], counted[size])
            fit = rma(yi, vi, method="REML", test="z", level=level).to_dict()
            arm_n = float(counted[size].sum())
            rows.append(_row(outcome, "PLO", arm, tp, h, len(counted), arm_n, fit, "REML"))
    return rows


def _design(used: pd.DataFrame) -> tuple[list[str], pd.DataFrame]:
    tps = list(dict.fromkeys(used["timepoint"]))  # in time order
    return tps, pd.DataFrame({tp: (used["timepoint"] == tp).astype(float) for tp in tps})


def _fit(used: pd.DataFrame, X, phi: float, level: float):
    from ketameta.multilevel import rma_mv, vcalc

    V = vcalc(used["vi"], used["study_id"], time=used["hours"] / 24.0, phi=phi, checkpd=False)
    return rma_mv(
        used["yi"], V, X, random="~ 1 | study_id/timepoint", data=used, method="REML", level=level
    )


def _usable(eff: pd.DataFrame) -> pd.DataFrame:
    return eff[eff["included"].astype(bool)].reset_index(drop=True)


def multilevel_rows(eff: pd.DataFrame, outcome: str, cfg: dict, level: float) -> list[dict]:
    """One multilevel model over all timepoints (see the module docstring), per value of phi:
    a coefficient per timepoint, model-based intervals (a CR2 interval would need more trials
    than coefficients, as metafor's ``robust`` requires; see :func:`trend_table`)."""
    used = _usable(eff)
    if used["study_id"].nunique() < 2 or len(used) < 3:
        return []
    tps, X = _design(used)
    rows = []
    for phi in [cfg["phi"], *cfg["phi_sensitivity"]]:
        fit = _fit(used, X, phi, level)
        for i, tp in enumerate(tps):
            part = used[used["timepoint"] == tp]
            n = float(part["n_treat"].sum() + part["n_ctrl"].sum())
            values = {
                "estimate": float(fit.beta[i]),
                "ci_low": float(fit.ci_low[i]),
                "ci_high": float(fit.ci_high[i]),
                # between-trial + within-trial (timepoint) variance components
                "tau2": float(np.sum(fit.sigma2)),
                "note": fit.note if not fit.converged else "",
            }
            h = float(part["hours"].iloc[0])
            rows.append(_row(outcome, "OR", "", tp, h, len(part), n, values, "multilevel", phi=phi))
    return rows


TREND_COLUMNS = [
    "outcome",
    "model",
    "phi",
    "term",
    "k",
    "n_trials",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "se_cr2",
    "df_cr2",
    "ci_low_cr2",
    "ci_high_cr2",
    "sigma2_trial",
    "sigma2_timepoint",
    "note",
]


def trend_rows(eff: pd.DataFrame, outcome: str, cfg: dict, level: float) -> list[dict]:
    """The same multilevel model with the log OR linear in log time: ``intercept`` is the log
    OR at 24 h, ``log_time`` its change per log-unit of hours; model-based and CR2 intervals
    (Satterthwaite df; cluster = trial)."""
    from ketameta.multilevel import robust_cr2

    used = _usable(eff)
    if used["study_id"].nunique() < 3 or len(used) < 4:
        return []
    X = pd.DataFrame({"intercept": 1.0, "log_time": np.log(used["hours"].to_numpy(float) / 24.0)})
    rows = []
    for phi in [cfg["phi"], *cfg["phi_sensitivity"]]:
        fit = _fit(used, X, phi, level)
        rob = robust_cr2(fit, used["study_id"])
        for i, term in enumerate(("intercept", "log_time")):
            rows.append(
                {
                    "outcome": outcome,
                    "model": "REML",
                    "phi": phi,
                    "term": term,
                    "k": len(used),
                    "n_trials": used["study_id"].nunique(),
                    "estimate": float(fit.beta[i]),
                    "se": float(fit.se[i]),
                    "ci_low": float(fit.ci_low[i]),
                    "ci_high": float(fit.ci_high[i]),
                    "se_cr2": float(rob.se[i]),
                    "df_cr2": float(rob.df[i]),
                    "ci_low_cr2": float(rob.ci_low[i]),
                    "ci_high_cr2": float(rob.ci_high[i]),
                    "sigma2_trial": float(fit.sigma2[0]),
                    "sigma2_timepoint": float(fit.sigma2[1]),
                    "note": fit.note if not fit.converged else "",
                }
            )
    return rows


def _bayes_priors(bayes_cfg: dict) -> dict:
    from ketameta.bayes_tables import tau_prior

    mu = bayes_cfg["mu_prior"]
    sigma = tau_prior(bayes_cfg["tau_prior"], "bayes.tau_prior")
    return {
        # a flat prior on beta has no marginal likelihood; N(0, 10^2) is flat in effect
        "beta_mean": float(mu.get("mean", 0.0)),
        "beta_sd": float(mu["sd"]) if mu.get("sd") is not None else 10.0,
        "sigma_trial_prior": sigma,
        "sigma_timepoint_prior": sigma,
    }


def bayes_rows(
    eff: pd.DataFrame, outcome: str, cfg: dict, bayes_cfg: dict, level: float
) -> tuple[list[dict], list[dict]]:
    """The same multilevel models (primary ``phi``) in a Bayesian version, by the exact
    posterior (2-D quadrature over the two standard deviations, :mod:`ketameta.bayes_multilevel`):
    ``beta ~ N(mu_prior)``, both sigmas ``~ bayes.tau_prior``. Per-timepoint rows for
    ``timecourse.csv`` (posterior median and equal-tailed credible interval of each log OR) and
    trend rows for ``timecourse_trend.csv`` (``se`` = posterior sd; ``sigma2_*`` = the posterior
    median of each variance)."""
    from ketameta.bayes_multilevel import exact_posterior, timecourse_design

    used = _usable(eff)
    priors = _bayes_priors(bayes_cfg)
    label = (
        f"Bayesian, exact posterior: beta ~ N({priors['beta_mean']:g}, {priors['beta_sd']:g}^2), "
        f"sigma_trial and sigma_timepoint ~ {priors['sigma_trial_prior'].label}"
    )
    rows, trend = [], []
    phi = cfg["phi"]
    if used["study_id"].nunique() >= 2 and len(used) >= 3:
        d = timecourse_design(eff, phi)
        post = exact_posterior(
            d.y, d.V, d.X, d.Z1, d.Z2, coef_names=d.coef_names, level=level, **priors
        )
        for i, tp in enumerate(d.coef_names):
            part = used[used["timepoint"] == tp]
            n = float(part["n_treat"].sum() + part["n_ctrl"].sum())
            values = {
                "estimate": post.beta_median[i],
                "ci_low": post.beta_low[i],
                "ci_high": post.beta_high[i],
                "note": "; ".join(filter(None, [label, post.note])),
            }
            h = float(part["hours"].iloc[0])
            rows.append(
                _row(outcome, "OR", "", tp, h, len(part), n, values, "bayes multilevel", phi)
            )
    if used["study_id"].nunique() >= 3 and len(used) >= 4:
        d = timecourse_design(eff, phi, trend=True)
        post = exact_posterior(
            d.y, d.V, d.X, d.Z1, d.Z2, coef_names=d.coef_names, level=level, **priors
        )
        for i, term in enumerate(("intercept", "log_time")):
            trend.append(
                {
                    "outcome": outcome,
                    "model": "bayes",
                    "phi": phi,
                    "term": term,
                    "k": len(used),
                    "n_trials": used["study_id"].nunique(),
                    "estimate": post.beta_median[i],
                    "se": post.beta_sd[i],
                    "ci_low": post.beta_low[i],
                    "ci_high": post.beta_high[i],
                    "se_cr2": math.nan,
                    "df_cr2": math.nan,
                    "ci_low_cr2": math.nan,
                    "ci_high_cr2": math.nan,
                    "sigma2_trial": post.sigmas["sigma_trial"]["median"] ** 2,
                    "sigma2_timepoint": post.sigmas["sigma_timepoint"]["median"] ** 2,
                    "note": "; ".join(filter(None, [label, post.note])),
                }
            )
    return rows, trend


def timecourse_tables(data, cfg: dict, options, level: float = 0.95, bayes_cfg=None):
    """``timecourse.csv`` (per timepoint: REML, pooled proportions, multilevel, and the
    Bayesian multilevel model when ``cfg["bayes"]`` and ``bayes_cfg`` are given) and
    ``timecourse_trend.csv`` (the log-time trend model with CR2 intervals, and its Bayesian
    version)."""
    rows, trend = [], []
    for outcome in cfg["outcomes"]:
        eff = timepoint_effects(data, outcome, "OR", options)
        if eff.empty:
            continue
        rows += per_timepoint_rows(eff, outcome, cfg, level)
        rows += multilevel_rows(eff, outcome, cfg, level)
        trend += trend_rows(eff, outcome, cfg, level)
        if cfg.get("bayes", True) and bayes_cfg is not None:
            b_rows, b_trend = bayes_rows(eff, outcome, cfg, bayes_cfg, level)
            rows += b_rows
            trend += b_trend
    return (
        pd.DataFrame(rows, columns=TIMECOURSE_COLUMNS),
        pd.DataFrame(trend, columns=TREND_COLUMNS),
    )
