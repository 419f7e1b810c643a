"""Checks membership.csv and rob.csv (standard library only)."""
import csv, sys
ok = True
def fail(m):
    global ok; ok = False; print("FAIL:", m)
ids = {r["study_id"] for r in csv.DictReader(open("/work/main/data/raw/studies.csv", encoding="utf-8"))}
with open("membership.csv", encoding="utf-8") as f:
    rd = csv.DictReader(f)
    if rd.fieldnames != ["trial", "our_study_id", "included", "evidence_url", "quote", "note"]:
        fail("membership header %s" % rd.fieldnames)
    rows = list(rd)
if len(rows) != 8: fail("expected 8 rows, got %d" % len(rows))
for r in rows:
    if r["included"] not in ("yes", "no", "unknown"): fail("bad included value " + r["included"])
    if r["our_study_id"] not in ids: fail("study id not in data/raw/studies.csv: " + r["our_study_id"])
    if r["included"] in ("yes", "no"):
        if not r["evidence_url"].startswith("https://pmc.ncbi.nlm.nih.gov/articles/PMC8434915/"):
            fail("yes/no row without a CD011612 page: " + r["trial"])
        if not r["quote"]: fail("yes/no row without quote: " + r["trial"])
    else:
        if r["evidence_url"] or r["quote"]: fail("unknown row should carry no evidence: " + r["trial"])
    if not r["note"]: fail("empty note: " + r["trial"])
rob_hdr = next(csv.reader(open("/work/main/data/staging/cochrane_list/rob.csv", encoding="utf-8")))
with open("rob.csv", encoding="utf-8") as f:
    rr = list(csv.reader(f))
if rr[0] != rob_hdr: fail("rob.csv header differs from cochrane_list/rob.csv")
print("rows:", len(rows), "| included counts:", {k: sum(r["included"] == k for r in rows) for k in ("yes", "no", "unknown")}, "| rob rows:", len(rr) - 1)
print("ALL CHECKS PASSED" if ok else "CHECKS FAILED"); sys.exit(0 if ok else 1)
