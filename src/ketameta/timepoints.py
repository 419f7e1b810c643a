"""Timepoint labels of ``arms.csv`` as numbers (hours since the (first) dose), and time courses.

The trials report outcomes at labelled timepoints (``24h``, ``d7``, ``w4`` ...). Models of the
time course (a continuous-time AR(1) correlation, ``struct = "CAR"`` in
:func:`ketameta.multilevel.rma_mv`, or metafor's ``vcalc(time1 = ...)``) need them on one numeric
scale; :func:`hours` is that scale.

=============  ======================  ==================================================
label          meaning                 hours
=============  ======================  ==================================================
``40min``      40 minutes              0.6667 (minutes / 60)
``2h``         2 hours                 2
``4h``         4 hours                 4
``24h``        24 hours                24
``72h``        72 hours                72
``d2``         day 2                   48 (days x 24; ``d1`` = 24 h, so ``24h`` = ``d1``)
``d3``         day 3                   72
``d5``         day 5                   120
``d7``         day 7                   168
``d8``         day 8                   192
``d14``        day 14                  336
``d21``        day 21                  504
``d28``        day 28                  672
``w2``         week 2                  336 (weeks x 7 x 24)
``w3``         week 3                  504
``w4``         week 4                  672
``w6``         week 6                  1008
``w8``         week 8                  1344
``m3``         month 3                 2160 (a month is taken as 30 days: months x 30 x 24)
``d2to3``      days 2 to 3             60 (a range is its midpoint: (48 + 72) / 2)
=============  ======================  ==================================================

The grammar: ``<number><unit>`` with unit ``min`` or ``h``, or ``<unit><number>`` with unit
``d`` (day), ``w`` (week) or ``m`` (month, 30 days); either number may be a range
``<a>to<b>`` (``d2to3``, ``w2to4``, ``24to48h``), which maps to its midpoint. Labels are matched
after stripping surrounding blanks and lower-casing. Anything else (``maintenance``,
``treatment_phase``, ``end``, ``""``) raises :class:`ValueError` naming the label: it has no
position on the time axis.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:  # imported lazily: hours() needs nothing from the data pipeline
    from ketameta.data import Dataset
    from ketameta.spec import EffectOptions

_HOURS_PER = {"min": 1.0 / 60.0, "h": 1.0, "d": 24.0, "w": 7 * 24.0, "m": 30 * 24.0}
_NUM = r"(\d+(?:\.\d+)?)"
_RANGE = _NUM + r"(?:to" + _NUM + r")?"
_SUFFIX = re.compile(r"^" + _RANGE + r"(min|h)$")
_PREFIX = re.compile(r"^(d|w|m)" + _RANGE + r"$")


def hours(label: str) -> float:
    """Hours from the dose to the timepoint ``label`` (see the module table).

    >>> hours("24h"), hours("d7"), hours("w4"), hours("d2to3"), hours("40min")
    (24.0, 168.0, 672.0, 60.0, 0.6666666666666666)

    Raises :class:`ValueError` naming the label when it is not a time (``maintenance``) or a
    range runs backwards (``d3to2``).
    """
    if not isinstance(label, str):
        raise ValueError(f"timepoint label {label!r} is not a string")
    text = label.strip().lower()
    match = _SUFFIX.match(text)
    if match:
        lo, hi, unit = match.groups()
    else:
        match = _PREFIX.match(text)
        if not match:
            raise ValueError(
                f"unknown timepoint label {label!r}: expected e.g. '40min', '24h', 'd7', 'w4', "
                "'m3' or a range such as 'd2to3'"
            )
        unit, lo, hi = match.groups()
    a = float(lo)
    b = float(hi) if hi is not None else a
    if b < a:
        raise ValueError(f"timepoint label {label!r}: range end {hi} is before its start {lo}")
    value = (a + b) / 2 * _HOURS_PER[unit]
    if not math.isfinite(value):
        raise ValueError(f"timepoint label {label!r} is not a finite time")
    return value


TIMECOURSE_COLUMNS = [
    "study_id",
    "timepoint",
    "hours",
    "events_treat",
    "n_treat",
    "events_ctrl",
    "n_ctrl",
    "yi",
    "vi",
]


def timecourse_effects(
    data: Dataset,
    outcome: str = "response",
    measure: str = "OR",
    *,
    min_timepoints: int = 2,
    options: EffectOptions | None = None,
    timepoints: Iterable[str] | None = None,
) -> pd.DataFrame:
    """One effect per study and timepoint, for studies reporting ``outcome`` at several times.

    Each (study, timepoint) is computed by :func:`ketameta.effects.compute_effects` exactly as a
    single-timepoint analysis would (same arm merging, zero-cell rule and confidence filter of
    ``options``), so the time course and the pooled analyses agree. Rows are sorted by study and
    time; ``hours`` is :func:`hours` of the label. Timepoints without a numeric time (e.g.
    ``maintenance``) are skipped. Only studies with at least ``min_timepoints`` usable
    timepoints are kept.
    """
    from ketameta.effects import compute_effects
    from ketameta.spec import AnalysisSpec, EffectOptions

    options = options or EffectOptions()
    arms = data.arms[data.arms["outcome"] == outcome]
    labels = sorted(set(arms["timepoint"]) if timepoints is None else set(timepoints))
    frames = []
    for label in labels:
        try:
            h = hours(label)
        except ValueError:
            continue
        spec = AnalysisSpec(
            name=f"timecourse_{label}", outcome=outcome, timepoint=label, measure=measure
        )
        eff = compute_effects(data, spec, options)
        eff = eff[eff["included"].astype(bool)]
        if eff.empty:
            continue
        frames.append(eff.assign(timepoint=label, hours=h))
    if not frames:
        return pd.DataFrame(columns=TIMECOURSE_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    counts = out.groupby("study_id")["timepoint"].nunique()
    keep = counts[counts >= min_timepoints].index
    out = out[out["study_id"].isin(keep)].sort_values(["study_id", "hours"], kind="stable")
    return out[TIMECOURSE_COLUMNS].reset_index(drop=True)
