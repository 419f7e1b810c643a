"""Validation of targets.csv / per_study.csv / study_notes.csv (standard library only). Exit 1 on failure."""
import csv, re, sys
bad = []
T = list(csv.DictReader(open("targets.csv"))); P = list(csv.DictReader(open("per_study.csv")))
TCOLS = "target_id,review,doi,comparison,outcome,timepoint,measure,estimate,ci_low,ci_high,k,n_participants,model,included_trials,source,quote".split(",")
PCOLS = "target_id,trial,arm,events,n,mean,sd,source,quote".split(",")
if list(T[0].keys()) != TCOLS: bad.append("targets.csv columns")
if list(P[0].keys()) != PCOLS: bad.append("per_study.csv columns")
ids = [t["target_id"] for t in T]
if len(ids) != len(set(ids)): bad.append("duplicate target_id")
tg = {t["target_id"]: t for t in T}
def num(x):
    return float(x.replace("\u2212", "-"))
for t in T:
    if not t["source"]: bad.append(t["target_id"] + ": no source")
    if t["estimate"]:
        if not t["quote"]: bad.append(t["target_id"] + ": estimate without quote")
        q = t["quote"].replace("\u2212 ", "-").replace("\u2212", "-").replace("- ", "-")
        for f in ("estimate", "ci_low", "ci_high"):
            v = t[f]
            if v and v.lstrip("-") not in q: bad.append(f"{t['target_id']}: {f}={v} not in quote")
        lo, est, hi = (num(t[f]) for f in ("ci_low", "estimate", "ci_high")) if t["ci_low"] else (0, 0, 0)
        if t["ci_low"] and not (lo <= est <= hi): bad.append(t["target_id"] + ": estimate outside CI")
    else:
        if "NOT READ" not in t["source"]: bad.append(t["target_id"] + ": blank estimate must say NOT READ in source")
for r in P:
    tid = r["target_id"]
    if tid not in tg: bad.append("per_study row for unknown target " + tid); continue
    if not r["source"] or not r["quote"]: bad.append(f"{tid}/{r['trial']}: missing source/quote")
    if r["n"]:
        n = int(r["n"])
        if n <= 0: bad.append(f"{tid}/{r['trial']}: n<=0")
        if r["events"] and not (0 <= int(r["events"]) <= n): bad.append(f"{tid}/{r['trial']}: events>n")
        if r["sd"] and float(r["sd"]) <= 0: bad.append(f"{tid}/{r['trial']}: sd<=0")
        # script rows: every vector prefix in the quote must end with the recorded value
        parts = r["quote"].split(" | ")[1:]
        vals = [r[f] for f in (("n", "mean", "sd") if r["mean"] else ("n", "events"))]
        for part, val in zip(parts, vals):
            last = re.split(r"[(,]\s*", part)[-1].rstrip(")").rstrip("L")
            if float(last) != float(val): bad.append(f"{tid}/{r['trial']}/{r['arm']}: quote ends {last} but value {val}")
        if r["trial"] not in tg[tid]["included_trials"].split(";"): bad.append(f"{tid}: {r['trial']} not in included_trials")
# every Marchi study with numbers has both arms
from collections import Counter
c = Counter((r["target_id"], r["trial"]) for r in P if r["n"])
for k, v in c.items():
    if v != 2: bad.append(f"{k}: {v} arm rows (expected 2)")
# included_trials of Marchi targets == trials with data
for t in T:
    if t["target_id"].startswith("marchi2022"):
        got = sorted({r["trial"] for r in P if r["target_id"] == t["target_id"]})
        if got != sorted(t["included_trials"].split(";")): bad.append(t["target_id"] + ": included_trials != per_study trials")
        if t["k"] and int(t["k"]) != len(got): bad.append(t["target_id"] + f": k={t['k']} but {len(got)} trials")
print("targets:", len(T), "per_study rows:", len(P))
if bad:
    print("FAIL"); [print(" -", b) for b in bad]; sys.exit(1)
print("ALL CHECKS PASSED")
