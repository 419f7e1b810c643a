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
