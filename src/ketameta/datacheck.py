"""Checks of the data against facts recorded beside it: the randomised numbers and the published
risk-of-bias judgements (``data/raw/randomised.csv``, ``data/raw/rob.csv``).

Neither file changes an estimate; they let a reviewer audit the extraction. The tests run these
checks on ``data/raw`` (``tests/test_data_checks.py``), and ``ketameta validate`` runs them on
the data a config names when the files sit beside its ``arms.csv``.

- :func:`n_flags`: arm rows whose ``n`` differs from the number randomised to that arm (or whose
  arms add up to more or fewer than a trial's total randomised) without a reason in the row's
  ``n_basis`` column. Analysed sets smaller than the randomised set are common (a full analysis
  set, observed cases at a late visit, the safety population) and legitimate, but they must be
  said: an unexplained difference is how a wrong denominator slips in (Cochrane Handbook 6.2 and
  10.12.2 on missing outcome data).
- :func:`rob1_summary`: the overall judgement of a trial from its RoB 1 domains by the rule of the
  Cochrane Handbook 5.1, Table 8.7.a: high if any domain is high, low if all are low, otherwise
  unclear; RoB 2 (Sterne et al. 2019) judges overall risk itself, so its ``overall`` row is taken
  as printed.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ketameta.data import LINE, SLUG, _Checker, read_csv_strict

RANDOMISED_COLUMNS = ("study_id", "arm_id", "n_randomised", "source", "quote")
ROB_COLUMNS = ("study_id", "review", "tool", "domain", "judgement", "source", "quote")
ROB1_JUDGEMENTS = ("low", "unclear", "high")
# The seven domains of RoB 1 as Cochrane reviews print them (Handbook 5.1, Table 8.5.a).
ROB1_DOMAINS = (
    "random_sequence_generation",
    "allocation_concealment",
    "blinding_participants_personnel",
    "blinding_outcome_assessment",
    "incomplete_outcome_data",
    "selective_reporting",
    "other_bias",
)
ROB2_JUDGEMENTS = ("low", "some concerns", "high")
# RoB 1's "unclear" and RoB 2's "some concerns" are both the middle of a three-level scale; the
# studies file speaks RoB 2 (its rob_overall column), so RoB 1 summaries are mapped onto it.
ROB1_TO_OVERALL = {"low": "low", "unclear": "some concerns", "high": "high"}
ALL_ARMS = "all"  # randomised.csv row that gives a trial's total only


def read_randomised(path: str | Path, study_ids: set[str], arm_ids: set[tuple[str, str]]):
    """Read and check ``randomised.csv``: one row per study and arm (or ``all`` for a total).

    ``n_randomised`` may be empty only with a reason in ``notes`` (the number was not found);
    every filled number needs its ``source`` and ``quote``.
    """
    label = str(path)
    frame = read_csv_strict(path, label)
    if "notes" not in frame.columns:
        frame = frame.assign(notes="")
    chk = _Checker(frame, label)
    chk.require_columns(RANDOMISED_COLUMNS)
    chk.pattern("study_id", SLUG, "a valid id")
    chk.known_studies(study_ids)
    chk.unique(["study_id", "arm_id"])
    n = chk.number(
        "n_randomised",
        integer=True,
        allow_empty=True,
        rule=lambda v: v > 0,
        rule_text="is not a positive count",
    )
    for idx in frame.index:
        sid, arm = frame.at[idx, "study_id"], frame.at[idx, "arm_id"]
        if arm != ALL_ARMS and (sid, arm) not in arm_ids:
            chk.fail(idx, "arm_id", f"arm '{arm}' of '{sid}' is not in the arms file")
        if pd.isna(n[idx]):
            if not frame.at[idx, "notes"]:
                chk.fail(idx, "notes", "n_randomised is empty: say in notes why it is not known")
            continue
        for col in ("source", "quote"):
            if not frame.at[idx, col]:
                chk.fail(idx, col, "is empty, but every randomised number needs its source")
    out = frame.copy()
    out["n_randomised"] = n
    return out


def n_flags(arms: pd.DataFrame, randomised: pd.DataFrame) -> pd.DataFrame:
    """Arm rows whose n is not the randomised n and whose ``n_basis`` gives no reason.

    Per-arm numbers are compared row by row. A trial given only as a total (``arm_id = all``)
    is compared per outcome and timepoint: the arms' n summed (parallel trials) must equal the
    total, and no arm of a crossover trial may exceed it. Returns one row per flag with the file
    line of the arm row (``line``) and what differs (``flag``).
    """
    basis = arms["n_basis"] if "n_basis" in arms.columns else pd.Series("", index=arms.index)
    explained = basis.fillna("").astype(str).str.strip() != ""
    known = randomised[randomised["n_randomised"].notna()]
    per_arm = {
        (r.study_id, r.arm_id): int(r.n_randomised) for r in known.itertuples() if r.arm_id != "all"
    }
    totals = {r.study_id: int(r.n_randomised) for r in known.itertuples() if r.arm_id == ALL_ARMS}
    flags = []
    line = arms[LINE] if LINE in arms.columns else pd.Series(arms.index + 2, index=arms.index)
    for idx, r in arms.iterrows():
        key = (r["study_id"], r["arm_id"])
        if key in per_arm and int(r["n"]) != per_arm[key] and not explained[idx]:
            flags.append(
                {
                    "study_id": r["study_id"],
                    "arm_id": r["arm_id"],
                    "outcome": r["outcome"],
                    "timepoint": r["timepoint"],
                    "line": int(line[idx]),
                    "flag": f"n = {int(r['n'])} but {per_arm[key]} randomised to the arm, "
                    "and n_basis gives no reason",
                }
            )
    design = arms["design"] if "design" in arms.columns else pd.Series("", index=arms.index)
    for (sid, outcome, tp), part in arms[arms["study_id"].isin(totals)].groupby(
        ["study_id", "outcome", "timepoint"], sort=False
    ):
        if part["arm_id"].map(lambda a, s=sid: (s, a) in per_arm).any():
            continue
        total = totals[sid]
        crossover = (design[part.index] == "crossover").any()
        n_sum = int(part["n"].sum())
        bad = (part["n"] > total).any() if crossover else n_sum != total
        if bad and not explained[part.index].any():
            what = "an arm's n exceeds" if crossover else f"the arms' n add up to {n_sum}, not"
            flags.append(
                {
                    "study_id": sid,
                    "arm_id": ALL_ARMS,
                    "outcome": outcome,
                    "timepoint": tp,
                    "line": int(line[part.index[0]]),
                    "flag": f"{what} the {total} randomised, and n_basis gives no reason",
                }
            )
    return pd.DataFrame(
        flags, columns=["study_id", "arm_id", "outcome", "timepoint", "line", "flag"]
    )


def read_rob(path: str | Path, study_ids: set[str]) -> pd.DataFrame:
    """Read and check ``rob.csv``: published risk-of-bias judgements, one row per study x review
    x domain (RoB 1: low / unclear / high; RoB 2: low / some concerns / high)."""
    label = str(path)
    frame = read_csv_strict(path, label)
    chk = _Checker(frame, label)
    chk.require_columns(ROB_COLUMNS)
    chk.known_studies(study_ids)
    chk.choice("tool", ("RoB1", "RoB2"))
    for col in ("review", "domain", "source", "quote"):
        chk.nonempty(col)
    chk.unique(["study_id", "review", "domain"])
    for idx in frame.index:
        allowed = ROB1_JUDGEMENTS if frame.at[idx, "tool"] == "RoB1" else ROB2_JUDGEMENTS
        if frame.at[idx, "judgement"] not in allowed:
            chk.fail(
                idx,
                "judgement",
                f"{frame.at[idx, 'judgement']!r} is not a {frame.at[idx, 'tool']} judgement "
                f"({', '.join(allowed)})",
            )
    return frame


def rob1_summary(judgements: dict[str, str]) -> str | None:
    """Overall RoB 1 judgement across domains (Cochrane Handbook 5.1, Table 8.7.a): ``high`` if
    any domain is high, ``low`` if all seven are low, else ``unclear``.

    ``judgements`` maps domain to judgement. With domains missing (a table read only in part) a
    high domain still makes the trial high, but nothing else can be said: ``None``.
    """
    if not judgements:
        raise ValueError("no domain judgements")
    if "high" in judgements.values():
        return "high"
    if set(ROB1_DOMAINS) - set(judgements):
        return None
    return "low" if all(j == "low" for j in judgements.values()) else "unclear"


def rob_overall(rob: pd.DataFrame) -> pd.DataFrame:
    """Per study and review, the overall judgement on the studies file's scale and its basis:
    a printed RoB 2 ``overall`` row as is; RoB 1 domains summarised by :func:`rob1_summary`."""
    rows = []
    for (sid, review, tool), part in rob.groupby(["study_id", "review", "tool"], sort=False):
        printed = part[part["domain"] == "overall"]
        if len(printed):
            value = printed["judgement"].iloc[0]
            overall = ROB1_TO_OVERALL.get(value, value) if tool == "RoB1" else value
            basis = f"{tool} overall as printed by {review}"
        else:
            domains = dict(zip(part["domain"], part["judgement"], strict=True))
            summary = rob1_summary(domains) if tool == "RoB1" else None
            if summary is None:
                continue  # RoB 2 without an overall, or RoB 1 read in part and no high domain
            overall = ROB1_TO_OVERALL[summary]
            basis = (
                f"RoB1 {summary} across {len(part)} domains of {review} "
                "(Cochrane Handbook 5.1 Table 8.7.a)"
            )
        rows.append(
            {"study_id": sid, "review": review, "tool": tool, "overall": overall, "basis": basis}
        )
    return pd.DataFrame(rows, columns=["study_id", "review", "tool", "overall", "basis"])


def check_beside(arms_path: str | Path, data) -> list[str]:
    """Run the checks for the files beside ``arms_path``; return readable flag lines."""
    folder = Path(arms_path).parent
    lines: list[str] = []
    rand_path = folder / "randomised.csv"
    if rand_path.is_file():
        arm_ids = set(zip(data.arms["study_id"], data.arms["arm_id"], strict=True))
        rand = read_randomised(rand_path, set(data.studies["study_id"]), arm_ids)
        arms = data.arms_with_studies()
        arms[LINE] = data.arms[LINE].to_numpy()
        for f in n_flags(arms, rand).itertuples():
            lines.append(
                f"{data.arms_path}, line {f.line}: {f.study_id} {f.outcome} {f.timepoint}: {f.flag}"
            )
    rob_path = folder / "rob.csv"
    if rob_path.is_file():
        read_rob(rob_path, set(data.studies["study_id"]))
    return lines


__all__ = [
    "check_beside",
    "n_flags",
    "read_randomised",
    "read_rob",
    "rob1_summary",
    "rob_overall",
]
