"""Writes arms.csv, arms_existing.csv, studies.csv, excluded.csv of data/staging/esk3/.

Every number below was read in this session (2026-11-30) in text returned by the library
`search` tool; the URL and a verbatim quote are stored with each row. Standard library only.
Run: python3 build.py && python3 check.py
"""
import csv
import os

HERE = os.path.dirname(os.path.abspath(__file__))

ARM_COLS = ["study_id", "arm_id", "role", "dose", "outcome", "timepoint", "timepoint_reported",
            "n", "events", "mean", "sd", "scale", "confidence", "derived", "source", "quote", "notes"]
STUDY_COLS = ["study_id", "author", "year", "title", "doi", "pmid", "registration", "design",
              "design_detail", "population", "condition", "drug", "route", "comparator",
              "comparator_type", "source"]
EXCL_COLS = ["study_id", "outcome", "timepoint_reported", "confidence", "reason", "source", "quote"]

# ---------------------------------------------------------------- new trials (arms.csv)
CM_URL = ("https://read.qxmd.com/read/31786030/efficacy-and-safety-of-adjunctive-therapy-using-"
          "esketamine-or-racemic-ketamine-for-adult-treatment-resistant-depression-a-randomized-"
          "double-blind-non-inferiority-study [abstract, RESULTS]")
CM_QUOTE = ("63 subjects were included and randomly assigned (29 to receive ketamine and 34 to receive "
            "esketamine). At 24 h, 24.1% of participants in the ketamine group and 29.4% of participants "
            "in the esketamine group showed remission, with a difference of 5.3% (95% CILB -13.6%), "
            "confirming non-inferiority.")
CM_NOTE = ("24 h after a single 40-min IV infusion (first and only dose). Head-to-head trial: BOTH arms "
           "receive an NMDA antagonist; the 'control' arm is racemic ketamine 0.5 mg/kg (active "
           "comparator, comparator_type=active) - never pool with placebo-controlled esketamine "
           "contrasts. Remission threshold not stated in the abstract read. n = randomized n per arm "
           "(abstract); the number analysed at 24 h is not stated, the percentages reproduce exactly "
           "with the randomized n. Cochrane CD011612 characteristics table (PMC8434915 tblf-0013) gives "
           "'ketamine = 70.3% female (N = 19)', which fits 19/27 rather than 29 -> the ketamine analysis "
           "set may be smaller than 29 for some outcomes; second reader should check.")

ARMS = [
    dict(study_id="correiamelo2020", arm_id="esk", role="treatment",
         dose="esketamine 0.25 mg/kg IV over 40 min, single infusion (adjunctive)",
         outcome="remission", timepoint="24h", timepoint_reported="24 h following intervention",
         n=34, events=10, scale="MADRS remission (threshold not stated in abstract)",
         confidence="medium",
         derived="29.4% x 34 = 9.996 -> 10; check 10/34 = 29.41% -> 29.4% (unique: 9/34 = 26.5%, 11/34 = 32.4%)",
         source=CM_URL, quote=CM_QUOTE, notes=CM_NOTE),
    dict(study_id="correiamelo2020", arm_id="ket", role="control",
         dose="racemic ketamine 0.5 mg/kg IV over 40 min, single infusion (active comparator)",
         outcome="remission", timepoint="24h", timepoint_reported="24 h following intervention",
         n=29, events=7, scale="MADRS remission (threshold not stated in abstract)",
         confidence="medium",
         derived="24.1% x 29 = 6.989 -> 7; check 7/29 = 24.14% -> 24.1% (unique: 6/29 = 20.7%, 8/29 = 27.6%)",
         source=CM_URL, quote=CM_QUOTE, notes=CM_NOTE),
]

# ------------------------------------------------- outcomes of trials already in data/raw
TAK_URL = "https://pmc.ncbi.nlm.nih.gov/articles/PMC8547110/table/Tab3 [Table 3]"
TAK_QUOTE = ("Table 3. MADRS Total Score: Change From Baseline to Day 28 MMRM; DB Induction Phase | "
             "Category Esk28 (N = 41) Esk56 (N = 40) Esk84 (N = 41) Placebo (N = 80) | Day 28 | "
             "N 39 34 39 72 | Mean (SD) 22.9 (12.46) 23.6 (11.01) 21.0 (11.24) 22.4 (11.43)")
TAK_NOTE = ("Day 28 of the 4-week double-blind induction phase (time since first dose; last dose day 25). "
            "Observed cases (N with data at day 28), not the MMRM estimate. Post-treatment MADRS total "
            "score (depression_score), not in data/raw (issue9 staged only the change score from the same "
            "table). Esk28/Esk56/Esk84 share ONE placebo arm (n=72 here): combine doses or split the "
            "control before pooling. Table 3 headers give Esk56 N=40 and Esk84 N=41 while the AE rows in "
            "data/raw use 41/40 (safety set) - different analysis sets.")
