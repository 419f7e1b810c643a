"""Re-read the CSVs of data/staging/timepoints/ and check them (standard library only). Run: python3 check.py"""
import csv, re, sys
RAW = "/work/main/data/raw"
ok = True
def fail(m):
    global ok; ok = False; print("FAIL:", m)
for f in ["arms.csv", "studies.csv", "excluded.csv"]:
    if next(csv.reader(open(f))) != next(csv.reader(open(f"{RAW}/{f}"))):
        fail(f"{f}: columns differ from data/raw/{f}")
arms = list(csv.DictReader(open("arms.csv", encoding="utf-8")))
local_st = {r["study_id"]: r for r in csv.DictReader(open("studies.csv", encoding="utf-8"))}
raw_st = {r["study_id"]: r for r in csv.DictReader(open(f"{RAW}/studies.csv", encoding="utf-8"))}
raw_arms = list(csv.DictReader(open(f"{RAW}/arms.csv", encoding="utf-8")))
raw_arm_def = {}
for r in raw_arms:
    raw_arm_def.setdefault((r["study_id"], r["arm_id"]), set()).add(r["role"])
raw_keys = {(r["study_id"], r["arm_id"], r["outcome"], r["timepoint"]) for r in raw_arms}
for sid in local_st:
    if sid in raw_st: fail(f"studies.csv: {sid} already in data/raw (reuse, do not duplicate)")
    s = local_st[sid]
    if not (s["doi"] or s["pmid"] or s["registration"]): fail(f"studies {sid}: no identifier")
nperc = 0
for i, r in enumerate(arms, 2):
    tag = f"arms.csv line {i} ({r['study_id']}/{r['arm_id']}/{r['outcome']}/{r['timepoint']})"
    if r["study_id"] not in raw_st and r["study_id"] not in local_st: fail(tag + ": study_id unknown")
    if not r["source"].strip(): fail(tag + ": empty source")
    if not r["quote"].strip(): fail(tag + ": empty quote")
    if r["confidence"] not in ("high", "medium"): fail(tag + ": confidence must be high/medium")
    if r["confidence"] == "medium" and not r["derived"].strip(): fail(tag + ": medium without derived")
    if r["role"] not in ("treatment", "control"): fail(tag + ": bad role")
    n = int(r["n"])
    if n <= 0: fail(tag + ": n <= 0")
    if r["events"]:
        e = int(r["events"])
        if not 0 <= e <= n: fail(tag + f": events {e} not in 0..{n}")
        if r["confidence"] == "high" and f"{e}/{n}" not in r["quote"]:
            fail(tag + f": high-confidence count {e}/{n} not visible in quote")
    elif not (r["mean"] and r["sd"]): fail(tag + ": neither events nor mean/sd")
    # arm_id consistency with data/raw (same study + arm_id must keep its role)
    key_sa = (r["study_id"], r["arm_id"])
    if r["study_id"] in raw_st:
        if key_sa not in raw_arm_def: fail(tag + ": arm_id not used in data/raw for this study")
        elif r["role"] not in raw_arm_def[key_sa]: fail(tag + ": role differs from data/raw")
    if (r["study_id"], r["arm_id"], r["outcome"], r["timepoint"]) in raw_keys:
        fail(tag + ": key already present in data/raw/arms.csv (duplicate)")
    m = re.match(r"\s*([\d.]+)% x (\d+) = ([\d.]+) -> (\d+)", r["derived"])
    if m:
        nperc += 1
        pct, N, prod, K = float(m.group(1)), int(m.group(2)), float(m.group(3)), int(m.group(4))
        if f"{m.group(1)}%" not in r["quote"]: fail(tag + ": % not in quote")
        if abs(pct * N / 100 - prod) > 0.006: fail(tag + ": arithmetic")
        dec = len(m.group(1).split(".")[1]) if "." in m.group(1) else 0
        if round(pct * N / 100) != K or round(100 * K / N, dec) != pct: fail(tag + ": rounding")
        if K != int(r["events"]) or N != n: fail(tag + ": derived K/N differ from events/n")
    elif r["confidence"] == "medium": fail(tag + ": medium row without a checkable 'P% x N = X -> K' derivation")
keys = [(r["study_id"], r["arm_id"], r["outcome"], r["timepoint"]) for r in arms]
if len(keys) != len(set(keys)): fail("duplicate (study_id, arm_id, outcome, timepoint)")
# every study x outcome x timepoint needs a treatment and a control arm
grp = {}
for r in arms: grp.setdefault((r["study_id"], r["outcome"], r["timepoint"]), set()).add(r["role"])
for k, roles in grp.items():
    if roles != {"treatment", "control"}: fail(f"{k}: needs both a treatment and a control row")
ex = list(csv.DictReader(open("excluded.csv", encoding="utf-8")))
for r in ex:
    if not (r["source"] and r["quote"] and r["reason"]): fail(f"excluded {r['study_id']}: missing source/quote/reason")
    # every n/N written in a reason must be visible in the quote as count and % or as n/N
    for a, b in re.findall(r"(\d+)/(\d+)", r["reason"]):
        if f"{a}/{b}" not in r["quote"] and f"| {a} (" not in r["quote"] and f"| {a} |" not in r["quote"]:
            fail(f"excluded {r['study_id']}: {a}/{b} not traceable in quote")
print(f"{len(arms)} arm rows ({sum(r['confidence']=='high' for r in arms)} high, "
      f"{sum(r['confidence']=='medium' for r in arms)} medium), {nperc} % derivations checked, "
      f"{len(local_st)} new studies, {len(ex)} excluded rows")
print("RESULT:", "PASS" if ok else "FAIL"); sys.exit(0 if ok else 1)
