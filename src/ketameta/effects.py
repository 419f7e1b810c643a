"""Effect sizes per study: metafor's ``escalc`` measures, zero-cell and multi-arm rules.

Measures (metafor codes):

- ``OR``: log odds ratio, ``vi = 1/a + 1/b + 1/c + 1/d`` (Woolf 1955).
- ``RR``: log risk ratio, ``vi = 1/a - 1/n1 + 1/c - 1/n2`` (Katz et al. 1978).
- ``RD``: risk difference, ``vi = p1(1-p1)/n1 + p2(1-p2)/n2``.
- ``MD``: raw mean difference, ``vi = sd1^2/n1 + sd2^2/n2``.
- ``SMD``: Hedges' g, the bias-corrected standardised mean difference (Hedges 1981), with
  ``vi = 1/n1 + 1/n2 + g^2 / (2 (n1 + n2))`` (metafor's default ``vtype = "LS"``).
- ``PLO``: logit of a single-arm proportion, ``vi = 1/x + 1/(n - x)``; used for the pooled
  response rate in ketamine arms.

Zero cells follow metafor's ``add = 1/2, to = "only0"``: 0.5 is added to every cell of a study
that has a zero cell. Studies with no events (or only events) in both arms are left out of OR and
RR by default (``drop00``), and kept for RD, as recommended in the Cochrane Handbook (10.4.4.1).

Multi-arm trials (several doses against one control) are combined into one treatment arm by
default (Cochrane Handbook 6.5.2.10); ``multiarm = "split"`` instead makes one comparison per
treatment arm and divides the shared control group evenly between them (Handbook 23.3.4).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ketameta.data import LINE, Dataset
from ketameta.errors import InputError
from ketameta.spec import AnalysisSpec, EffectOptions, filter_mask  # noqa: F401 - re-exported

BINARY_MEASURES = ("OR", "RR", "RD")
CONTINUOUS_MEASURES = ("MD", "SMD")
SINGLE_ARM_MEASURES = ("PLO",)
CONTRAST_ONLY_MEASURES = ("HR",)  # only from contrasts.csv: arm counts cannot give a hazard ratio
MEASURES = BINARY_MEASURES + CONTINUOUS_MEASURES + SINGLE_ARM_MEASURES + CONTRAST_ONLY_MEASURES
RATIO_MEASURES = ("OR", "RR", "HR")
CONTRAST_NOTE = "contrast-level estimate"


def _as_float(*arrays) -> list[np.ndarray]:
    return [np.asarray(a, dtype=float) for a in arrays]


def binary_effects(
    measure: str,
    ai,
    n1i,
    ci,
    n2i,
    *,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Two-group binary effect sizes ``(yi, vi)`` as metafor's ``escalc``.

    Parameters
    ----------
    measure: ``"OR"``, ``"RR"`` or ``"RD"``.
    ai, n1i: events and total in the treatment group; ci, n2i: the same in the control group.
    add: amount added to each cell of a study that needs a correction.
    to: ``"only0"`` (studies with a zero cell), ``"all"`` (every study) or ``"none"``.
    drop00: if true, studies with zero events or zero non-events in both groups get NaN.
    """
    if measure not in BINARY_MEASURES:
        raise ValueError(f"unknown binary measure {measure!r}")
    ai, n1i, ci, n2i = _as_float(ai, n1i, ci, n2i)
    bi, di = n1i - ai, n2i - ci
    double = ((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0))
    if to == "only0":
        fix = (ai == 0) | (bi == 0) | (ci == 0) | (di == 0)
    elif to == "all":
        fix = np.ones_like(ai, dtype=bool)
    elif to == "none":
        fix = np.zeros_like(ai, dtype=bool)
    else:
        raise ValueError(f"unknown zero-cell rule {to!r}")
    a, b, c, d = (x + np.where(fix, add, 0.0) for x in (ai, bi, ci, di))
    n1, n2 = a + b, c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "OR":
            yi = np.log(a * d / (b * c))
            vi = 1 / a + 1 / b + 1 / c + 1 / d
        elif measure == "RR":
            yi = np.log((a / n1) / (c / n2))
            vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
        else:
            p1, p2 = a / n1, c / n2
            yi = p1 - p2
            vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    if drop00:
        yi = np.where(double, np.nan, yi)
        vi = np.where(double, np.nan, vi)
    return yi, vi


