"""Build arms.csv / studies.csv / excluded.csv of data/staging/timepoints/ (standard library only).
Every number below was read in this session in the library text quoted in `quote` (see querylog.txt)."""
import csv
RAW = "/work/main/data/raw"
cols = {f: next(csv.reader(open(f"{RAW}/{f}"))) for f in ["arms.csv", "studies.csv", "excluded.csv"]}

LII_SRC = "https://pmc.ncbi.nlm.nih.gov/articles/PMC10769130/table/T4 [Extended Data Table 1]"
LII_NOTE = ("surgical-anaesthesia setting: single infusion during general anaesthesia for surgery (masked); null trial; "
            "single dose, so the timepoint is both after the first and after the last (only) dose; "
            "rows added by staging/timepoints (remission at day 5 and day 14 were in the table but not in data/raw)")
arms = []
def lii(arm, role, dose, tp, rep, n, e, quote):
    arms.append(dict(study_id="lii2023", arm_id=arm, role=role, dose=dose, outcome="remission", timepoint=tp,
                     timepoint_reported=rep, n=n, events=e, mean="", sd="", scale="MADRS (<=12)", confidence="high",
                     derived="", source=LII_SRC, quote=quote, notes=LII_NOTE))
KET = "0.5 mg/kg single infusion during general anesthesia"
q5 = "Extended Data Table 1, Remission on MADRS: Day 5 | 7/19 | 36.8 | 6/19 | 31.6 (columns: Ketamine n/N in trial, %, Placebo n/N in trial, %); Remission is defined as MADRS score ≤12."
q14 = "Extended Data Table 1, Remission on MADRS: Day 14 | 8/19 | 42.1 | 9/19 | 47.4 (columns: Ketamine n/N in trial, %, Placebo n/N in trial, %); Remission is defined as MADRS score ≤12."
lii("ket", "treatment", KET, "d5", "day5", 19, 7, q5)
lii("pbo", "control", "saline", "d5", "day5", 19, 6, q5)
lii("ket", "treatment", KET, "d14", "day14", 19, 8, q14)
lii("pbo", "control", "saline", "d14", "day14", 19, 9, q14)

excluded = [
    dict(study_id="daly2018", outcome="response (period 2, placebo non-responders re-randomized)",
         timepoint_reported="period 2, 2 h after the first period-2 dose (double-blind days 1-15 = two 1-week periods, so about 1 week after the first trial dose)", confidence="high",
         reason=("not an independent trial: period 2 of the doubly-randomized delayed-start design re-randomizes period-1 placebo "
                 "non-responders (placebo 1/6, esketamine 28 mg 1/8, 56 mg 2/9, 84 mg 2/5). Entering it as a second study at 2h would "
                 "count one trial twice; the page was cut before the period-2 24 h and end-point rows. Codebook decision needed "
                 "(e.g. combine periods, or a separate study_id with a flag)."),
         source="https://pmc.ncbi.nlm.nih.gov/articles/PMC5838571/table/yoi170092t1 [Table 1]",
         quote="Period 2b | No. | 6 | 8 | 9 | 5 | ... Change at 2 h | ... Responders, No. (%) | 1 (17) | 1 (13) | 2 (22) | 2 (40) | Remitters, No. (%) | 1 (17) | 1 (13) | 0 | 2 (40)"),
    dict(study_id="daly2018", outcome="remission (period 2, placebo non-responders re-randomized)",
         timepoint_reported="period 2, 2 h after the first period-2 dose (double-blind days 1-15 = two 1-week periods, so about 1 week after the first trial dose)", confidence="high",
         reason=("as the period-2 response row: re-randomization within the same trial (placebo 1/6, 28 mg 1/8, 56 mg 0/9, 84 mg 2/5); "
                 "not an independent trial; codebook decision needed."),
         source="https://pmc.ncbi.nlm.nih.gov/articles/PMC5838571/table/yoi170092t1 [Table 1]",
         quote="Period 2b | No. | 6 | 8 | 9 | 5 | ... Change at 2 h | ... Remitters, No. (%) | 1 (17) | 1 (13) | 0 | 2 (40)"),
    dict(study_id="turkoz2021_transform12_pooled", outcome="response (MADRS >=50% decrease)",
         timepoint_reported="day 2", confidence="high",
         reason=("counts read directly (esketamine + AD 55/318 vs AD + placebo 19/203), but POOLED over TRANSFORM-1 and TRANSFORM-2 "
                 "(post hoc analysis), not per trial; the two trials are already separate studies in data/raw (d28), so a pooled row "
                 "would not be a trial-level unit; keep for a decision (could enter as one pooled unit at d2 if the project accepts it)."),
         source="https://psychiatrist.com/jcp/depression/response-to-esketamine-after-initial-nonresponse (Turkoz 2021, J Clin Psychiatry 82(4):20m13800, abstract)",
         quote="A greater percentage of patients treated with ESK + AD versus AD + PBO met response criteria beginning at day 2 (17.3% [55/318] vs 9.4% [19/203]) and at all subsequent timepoints, including day 28 (58.7% [182/310] vs 45.2% [94/208])."),
]

def write(name, rows):
    with open(name, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=cols[name], quoting=csv.QUOTE_MINIMAL)
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in cols[name]})
write("arms.csv", arms)
write("studies.csv", [])
write("excluded.csv", excluded)
print(len(arms), "arm rows;", len(excluded), "excluded rows")
