"""Validation of data/staging/esk3 (standard library only). Run: python3 check.py"""
import csv
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RAW = os.path.normpath(os.path.join(HERE, "..", "..", "raw"))
errors = []


def read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        r = csv.DictReader(fh)
        return r.fieldnames, list(r)


raw_arm_cols, raw_arms = read(os.path.join(RAW, "arms.csv"))
raw_study_cols, raw_studies = read(os.path.join(RAW, "studies.csv"))
raw_excl_cols, _ = read(os.path.join(RAW, "excluded.csv"))
raw_ids = {s["study_id"] for s in raw_studies}

arm_cols, arms = read(os.path.join(HERE, "arms.csv"))
ex_cols, existing = read(os.path.join(HERE, "arms_existing.csv"))
st_cols, studies = read(os.path.join(HERE, "studies.csv"))
exc_cols, excluded = read(os.path.join(HERE, "excluded.csv"))

if arm_cols != raw_arm_cols:
    errors.append("arms.csv header differs from data/raw/arms.csv")
if ex_cols != raw_arm_cols:
    errors.append("arms_existing.csv header differs from data/raw/arms.csv")
if st_cols != raw_study_cols:
    errors.append("studies.csv header differs from data/raw/studies.csv")
if exc_cols != raw_excl_cols:
    errors.append("excluded.csv header differs from data/raw/excluded.csv")

my_ids = {s["study_id"] for s in studies}
for s in studies:
    if s["study_id"] in raw_ids:
        errors.append(f"studies.csv: {s['study_id']} already in data/raw/studies.csv")
    if not re.fullmatch(r"[a-z0-9_]+", s["study_id"]):
        errors.append(f"bad study_id {s['study_id']}")
    if not (s["doi"] or s["pmid"] or s["registration"]):
        errors.append(f"{s['study_id']}: no doi/pmid/registration")
    for c in ["author", "year", "design", "population", "drug", "route", "comparator"]:
        if not s[c]:
            errors.append(f"{s['study_id']}: empty required {c}")

BIN = {"response", "remission", "relapse_stable_remitters", "relapse_stable_responders", "si_response",
       "si_remission", "early_improvement", "ae_dissociation", "ae_bp_increase", "ae_nausea", "ae_dizziness",
       "ae_headache", "ae_vomiting", "discontinued_ae", "serious_ae"}
CONT = {"depression_score", "depression_change"}


def pct_check(row):
    """medium rows: every 'P% x N = ... -> K' in derived must satisfy round(100K/N, 1) == P and K == events."""
    found = re.findall(r"([0-9.]+)% x ([0-9]+) = [0-9.]+ -> ([0-9]+)", row["derived"])
    if not found:
        return False
    for p, n, k in found:
        p, n, k = float(p), int(n), int(k)
        if n != int(row["n"]) or k != int(row["events"]):
            errors.append(f"{row['study_id']}/{row['arm_id']}: derivation n/k differ from the row")
        if round(100 * k / n, 1) != p:
            errors.append(f"{row['study_id']}/{row['arm_id']}: {k}/{n} does not give {p}%")
        fits = [kk for kk in range(n + 1) if round(100 * kk / n, 1) == p]
        if fits != [k]:
            errors.append(f"{row['study_id']}/{row['arm_id']}: integer solution not unique: {fits}")
        if f"{p}%" not in row["quote"] and f"{p:g}%" not in row["quote"]:
            errors.append(f"{row['study_id']}/{row['arm_id']}: {p}% not in quote")
    return True


