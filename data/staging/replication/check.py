"""Checks replication_arms.csv / replication_targets.csv (standard library only).
- events <= n (when both present), integers >= 0
- every row has source and quote
- arms with counts have count_source in {review_table, trial_publication}; rows without counts are 'low'
- medium rows: notes must contain 'derivation: P% x N' and round(P*N/100) == events
- targets: estimate within [ci_low, ci_high] when all present; source/quote present
- prints per-replication trial counts"""

import csv
import re
import sys
from collections import defaultdict

ok = True


def fail(msg):
    global ok
    ok = False
    print("FAIL:", msg)


arms = list(csv.DictReader(open("replication_arms.csv", encoding="utf-8")))
for i, r in enumerate(arms, 2):
    tag = f"arms line {i} ({r['study']}, {r['arm']})"
    if not r["source"].strip() or not r["quote"].strip():
        fail(f"{tag}: missing source/quote")
    if r["arm"] not in ("treatment", "control"):
        fail(f"{tag}: arm must be treatment|control")
    ev, n = r["events"].strip(), r["n"].strip()
    if ev and n:
        e, m = int(ev), int(n)
        if e < 0 or m <= 0 or e > m:
            fail(f"{tag}: events {e} / n {m} invalid")
        if r["count_source"] not in ("review_table", "trial_publication"):
            fail(f"{tag}: count_source must be review_table|trial_publication")
        if ev not in r["quote"] or n not in r["quote"]:
            print(f"WARN: {tag}: events or n not literally in quote")
    else:
        if r["confidence"] != "low":
            fail(f"{tag}: incomplete counts must be confidence=low")
    if r["confidence"] == "medium":
        m_ = re.search(r"derivation:\s*([\d.]+)%\s*x\s*(\d+)", r["notes"])
        if not m_:
            fail(f"{tag}: medium row without 'derivation: P% x N' in notes")
        else:
            p, nn = float(m_.group(1)), int(m_.group(2))
            if nn != int(n) or round(p * nn / 100) != int(ev):
                fail(f"{tag}: derivation {p}% x {nn} does not give {ev}/{n}")
    if r["confidence"] not in ("high", "medium", "low"):
        fail(f"{tag}: bad confidence")

tg = list(csv.DictReader(open("replication_targets.csv", encoding="utf-8")))
for i, t in enumerate(tg, 2):
    if not t["source"].strip() or not t["quote"].strip():
        fail(f"targets line {i}: missing source/quote")
    if t["estimate"] and t["ci_low"] and t["ci_high"]:
        if not float(t["ci_low"]) <= float(t["estimate"]) <= float(t["ci_high"]):
            fail(f"targets line {i}: estimate outside CI")
        if t["estimate"] not in t["quote"]:
            fail(f"targets line {i}: estimate not in quote")

studies = defaultdict(set)
counted = defaultdict(set)
for r in arms:
    studies[r["replication"]].add(r["study"].split(" (")[0])
    if r["events"] and r["n"]:
        counted[r["replication"]].add(r["study"].split(" (")[0])
for rep in sorted(studies):
    k = [t["k"] for t in tg if t["replication"] == rep]
    print(
        f"{rep}: {len(studies[rep])} trials listed, {len(counted[rep])} with complete counts; target k = {k}"
    )
print("PASS" if ok else "FAILED")
sys.exit(0 if ok else 1)
