"""Re-reads included.csv and rob.csv and checks them (stdlib only). Run: python3 check.py"""
import csv, os, re, sys
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
err = []
def read(p): 
    with open(p, newline="", encoding="utf-8") as f: return list(csv.DictReader(f)), None
inc = list(csv.DictReader(open(os.path.join(HERE, "included.csv"), encoding="utf-8")))
rob = list(csv.DictReader(open(os.path.join(HERE, "rob.csv"), encoding="utf-8")))
ref_header = next(csv.reader(open(os.path.join(ROOT, "data/staging/safety_rob/rob.csv"), encoding="utf-8")))
my_header = next(csv.reader(open(os.path.join(HERE, "rob.csv"), encoding="utf-8")))
if my_header != ref_header: err.append(f"rob.csv header {my_header} != safety_rob header {ref_header}")
studies = {r["study_id"] for r in csv.DictReader(open(os.path.join(ROOT, "data/raw/studies.csv"), encoding="utf-8"))}
URL = re.compile(r"^https://pmc\.ncbi\.nlm\.nih\.gov/articles/PMC8434915/table/CD011612-tblf-00\d\d")
DOMS = ["random_sequence_generation","allocation_concealment","blinding_participants_personnel",
        "blinding_outcome_assessment","incomplete_outcome_data","selective_reporting","other_bias"]
LABEL = {"random_sequence_generation":"Random sequence generation","allocation_concealment":"Allocation concealment",
         "blinding_participants_personnel":"Blinding of participants and personnel","blinding_outcome_assessment":"Blinding of outcome assessment",
         "incomplete_outcome_data":"Incomplete outcome data","selective_reporting":"Selective reporting","other_bias":"Other bias"}
names = set()
for r in inc:
    for c in ("review_study_name","agent","table_url","quote","match_note"):
        if not r[c].strip(): err.append(f"included: {r['review_study_name']} empty {c}")
    if r["agent"] not in ("ketamine","esketamine","other"): err.append(f"bad agent {r['agent']}")
    if not URL.match(r["table_url"]): err.append(f"bad url {r['table_url']}")
    if r["review_study_name"] in names: err.append(f"duplicate {r['review_study_name']}")
    names.add(r["review_study_name"])
    if r["our_study_id"] and r["our_study_id"] not in studies: err.append(f"unknown study_id {r['our_study_id']}")
    # the name printed on the table page must open the quote
    if not r["quote"].startswith(r["review_study_name"] + "."): err.append(f"quote of {r['review_study_name']} does not start with its name")
    # first-author surname and year agree with the matched study_id
    if r["our_study_id"]:
        sur = re.sub(r"[^a-z]", "", r["review_study_name"].split()[0].lower())
        yr = re.search(r"\d{4}", r["review_study_name"]).group()
        if not (r["our_study_id"].startswith(sur) and yr in r["our_study_id"]):
            err.append(f"match {r['review_study_name']} -> {r['our_study_id']}: author/year do not agree")
seen = set()
url_of = {r["review_study_name"]: r["table_url"] for r in inc}
for r in rob:
    k = (r["study_id"], r["domain"])
    if k in seen: err.append(f"duplicate rob row {k}")
    seen.add(k)
    if r["domain"] not in DOMS: err.append(f"bad domain {r['domain']}")
    if r["judgement"] not in ("low","unclear","high"): err.append(f"bad judgement {r['judgement']}")
    if not URL.match(r["source"]): err.append(f"bad source {r['source']}")
    if not r["quote"].startswith(LABEL[r["domain"]]): err.append(f"{k}: quote does not start with the domain label")
    # the printed judgement word must follow the domain label in the quote
    word = {"low":"Low","unclear":"Unclear","high":"High"}[r["judgement"]]
    if not re.search(r"(\)|outcomes|Other bias)\s*\|?\s*" + word, r["quote"]): err.append(f"{k}: judgement word '{word}' not found after label")
# every ketamine/esketamine included row has >=1 rob row; rob ids map back to included rows
ids = {(r["our_study_id"] or re.sub(r"[^a-z0-9]", "", r["review_study_name"].lower().replace("‐",""))) for r in inc if r["agent"] != "other"}
for i in ids:
    if not any(r["study_id"] == i for r in rob): err.append(f"no rob rows for {i}")
for r in rob:
    if r["study_id"] not in ids: err.append(f"rob study {r['study_id']} not among included ketamine/esketamine rows")
# informational: agreement with earlier staging/safety_rob/rob.csv on overlapping (study, domain)
old = {(r["study_id"], r["domain"]): r["judgement"] for r in csv.DictReader(open(os.path.join(ROOT, "data/staging/safety_rob/rob.csv"), encoding="utf-8"))}
alias = {"ionescu2020": "ionescu2021_aspire2"}
agree = dis = 0
for r in rob:
    k = (alias.get(r["study_id"], r["study_id"]), r["domain"])
    if k in old:
        if old[k] == r["judgement"]: agree += 1
        else: dis += 1; print("DISAGREES with safety_rob:", k, old[k], "vs", r["judgement"])
per = {}
for r in rob: per.setdefault(r["study_id"], 0); per[r["study_id"]] += 1
n7 = sum(1 for v in per.values() if v == 7)
print(f"included.csv rows: {len(inc)} ({sum(r['agent']!='other' for r in inc)} ketamine/esketamine, "
      f"{sum(bool(r['our_study_id']) for r in inc)} matched to studies.csv); rob.csv rows: {len(rob)} for {len(per)} trials "
      f"({n7} with all 7 domains); overlap with safety_rob: {agree} agree, {dis} disagree")
if err:
    print("FAILED:"); [print(" -", e) for e in err]; sys.exit(1)
print("ALL CHECKS PASSED")
