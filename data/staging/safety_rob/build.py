import csv
exec(open('safety_rows.py').read())
exec(open('rob_rows.py').read())
cols = "study_id,arm_id,role,dose,outcome,timepoint,timepoint_reported,n,events,mean,sd,scale,confidence,derived,source,quote,notes".split(",")
tporder = {"infusion":0,"40min":1,"2h":2,"24h":3,"w4":10,"maintenance":20,"trial":30}
R.sort(key=lambda r:(r["study_id"], r["outcome"], tporder.get(r["timepoint"],5), 0 if r["role"]=="treatment" else 1, r["arm_id"]))
with open("safety_arms.csv","w",newline="") as f:
    w = csv.DictWriter(f, fieldnames=cols); w.writeheader()
    for r in R: w.writerow({c:r.get(c,"") for c in cols})
rc = "study_id,review,tool,domain,judgement,source,quote".split(",")
with open("rob.csv","w",newline="") as f:
    w = csv.writer(f); w.writerow(rc)
    for row in ROWS: w.writerow(row)
print(len(R), len(ROWS))