def check_rows(rows, fname, allowed_ids, raw_arm_pairs_ok):
    keys = set()
    arm_dose = {}
    for r in rows:
        tag = f"{fname}:{r['study_id']}/{r['arm_id']}/{r['outcome']}/{r['timepoint']}"
        if r["study_id"] not in allowed_ids:
            errors.append(f"{tag}: unknown study_id")
        k = (r["study_id"], r["arm_id"], r["outcome"], r["timepoint"])
        if k in keys:
            errors.append(f"{tag}: duplicate key")
        keys.add(k)
        if r["role"] not in ("treatment", "control"):
            errors.append(f"{tag}: bad role")
        if not re.fullmatch(r"[a-z0-9_]+", r["arm_id"]):
            errors.append(f"{tag}: bad arm_id")
        if not re.fullmatch(r"[A-Za-z0-9_-]+", r["timepoint"]):
            errors.append(f"{tag}: bad timepoint")
        prev = arm_dose.setdefault((r["study_id"], r["arm_id"]), (r["role"], r["dose"]))
        if prev != (r["role"], r["dose"]):
            errors.append(f"{tag}: arm_id used with different role/dose")
        if not r["source"] or not r["quote"]:
            errors.append(f"{tag}: missing source or quote")
        n = int(r["n"])
        if n <= 0:
            errors.append(f"{tag}: n <= 0")
        if r["outcome"] in BIN:
            if r["events"] == "" or r["mean"] or r["sd"]:
                errors.append(f"{tag}: binary row needs events only")
            elif not (0 <= int(r["events"]) <= n):
                errors.append(f"{tag}: events not in 0..n")
        elif r["outcome"] in CONT:
            if r["events"] or r["mean"] == "" or r["sd"] == "" or float(r["sd"]) <= 0:
                errors.append(f"{tag}: continuous row needs mean and sd > 0")
        else:
            errors.append(f"{tag}: outcome not in codebook")
        if r["confidence"] not in ("high", "medium"):
            errors.append(f"{tag}: confidence must be high/medium (low goes to excluded.csv)")
        if r["confidence"] == "medium":
            if not r["derived"]:
                errors.append(f"{tag}: medium row without derived")
            elif r["outcome"] in BIN and not pct_check(r):
                errors.append(f"{tag}: medium derivation not machine-checkable")
        if r["confidence"] == "high":
            q = r["quote"]
            nums = [r["n"]] + ([r["events"]] if r["outcome"] in BIN else [r["mean"], r["sd"]])
            for x in nums:
                xs = {x, x.rstrip("0").rstrip(".") if "." in x else x}
                if not any(re.search(r"(?<![0-9.])" + re.escape(v) + r"(?![0-9])", q) for v in xs):
                    errors.append(f"{tag}: high row number {x} not found in quote")
    # each study needs a treatment and a control arm for every outcome x timepoint
    groups = {}
    for r in rows:
        groups.setdefault((r["study_id"], r["outcome"], r["timepoint"]), set()).add(r["role"])
    for g, roles in groups.items():
        if roles != {"treatment", "control"}:
            errors.append(f"{fname}: {g} lacks a treatment or control arm")


check_rows(arms, "arms.csv", my_ids, False)
check_rows(existing, "arms_existing.csv", raw_ids | my_ids, True)

# arm ids of existing trials must match data/raw where the study is in data/raw
raw_pairs = {(a["study_id"], a["arm_id"]) for a in raw_arms}
for r in existing:
    if r["study_id"] in raw_ids and (r["study_id"], r["arm_id"]) not in raw_pairs:
        errors.append(f"arms_existing: ({r['study_id']},{r['arm_id']}) not an arm of data/raw")
    if r["study_id"] in raw_ids:
        dup = [a for a in raw_arms if (a["study_id"], a["arm_id"], a["outcome"], a["timepoint"]) ==
               (r["study_id"], r["arm_id"], r["outcome"], r["timepoint"])]
        if dup:
            errors.append(f"arms_existing: {r['study_id']}/{r['arm_id']}/{r['outcome']}/{r['timepoint']} already in data/raw")

for e in excluded:
    if not (e["study_id"] and e["outcome"] and e["reason"] and e["source"] and e["quote"]):
        errors.append(f"excluded.csv: incomplete row {e['study_id']}")

# every study in studies.csv has at least one arm row
used = {r["study_id"] for r in arms + existing}
for s in my_ids - used:
    errors.append(f"studies.csv: {s} has no arm rows")

print(f"arms.csv {len(arms)} rows; arms_existing.csv {len(existing)} rows; studies.csv {len(studies)}; "
      f"excluded.csv {len(excluded)}")
for fname, rows in [("arms.csv", arms), ("arms_existing.csv", existing)]:
    tab = {}
    for r in rows:
        tab.setdefault((r["study_id"], r["outcome"]), {"high": 0, "medium": 0})[r["confidence"]] += 1
    for (sid, out), c in sorted(tab.items()):
        print(f"  {fname}: {sid:20s} {out:18s} high={c['high']} medium={c['medium']}")
if errors:
    print("FAILED")
    for e in errors:
        print(" -", e)
    sys.exit(1)
print("ALL CHECKS PASSED")