DALY_URL = "https://pmc.ncbi.nlm.nih.gov/articles/PMC5838571/table/yoi170092t1 [Table 1, Period 2]"
DALY_QUOTE = ("Period 2b | No. | 6 | 8 | 9 | 5 | ... | Change at 2 h | ... | Responders, No. (%) | 1 (17) | "
              "1 (13) | 2 (22) | 2 (40) | Remitters, No. (%) | 1 (17) | 1 (13) | 0 | 2 (40) | "
              "[columns: Placebo | Esketamine 28 mg | Esketamine 56 mg | Esketamine 84 mg]")
DALY_NOTE = ("PERIOD 2 of Daly 2018 (doubly-randomized delayed-start): placebo-treated period-1 participants "
             "with moderate-to-severe symptoms re-randomized; these are the SAME people as part of the "
             "period-1 placebo arm in data/raw (study daly2018), so never pool this with period 1 as if "
             "independent. 2 h after the first period-2 dose (period 2 = the second 1-week double-blind period of days 1-15; timepoint counted from the first period-2 dose, not from day 1). Response MADRS >=50% "
             "reduction, remission as defined by the trial (Table 2 footnote of the same paper: MADRS <=10; "
             "whether Table 1 uses the same threshold not read). Baseline for period 2 = period-2 baseline "
             "(Table 1). Only the 2 h rows were visible; the 24 h block of period 2 was cut off in the excerpt. "
             "Dose arms share one placebo arm (n=6).")

EXISTING = []
for arm, dose, n, mean, sd in [("esk28", "esketamine 28 mg nasal spray + continued oral AD, 4-week DB induction", 39, 22.9, 12.46),
                               ("esk56", "esketamine 56 mg nasal spray + continued oral AD, 4-week DB induction", 34, 23.6, 11.01),
                               ("esk84", "esketamine 84 mg nasal spray + continued oral AD, 4-week DB induction", 39, 21.0, 11.24),
                               ("pbo", "placebo nasal spray + continued oral AD", 72, 22.4, 11.43)]:
    EXISTING.append(dict(study_id="takahashi2021", arm_id=arm, role="control" if arm == "pbo" else "treatment",
                         dose=dose, outcome="depression_score", timepoint="d28",
                         timepoint_reported="Day 28 (DB induction phase)", n=n, mean=mean, sd=sd,
                         scale="MADRS total (0-60), post-treatment score, observed cases",
                         confidence="high", derived="", source=TAK_URL, quote=TAK_QUOTE, notes=TAK_NOTE))
for arm, dose, n, resp, rem in [("esk28", "esketamine 28 mg intranasal twice weekly (period 2)", 8, 1, 1),
                                ("esk56", "esketamine 56 mg intranasal twice weekly (period 2)", 9, 2, 0),
                                ("esk84", "esketamine 84 mg intranasal twice weekly (period 2)", 5, 2, 2),
                                ("pbo", "intranasal placebo (period 2)", 6, 1, 1)]:
    for outcome, ev in [("response", resp), ("remission", rem)]:
        EXISTING.append(dict(study_id="daly2018_period2", arm_id=arm,
                             role="control" if arm == "pbo" else "treatment", dose=dose, outcome=outcome,
                             timepoint="2h", timepoint_reported="period 2, change at 2 h", n=n, events=ev,
                             scale="MADRS (response >=50% reduction; remission per trial definition)",
                             confidence="high", derived="", source=DALY_URL, quote=DALY_QUOTE, notes=DALY_NOTE))

