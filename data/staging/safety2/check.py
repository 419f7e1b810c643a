"""Validation of data/staging/safety2 (standard library only). Run from any directory:
    python3 /work/main/data/staging/safety2/check.py
Checks: header = data/raw/arms.csv; unique keys; 0 <= events <= n; every row has source + quote; high-confidence rows have
events and n in the quote; every medium row has a `derived` text whose arithmetic is re-computed here (subtraction and
percentage x n derivations, zero-event statements); study ids known (data/raw/studies.csv or studies_new.csv); review file
covers all 48 earlier rows; cadss.csv header. Prints the per-outcome number of trials with AE data, earlier folder included."""

import csv
import os
import re
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
RAW = os.path.join(HERE, "..", "..", "raw")
OLD = os.path.join(HERE, "..", "safety_rob")


def rd(p):
    return list(csv.DictReader(open(p, encoding="utf-8")))


errs, notes = [], []
raw_cols = next(csv.reader(open(os.path.join(RAW, "arms.csv"), encoding="utf-8")))
rows = rd(os.path.join(HERE, "safety_arms.csv"))
if next(csv.reader(open(os.path.join(HERE, "safety_arms.csv"), encoding="utf-8"))) != raw_cols:
    errs.append("safety_arms.csv header differs from data/raw/arms.csv")
studies = {r["study_id"] for r in rd(os.path.join(RAW, "studies.csv"))}
new = rd(os.path.join(HERE, "studies_new.csv"))
newids = {r["study_id"] for r in new}
if next(csv.reader(open(os.path.join(HERE, "studies_new.csv"), encoding="utf-8"))) != next(
    csv.reader(open(os.path.join(RAW, "studies.csv"), encoding="utf-8"))
):
    errs.append("studies_new.csv header differs from data/raw/studies.csv")
for s in new:
    if s["study_id"] in studies:
        errs.append(f"studies_new: {s['study_id']} already in data/raw/studies.csv")
    if not (s["doi"] or s["pmid"] or s["registration"]):
        notes.append(
            f"studies_new: {s['study_id']} has no identifier read in this session (see source/LOG)"
        )
OUTCOMES = {
    "ae_dissociation",
    "ae_bp_increase",
    "ae_nausea",
    "ae_dizziness",
    "ae_headache",
    "ae_vomiting",
    "discontinued_ae",
    "serious_ae",
}
nums = lambda s: set(re.findall(r"\d+(?:\.\d+)?", s))


def check_derivation(r, i):
    d, q, e, n = r["derived"], r["quote"], int(r["events"]), int(r["n"])
    ok = False
    m = re.search(
        r"events = pooled (\d+) - ASPIRE II (\d+) = (\d+); n = pooled (\d+) - ASPIRE II (\d+) = (\d+)",
        d,
    )
    if m:
        a, b, c, p, q2, mm = map(int, m.groups())
        if a - b != c or c != e:
            errs.append(f"row {i}: subtraction {a}-{b} != events {e}")
        if p - q2 != mm or mm != n:
            errs.append(f"row {i}: subtraction {p}-{q2} != n {n}")
        for x in (a, b, p, q2):
            if str(x) not in nums(q):
                errs.append(f"row {i}: {x} (used in derivation) not in quote")
        ok = True
    m = re.search(r"([\d.]+)% x (\d+) = [\d.]+ -> (\d+)", d)
    if m:
        pct, nn, ev = float(m.group(1)), int(m.group(2)), int(m.group(3))
        dec = len(m.group(1).split(".")[1]) if "." in m.group(1) else 0
        if ev != e or nn != n:
            errs.append(f"row {i}: derivation numbers {ev}/{nn} differ from row {e}/{n}")
        if round(pct * nn / 100) != ev:
            errs.append(f"row {i}: round({pct}% x {nn}) != {ev}")
        if round(100 * ev / nn, dec) != round(pct, dec):
            errs.append(f"row {i}: {ev}/{nn} does not round back to {pct}%")
        others = [k for k in range(0, nn + 1) if round(100 * k / nn, dec) == round(pct, dec)]
        if others != [ev]:
            errs.append(f"row {i}: derivation not unique: {others}")
        if m.group(1) + "%" not in q:
            errs.append(f"row {i}: {m.group(1)}% not in quote")
        if str(nn) not in nums(q):
            errs.append(f"row {i}: n {nn} not in quote")
        ok = True
    if d.startswith("events 0 read"):
        if e != 0 or "no serious adverse events" not in q:
            errs.append(f"row {i}: zero-event statement not in quote")
        if f"n = {n}" not in d or str(n) not in nums(q):
            errs.append(f"row {i}: n {n} not stated in derived/quote")
        ok = True
    if not ok:
        errs.append(f"row {i}: medium row with a derivation check.py cannot verify: {d[:80]}")


