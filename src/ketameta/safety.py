"""Harms: adverse events per arm pooled as risk ratios and risk differences (``safety.csv``).

Harms are read as absolute risks, so every outcome gets a risk difference and the number needed
to harm (NNH = 1 / RD) with its interval (Altman 1998: when the RD interval contains 0, the NNH
interval runs from NNH = 1 / upper limit through infinity to a number needed to treat for
benefit, NNTB = 1 / |lower limit|).

Pooling. Adverse events are often rare, with zero cells, so the primary method is the
Mantel-Haenszel fixed-effect estimate on the raw counts without continuity correction (Cochrane
Handbook 10.4.4.2; Bradburn et al. 2007; metafor's ``rma.mh``), for RR and RD; a double-zero
trial adds nothing to the MH RR and is kept in the RD weights. A random-effects REML fit (escalc
effects, 0.5 added to tables with a zero cell) is reported beside it as a sensitivity analysis,
so heterogeneity is visible. Which method is primary is recorded in the table (``primary``).

Multi-dose trials are combined into one treatment arm against their control (the workflow's
``effects.multiarm`` rule); each trial contributes the rows of the configured safety timepoints
(the double-blind treatment phase by default).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ketameta.errors import InputError

SAFETY_COLUMNS = [
    "outcome",
    "measure",
    "method",
    "primary",
    "k",
    "studies",
    "events_treat",
    "n_treat",
    "events_ctrl",
    "n_ctrl",
    "risk_treat",
    "risk_ctrl",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "pval",
    "estimate_bt",
    "ci_low_bt",
    "ci_high_bt",
    "tau2",
    "i2",
    "q_p",
    "nnh",
    "nnh_ci",
    "note",
]
OUTCOME_LABELS = {
    "ae_dissociation": "Dissociation",
    "ae_bp_increase": "Blood pressure increased",
    "ae_nausea": "Nausea",
    "ae_dizziness": "Dizziness",
    "ae_headache": "Headache",
    "ae_vomiting": "Vomiting",
    "discontinued_ae": "Stopped for an adverse event",
    "serious_ae": "Serious adverse event",
}


def nnh_interval(rd: float, lo: float, hi: float) -> tuple[float, str]:
    """NNH = 1 / RD (positive: harm more frequent on treatment) and its interval as text.

    Altman (1998): an RD interval that excludes 0 inverts to ``[1/hi, 1/lo]`` (NNH, or NNTB when
    the RD is negative); one that contains 0 inverts to ``NNH 1/hi to infinity to NNTB 1/|lo|``.
    """
    if not all(math.isfinite(x) for x in (rd, lo, hi)):
        return math.nan, "NA"
    nnh = 1.0 / rd if rd != 0 else math.inf
    if lo > 0:
        return nnh, f"NNH {1 / hi:.1f} to {1 / lo:.1f}"
    if hi < 0:
        return nnh, f"NNTB {1 / -lo:.1f} to {1 / -hi:.1f}"
    upper = f"NNH {1 / hi:.1f}" if hi > 0 else "NNH infinity"
    lower = f"NNTB {1 / -lo:.1f}" if lo < 0 else "NNTB infinity"
    return nnh, f"{upper} to infinity to {lower}"


def safety_counts(data, cfg: dict, options) -> pd.DataFrame:
    """One row per trial and harm outcome: combined treatment arms vs control (counts)."""
    from ketameta.effects import compute_effects
    from ketameta.spec import AnalysisSpec

    arms = data.arms
    parts = []
    for outcome in cfg["outcomes"]:
        for timepoint in cfg["timepoints"]:
            if not ((arms["outcome"] == outcome) & (arms["timepoint"] == timepoint)).any():
                continue
            spec = AnalysisSpec(
                name=f"safety_{outcome}",
                outcome=outcome,
                timepoint=timepoint,
                measure="RD",
                filters=dict(cfg["filters"]),
            )
            eff = compute_effects(data, spec, options)
            eff = eff.assign(outcome=outcome, timepoint=timepoint)
            parts.append(eff)
    columns = ["outcome", "timepoint", "study_id", "label", "arms"]
    columns += ["events_treat", "n_treat", "events_ctrl", "n_ctrl"]
    if not parts:
        return pd.DataFrame(columns=columns)
    counts = pd.concat(parts, ignore_index=True)[columns]
    twice = counts.duplicated(["outcome", "study_id"], keep=False)
    if twice.any():
        row = counts[twice].iloc[0]
        raise InputError(
            f"study '{row['study_id']}' reports {row['outcome']} at more than one of the safety "
            f"timepoints ({', '.join(cfg['timepoints'])}); list only one of them",
            key="safety.timepoints",
        )
    return counts.sort_values(["outcome", "study_id"], kind="stable", ignore_index=True)


def _row(outcome, measure, method, primary, part, res: dict) -> dict:
    from ketameta.effects import back_transform

    a, n1 = part["events_treat"].sum(), part["n_treat"].sum()
    c, n2 = part["events_ctrl"].sum(), part["n_ctrl"].sum()
    row = {
        "outcome": outcome,
        "measure": measure,
        "method": method,
        "primary": primary,
        "k": len(part),
        "studies": ";".join(part["study_id"]),
        "events_treat": float(a),
        "n_treat": float(n1),
        "events_ctrl": float(c),
        "n_ctrl": float(n2),
        "risk_treat": float(a / n1) if n1 else math.nan,
        "risk_ctrl": float(c / n2) if n2 else math.nan,
        **{k: res.get(k, math.nan) for k in ("estimate", "se", "ci_low", "ci_high", "pval")},
        **{k: res.get(k, math.nan) for k in ("tau2", "i2", "q_p")},
        "note": res.get("note", ""),
    }
    for col in ("estimate", "ci_low", "ci_high"):
        row[f"{col}_bt"] = float(back_transform(measure, row[col]))
    row["nnh"], row["nnh_ci"] = math.nan, ""
    if measure == "RD":
        row["nnh"], row["nnh_ci"] = nnh_interval(row["estimate"], row["ci_low"], row["ci_high"])
    return row


def safety_table(counts: pd.DataFrame, cfg: dict, level: float = 0.95) -> pd.DataFrame:
    """``safety.csv``: per harm outcome, MH RR and RD (primary, no continuity correction) and
    REML random-effects RR and RD (sensitivity), with NNH for the RDs."""
    from ketameta.binary import mantel_haenszel
    from ketameta.effects import binary_effects
    from ketameta.frequentist import rma

    rows = []
    for outcome in cfg["outcomes"]:
        part = counts[counts["outcome"] == outcome]
        if part.empty:
            continue
        a, n1 = part["events_treat"].to_numpy(float), part["n_treat"].to_numpy(float)
        c, n2 = part["events_ctrl"].to_numpy(float), part["n_ctrl"].to_numpy(float)
        for measure in ("RR", "RD"):
            mh = mantel_haenszel(a, n1, c, n2, measure, level).to_dict()
            mh["note"] = "; ".join(
                x for x in ("no continuity correction in the pooled estimate", mh["note"]) if x
            )
            rows.append(_row(outcome, measure, "MH", cfg["primary"] == "MH", part, mh))
            yi, vi = binary_effects(measure, a, n1, c, n2, add=0.5, to="only0", drop00=True)
            re = rma(yi, vi, method="REML", test="z", level=level).to_dict()
            if len(part) < 2:
                re = {"note": "k = 1: no random-effects model"}
            rows.append(_row(outcome, measure, "REML", cfg["primary"] == "REML", part, re))
    return pd.DataFrame(rows, columns=SAFETY_COLUMNS)


def per_study_effects(counts: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Each trial's RR or RD per harm (0.5 added to tables with a zero cell), for the figure."""
    from ketameta.effects import binary_effects

    yi, vi = binary_effects(
        measure,
        counts["events_treat"],
        counts["n_treat"],
        counts["events_ctrl"],
        counts["n_ctrl"],
        add=0.5,
        to="only0",
        drop00=measure != "RD",
    )
    return counts.assign(yi=np.asarray(yi, float), vi=np.asarray(vi, float))