# ------------------------------------------------------------------------- studies.csv
STUDIES = [
    dict(study_id="correiamelo2020", author="Correia-Melo FS", year=2020,
         title=("Efficacy and safety of adjunctive therapy using esketamine or racemic ketamine for adult "
                "treatment-resistant depression: A randomized, double-blind, non-inferiority study"),
         doi="", pmid="31786030", registration="", design="parallel",
         design_detail=("randomized, double-blind, active-controlled, bicentre, non-inferiority (margin 20%); "
                        "single 40-min IV infusion; Brazil; head-to-head esketamine vs racemic ketamine (no placebo)"),
         population="adults with treatment-resistant depression (DSM-IV MDD per Cochrane characteristics table)",
         condition="unipolar", drug="esketamine", route="IV",
         comparator="racemic ketamine 0.5 mg/kg IV over 40 min (active comparator)", comparator_type="active",
         source=("https://read.qxmd.com/read/31786030/ (abstract; PMID read in the page address; J Affect Disord "
                 "2020 Mar 1;264:527-534); https://pmc.ncbi.nlm.nih.gov/articles/PMC8434915/table/CD011612-tblf-0013 "
                 "(Cochrane characteristics: DSM-IV MDD, N 63)")),
    dict(study_id="daly2018_period2", author="Daly EJ", year=2018,
         title=("Efficacy and safety of intranasal esketamine adjunctive to oral antidepressant therapy in "
                "treatment-resistant depression: a randomized clinical trial"),
         doi="10.1001/jamapsychiatry.2017.3739", pmid="", registration="", design="parallel",
         design_detail=("PERIOD 2 of doubly-randomized delayed-start design: period-1 placebo participants with "
                        "moderate-to-severe symptoms re-randomized 1:1:1:1; same participants as part of daly2018 placebo arm"),
         population="TRD (continuing oral AD); period-1 placebo-treated participants with moderate-to-severe symptoms",
         condition="unipolar", drug="esketamine", route="IN", comparator="intranasal placebo",
         comparator_type="placebo",
         source=("https://pmc.ncbi.nlm.nih.gov/articles/PMC5838571/table/yoi170092t1 (header: '2017 Dec 27;75(2):139-148. "
                 "doi: 10.1001/jamapsychiatry.2017.3739'); design from https://jamanetwork.com/journals/jamapsychiatry/fullarticle/2666767 "
                 "('In period 2, 28 placebo-treated participants with moderate-to-severe symptoms were rerandomized (1:1:1:1) to 1 of the 4 treatment arms', scribd copy of the JAMA Psychiatry PDF)")),
]

# ------------------------------------------------------------------------ excluded.csv
ZHOU_URL = "https://www.pubmed.gov/37414272/ (abstract; also safetylit, bohrium, searchworks copies)"
ZHOU_Q = ("A total of 54 adolescents (aged 13-18 years) with MDD and suicidal ideation were included from an "
          "inpatient setting and randomly assigned (1:1) to receive 3 infusions of esketamine (0.25 mg/kg) or "
          "midazolam (0.02mg/kg) over 5 days ... the changes in MADRS scores from baseline to day 6 were "
          "significantly greater in the esketamine group than in the midazolam group (-15.3 [SD = 11.2] vs -8.8 "
          "[SD = 9.4], p = .004). The rates of antisuicidal and antidepressant responses at 4 weeks posttreatment "
          "were 69.2% and 61.5% after esketamine, and were 52.5% and 52.5% after midazolam, respectively.")