def continuous_effects(
    measure: str, m1i, sd1i, n1i, m2i, sd2i, n2i
) -> tuple[np.ndarray, np.ndarray]:
    """Two-group continuous effect sizes ``(yi, vi)``: ``MD`` or ``SMD`` (Hedges' g).

    Hedges' g uses the exact small-sample correction
    ``J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))`` with ``m = n1 + n2 - 2`` (Hedges 1981),
    as metafor does.
    """
    from scipy.special import gammaln

    m1i, sd1i, n1i, m2i, sd2i, n2i = _as_float(m1i, sd1i, n1i, m2i, sd2i, n2i)
    if measure == "MD":
        return m1i - m2i, sd1i**2 / n1i + sd2i**2 / n2i
    if measure == "SMD":
        mi = n1i + n2i - 2
        cmi = np.exp(gammaln(mi / 2) - np.log(np.sqrt(mi / 2)) - gammaln((mi - 1) / 2))
        sdpi = np.sqrt(((n1i - 1) * sd1i**2 + (n2i - 1) * sd2i**2) / mi)
        yi = cmi * (m1i - m2i) / sdpi
        vi = 1 / n1i + 1 / n2i + yi**2 / (2 * (n1i + n2i))
        return yi, vi
    raise ValueError(f"unknown continuous measure {measure!r}")


def two_group_effects(frame: pd.DataFrame, measure: str, options: EffectOptions):
    """``(yi, vi)`` of treatment-vs-control rows with the columns of ``effects.csv``
    (``events_treat``, ``n_treat``, ``mean_treat``, ``sd_treat`` and the same for ``_ctrl``):
    binary measures with the options' zero-cell rule (studies without events, or with only
    events, in both arms left out of the ratio measures, kept for the RD), continuous measures
    by :func:`continuous_effects`."""
    if measure in BINARY_MEASURES:
        return binary_effects(
            measure,
            frame["events_treat"],
            frame["n_treat"],
            frame["events_ctrl"],
            frame["n_ctrl"],
            add=options.zero_cell_add,
            to=options.zero_cell_to,
            drop00=options.drop_double_zero and measure in RATIO_MEASURES,
        )
    return continuous_effects(
        measure,
        frame["mean_treat"],
        frame["sd_treat"],
        frame["n_treat"],
        frame["mean_ctrl"],
        frame["sd_ctrl"],
        frame["n_ctrl"],
    )


def proportion_effects(measure: str, xi, ni, *, add: float = 0.5, to: str = "only0"):
    """Single-arm proportion on the logit scale (``PLO``): ``(yi, vi)`` as metafor's ``escalc``."""
    if measure != "PLO":
        raise ValueError(f"unknown proportion measure {measure!r}")
    xi, ni = _as_float(xi, ni)
    mi = ni - xi
    if to == "only0":
        fix = (xi == 0) | (mi == 0)
    elif to == "all":
        fix = np.ones_like(xi, dtype=bool)
    elif to == "none":
        fix = np.zeros_like(xi, dtype=bool)
    else:
        raise ValueError(f"unknown zero-cell rule {to!r}")
    x = xi + np.where(fix, add, 0.0)
    m = mi + np.where(fix, add, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x / m), 1 / x + 1 / m


def back_transform(measure: str, values):
    """Put analysis-scale values on the reading scale: exp for OR/RR, inverse logit for PLO."""
    values = np.asarray(values, dtype=float)
    if measure in RATIO_MEASURES:
        return np.exp(values)
    if measure == "PLO":
        return 1 / (1 + np.exp(-values))
    return values


