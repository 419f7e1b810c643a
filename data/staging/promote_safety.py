"""Move second-read adverse-event rows from data/staging/ into data/raw/ (issue 11, safety).

Run from the repository root: ``.venv/bin/python data/staging/promote_safety.py``, then
``.venv/bin/ketameta pin`` (the data files are pinned by SHA-256 in config/config.yaml).

Which rows move:

- ``safety_rob/safety_arms.csv``: all 48 rows; a second reader re-opened every source and
  confirmed every row (``safety2/review_of_safety_rob.csv``).
- ``safety2/safety_arms.csv``: the rows its second reader marked ``confirmed`` in
  ``safety2/review.csv`` (``corrected`` rows move with the corrected value only when the review
  gives it; anything else stays in staging).
- Rows of a trial whose study-level facts were not read (Dwyer, adolescents: no author or year)
  stay in staging; ``data/raw/excluded.csv`` says why.

Timepoints are normalised for harms (the codebook): the AE table of a double-blind treatment or
induction phase (TRANSFORM-1 and ASPIRE II "w4", Su 2023 "infusion", Lii 2023 "trial") becomes
``treatment_phase``; the source's wording stays in ``timepoint_reported``. SUSTAIN-1's
randomised-withdrawal phase keeps ``maintenance``. The script refuses to add a row whose key
(study, arm, outcome, timepoint) is already in data/raw/arms.csv, so it runs once.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RAW = ROOT / "data/raw"
STAGING = ROOT / "data/staging"
TREATMENT_PHASE = {
    ("fedgchin2019_transform1", "w4"),
    ("ionescu2021_aspire2", "w4"),
    ("su2023", "infusion"),
    ("lii2023", "trial"),
}
NOT_PROMOTED = {"dwyer_adolescents": "author and publication year not read"}


def read(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def write(path: Path, header: list[str], rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def normalise(row: dict) -> dict:
    row = dict(row)
    if (row["study_id"], row["timepoint"]) in TREATMENT_PHASE:
        note = f"timepoint normalised for harms: staged label '{row['timepoint']}' -> treatment_phase"
        row["timepoint"] = "treatment_phase"
        row["notes"] = f"{note}; {row['notes']}" if row.get("notes") else note
    return row


def reviewed(path: Path) -> dict[tuple, dict]:
    if not path.is_file():
        return {}
    _, rows = read(path)
    return {(r["study_id"], r["arm_id"], r["outcome"], r["timepoint"]): r for r in rows}


def main() -> int:
    header, arms = read(RAW / "arms.csv")
    s_header, studies = read(RAW / "studies.csv")
    keys = {(r["study_id"], r["arm_id"], r["outcome"], r["timepoint"]) for r in arms}
    known = {r["study_id"] for r in studies}
    new_rows: list[dict] = []
    _, first = read(STAGING / "safety_rob/safety_arms.csv")
    new_rows += first
    _, second = read(STAGING / "safety2/safety_arms.csv")
    verdicts = reviewed(STAGING / "safety2/review.csv")
    held = []
    for row in second:
        key = (row["study_id"], row["arm_id"], row["outcome"], row["timepoint"])
        verdict = verdicts.get(key, {}).get("verdict", "not reviewed")
        if verdict == "confirmed":
            new_rows.append(row)
        else:
            held.append((key, verdict))
    _, new_studies = read(STAGING / "safety2/studies_new.csv")
    added_studies = []
    for st in new_studies:
        if st["study_id"] in known or st["study_id"] in NOT_PROMOTED:
            continue
        if not (st["author"] and st["year"] and (st["doi"] or st["pmid"])):
            raise SystemExit(f"{st['study_id']}: study facts incomplete; not promoted")
        added_studies.append({c: st.get(c, "") for c in s_header})
        known.add(st["study_id"])
    promoted = []
    for row in map(normalise, new_rows):
        if row["study_id"] in NOT_PROMOTED:
            held.append(((row["study_id"], row["arm_id"]), NOT_PROMOTED[row["study_id"]]))
            continue
        if row["study_id"] not in known:
            raise SystemExit(f"{row['study_id']}: not in data/raw/studies.csv")
        key = (row["study_id"], row["arm_id"], row["outcome"], row["timepoint"])
        if key in keys:
            raise SystemExit(f"{key} is already in data/raw/arms.csv: promoted before?")
        keys.add(key)
        promoted.append({c: row.get(c, "") for c in header})
    # new rows after each study's existing rows, by outcome, timepoint, role, arm; the files
    # are in study order, and a stable sort keeps the order within a study
    promoted.sort(
        key=lambda r: (r["outcome"], r["timepoint"], r["role"] != "treatment", r["arm_id"])
    )
    out = sorted(arms + promoted, key=lambda r: r["study_id"])
    write(RAW / "arms.csv", header, out)
    studies_out = sorted(studies + added_studies, key=lambda r: r["study_id"])
    write(RAW / "studies.csv", s_header, studies_out)
    print(f"promoted {len(promoted)} arm rows and {len(added_studies)} studies")
    for key, why in held:
        print(f"held back: {key}: {why}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
