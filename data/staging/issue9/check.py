import csv, re, sys
ok = True
def fail(msg):
    global ok; ok = False; print("FAIL:", msg)
raw_cols = {f: next(csv.reader(open(f"/work/main/data/raw/{f}"))) for f in ["arms.csv", "studies.csv", "excluded.csv"]}
for f, cols in raw_cols.items():
    got = next(csv.reader(open(f)))
    if got != cols: fail(f"{f}: columns differ from data/raw/{f}")
arms = list(csv.DictReader(open("arms.csv", encoding="utf-8")))
studies = {r["study_id"]: r for r in csv.DictReader(open("studies.csv", encoding="utf-8"))}
nperc = 0
for i, r in enumerate(arms, 2):
    tag = f"arms.csv line {i} ({r['study_id']}/{r['arm_id']}/{r['outcome']}/{r['timepoint']})"
    if r["study_id"] not in studies: fail(tag + ": study_id not in studies.csv")
    if not r["source"].strip(): fail(tag + ": empty source")
    if not r["quote"].strip(): fail(tag + ": empty quote")
    if r["confidence"] not in ("high", "medium"): fail(tag + ": bad confidence")
    if r["confidence"] == "medium" and not r["derived"].strip(): fail(tag + ": medium without derived")
    n = int(r["n"]); assert n > 0
    if r["events"]:
        e = int(r["events"])
        if not (0 <= e <= n): fail(tag + f": events {e} > n {n}")
        if r["mean"] or r["sd"]: fail(tag + ": binary row with mean/sd")
    else:
        if not (r["mean"] and r["sd"] and float(r["sd"]) > 0): fail(tag + ": continuous row without mean/sd")
        # continuous: mean and sd must appear in the quote (allowing '- 15.2' style spacing)
        q = r["quote"].replace("- ", "-").replace("−", "-")
        for v in (r["mean"], r["sd"]):
            if v not in q and v.lstrip("-") not in q: fail(tag + f": value {v} not found in quote")
    m = re.match(r"\s*([\d.]+)% x (\d+) = ([\d.]+) -> (\d+)", r["derived"])
    if m:
        nperc += 1
        pct, N, prod, K = float(m.group(1)), int(m.group(2)), float(m.group(3)), int(m.group(4))
        if f"{m.group(1)}%" not in r["quote"]: fail(tag + f": {m.group(1)}% not in quote")
        if abs(pct * N / 100 - prod) > 0.006: fail(tag + f": arithmetic {pct}x{N} != {prod}")
        if round(pct * N / 100) != K: fail(tag + f": rounding {pct*N/100} -> {K}")
        if K != int(r["events"]) or N != n: fail(tag + ": derived K/N differ from events/n")
        # the derived count must reproduce the stated percentage at the stated precision
        dec = len(m.group(1).split(".")[1]) if "." in m.group(1) else 0
        if round(100 * K / N, dec) != pct: fail(tag + f": {K}/{N} = {100*K/N:.3f}% does not round to {pct}%")
    elif r["events"] and r["confidence"] == "high":
        if f"{r['events']}/{r['n']}" not in r["quote"] and r["events"] not in r["quote"]:
            fail(tag + ": high-confidence count not visible in quote")
keys = [(r["study_id"], r["arm_id"], r["outcome"], r["timepoint"]) for r in arms]
if len(keys) != len(set(keys)): fail("duplicate (study_id, arm_id, outcome, timepoint)")
for sid, s in studies.items():
    if not (s["doi"] or s["pmid"] or s["registration"]): fail(f"studies {sid}: no identifier")
    if not s["year"]: print(f"WARN: studies {sid}: year empty (not read in any page)")
ex = list(csv.DictReader(open("excluded.csv", encoding="utf-8")))
for r in ex:
    if not (r["source"] and r["quote"] and r["reason"]): fail(f"excluded {r['study_id']}: missing source/quote/reason")
print(f"{len(arms)} arm rows ({sum(r['confidence']=='high' for r in arms)} high, {sum(r['confidence']=='medium' for r in arms)} medium), "
      f"{nperc} percentage derivations re-checked, {len(studies)} studies, {len(ex)} excluded rows")
print("RESULT:", "PASS" if ok else "FAIL"); sys.exit(0 if ok else 1)