DOUBLE_ZERO_NOTE = "excluded: no events (or only events) in both arms"

EFFECT_COLUMNS = [
    "analysis",
    "measure",
    "study_id",
    "comparison",
    "label",
    "subgroup",
    "n_treat",
    "events_treat",
    "mean_treat",
    "sd_treat",
    "n_ctrl",
    "events_ctrl",
    "mean_ctrl",
    "sd_ctrl",
    "yi",
    "vi",
    "included",
    "note",
    "arms",
    "input",  # "arms" (computed from arms.csv) or "contrast" (given in contrasts.csv)
]


def _combine_continuous(
    n: np.ndarray, mean: np.ndarray, sd: np.ndarray
) -> tuple[float, float, float]:
    """Pool several groups into one (Cochrane Handbook 6.5.2.10, Table 6.5.a), pairwise."""
    n_tot, m_tot, s_tot = n[0], mean[0], sd[0]
    for n2, m2, s2 in zip(n[1:], mean[1:], sd[1:], strict=True):
        n_new = n_tot + n2
        m_new = (n_tot * m_tot + n2 * m2) / n_new
        var = (
            (n_tot - 1) * s_tot**2
            + (n2 - 1) * s2**2
            + n_tot * n2 / n_new * (m_tot**2 + m2**2 - 2 * m_tot * m2)
        ) / (n_new - 1)
        n_tot, m_tot, s_tot = n_new, m_new, float(np.sqrt(var))
    return float(n_tot), float(m_tot), float(s_tot)


def _merge_arms(arms: pd.DataFrame, binary: bool) -> dict[str, float]:
    n = arms["n"].to_numpy(float)
    if binary:
        return {
            "n": float(n.sum()),
            "events": float(arms["events"].sum()),
            "mean": np.nan,
            "sd": np.nan,
        }
    n_t, m_t, s_t = _combine_continuous(n, arms["mean"].to_numpy(float), arms["sd"].to_numpy(float))
    return {"n": n_t, "events": np.nan, "mean": m_t, "sd": s_t}


def select_rows(data: Dataset, spec: AnalysisSpec, options: EffectOptions) -> pd.DataFrame:
    """Arm rows (joined with study columns) that an analysis uses, after its filters."""
    rows = data.arms_with_studies()
    rows = rows[(rows["outcome"] == spec.outcome) & (rows["timepoint"] == spec.timepoint)]
    if options.exclude_low_confidence and "confidence" in rows.columns:
        rows = rows[rows["confidence"] != "low"]
    columns = [("subgroup", "subgroup", spec.subgroup)] if spec.subgroup else []
    columns += [("moderators", "moderator", c) for c in spec.moderator_columns()]
    for key, role, column in columns:
        if column not in data.studies.columns:
            raise InputError(
                f"study column '{column}' (a {role} of analysis '{spec.name}') is not in "
                f"{data.studies_path}",
                key=f"analyses.{spec.name}.{key}",
            )
    return _apply_filters(rows, spec, data)


def _apply_filters(rows: pd.DataFrame, spec: AnalysisSpec, data: Dataset) -> pd.DataFrame:
    """``rows`` (arm or contrast rows joined with their studies) kept by the analysis filters."""
    for column, allowed in spec.filters.items():
        if column not in rows.columns:
            raise InputError(
                f"analysis '{spec.name}' filters on column '{column}', which the data do not have",
                file=data.studies_path,
            )
        rows = rows[np.asarray(filter_mask(rows[column], allowed), dtype=bool)]
    return rows


