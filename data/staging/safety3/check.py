"""Validate data/staging/safety3/*.csv (standard library only).  python3 check.py

Checks: headers identical to data/raw (arms.csv, studies.csv); events <= n and n > 0; binary rows
have events, continuous rows mean+sd; medium rows carry `derived` and, when it is of the form
'P% x N = ... -> E', round(100*E/N) at the printed precision gives back P and no other integer
does; every row has source + quote; (study, arm) pairs of studies already in data/raw use arm ids
that exist there; unique (study, arm, outcome, timepoint); cadss rows: mean numeric, sd/se > 0,
n > 0, source + quote; excluded rows: reason + source + quote, confidence low.
Exits non-zero on any failure.
"""
import csv
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RAW = os.path.join(HERE, "..", "..", "raw")
ERR = []


def read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        r = csv.DictReader(fh)
        return r.fieldnames, list(r)


def err(msg):
    ERR.append(msg)


raw_arm_cols, raw_arms = read(os.path.join(RAW, "arms.csv"))
raw_study_cols, raw_studies = read(os.path.join(RAW, "studies.csv"))
raw_ids = {r["study_id"] for r in raw_studies}
raw_arm_ids = {(r["study_id"], r["arm_id"]) for r in raw_arms}

arm_cols, arms = read(os.path.join(HERE, "arms.csv"))
study_cols, studies = read(os.path.join(HERE, "studies.csv"))
cadss_cols, cadss = read(os.path.join(HERE, "cadss.csv"))
excl_cols, excl = read(os.path.join(HERE, "excluded.csv"))

if arm_cols != raw_arm_cols:
    err("arms.csv header differs from data/raw/arms.csv")
if study_cols != raw_study_cols:
    err("studies.csv header differs from data/raw/studies.csv")
if cadss_cols != ["study_id", "arm", "time", "mean", "sd_or_se", "n", "source", "quote"]:
    err("cadss.csv header is not the one of the brief")

new_ids = {r["study_id"] for r in studies}
keys = set()
BINARY = {"ae_dissociation", "ae_bp_increase", "ae_nausea", "ae_dizziness", "ae_headache",
          "ae_vomiting", "discontinued_ae", "serious_ae"}
for i, r in enumerate(arms, 2):
    tag = "arms.csv line %d" % i
    sid = r["study_id"]
    if sid not in raw_ids and sid not in new_ids:
        err(tag + ": unknown study_id " + sid)
    if sid in raw_ids and (sid, r["arm_id"]) not in raw_arm_ids:
        err(tag + ": arm_id %s not used for %s in data/raw" % (r["arm_id"], sid))
    k = (sid, r["arm_id"], r["outcome"], r["timepoint"])
    if k in keys:
        err(tag + ": duplicate key")
    keys.add(k)
    if not r["source"].strip() or not r["quote"].strip():
        err(tag + ": source or quote missing")
    try:
        n = int(r["n"])
        if n <= 0:
            err(tag + ": n <= 0")
    except ValueError:
        err(tag + ": n not an integer")
        continue
    if r["outcome"] in BINARY:
        try:
            e = int(r["events"])
        except ValueError:
            err(tag + ": events missing")
            continue
        if not 0 <= e <= n:
            err(tag + ": events not in 0..n")
    if r["confidence"] not in ("high", "medium"):
        err(tag + ": confidence must be high or medium (low rows go to excluded.csv)")
    if r["confidence"] == "medium":
        if not r["derived"].strip():
            err(tag + ": medium row without derived")
        m = re.match(r"\s*([\d.]+)% x (\d+) = [\d.]+ -> (\d+)", r["derived"])
        if m:
            pct, nn, ev = m.group(1), int(m.group(2)), int(m.group(3))
            dec = len(pct.split(".")[1]) if "." in pct else 0
            fits = [x for x in range(nn + 1) if round(100.0 * x / nn, dec) == float(pct)]
            if fits != [ev]:
                err(tag + ": %s%% of %d fits %s, row says %d" % (pct, nn, fits, ev))

for i, r in enumerate(cadss, 2):
    tag = "cadss.csv line %d" % i
    try:
        float(r["mean"])
        if float(r["sd_or_se"]) <= 0 or int(r["n"]) <= 0:
            err(tag + ": sd/se or n not positive")
    except ValueError:
        err(tag + ": non-numeric mean/sd/n")
    if not r["source"].strip() or not r["quote"].strip():
        err(tag + ": source or quote missing")

for i, r in enumerate(excl, 2):
    tag = "excluded.csv line %d" % i
    for c in ("study_id", "reason", "source", "quote"):
        if not r[c].strip():
            err(tag + ": %s missing" % c)
    if r["confidence"] != "low":
        err(tag + ": excluded row should be low confidence")
    if not re.match(r"^[a-z0-9_]+$", r["study_id"]):
        err(tag + ": bad study_id")

print("arms.csv rows: %d | studies.csv rows: %d | cadss.csv rows: %d | excluded.csv rows: %d"
      % (len(arms), len(studies), len(cadss), len(excl)))
by_outcome = {}
for r in arms:
    by_outcome.setdefault(r["outcome"], set()).add(r["study_id"])
for o in sorted(by_outcome):
    print("  %-16s %d trial(s): %s" % (o, len(by_outcome[o]), ", ".join(sorted(by_outcome[o]))))
if ERR:
    print("FAILED:")
    for e in ERR:
        print("  " + e)
    sys.exit(1)
print("ALL CHECKS PASSED")
