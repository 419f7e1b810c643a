"""Sensitivity of the Marchi 2022 depression SMD to the review's questionable rows (stdlib). Writes sensitivity.csv."""
import csv
from reproduce import hedges, dl  # noqa (reproduce.py also re-runs and rewrites reproduction_check.csv)
rows = [r for r in csv.DictReader(open("per_study.csv")) if r["target_id"] == "marchi2022_depression"]
notes = {r["trial"]: r for r in csv.DictReader(open("study_notes.csv"))}
st = {}
for r in rows: st.setdefault(r["trial"], {})[r["arm"]] = r
def pool(names):
    y, v = [], []
    for n in names:
        T, C = st[n]["treatment"], st[n]["control"]
        g, var = hedges(int(T["n"]), float(T["mean"]), float(T["sd"]), int(C["n"]), float(C["mean"]), float(C["sd"]))
        y.append(g); v.append(var)
    return dl(y, v)
allx = list(st)
sets = {
 "all 17 (= published analysis)": allx,
 "without Zhong et al. 2016 (SD 0.256 in both arms)": [n for n in allx if n != "Zhong et al. 2016"],
 "without rows whose SD looks like an SE (Zhong 2016, Zhang 2018, Singh 2015, Dong 2019, Kheirabadi 2019)": [n for n in allx if n not in ("Zhong et al. 2016", "Zhang et al. 2018", "Singh et. 2015", "Dong et al. 2019", "Kheirabadi et al. 2019")],
 "without Kheirabadi et al. 2019 (ketamine vs ECT, an active comparator)": [n for n in allx if n != "Kheirabadi et al. 2019"],
 "without Zarate et al. 2012 (analysis n 40/38 but total n 15 in the same data frame)": [n for n in allx if n != "Zarate et al. 2012"],
 "only ketamine/esketamine given as a treatment (Use = 'Tp ev' or 'Tp spray')": [n for n in allx if notes[n]["use"] in ("Tp ev", "Tp spray")],
 "only ketamine given within ECT anaesthesia (Use = 'Anest + ECT')": [n for n in allx if notes[n]["use"] == "Anest + ECT"],
}
with open("sensitivity.csv", "w", newline="") as f:
    w = csv.writer(f); w.writerow(["analysis", "k", "smd", "ci_low", "ci_high", "tau2", "I2_pct", "trials"])
    for lab, names in sets.items():
        r = pool(names); w.writerow([lab, r["k"], round(r["re"], 3), round(r["lo"], 3), round(r["hi"], 3), round(r["tau2"], 3), round(100 * r["I2"], 1), ";".join(names)])
        print(f"{lab}: k={r['k']} SMD {r['re']:.2f} ({r['lo']:.2f}; {r['hi']:.2f}) I2 {100*r['I2']:.0f}%")