def compute_effects(data: Dataset, spec: AnalysisSpec, options: EffectOptions) -> pd.DataFrame:
    """Study-level effects for one analysis: one row per comparison, with the counts behind it,
    computed from the arms (``input = "arms"``), then the contrast-level rows of the same
    outcome, timepoint and measure (``input = "contrast"``; generic inverse variance, Cochrane
    Handbook 6.3), so both kinds pool together. A study given both ways is an error (it would
    count twice)."""
    if spec.measure not in MEASURES:
        raise InputError(f"analysis '{spec.name}': unknown measure '{spec.measure}'")
    arm_based = (
        _arm_effects(data, spec, options)
        if spec.measure not in CONTRAST_ONLY_MEASURES
        else pd.DataFrame(columns=EFFECT_COLUMNS)
    )
    contrast = contrast_effects(data, spec, options)
    if contrast.empty:
        return arm_based
    both = sorted(set(arm_based["study_id"]) & set(contrast["study_id"]))
    if both:
        raise InputError(
            f"study '{both[0]}' has arm-level rows in {data.arms_path} and a contrast-level row "
            f"for {spec.outcome} at {spec.timepoint} ({spec.measure}); keep one of them",
            file=data.contrasts_path,
        )
    parts = [p for p in (arm_based, contrast) if len(p)]
    return pd.concat(parts, ignore_index=True)[EFFECT_COLUMNS]


def contrast_effects(data: Dataset, spec: AnalysisSpec, options: EffectOptions) -> pd.DataFrame:
    """The analysis's rows of ``contrasts.csv`` as effect rows (their yi/vi as given)."""
    if data.contrasts is None or spec.measure in SINGLE_ARM_MEASURES:
        return pd.DataFrame(columns=EFFECT_COLUMNS)
    rows = data.contrasts_with_studies()
    rows = rows[
        (rows["outcome"] == spec.outcome)
        & (rows["timepoint"] == spec.timepoint)
        & (rows["measure"] == spec.measure)
    ]
    if options.exclude_low_confidence and "confidence" in rows.columns:
        rows = rows[rows["confidence"] != "low"]
    rows = _apply_filters(rows, spec, data)
    records = []
    for r in rows.sort_values("study_id").itertuples(index=False):
        r = r._asdict()
        n_t = float(r["n_treat"]) if r.get("n_treat") not in (None, "") else np.nan
        n_c = float(r["n_ctrl"]) if r.get("n_ctrl") not in (None, "") else np.nan
        records.append(
            {
                "analysis": spec.name,
                "measure": spec.measure,
                "study_id": r["study_id"],
                "comparison": r["study_id"],
                "label": f"{r['author']} {r['year']}",
                "subgroup": str(r[spec.subgroup]) if spec.subgroup else "",
                "n_treat": n_t,
                "n_ctrl": n_c,
                "yi": r["yi"],
                "vi": r["vi"],
                "included": bool(np.isfinite(r["yi"]) and np.isfinite(r["vi"]) and r["vi"] > 0),
                "note": f"{CONTRAST_NOTE} ({r['how']})",
                "arms": "",
                "input": "contrast",
            }
        )
    return pd.DataFrame.from_records(records, columns=EFFECT_COLUMNS)


