"""Move second-read efficacy rows, randomised numbers and risk-of-bias judgements from
data/staging/ into data/raw/ (issue 9).

Run from the repository root: ``.venv/bin/python data/staging/promote_issue9.py``, then
``.venv/bin/ketameta pin``. The script refuses to add an arm row whose key is already in
``data/raw/arms.csv``, so it runs once.

What moves, and on whose second reading:

- ``issue9/arms.csv``: Canuso 2018 response and remission at 24 h ("day 2"), Takahashi 2021
  MADRS change at day 28, Ionescu 2019 remission at week 3 and month 3, with the Ionescu 2019
  study row; second-read 18 of 18 confirmed (``issue9/review.csv``). Dwyer (adolescents) stays:
  its author and year were never read.
- ``timepoints/arms.csv`` (Lii 2023 remission at days 5 and 14) and the Takahashi 2021 MADRS
  scores of ``esk3/arms_existing.csv``: the rows ``review2/review.csv`` confirms.
- ``randomised_rob/randomised.csv`` -> ``data/raw/randomised.csv``: the rows review2 confirms
  (others keep their study with an empty number and the reason in ``notes``).
- ``randomised_rob/n_differences.csv``: a source-stated reason why an arm's n is not the
  randomised n becomes that arm row's ``n_basis`` (with the source), where review2 confirms it.
- ``randomised_rob/rob.csv`` -> ``data/raw/rob.csv`` (Cochrane RoB 1 judgements; the earlier
  rows second-read in ``safety2/``, the new ones in ``review2/``), and each judged trial's
  ``rob_overall`` / ``rob_basis`` in ``studies.csv`` by the Handbook rule
  (``ketameta.datacheck.rob_overall``).

Held back (``data/raw/excluded.csv`` says why): Daly 2018 period 2 at 2 h (the period-1 placebo
non-responders re-randomised: the same trial counted twice), Correia-Melo 2020 (esketamine
against racemic ketamine: no analysis here compares two ketamines).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RAW = ROOT / "data/raw"
STAGING = ROOT / "data/staging"
sys.path.insert(0, str(ROOT / "src"))

NOT_PROMOTED = {
    "dwyer_adolescents": "author and publication year not read",
    "daly2018_period2": "period-2 re-randomisation of period-1 placebo non-responders: the "
    "same trial as daly2018, counted twice if pooled",
    "correiamelo2020": "esketamine vs racemic ketamine (head to head): no analysis compares "
    "two ketamines",
}
# n_basis read in the row's own source: the table gives N per visit (Lii 2023 Extended Data
# Table 1, "n/N in trial" and an N column per day; Takahashi 2021 Table 3, N with a day-28 MADRS,
# observed cases)
OWN_SOURCE_BASIS = {
    ("lii2023", ("response", "remission", "depression_score")): "participants assessed at the "
    "visit: the source table gives N per day [the row's source, Extended Data Table 1]",
    ("takahashi2021", ("depression_change", "depression_score")): "observed cases: the source "
    "table's N of patients with a day-28 MADRS [the row's source, Table 3]",
}
# the total randomised of a trial promoted here, in the quote of its own (second-read) rows
EXTRA_RANDOMISED = [
    {
        "study_id": "ionescu2019",
        "arm_id": "all",
        "n_randomised": "26",
        "source": "http://47.251.13.51:8081/30286416 (PubMed mirror, abstract)",
        "quote": "Twenty-six medicated outpatients with severe major depressive disorder with "
        "current, chronic suicidal ideation were randomized in a double-blind fashion to six "
        "ketamine infusions (0.5 mg/kg over 45 minutes) or saline placebo over three weeks.",
        "notes": "total only; 13 per arm in a review table (PMC6717708 Table 2), as in arms.csv; "
        "second-read with the arm rows (issue9/review.csv)",
    }
]
COCHRANE = "Cochrane CD011612.pub3 (Dean 2021)"
# the review's "Ionescu 2020" (esketamine 84 mg, suicidal ideation, N 230) is ASPIRE II, published
# online in 2020 and in an issue of 2021 (cochrane_list/LOG.md, safety2/LOG.md)
COCHRANE_IDS = {"ionescu2020": "ionescu2021_aspire2"}
ROB_HEADER = ("study_id", "review", "tool", "domain", "judgement", "source", "quote")
# excluded.csv rows that the promoted rows supersede: (study_id, outcome prefix)
SUPERSEDED = {
    ("canuso2018", "response"),
    ("takahashi2021", "continuous (change from baseline, mean only)"),
}


def read(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def write(path: Path, header: list[str], rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def verdicts(path: Path) -> dict[tuple[str, str], str]:
    """review2: (file, row_key) -> verdict. A review row may stand for a group of rows
    (``study|arm,arm|outcome,ae_*|timepoint``): every key the group matches gets its verdict."""
    if not path.is_file():
        return {}
    _, rows = read(path)
    out = {}
    for r in rows:
        name = "/".join(r["file"].split(" ")[0].split("/")[-2:])
        out[(name, r["row_key"])] = r["verdict"]
        if "," in r["row_key"] or "*" in r["row_key"]:
            out.setdefault(("group", name), []).append((r["row_key"].split("|"), r["verdict"]))
    return out


def group_verdict(v2: dict, name: str, key: str) -> str:
    """The verdict of the review group that covers ``key`` (study|arm|outcome|timepoint)."""
    from fnmatch import fnmatch

    parts = key.split("|")
    for pattern, verdict in v2.get(("group", name), []):
        if len(pattern) == len(parts) and all(
            any(fnmatch(p, alt) for alt in pat.split(","))
            for p, pat in zip(parts, pattern, strict=True)
        ):
            return verdict
    return v2.get((name, key), "not reviewed")


def arm_key(r: dict) -> str:
    return "|".join((r["study_id"], r["arm_id"], r["outcome"], r["timepoint"]))


def order(r: dict):
    from ketameta.timepoints import hours

    try:
        h = hours(r["timepoint"])
    except ValueError:
        h = float("inf")
    return (r["study_id"], r["outcome"], h, r["timepoint"], r["role"] != "treatment", r["arm_id"])


def main() -> int:
    v2 = verdicts(STAGING / "review2/review.csv")
    header, arms = read(RAW / "arms.csv")
    if "n_basis" not in header:
        header.append("n_basis")
    s_header, studies = read(RAW / "studies.csv")
    for col in ("rob_overall", "rob_basis"):
        if col not in s_header:
            s_header.append(col)
    keys = {(r["study_id"], r["arm_id"], r["outcome"], r["timepoint"]) for r in arms}
    known = {r["study_id"] for r in studies}
    held: list[tuple[str, str]] = []

    # efficacy rows
    new_rows: list[dict] = []
    _, issue9 = read(STAGING / "issue9/arms.csv")
    _, r9 = read(STAGING / "issue9/review.csv")
    ok9 = {
        (r["study_id"], r["arm_id"], r["outcome"], r["timepoint"])
        for r in r9
        if r["verdict"] == "confirmed"
    }
    for row in issue9:
        key = (row["study_id"], row["arm_id"], row["outcome"], row["timepoint"])
        (new_rows.append(row) if key in ok9 else held.append((arm_key(row), "not confirmed")))
    for folder, name in (("timepoints", "arms.csv"), ("esk3", "arms_existing.csv")):
        _, rows = read(STAGING / folder / name)
        for row in rows:
            verdict = v2.get((f"{folder}/{name}", arm_key(row)), "not reviewed")
            if row["study_id"] in NOT_PROMOTED:
                held.append((arm_key(row), NOT_PROMOTED[row["study_id"]]))
            elif verdict == "confirmed":
                new_rows.append(row)
            else:
                held.append((arm_key(row), verdict))
    _, s9 = read(STAGING / "issue9/studies.csv")
    for st in s9:
        if st["study_id"] in known or st["study_id"] in NOT_PROMOTED:
            continue
        if not (st["author"] and st["year"] and (st["doi"] or st["pmid"])):
            raise SystemExit(f"{st['study_id']}: study facts incomplete; not promoted")
        studies.append({c: st.get(c, "") for c in s_header})
        known.add(st["study_id"])
    added, promoted = 0, []
    for row in new_rows:
        if row["study_id"] in NOT_PROMOTED:
            held.append((arm_key(row), NOT_PROMOTED[row["study_id"]]))
            continue
        key = (row["study_id"], row["arm_id"], row["outcome"], row["timepoint"])
        if key in keys:
            raise SystemExit(f"{key} is already in data/raw/arms.csv: promoted before?")
        if row["study_id"] not in known:
            raise SystemExit(f"{row['study_id']}: not in data/raw/studies.csv")
        keys.add(key)
        promoted.append({c: row.get(c, "") for c in header})
        added += 1

    # randomised numbers
    r_header, rand = read(STAGING / "randomised_rob/randomised.csv")
    kept = []
    for row in rand:
        verdict = v2.get(
            ("randomised_rob/randomised.csv", f"{row['study_id']}|{row['arm_id']}"), "not reviewed"
        )
        if row["n_randomised"] and verdict != "confirmed":
            held.append((f"randomised {row['study_id']}|{row['arm_id']}", verdict))
            row = {
                **row,
                "n_randomised": "",
                "notes": f"number read once but not confirmed by a second reader ({verdict}); "
                + row["notes"],
            }
        kept.append(row)
    kept += [{c: r.get(c, "") for c in r_header} for r in EXTRA_RANDOMISED]
    kept.sort(key=lambda r: r["study_id"])
    write(RAW / "randomised.csv", r_header, kept)

    # n_basis from source-stated reasons
    _, diffs = read(STAGING / "randomised_rob/n_differences.csv")
    reasons = {}
    for d in diffs:
        if not d["reason"]:
            continue
        verdict = group_verdict(v2, "randomised_rob/n_differences.csv", arm_key(d))
        if verdict != "confirmed":
            held.append((f"n_basis {arm_key(d)}", verdict))
            continue
        reasons[arm_key(d)] = f"{d['reason']} [{d['source']}]"
    # and where the row's own source gives the analysed number per visit (a table's N column)
    for row in arms + promoted:
        for (sid, outcomes), basis in OWN_SOURCE_BASIS.items():
            if row["study_id"] == sid and row["outcome"] in outcomes:
                reasons.setdefault(arm_key(row), basis)
    for row in arms + promoted:
        if arm_key(row) in reasons and not row.get("n_basis"):
            row["n_basis"] = reasons[arm_key(row)]

    # risk of bias: a judgement moves when two independent readings agree (safety_rob, whose
    # rows safety2 re-read; randomised_rob; cochrane_list) or review2 confirms it
    readings: dict[tuple[str, str], list[dict]] = {}
    for folder in ("safety_rob", "randomised_rob", "cochrane_list"):
        _, rows = read(STAGING / folder / "rob.csv")
        for r in rows:
            sid = COCHRANE_IDS.get(r["study_id"], r["study_id"])
            if sid not in known:
                continue
            r = {**r, "study_id": sid, "review": r.get("review") or COCHRANE}
            readings.setdefault((sid, r["domain"]), []).append({**r, "_from": folder})
            if folder == "safety_rob":  # second-read in safety2/review_of_safety_rob.csv
                readings[(sid, r["domain"])].append({**r, "_from": "safety2 review"})
    rob = []
    for (sid, domain), rs in readings.items():
        judged = {r["judgement"] for r in rs}
        reads = {r["_from"] for r in rs}
        confirmed = v2.get(("randomised_rob/rob.csv", f"{sid}|{domain}")) == "confirmed"
        if len(judged) == 1 and (len(reads) >= 2 or confirmed):
            rob.append({c: rs[0].get(c, "") for c in ROB_HEADER})
        else:
            held.append((f"rob {sid}|{domain}", f"readings {sorted(judged)} from {sorted(reads)}"))
    write(RAW / "rob.csv", list(ROB_HEADER), rob)
    import pandas as pd

    from ketameta.datacheck import rob_overall

    overall = rob_overall(pd.DataFrame(rob)).set_index("study_id")
    for st in studies:
        if st["study_id"] in overall.index:
            st["rob_overall"] = overall.at[st["study_id"], "overall"]
            st["rob_basis"] = overall.at[st["study_id"], "basis"]

    # excluded rows
    e_header, excluded = read(RAW / "excluded.csv")
    excluded = [
        e
        for e in excluded
        if not any(e["study_id"] == s and e["outcome"].startswith(o) for s, o in SUPERSEDED)
    ]
    _, staged_ex = read(STAGING / "esk3/excluded.csv")
    have = {(e["study_id"], e["outcome"]) for e in excluded}
    for sid, why in NOT_PROMOTED.items():
        if sid == "dwyer_adolescents":
            continue
        if (sid, "response and remission (staged)") not in have:
            excluded.append(
                {
                    "study_id": sid,
                    "outcome": "response and remission (staged)",
                    "timepoint_reported": "",
                    "confidence": "high",
                    "reason": why,
                    "source": "data/staging/esk3/LOG.md",
                    "quote": "",
                }
            )
    excluded.sort(key=lambda e: e["study_id"])
    write(RAW / "excluded.csv", e_header, excluded)

    # new rows after their study's existing rows (a stable sort on study_id keeps the order of
    # the existing rows), in the codebook's order among themselves
    promoted.sort(key=order)
    arms = sorted(arms + promoted, key=lambda r: r["study_id"])
    write(RAW / "arms.csv", header, [{c: r.get(c, "") for c in header} for r in arms])
    studies.sort(key=lambda r: r["study_id"])
    write(RAW / "studies.csv", s_header, [{c: r.get(c, "") for c in s_header} for r in studies])
    print(
        f"promoted {added} arm rows; {len(reasons)} n_basis reasons; "
        f"{sum(1 for r in kept if r['n_randomised'])} randomised numbers; {len(rob)} RoB rows"
    )
    for key, why in held:
        print(f"held back: {key}: {why}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
