"""Run the configured models over every analysis and tabulate them (``pooled.csv``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ketameta.effects import back_transform
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


def pool_analysis(
    effects: pd.DataFrame, analysis: str, measure: str, subgroup_col: str | None, frequentist: dict
) -> list[dict]:
    """All configured fits of one analysis, overall and per subgroup level."""
    used = effects[effects["included"].astype(bool)]
    groups = [("", used)]
    if subgroup_col:
        levels = sorted(used["subgroup"].astype(str).unique())
        if len(levels) > 1:
            groups += [
                (f"{subgroup_col}={lv}", used[used["subgroup"].astype(str) == lv]) for lv in levels
            ]
    rows = []
    for label, part in groups:
        n = float(np.nansum(part["n_treat"]) + np.nansum(part["n_ctrl"]))
        for method, test in model_grid(frequentist):
            res = rma(part["yi"], part["vi"], method=method, test=test, level=frequentist["level"])
            rows.append(_row(analysis, label, measure, n, res))
    return rows


def pooled_table(effects: pd.DataFrame, settings) -> pd.DataFrame:
    rows = []
    for spec in settings.analyses:
        part = effects[effects["analysis"] == spec.name]
        rows += pool_analysis(
            part, spec.name, spec.measure, spec.subgroup, settings.raw["frequentist"]
        )
    return pd.DataFrame(rows, columns=POOLED_COLUMNS)


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


def diagnostics_tables(effects: pd.DataFrame, settings) -> dict[str, pd.DataFrame]:
    """Leave-one-out, influence and small-study tables for the primary random-effects model."""
    from ketameta.diagnostics import influence, leave_one_out

    primary = settings.raw["frequentist"]["primary"]
    method, test = primary["method"], primary["test"]
    loo, infl, small = [], [], []
    for spec in settings.analyses:
        part = effects[(effects["analysis"] == spec.name) & effects["included"].astype(bool)]
        y, v = part["yi"].to_numpy(float), part["vi"].to_numpy(float)
        labels = list(part["comparison"])
        head = {"analysis": spec.name, "measure": spec.measure, "method": method}
        if len(y) >= 2:
            frame = leave_one_out(y, v, method=method, test=test, labels=labels).to_frame()
            loo.append(frame.assign(**head, test=test))
            frame = influence(y, v, method=method, labels=labels).to_frame()
            infl.append(frame.assign(**head))
        small += _small_study_rows(y, v, spec.name, spec.measure, method)

    def stack(frames: list[pd.DataFrame], lead: list[str]) -> pd.DataFrame:
        if not frames:
            return pd.DataFrame(columns=lead)
        out = pd.concat(frames, ignore_index=True)
        return out[lead + [c for c in out.columns if c not in lead]]

    return {
        "leave1out": stack(loo, ["analysis", "measure", "method", "test"]),
        "influence": stack(infl, ["analysis", "measure", "method"]),
        "small_study": pd.DataFrame(small, columns=SMALL_STUDY_COLUMNS),
    }
