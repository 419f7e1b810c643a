"""Writes safety_arms.csv, studies_new.csv and cadss.csv from rows.py (data entry with quotes). Standard library only."""

import csv

exec(open("rows.py", encoding="utf-8").read())
cols = next(csv.reader(open("/work/main/data/raw/arms.csv", encoding="utf-8")))
order = {
    "infusion": 0,
    "40min": 1,
    "2h": 2,
    "24h": 3,
    "treatment_phase": 10,
    "maintenance": 20,
    "trial": 30,
}
R.sort(
    key=lambda r: (
        r["study_id"],
        r["outcome"],
        order.get(r["timepoint"], 5),
        0 if r["role"] == "treatment" else 1,
        r["arm_id"],
    )
)
with open("safety_arms.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=cols)
    w.writeheader()
    for r in R:
        w.writerow({c: r.get(c, "") for c in cols})

scols = next(csv.reader(open("/work/main/data/raw/studies.csv", encoding="utf-8")))
# Only values read in this session; empty = not read here.
S = [
    dict(
        study_id="ekstrand2022_ketect",
        author="Ekstrand J",
        year="2022",
        title="Racemic Ketamine as an Alternative to Electroconvulsive Therapy for Unipolar Depression: A Randomized, Open-Label, Non-Inferiority Trial (KetECT)",
        doi="10.1093/ijnp/pyab088",
        pmid="35020871",
        registration="",
        design="parallel",
        design_detail="open-label, non-inferiority; thrice-weekly ketamine infusions or ECT, maximum 12 sessions",
        population="hospitalized patients with unipolar depression (age 18-85 years)",
        condition="unipolar",
        drug="ketamine",
        route="IV",
        comparator="ECT (active treatment, thrice weekly)",
        comparator_type="active",
        source="https://pmc.ncbi.nlm.nih.gov/articles/PMC9154276 (abstract); http://47.251.13.51:8081/35020871 (PubMed mirror: 'Int J Neuropsychopharmacol. 2022 May 27;25(5):339-349. doi: 10.1093/ijnp/pyab088', 'Joakim Ekstrand et al.')",
    ),
    dict(
        study_id="takahashi2021",
        author="Takahashi N",
        year="2021",
        title="Efficacy and safety of fixed doses of intranasal Esketamine as an add-on therapy to Oral antidepressants in Japanese patients with treatment-resistant depression: a phase 2b randomized clinical study",
        doi="10.1186/s12888-021-03538-y",
        pmid="34696742",
        registration="NCT02918318",
        design="parallel",
        design_detail="phase 2b; 6-week oral-AD lead-in, nonresponders randomized 2:1:1:1 to placebo or esketamine 28/56/84 mg for a 4-week double-blind induction phase",
        population="adult Japanese patients with TRD (nonresponse to >=1 but <5 ADs in the current episode)",
        condition="unipolar",
        drug="esketamine",
        route="IN",
        comparator="placebo nasal spray + continued oral AD",
        comparator_type="placebo",
        source="https://pmc.ncbi.nlm.nih.gov/articles/PMC8547110 ('2021 Oct 25;21:526', 'Nagahide Takahashi', 'PMID: 34696742'); registration from https://katalog.lib.cas.cz/KNAV/EdsRecord/edsdoj,edsdoj.02f051ae23cc4aadb841d632bc961c7d ('ClinicalTrials.gov Identifier: NCT02918318'). Same trial as data/staging/issue9 takahashi2021",
    ),
    dict(
        study_id="fu2020_aspire1",
        author="Fu DJ",
        year="2020",
        title="Esketamine Nasal Spray for Rapid Reduction of Major Depressive Disorder Symptoms in Patients Who Have Active Suicidal Ideation With Intent: Double-Blind, Randomized Study (ASPIRE I)",
        doi="10.4088/JCP.19m13191",
        pmid="32412700",
        registration="NCT03039192",
        design="parallel",
        design_detail="phase 3; esketamine 84 mg or placebo twice weekly for 4 weeks, each with comprehensive standard of care (initial hospitalization, new/optimized oral AD)",
        population="adults with MDD, active suicidal ideation with intent and need for psychiatric hospitalization",
        condition="unipolar",
        drug="esketamine",
        route="IN",
        comparator="intranasal placebo + comprehensive standard of care",
        comparator_type="placebo",
        source="https://dev2.psychiatrist.com/jcp/esketamine-nasal-spray-rapidly-reduces-depression ('J Clin Psychiatry 2020;81(3):19m13191', 'enrolled 226 adults'); PubMed mirror https://hqproductreviews.com?arsae=https%3A%2F%2Fpubmed.ncbi.nlm.nih.gov%2F32412700%2F ('PMID: 32412700', 'DOI: 10.4088/JCP.19m13191'); NCT03039192 = '54135419SUI3001' (https://meddatax.com/clinical-trials/NCT03039192/results, target enrollment 226)",
    ),
    dict(
        study_id="dwyer_adolescents",
        author="",
        year="",
        title="",
        doi="",
        pmid="",
        registration="",
        design="crossover",
        design_detail="proof-of-concept randomized double-blind single-dose crossover; alternate compound 2 weeks later",
        population="adolescents (13-17) with MDD, >=1 prior antidepressant, CDRS-R >40",
        condition="unipolar",
        drug="ketamine",
        route="IV",
        comparator="midazolam 0.045 mg/kg",
        comparator_type="active_placebo",
        source="http://focus.psychiatryonline.org/doi/10.1176/appi.focus.22020004 (Focus reprint of the AJP abstract; author/year/title/DOI of the AJP article not visible in this excerpt - see data/staging/issue9/studies.csv row dwyer_adolescents, DOI 10.1176/appi.ajp.2020.20010018, year still unverified)",
    ),
]
with open("studies_new.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=scols)
    w.writeheader()
    for s in S:
        w.writerow({c: s.get(c, "") for c in scols})

with open("cadss.csv", "w", newline="", encoding="utf-8") as f:
    csv.writer(f).writerow(["study_id", "arm", "time", "mean", "sd_or_se", "n", "source", "quote"])
print(len(R), "arm rows;", len(S), "new studies; cadss rows: 0 (none readable, see LOG.md)")