keys = set()
for i, r in enumerate(rows, 2):
    k = (r["study_id"], r["arm_id"], r["outcome"], r["timepoint"])
    if k in keys:
        errs.append(f"row {i}: duplicate key {k}")
    keys.add(k)
    if r["study_id"] not in studies | newids:
        errs.append(f"row {i}: unknown study {r['study_id']}")
    if r["outcome"] not in OUTCOMES:
        errs.append(f"row {i}: unexpected outcome {r['outcome']}")
    if not re.fullmatch(r"[A-Za-z0-9_-]+", r["timepoint"]):
        errs.append(f"row {i}: bad timepoint")
    if not r["source"].strip() or not r["quote"].strip():
        errs.append(f"row {i}: missing source or quote")
    n, e = int(r["n"]), int(r["events"])
    if not (n > 0 and 0 <= e <= n):
        errs.append(f"row {i}: events {e} / n {n} out of range")
    if r["confidence"] == "high":
        if str(e) not in nums(r["quote"]):
            errs.append(f"row {i}: events {e} not in quote")
        if str(n) not in nums(r["quote"]):
            errs.append(f"row {i}: n {n} not in quote")
        if r["derived"].strip():
            errs.append(f"row {i}: high row with derived text")
    elif r["confidence"] == "medium":
        if not r["derived"].strip():
            errs.append(f"row {i}: medium row without derived")
        else:
            check_derivation(r, i)
    else:
        errs.append(f"row {i}: confidence must be high or medium")
# both arms present for every study x outcome x timepoint
arms = defaultdict(set)
for r in rows:
    arms[(r["study_id"], r["outcome"], r["timepoint"])].add(r["role"])
for k, v in arms.items():
    if v != {"treatment", "control"}:
        errs.append(f"{k}: missing treatment or control arm")
# review of the earlier folder
old = rd(os.path.join(OLD, "safety_arms.csv"))
rev = rd(os.path.join(HERE, "review_of_safety_rob.csv"))
oldkeys = {"|".join([r["study_id"], r["arm_id"], r["outcome"], r["timepoint"]]) for r in old}
revkeys = {r["row_key"] for r in rev}
if oldkeys != revkeys:
    errs.append(
        f"review_of_safety_rob.csv does not cover the earlier rows exactly ({len(oldkeys ^ revkeys)} mismatches)"
    )
for r in rev:
    if r["verdict"] not in ("confirmed", "corrected", "could not re-open"):
        errs.append(f"review {r['row_key']}: bad verdict")
cad = next(csv.reader(open(os.path.join(HERE, "cadss.csv"), encoding="utf-8")))
if cad != ["study_id", "arm", "time", "mean", "sd_or_se", "n", "source", "quote"]:
    errs.append("cadss.csv header")
cad_rows = rd(os.path.join(HERE, "cadss.csv"))
for r in cad_rows:
    if not r["source"] or not r["quote"]:
        errs.append("cadss row without source/quote")
# per-outcome trial counts (earlier folder rows were all confirmed by the second reading)
per = defaultdict(set)
per_new = defaultdict(set)
per_old = defaultdict(set)
for r in old:
    per[r["outcome"]].add(r["study_id"])
    per_old[r["outcome"]].add(r["study_id"])
for r in rows:
    per[r["outcome"]].add(r["study_id"])
    per_new[r["outcome"]].add(r["study_id"])
from collections import Counter

print(
    f"safety_arms.csv: {len(rows)} rows, {len({r['study_id'] for r in rows})} trials "
    f"({Counter(r['confidence'] for r in rows)}); studies_new.csv: {len(new)}; cadss.csv rows: {len(cad_rows)}; "
    f"review: {Counter(r['verdict'] for r in rev)}"
)
print("\nTrials with AE data per outcome (safety_rob + safety2):")
for o in sorted(OUTCOMES):
    print(
        f"  {o:16s} {len(per[o]):2d}  (earlier {len(per_old[o])}, new {len(per_new[o])}): {', '.join(sorted(per[o]))}"
    )
allt = set().union(*per.values())
print(f"  any AE outcome   {len(allt):2d}: {', '.join(sorted(allt))}")
for n_ in notes:
    print("NOTE:", n_)
print("\nERRORS:" if errs else "\nALL CHECKS PASSED", *errs, sep="\n")
sys.exit(1 if errs else 0)
