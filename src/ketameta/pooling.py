"""Run the configured models over every analysis and tabulate them (``pooled.csv``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ketameta.effects import DOUBLE_ZERO_NOTE, back_transform
from ketameta.frequentist import MetaResult, rma

POOLED_COLUMNS = [
    "analysis",
    "subgroup",
    "measure",
    "model",
    "method",
    "test",
    "k",
    "n_participants",
    "estimate",
    "se",
    "stat",
    "df",
    "pval",
    "ci_low",
    "ci_high",
    "pi_low",
    "pi_high",
    "tau2",
    "tau2_ci_low",
    "tau2_ci_high",
    "i2",
    "i2_ci_low",
    "i2_ci_high",
    "h2",
    "q",
    "q_df",
    "q_p",
    "level",
    "converged",
    "note",
    "estimate_bt",
    "ci_low_bt",
    "ci_high_bt",
    "pi_low_bt",
    "pi_high_bt",
]


def model_grid(frequentist: dict) -> list[tuple[str, str]]:
    """(method, test) pairs to fit: FE first (if configured), then each tau2 method."""
    methods = (["FE"] if frequentist.get("fixed_effect", True) else []) + list(
        frequentist["methods"]
    )
    return [(m, t) for m in methods for t in frequentist["tests"]]


def _row(analysis: str, subgroup: str, measure: str, n: float, res: MetaResult) -> dict:
    row = {
        "analysis": analysis,
        "subgroup": subgroup,
        "measure": measure,
        "n_participants": n,
        **res.to_dict(),
    }
    for col in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
        row[f"{col}_bt"] = float(back_transform(measure, row[col]))
    return row


def _nan_row(analysis, subgroup, measure, n, model, method, k, level, note) -> dict:
    return {
        "analysis": analysis,
        "subgroup": subgroup,
        "measure": measure,
        "model": model,
        "method": method,
        "test": "z",
        "k": k,
        "n_participants": n,
        "level": level,
        "converged": False,
        "note": note,
    }


def binary_rows(
    part: pd.DataFrame,
    raw: pd.DataFrame,
    analysis: str,
    subgroup: str,
    measure: str,
    frequentist: dict,
) -> list[dict]:
    """Mantel-Haenszel, Peto and GLMM fits on the raw counts (``frequentist.binary``).

    Which model applies depends on the measure: MH for OR, RR and RD, Peto for the OR, the GLMM
    for the OR (metafor's ``rma.glmm(model = "UM.FS")``) and for pooled proportions (PLO, random
    intercept). The prediction interval of a fixed-effect model is its CI (as metafor prints it).
    """
    from ketameta.binary import glmm_or_umfs, glmm_plo, mantel_haenszel, peto

    wanted = frequentist.get("binary", [])
    level = frequentist["level"]
    a, n1 = part["events_treat"].to_numpy(float), part["n_treat"].to_numpy(float)
    c, n2 = part["events_ctrl"].to_numpy(float), part["n_ctrl"].to_numpy(float)
    # Mantel-Haenszel and Peto take every table, double-zero ones included (``raw``)
    ra, rn1 = raw["events_treat"].to_numpy(float), raw["n_treat"].to_numpy(float)
    rc, rn2 = raw["events_ctrl"].to_numpy(float), raw["n_ctrl"].to_numpy(float)
    fits = []
    if "MH" in wanted and measure in ("OR", "RR", "RD"):
        fits.append(("mh", "MH", raw, lambda: mantel_haenszel(ra, rn1, rc, rn2, measure, level)))
    if "Peto" in wanted and measure == "OR":
        fits.append(("peto", "Peto", raw, lambda: peto(ra, rn1, rc, rn2, level)))
    if "GLMM" in wanted and measure == "OR":
        fits.append(("glmm", "ML", part, lambda: glmm_or_umfs(a, n1, c, n2, level)))
    if "GLMM" in wanted and measure == "PLO":
        fits.append(("glmm", "ML", part, lambda: glmm_plo(a, n1, level)))
    rows = []
    for model, method, data, fit in fits:
        n = float(np.nansum(data["n_treat"]) + np.nansum(data["n_ctrl"]))
        if len(data) == 0:
            rows.append(
                _nan_row(analysis, subgroup, measure, n, model, method, 0, level, "no studies")
            )
            continue
        res = fit().to_dict()
        row = {
            "analysis": analysis,
            "subgroup": subgroup,
            "n_participants": n,
            **{k: v for k, v in res.items() if k in POOLED_COLUMNS},
            "measure": measure,  # Peto's result says "PETO"; the analysis measure is the OR
            "model": model,
            "method": method,
            "test": "z",
            "df": float("inf"),
        }
        if model != "glmm":
            row.update(pi_low=row["ci_low"], pi_high=row["ci_high"])
        for col in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
            row[f"{col}_bt"] = float(back_transform(measure, row[col]))
        rows.append(row)
    return rows


def pool_analysis(
    effects: pd.DataFrame, analysis: str, measure: str, subgroup_col: str | None, frequentist: dict
) -> list[dict]:
    """All configured fits of one analysis, overall and per subgroup level.

    Studies left out of the OR/RR only for having no events (or only events) in both arms still
    enter the raw-count models (Mantel-Haenszel, Peto), which count them as metafor does."""
    used = effects[effects["included"].astype(bool)]
    counted = effects[effects["included"].astype(bool) | (effects["note"] == DOUBLE_ZERO_NOTE)]
    groups = [("", used, counted)]
    if subgroup_col:
        levels = sorted(used["subgroup"].astype(str).unique())
        if len(levels) > 1:
            groups += [
                (
                    f"{subgroup_col}={lv}",
                    used[used["subgroup"].astype(str) == lv],
                    counted[counted["subgroup"].astype(str) == lv],
                )
                for lv in levels
            ]
    rows = []
    for label, part, raw in groups:
        n = float(np.nansum(part["n_treat"]) + np.nansum(part["n_ctrl"]))
        for method, test in model_grid(frequentist):
            res = rma(part["yi"], part["vi"], method=method, test=test, level=frequentist["level"])
            rows.append(_row(analysis, label, measure, n, res))
        rows += binary_rows(part, raw, analysis, label, measure, frequentist)
    return rows


def pooled_table(effects: pd.DataFrame, settings) -> pd.DataFrame:
    """Every configured frequentist model of every analysis, then the exact Bayesian rows
    (``bayes.exact``); the MCMC rows are :func:`mcmc_table`'s (``mcmc.csv``), a job of their own
    because they need PyMC and its compiler."""
    from ketameta.bayes_tables import BAYES_COLUMNS, bayes_rows

    rows = []
    bayes = settings.raw["bayes"]
    level = settings.raw["frequentist"]["level"]
    for spec in settings.analyses:
        part = effects[effects["analysis"] == spec.name]
        rows += pool_analysis(
            part, spec.name, spec.measure, spec.subgroup, settings.raw["frequentist"]
        )
        if bayes["exact"]:
            favourable = settings.raw["analyses"][spec.name].get("favourable", "higher")
            rows += bayes_rows(part, spec, favourable, bayes, level, which="exact")
    return pd.DataFrame(rows, columns=POOLED_COLUMNS + BAYES_COLUMNS)


def mcmc_table(effects: pd.DataFrame, settings, draws_dir=None) -> pd.DataFrame:
    """The MCMC rows of every analysis (``bayes.mcmc``; same columns as ``pooled.csv``), each
    normal-normal fit checked against the exact posterior; draws to ``draws_dir``."""
    from ketameta.bayes_tables import BAYES_COLUMNS, bayes_rows

    rows = []
    bayes = settings.raw["bayes"]
    level = settings.raw["frequentist"]["level"]
    if bayes["mcmc"]:
        for spec in settings.analyses:
            part = effects[effects["analysis"] == spec.name]
            favourable = settings.raw["analyses"][spec.name].get("favourable", "higher")
            rows += bayes_rows(part, spec, favourable, bayes, level, draws_dir, which="mcmc")
    return pd.DataFrame(rows, columns=POOLED_COLUMNS + BAYES_COLUMNS)


SMALL_STUDY_COLUMNS = [
    "analysis",
    "measure",
    "method",
    "test",
    "k",
    "stat",
    "pval",
    "estimate",
    "ci_low",
    "ci_high",
    "k0",
    "side",
    "note",
]


def _small_study_rows(y, v, analysis: str, measure: str, method: str) -> list[dict]:
    from ketameta.diagnostics import begg_test, egger_test, trim_and_fill

    base = {"analysis": analysis, "measure": measure, "method": method}
    nan = float("nan")
    if len(y) < 3:
        return [{**base, "test": "all", "k": len(y), "note": "k < 3: small-study tests not run"}]
    rows = []
    for model in ("lm", "rma"):
        e = egger_test(y, v, model=model, method=method)
        rows.append(
            {
                **base,
                "test": f"egger_{model}",
                "k": e.k,
                "stat": e.stat,
                "pval": e.pval,
                "estimate": e.limit_estimate,
                "ci_low": e.limit_ci_low,
                "ci_high": e.limit_ci_high,
                "note": e.note,
            }
        )
    b = begg_test(y, v)
    rows.append(
        {
            **base,
            "test": "begg",
            "k": b.k,
            "stat": b.tau,
            "pval": b.pval,
            "estimate": nan,
            "note": b.note,
        }
    )
    for est in ("L0", "R0"):
        t = trim_and_fill(y, v, estimator=est, method=method)
        f = t.to_frame().iloc[0]
        rows.append(
            {
                **base,
                "test": f"trimfill_{est}",
                "k": int(f["k"]),
                "stat": f["stat"],
                "pval": f["pval"],
                "estimate": f["estimate"],
                "ci_low": f["ci_low"],
                "ci_high": f["ci_high"],
                "k0": int(f["k0"]),
                "side": f["side"],
                "note": f["note"],
            }
        )
    return rows


SUBGROUP_COLUMNS = [
    "analysis",
    "measure",
    "by",
    "method",
    "test",
    "q_test",
    "n_levels",
    "k",
    "stat",
    "dist",
    "df1",
    "df2",
    "pval",
    "tau2",
    "converged",
    "note",
]


def _subgroup_rows(part: pd.DataFrame, spec, frequentist: dict) -> list[dict]:
    """Tests for subgroup differences (Borenstein et al. 2009 ch. 19) for the primary tau2
    method under each configured test; per-level fits are the subgroup rows of pooled.csv."""
    from ketameta.metareg import subgroup_analysis

    y, v = part["yi"].to_numpy(float), part["vi"].to_numpy(float)
    groups = part["subgroup"].astype(str).to_numpy()
    method = frequentist["primary"]["method"]
    rows = []
    for test in frequentist["tests"]:
        res = subgroup_analysis(y, v, groups, method=method, test=test, level=frequentist["level"])
        for t in res.tests.to_frame().to_dict("records"):
            rows.append(
                {
                    "analysis": spec.name,
                    "measure": spec.measure,
                    "by": spec.subgroup,
                    "method": method,
                    "test": test,
                    "q_test": t["test"],
                    "n_levels": t["n_levels"],
                    "k": t["k"],
                    "stat": t["stat"],
                    "dist": t["dist"],
                    "df1": t["df1"],
                    "df2": t["df2"],
                    "pval": t["pval"],
                    "tau2": t["tau2"],
                    "converged": t["converged"],
                    "note": "; ".join(dict.fromkeys(n for n in (res.note, t["note"]) if n)),
                }
            )
    return rows


def _metareg_columns() -> list[str]:
    from ketameta.metareg import FRAME_COLUMNS

    lead = ["analysis", "measure", "moderator", "term"]
    return lead + [c for c in FRAME_COLUMNS if c not in lead]


def _metareg_frames(part: pd.DataFrame, spec, studies, frequentist: dict) -> list[pd.DataFrame]:
    """One mixed-effects meta-regression per configured moderator set (primary tau2 method)."""
    from ketameta.metareg import meta_regression

    y, v = part["yi"].to_numpy(float), part["vi"].to_numpy(float)
    covariates = studies.set_index("study_id")
    method = frequentist["primary"]["method"]
    frames = []
    for item in spec.moderators:
        columns = [c.strip() for c in item.split("+")]
        mods = covariates.loc[part["study_id"], columns].reset_index(drop=True)
        for col in columns:  # numbers stored as text in the CSV enter as numbers
            as_num = pd.to_numeric(mods[col], errors="coerce")
            if as_num.notna().all():
                mods[col] = as_num.astype(float)
        for test in frequentist["tests"]:
            res = meta_regression(y, v, mods, method=method, test=test, level=frequentist["level"])
            frame = res.to_frame(analysis=spec.name)
            frame["moderator"] = " + ".join(columns)
            frame.insert(1, "measure", spec.measure)
            frames.append(frame)
    return frames


def diagnostics_tables(effects: pd.DataFrame, settings, studies=None) -> dict[str, pd.DataFrame]:
    """Leave-one-out, influence, small-study, subgroup-difference and meta-regression tables
    for the primary random-effects model (``studies``: the study table, for moderators)."""
    from ketameta.diagnostics import baujat, influence, leave_one_out

    freq = settings.raw["frequentist"]
    primary = freq["primary"]
    method, test = primary["method"], primary["test"]
    from ketameta.bayes_tables import SENSITIVITY_COLUMNS, sensitivity_rows

    loo, infl, small, subgroups, metareg, sensitivity = [], [], [], [], [], []
    for spec in settings.analyses:
        part = effects[(effects["analysis"] == spec.name) & effects["included"].astype(bool)]
        y, v = part["yi"].to_numpy(float), part["vi"].to_numpy(float)
        labels = list(part["comparison"])
        head = {"analysis": spec.name, "measure": spec.measure, "method": method}
        if len(y) >= 2:
            frame = leave_one_out(y, v, method=method, test=test, labels=labels).to_frame()
            loo.append(frame.assign(**head, test=test))
            frame = influence(y, v, method=method, labels=labels).to_frame()
            # Baujat et al. (2002) coordinates from the fixed-effect fit, as metafor's baujat()
            bj = baujat(y, v, method="FE", labels=labels)
            frame = frame.assign(baujat_x=list(bj.x), baujat_y=list(bj.y))
            infl.append(frame.assign(**head))
        small += _small_study_rows(y, v, spec.name, spec.measure, method)
        if spec.subgroup:
            subgroups += _subgroup_rows(part, spec, freq)
        if spec.moderators and studies is not None:
            metareg += _metareg_frames(part, spec, studies, freq)
        if settings.raw["bayes"]["exact"]:
            favourable = settings.raw["analyses"][spec.name].get("favourable", "higher")
            all_rows = effects[effects["analysis"] == spec.name]
            sensitivity += sensitivity_rows(
                all_rows, spec, favourable, settings.raw["bayes"], freq["level"]
            )

    def stack(frames: list[pd.DataFrame], lead: list[str]) -> pd.DataFrame:
        if not frames:
            return pd.DataFrame(columns=lead)
        out = pd.concat(frames, ignore_index=True)
        return out[lead + [c for c in out.columns if c not in lead]]

    return {
        "leave1out": stack(loo, ["analysis", "measure", "method", "test"]),
        "influence": stack(infl, ["analysis", "measure", "method"]),
        "small_study": pd.DataFrame(small, columns=SMALL_STUDY_COLUMNS),
        "subgroups": pd.DataFrame(subgroups, columns=SUBGROUP_COLUMNS),
        "prior_sensitivity": pd.DataFrame(sensitivity, columns=SENSITIVITY_COLUMNS),
        "metareg": stack(metareg, ["analysis", "measure", "moderator", "term"])
        if metareg
        else pd.DataFrame(columns=_metareg_columns()),
    }
