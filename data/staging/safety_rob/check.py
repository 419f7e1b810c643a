import csv, re, sys
base = "/work/main/data/raw/"
studies = {r["study_id"] for r in csv.DictReader(open(base+"studies.csv"))}
arms = {(r["study_id"], r["arm_id"]) for r in csv.DictReader(open(base+"arms.csv"))}
raw_cols = next(csv.reader(open(base+"arms.csv")))
errs = []
rows = list(csv.DictReader(open("safety_arms.csv")))
if next(csv.reader(open("safety_arms.csv"))) != raw_cols: errs.append("column mismatch with data/raw/arms.csv")
keys = set()
for i, r in enumerate(rows, 2):
    k = (r["study_id"], r["arm_id"], r["outcome"], r["timepoint"])
    if k in keys: errs.append(f"safety row {i}: duplicate key {k}")
    keys.add(k)
    if r["study_id"] not in studies: errs.append(f"safety row {i}: unknown study {r['study_id']}")
    if (r["study_id"], r["arm_id"]) not in arms: errs.append(f"safety row {i}: arm {r['arm_id']} not in arms.csv for {r['study_id']}")
    if not r["source"].strip() or not r["quote"].strip(): errs.append(f"safety row {i}: missing source/quote")
    if not re.fullmatch(r"[A-Za-z0-9_-]+", r["timepoint"]): errs.append(f"safety row {i}: bad timepoint")
    n = int(r["n"]);  assert n > 0
    if r["events"] != "":
        e = int(r["events"])
        if not (0 <= e <= n): errs.append(f"safety row {i}: events {e} > n {n}")
    else:
        if not (r["mean"] and r["sd"] and float(r["sd"]) > 0): errs.append(f"safety row {i}: neither events nor mean/sd")
    if r["confidence"] == "medium" and not r["derived"].strip(): errs.append(f"safety row {i}: medium without derived")
    # every number in events/n must appear in the quote (except n taken via derived)
    words = {"0":"no","1":"one","2":"two","3":"three"}
    if r["events"] != "" and r["events"] not in re.findall(r"\d+", r["quote"]) and not re.search(r"\b"+words.get(r["events"],"@@")+r"\b", r["quote"], re.I): errs.append(f"safety row {i}: events not found in quote")
    if r["confidence"] == "high" and r["n"] not in re.findall(r"\d+", r["quote"]): errs.append(f"safety row {i}: n not found in quote")
rob = list(csv.DictReader(open("rob.csv")))
for i, r in enumerate(rob, 2):
    if r["study_id"] not in studies: errs.append(f"rob row {i}: unknown study")
    if r["tool"] not in ("RoB1","RoB2"): errs.append(f"rob row {i}: bad tool")
    if r["judgement"] not in ("low","some concerns","high","unclear"): errs.append(f"rob row {i}: bad judgement")
    if not r["source"].strip() or not r["quote"].strip(): errs.append(f"rob row {i}: missing source/quote")
    jw = {"low":"Low risk","unclear":"Unclear risk","high":"High risk"}[r["judgement"]]
    if jw not in r["quote"]: errs.append(f"rob row {i}: judgement text not in quote")
print(f"safety_arms.csv rows: {len(rows)}; rob.csv rows: {len(rob)}")
print("ERRORS:" if errs else "ALL CHECKS PASSED", *errs, sep="\n")