def _arm_effects(data: Dataset, spec: AnalysisSpec, options: EffectOptions) -> pd.DataFrame:
    """Effects computed from the arms of ``arms.csv`` (``escalc``)."""
    rows = select_rows(data, spec, options)
    binary_outcome = rows["events"].notna().all() if len(rows) else True
    if spec.measure in BINARY_MEASURES + SINGLE_ARM_MEASURES and not binary_outcome:
        raise InputError(
            f"analysis '{spec.name}': measure {spec.measure} needs a binary outcome, "
            f"but '{spec.outcome}' is continuous",
            file=data.arms_path,
        )
    if spec.measure in CONTINUOUS_MEASURES and binary_outcome and len(rows):
        raise InputError(
            f"analysis '{spec.name}': measure {spec.measure} needs a continuous "
            f"outcome, but '{spec.outcome}' is binary",
            file=data.arms_path,
        )
    records = []
    for study_id, study_rows in rows.groupby("study_id", sort=True):
        treat = study_rows[study_rows["role"] == "treatment"].sort_values("arm_id")
        ctrl = study_rows[study_rows["role"] == "control"]
        if treat.empty:
            continue
        label = f"{study_rows['author'].iloc[0]} {study_rows['year'].iloc[0]}"
        sub = str(study_rows[spec.subgroup].iloc[0]) if spec.subgroup else ""
        single_arm = spec.measure in SINGLE_ARM_MEASURES
        if not single_arm and ctrl.empty:
            raise InputError(
                f"study '{study_id}' has no control arm for {spec.outcome} at {spec.timepoint} "
                f"(analysis '{spec.name}' needs one for {spec.measure})",
                file=data.arms_path,
                line=int(treat[LINE].iloc[0]),
                column="role",
            )
        if options.multiarm == "split" and len(treat) > 1 and not single_arm:
            groups = [
                (f"{study_id}:{arm}", treat[treat["arm_id"] == arm], len(treat))
                for arm in treat["arm_id"]
            ]
        else:
            groups = [(study_id, treat, 1)]
        for comparison, t_rows, share in groups:
            t = _merge_arms(t_rows, binary_outcome)
            c = (
                _merge_arms(ctrl, binary_outcome)
                if not ctrl.empty
                else dict.fromkeys(("n", "events", "mean", "sd"), np.nan)
            )
            if share > 1:  # split the shared control group evenly (Handbook 23.3.4)
                c = {**c, "n": c["n"] / share, "events": c["events"] / share}
            arm_ids = list(t_rows["arm_id"]) + (list(ctrl["arm_id"]) if not single_arm else [])
            records.append(
                {
                    "analysis": spec.name,
                    "measure": spec.measure,
                    "study_id": study_id,
                    "comparison": comparison,
                    "label": label
                    if comparison == study_id
                    else f"{label} ({comparison.split(':')[1]})",
                    "subgroup": sub,
                    "n_treat": t["n"],
                    "events_treat": t["events"],
                    "mean_treat": t["mean"],
                    "sd_treat": t["sd"],
                    "n_ctrl": np.nan if single_arm else c["n"],
                    "events_ctrl": np.nan if single_arm else c["events"],
                    "mean_ctrl": np.nan if single_arm else c["mean"],
                    "sd_ctrl": np.nan if single_arm else c["sd"],
                    "arms": "+".join(arm_ids),
                }
            )
    frame = pd.DataFrame.from_records(
        records,
        columns=[c for c in EFFECT_COLUMNS if c not in ("yi", "vi", "included", "note", "input")],
    )
    if frame.empty:
        return pd.DataFrame(columns=EFFECT_COLUMNS)
    m = spec.measure
    if m in BINARY_MEASURES:
        yi, vi = two_group_effects(frame, m, options)
        a, c = frame["events_treat"], frame["events_ctrl"]
        double = ((a == 0) & (c == 0)) | ((a == frame["n_treat"]) & (c == frame["n_ctrl"]))
        zero = (a == 0) | (c == 0) | (a == frame["n_treat"]) | (c == frame["n_ctrl"])
        note = np.where(
            double & np.isnan(yi),
            DOUBLE_ZERO_NOTE,
            np.where(
                zero & (options.zero_cell_to != "none"),
                f"zero cell: {options.zero_cell_add:g} added to each cell",
                "",
            ),
        )
    elif m in CONTINUOUS_MEASURES:
        yi, vi = two_group_effects(frame, m, options)
        note = np.full(len(frame), "")
    else:
        yi, vi = proportion_effects(
            m,
            frame["events_treat"],
            frame["n_treat"],
            add=options.zero_cell_add,
            to=options.zero_cell_to,
        )
        x = frame["events_treat"]
        zero = (x == 0) | (x == frame["n_treat"])
        note = np.where(
            zero & (options.zero_cell_to != "none"),
            f"zero cell: {options.zero_cell_add:g} added",
            "",
        )
    frame["yi"] = yi
    frame["vi"] = vi
    frame["included"] = np.isfinite(frame["yi"]) & np.isfinite(frame["vi"]) & (frame["vi"] > 0)
    frame["note"] = note
    frame["input"] = "arms"
    return frame[EFFECT_COLUMNS]