EXCLUDED = [
    dict(study_id="zhou2024", outcome="depression_change (MADRS change from baseline)",
         timepoint_reported="day 6 (24 h after the 3rd and last infusion)", confidence="low",
         reason=("per-arm n not stated: 54 randomized 1:1 (27/27 only if allocation was exactly balanced; "
                 "analysed n per arm not read; linear mixed model). Promote as medium/high once the per-arm n "
                 "is read (JAACAP 2024;63(5):507-518 full text or Table)."),
         source=ZHOU_URL, quote=ZHOU_Q),
    dict(study_id="zhou2024", outcome="response (antidepressant response, definition not read)",
         timepoint_reported="4 weeks post-treatment", confidence="low",
         reason=("percentages without denominators; 52.5% cannot be k/n for any n <= 27 (closest 14/27 = 51.9%), "
                 "so the rates are model-based or use other denominators -> no counts derivable"),
         source=ZHOU_URL, quote=ZHOU_Q),
    dict(study_id="correiamelo2020", outcome="depression_score (MADRS post-infusion)",
         timepoint_reported="not stated (sentence follows the 24 h remission result)", confidence="low",
         reason=("post scores 16.2 (SD 10.7) ketamine vs 17.5 (SD 12.2) esketamine read, but (a) the time point is "
                 "not stated in the sentence, (b) analysed n not stated (Cochrane table suggests 27 ketamine "
                 "analysed for some variables), (c) baseline SDs are attributed to the opposite arms in the "
                 "abstract (ket 9.3 / esk 5.3) and in the Cochrane table (esk 9.3 / ket 5.3) -> arm labelling of "
                 "the SDs uncertain"),
         source=CM_URL,
         quote=("MADRS scores improved from 33 (SD 9.3) to 16.2 (SD 10.7) in the ketamine group and from 33 "
                "(SD 5.3) to 17.5 (SD 12.2) in the esketamine one, with a difference of -5.27% (95% CILB, -13.6).")),
    dict(study_id="wang2024_prenatal", outcome="major depressive episode at 42 days post partum (MINI)",
         timepoint_reported="42 days post partum", confidence="high",
         reason=("counts read directly (12/180 vs 46/181) but the outcome (incidence of a major depressive episode, "
                 "a harmful event, in mothers with EPDS >= 10 before delivery) has no codebook outcome name; "
                 "population = depressive symptoms at entry (EPDS >= 10), 'no diagnosis of depression in pregnancy' "
                 "(socialworktoday summary). Same decision as data/staging/issue9. Single 0.2 mg/kg IV dose after "
                 "childbirth vs saline. Neuropsychiatric AEs 45.1% vs 22.0% (HealthDay news) is a composite, not a "
                 "codebook AE; no AE table reached."),
         source=("https://searchworks.staging.jioinstitute.edu.in/articles/cmedm__38808490 (BMJ 2024;385:e078218 "
                 "abstract); https://cs.12940.com/study/detail_112089.html"),
         quote=("At 42 days post partum, a major depressive episode was observed in 6.7% (12/180) of participants "
                "in the esketamine group compared with 25.4% (46/181) in the placebo group (relative risk 0.26, 95% "
                "confidence interval (CI) 0.14 to 0.48; P<0.001).")),
    dict(study_id="kosikgonzalez2025", outcome="CDRS-R change, between-group LS-mean difference only",
         timepoint_reported="24 hours post-first dose", confidence="low",
         reason=("between-group LS-mean differences only (pooled 56+84 mg vs midazolam -5.8 [-11.19, -0.35]; "
                 "84 mg -5.7 [-12.91, 1.55]; 56 mg -5.9 [-12.25, 0.53]); no arm n, means or SDs; CDRS-R scale; "
                 "adolescents 12-<18 at imminent suicide risk, IN esketamine 28/56/84 mg vs oral midazolam, "
                 "randomized 1:1:1:2 (147). Could enter contrasts.csv (measure MD, CDRS-R) if the project wants it; "
                 "first-author initials, year and DOI not read (JAACAP; authors listed alphabetically on the page)."),
         source=("https://blossomanalysis.com/papers/effect-of-esketamine-on-depressive-symptoms-in-adolescents-with-"
                 "major-depressive-disorder-at-imminent-suicide-risk-a-randomized-psychoactive-controlled-study"),
         quote=("Pooled esketamine doses (56 and 84 mg) showed superiority over midazolam in reducing CDRS-R total "
                "score at 24 hours post-first dose (between-group difference of LS means [95% CI]: -5.8 [-11.19, "
                "-0.35]; p=0.037).")),
    dict(study_id="singh2016_esketamine", outcome="any outcome (response days 2-4, MADRS)",
         timepoint_reported="day 2 to day 4", confidence="low",
         reason=("no outcome numbers found in any reachable page (3 searches). Arm sizes only: N 30; % female 56/64/60 "
                 "in the Cochrane table fits uniquely 5/9, 7/11, 6/10 -> esk 0.20 mg/kg n=9, esk 0.40 mg/kg n=11, "
                 "placebo n=10 (consistent with '20 esk / 10 placebo' in a secondary GitHub extraction file)."),
         source="https://pmc.ncbi.nlm.nih.gov/articles/PMC8434915/table/CD011612-tblf-0056 (Cochrane Singh 2016 b)",
         quote=("N: 30 ... Sex: esketamine .20 mg/kg group 56% female; esketamine.40 mg/kg group 64% female; placebo "
                "group 60% female")),
    dict(study_id="wei2025_ease", outcome="response (>=50% MADRS reduction within 3 postoperative days)",
         timepoint_reported="within 3 postoperative days", confidence="low",
         reason=("results section of the abstract not visible in any copy (PubMed mirror, booksci JSON cut at "
                 "'Secondary outcomes'); population in scope (108 women with breast cancer, MADRS >= 12 before "
                 "surgery; esketamine 0.25 mg/kg IV over the first 40 min of anaesthesia vs saline; setting like "
                 "Lii 2023)"),
         source="http://47.251.13.51:8081/40153893 (J Clin Anesth 2025;103:111821, doi 10.1016/j.jclinane.2025.111821)",
         quote=("All had preoperative depressive symptoms as defined by Montgomery-Åsberg depression scores ≥12 ... "
                "Our primary outcome was the fraction of patients who had at least a 50 % reduction in the "
                "Montgomery-Åsberg depression score within 3 postoperative days.")),
]


def write(path, cols, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, quoting=csv.QUOTE_MINIMAL)
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in cols})


ORDER_TP = {"2h": 1, "24h": 2, "d28": 3}


def key(r):
    return (r["study_id"], r["outcome"], ORDER_TP.get(r["timepoint"], 9), 0 if r["role"] == "treatment" else 1, r["arm_id"])


if __name__ == "__main__":
    write(os.path.join(HERE, "arms.csv"), ARM_COLS, sorted(ARMS, key=key))
    write(os.path.join(HERE, "arms_existing.csv"), ARM_COLS, sorted(EXISTING, key=key))
    write(os.path.join(HERE, "studies.csv"), STUDY_COLS, STUDIES)
    write(os.path.join(HERE, "excluded.csv"), EXCL_COLS, EXCLUDED)
    print("arms", len(ARMS), "arms_existing", len(EXISTING), "studies", len(STUDIES), "excluded", len(EXCLUDED))
