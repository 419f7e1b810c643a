import csv, os
D = os.path.dirname(os.path.abspath(__file__))
ARMS_COLS = "study_id,arm_id,role,dose,outcome,timepoint,timepoint_reported,n,events,mean,sd,scale,confidence,derived,source,quote,notes".split(",")
STUDY_COLS = "study_id,author,year,title,doi,pmid,registration,design,design_detail,population,condition,drug,route,comparator,comparator_type,source".split(",")
EXCL_COLS = "study_id,outcome,timepoint_reported,confidence,reason,source,quote".split(",")

arms = []
def arm(**k):
    r = {c: "" for c in ARMS_COLS}; r.update({a: ("" if v is None else str(v)) for a, v in k.items()}); arms.append(r)

# ---------------- Takahashi 2021 (Japanese phase 2b, IN esketamine) ----------------
TK_SRC = "https://pmc.ncbi.nlm.nih.gov/articles/PMC8547110/table/Tab3 [Table 3]"
TK_Q = ("Table 3. MADRS Total Score: Change From Baseline to Day 28 MMRM; DB Induction Phase Category Esk28 (N = 41) Esk56 (N = 40) "
        "Esk84 (N = 41) Placebo (N = 80) ... Change from baseline to Day 28 (DB) N 39 34 39 72 Mean (SD) - 15.2 (13.07) - 14.5 (10.53) "
        "- 15.1 (12.21) - 15.3 (11.68)")
TK_NOTE = ("observed cases at day 28 (N with data 39/34/39/72 of randomized 41/40/41/80); descriptive mean (SD) of change from baseline, "
           "not the MMRM estimate; shared placebo arm against three esketamine doses (combine doses or split the control before pooling); "
           "DB induction phase entered by nonresponders to a 6-week prospective oral-AD lead-in; trial was null on its primary endpoint "
           "(MMRM differences -1.0, 0.6, -0.9)")
for aid, role, dose, n, m, sd in [
    ("esk28", "treatment", "esketamine 28 mg nasal spray + continued oral AD, 4-week DB induction", 39, -15.2, 13.07),
    ("esk56", "treatment", "esketamine 56 mg nasal spray + continued oral AD, 4-week DB induction", 34, -14.5, 10.53),
    ("esk84", "treatment", "esketamine 84 mg nasal spray + continued oral AD, 4-week DB induction", 39, -15.1, 12.21),
    ("pbo", "control", "placebo nasal spray + continued oral AD", 72, -15.3, 11.68)]:
    arm(study_id="takahashi2021", arm_id=aid, role=role, dose=dose, outcome="depression_change", timepoint="d28",
        timepoint_reported="Change from baseline to Day 28 (DB)", n=n, mean=m, sd=sd,
        scale="MADRS total (0-60), change from baseline (negative = improvement)", confidence="high", derived="",
        source=TK_SRC, quote=TK_Q, notes=TK_NOTE)

# ---------------- Canuso 2018 (PeRSEVERe; IN esketamine, imminent suicide risk) ----------------
CA_POSTER = "http://eposter.europa-organisation.com/2017/encephale/index/slide/abstract/166"
CA_TAB = "https://pmc.ncbi.nlm.nih.gov/articles/PMC6717708/table/T0002 [Table 2]"
CA_Q = ("The response rate at day 2 was higher in ESK group (54.3%; 19/35) vs placebo group (29%). Similarly, the remission rate at day 2 "
        "was higher for patients treated with ESK (34.3%) vs placebo (16.1%).")
CA_QN = " || PMC6717708 Table 2: \"Canusco et al, 2018 ... Multicenter | TR MDD | 66 | (a) Intranasal (S)-K, 84 mg twice weekly for 4 weeks (n=35) (b) PBO (n=31)\""
CA_NOTE = ("day 2 = about 24 h after the first dose (AJP abstract reports secondary endpoints 'at ~24 hours'), normalised to 24h; "
           "source is a 2017 conference e-poster (PeRSEVERe; 68 randomized, 49 completed); response/remission definitions not stated "
           "in the poster text; placebo n=31 taken from a secondary review table (35 + 31 = 66 analysed); the same poster's "
           "9.7% and 6.5% for placebo equal 3/31 and 2/31, consistent with n=31; supersedes the low-confidence canuso2018 response row in data/raw/excluded.csv")
arm(study_id="canuso2018", arm_id="esk", role="treatment", dose="esketamine 84 mg nasal spray twice weekly x4 wk + standard of care",
    outcome="response", timepoint="24h", timepoint_reported="day 2", n=35, events=19,
    scale="MADRS response (definition not stated in source)", confidence="high", derived="",
    source=CA_POSTER, quote=CA_Q, notes=CA_NOTE)
arm(study_id="canuso2018", arm_id="pbo", role="control", dose="placebo nasal spray + standard of care",
    outcome="response", timepoint="24h", timepoint_reported="day 2", n=31, events=9,
    scale="MADRS response (definition not stated in source)", confidence="medium",
    derived="29% x 31 = 8.99 -> 9 (9/31 = 29.0%; n=31 from PMC6717708 Table 2)",
    source=CA_POSTER + "; " + CA_TAB, quote=CA_Q + CA_QN, notes=CA_NOTE)
arm(study_id="canuso2018", arm_id="esk", role="treatment", dose="esketamine 84 mg nasal spray twice weekly x4 wk + standard of care",
    outcome="remission", timepoint="24h", timepoint_reported="day 2", n=35, events=12,
    scale="MADRS remission (definition not stated in source)", confidence="medium",
    derived="34.3% x 35 = 12.005 -> 12 (12/35 = 34.3%; n=35 stated as '19/35' in the same abstract)",
    source=CA_POSTER, quote=CA_Q, notes=CA_NOTE)
arm(study_id="canuso2018", arm_id="pbo", role="control", dose="placebo nasal spray + standard of care",
    outcome="remission", timepoint="24h", timepoint_reported="day 2", n=31, events=5,
    scale="MADRS remission (definition not stated in source)", confidence="medium",
    derived="16.1% x 31 = 4.991 -> 5 (5/31 = 16.1%; n=31 from PMC6717708 Table 2)",
    source=CA_POSTER + "; " + CA_TAB, quote=CA_Q + CA_QN, notes=CA_NOTE)

# ---------------- Ionescu 2019 (repeat-dose IV ketamine, TRD + chronic SI) ----------------
IO_SRC = "http://47.251.13.51:8081/30286416 (PubMed mirror, abstract); https://pmc.ncbi.nlm.nih.gov/articles/PMC6717708/table/T0002 [Table 2] (arm n)"
IO_Q = ("Twenty-six medicated outpatients with severe major depressive disorder with current, chronic suicidal ideation were randomized in a "
        "double-blind fashion to six ketamine infusions (0.5 mg/kg over 45 minutes) or saline placebo over three weeks. ... At the end of the "
        "infusion phase, two patients in the ketamine group and one in the placebo group met criteria for remission of depression. At "
        "three-month follow-up, two patients in each group met criteria for remission from depression. || PMC6717708 Table 2: \"Ionescu et al, "
        "2019 ... TR MDD | 26 | (a) K: 6 IV infusions 0.5 mg/kg over 45 mins, twice weekly for 3 weeks (n=13) (b) PBO (n=13) | HDRS\"")
IO_NOTE = ("counts read directly from the abstract (written as words); denominators are the randomized n per arm (13/13) from a secondary "
           "review table, the number assessed at each timepoint is not stated (ITT-style denominators, dropouts counted as non-remitters); "
           "remission criteria not stated in the abstract (review table lists HDRS); 'end of the infusion phase' (3 weeks) normalised to w3; "
           "'three-month follow-up' (naturalistic) -> m3; null trial")
for tp, tpr, ek, ep in [("w3", "end of the infusion phase (3 weeks)", 2, 1), ("m3", "three-month follow-up", 2, 2)]:
    arm(study_id="ionescu2019", arm_id="ket", role="treatment", dose="ketamine 0.5 mg/kg IV over 45 min, 6 infusions over 3 weeks",
        outcome="remission", timepoint=tp, timepoint_reported=tpr, n=13, events=ek,
        scale="remission of depression (criteria per trial; HDRS per review table)", confidence="medium",
        derived=f"events read directly ('{'two' if ek==2 else 'one'}'); n=13 per arm from PMC6717708 Table 2 (not stated in the abstract)",
        source=IO_SRC, quote=IO_Q, notes=IO_NOTE)
    arm(study_id="ionescu2019", arm_id="pbo", role="control", dose="saline placebo, 6 infusions over 3 weeks",
        outcome="remission", timepoint=tp, timepoint_reported=tpr, n=13, events=ep,
        scale="remission of depression (criteria per trial; HDRS per review table)", confidence="medium",
        derived=f"events read directly ('{'two' if ep==2 else 'one'}'); n=13 per arm from PMC6717708 Table 2 (not stated in the abstract)",
        source=IO_SRC, quote=IO_Q, notes=IO_NOTE)

# ---------------- Dwyer (adolescent crossover, AJP) ----------------
DW_SRC = "https://psychiatryonline.org/doi/full/10.1176/appi.ajp.2020.20010018"
DW_Q = ("17 adolescents (ages 13–17) with a diagnosis of major depressive disorder received a single intravenous infusion of either ketamine "
        "(0.5 mg/kg over 40 minutes) or midazolam (0.045 mg/kg over 40 minutes), and the alternate compound 2 weeks later. ... A significantly "
        "greater proportion of participants experienced a response to ketamine during the first 3 days following infusion as compared with "
        "midazolam (76% and 35%, respectively).")
DW_NOTE = ("crossover (same adolescents in both arms; analysing as parallel ignores within-person correlation); response 'during the first 3 days "
           "following infusion' (at least once, not a fixed timepoint) -> d1to3; response definition not stated in the abstract; denominators assume "
           "all 17 randomized adolescents contributed to both conditions (17 is the only n <= 17 for which integer counts round to both 76% and 35%)")
arm(study_id="dwyer_adolescents", arm_id="ket", role="treatment", dose="ketamine 0.5 mg/kg IV over 40 min, single infusion",
    outcome="response", timepoint="d1to3", timepoint_reported="during the first 3 days following infusion", n=17, events=13,
    scale="response (MADRS-based; definition not stated in abstract), any time in first 3 days", confidence="medium",
    derived="76% x 17 = 12.92 -> 13 (13/17 = 76.5%)", source=DW_SRC, quote=DW_Q, notes=DW_NOTE)
arm(study_id="dwyer_adolescents", arm_id="mid", role="control", dose="midazolam 0.045 mg/kg IV over 40 min, single infusion",
    outcome="response", timepoint="d1to3", timepoint_reported="during the first 3 days following infusion", n=17, events=6,
    scale="response (MADRS-based; definition not stated in abstract), any time in first 3 days", confidence="medium",
    derived="35% x 17 = 5.95 -> 6 (6/17 = 35.3%)", source=DW_SRC, quote=DW_Q, notes=DW_NOTE)

# row order: study_id, outcome, timepoint (chronological), role, arm_id
TPO = {"24h": 10, "d1to3": 20, "w3": 30, "d28": 40, "m3": 50}
arms.sort(key=lambda r: (r["study_id"], r["outcome"], TPO[r["timepoint"]], 0 if r["role"] == "treatment" else 1, r["arm_id"]))
with open(os.path.join(D, "arms.csv"), "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=ARMS_COLS); w.writeheader(); w.writerows(arms)

studies = [
 dict(study_id="canuso2018", author="Canuso", year="2018", title="",
      doi="10.1176/appi.ajp.2018.17060720", pmid="", registration="", design="parallel",
      design_detail="double-blind, multicenter proof-of-concept (PeRSEVERe); esketamine 84 mg or placebo twice weekly for 4 weeks plus comprehensive standard of care",
      population="MDD at imminent risk for suicide", condition="unipolar", drug="esketamine", route="IN",
      comparator="intranasal placebo + standard of care", comparator_type="placebo",
      source="https://ajp.psychiatryonline.org/doi/10.1176/appi.ajp.2018.17060720 (abstract; DOI read in the page address; 68 randomized); http://eposter.europa-organisation.com/2017/encephale/index/slide/abstract/166 (counts); year and author from https://pmc.ncbi.nlm.nih.gov/articles/PMC9540857/table/phar2707-tbl-0005 ('Canuso et al. Am J Psychiatry 2018 (PERSEVERE)'); arm n from https://pmc.ncbi.nlm.nih.gov/articles/PMC6717708/table/T0002. Author initials and PMID not read"),
 dict(study_id="dwyer_adolescents", author="Dwyer", year="", title="",
      doi="10.1176/appi.ajp.2020.20010018", pmid="", registration="", design="crossover",
      design_detail="proof-of-concept randomized double-blind single-dose crossover; alternate compound 2 weeks later",
      population="adolescents (13-17) with MDD, >=1 prior antidepressant trial, CDRS-R >40", condition="unipolar", drug="ketamine", route="IV",
      comparator="midazolam 0.045 mg/kg", comparator_type="active_placebo",
      source="https://psychiatryonline.org/doi/full/10.1176/appi.ajp.2020.20010018 (AJP abstract; DOI read in the page address); first author from the AJP editorial https://psychiatryonline.org/doi/10.1176/appi.ajp.2020.21020172 ('Dwyer et al. (1) report the results of a randomized crossover trial of single-dose ketamine compared with midazolam ... in adolescents'). Publication year, initials, title and PMID NOT read in any page: year left empty, must be filled from a verified source before merge"),
 dict(study_id="ionescu2019", author="Ionescu DF", year="2019",
      title="Repeat-dose ketamine augmentation for treatment-resistant depression with chronic suicidal ideation: A randomized, double blind, placebo controlled trial",
      doi="10.1016/j.jad.2018.09.037", pmid="30286416", registration="", design="parallel",
      design_detail="double-blind; six infusions over three weeks; three-month naturalistic follow-up",
      population="medicated outpatients with severe MDD (TRD) and current chronic suicidal ideation", condition="unipolar", drug="ketamine", route="IV",
      comparator="saline placebo", comparator_type="placebo",
      source="http://47.251.13.51:8081/30286416 (PubMed mirror: 'PMID: 30286416', 'DOI: 10.1016/j.jad.2018.09.037'); author 'Dawn F. Ionescu' from https://einstein.pure.elsevier.com/en/publications/repeat-dose-ketamine-augmentation-for-treatment-resistant-depress; year and arm n from https://pmc.ncbi.nlm.nih.gov/articles/PMC6717708/table/T0002 ('Ionescu et al, 2019')"),
 dict(study_id="takahashi2021", author="Takahashi N", year="2021",
      title="Efficacy and safety of fixed doses of intranasal Esketamine as an add-on therapy to Oral antidepressants in Japanese patients with treatment-resistant depression: a phase 2b randomized clinical study",
      doi="10.1186/s12888-021-03538-y", pmid="34696742", registration="", design="parallel",
      design_detail="phase 2b; 6-week prospective oral-AD lead-in, nonresponders randomized 2:1:1:1 to placebo or esketamine 28/56/84 mg for a 4-week DB induction phase",
      population="Japanese adults with TRD (nonresponse to >=1 but <5 ADs in current episode)", condition="unipolar", drug="esketamine", route="IN",
      comparator="intranasal placebo + continued oral AD", comparator_type="placebo",
      source="https://pmc.ncbi.nlm.nih.gov/articles/PMC8547110 (BMC Psychiatry 2021 Oct 25;21:526; 'doi: 10.1186/s12888-021-03538-y', 'PMCID: PMC8547110  PMID: 34696742'); data https://pmc.ncbi.nlm.nih.gov/articles/PMC8547110/table/Tab3"),
]
with open(os.path.join(D, "studies.csv"), "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=STUDY_COLS); w.writeheader(); w.writerows(studies)

excl = [
 dict(study_id="abbar2022", outcome="full suicidal remission (SSI total <=3)", timepoint_reported="day 3", confidence="low",
      reason="abstract internally inconsistent: randomised 'placebo (n=83) or ketamine (n=73)' but results say '46 (63.0%) of 83 ... ketamine arm and 25 (31.6%) of 73 in the placebo arm' (46/73 = 63.0%; 31.6% matches neither 25/73 = 34.2% nor 25/83 = 30.1%); table not retrieved; suicidal-ideation outcome in mixed diagnoses (bipolar, depressive, other)",
      source="https://pmc.ncbi.nlm.nih.gov/articles/PMC8808464; http://47.251.13.51:8081/35110300",
      quote="156 participants were recruited and randomised to placebo (n=83) or ketamine (n=73), stratified by centre and diagnosis: bipolar, depressive, or other disorders. ... More participants receiving ketamine reached full remission of suicidal ideas at day 3 than those receiving placebo: 46 (63.0%) of 83 participants in the ketamine arm and 25 (31.6%) of 73 in the placebo arm (odds ratio 3.7 (95% confidence interval 1.9 to 7.3), P<0.001)."),
 dict(study_id="ekstrand2022_ketect", outcome="remission (MADRS <=10)", timepoint_reported="end of treatment (up to 12 sessions)", confidence="low",
      reason="percentages without per-arm n (186 treated in total, 1:1 randomisation; arm sizes not in the abstract and no table page retrieved); active comparator ECT",
      source="https://pmc.ncbi.nlm.nih.gov/articles/PMC9154276; http://47.251.13.51:8081/35020871",
      quote="In total 186 inpatients were included and received treatment. Among patients receiving ECT, 63% remitted compared with 46% receiving ketamine infusions (P = .026; difference 95% CI 2%, 30%)."),
 dict(study_id="wang2024_prenatal", outcome="major depressive episode (MINI) at 42 days post partum", timepoint_reported="42 days post partum", confidence="high",
      reason="counts read directly, but the outcome (incidence of a major depressive episode after a single 0.2 mg/kg esketamine infusion after childbirth in mothers with prenatal depressive symptoms, EPDS >=10) is a prevention-type outcome with no equivalent in the codebook outcome list (not response/remission); needs a project decision before use",
      source="https://searchworks.staging.jioinstitute.edu.in/articles/cmedm__38808490 (BMJ 2024;385:e078218, Wang S et al.)",
      quote="At 42 days post partum, a major depressive episode was observed in 6.7% (12/180) of participants in the esketamine group compared with 25.4% (46/181) in the placebo group (relative risk 0.26, 95% confidence interval (CI) 0.14 to 0.48; P<0.001)."),
 dict(study_id="dwyer_adolescents", outcome="continuous (MADRS score)", timepoint_reported="24 hours after treatment", confidence="medium",
      reason="means/SDs read (ketamine 15.44 (10.07), midazolam 24.13 (12.08)) but per-condition n not stated (df=15 of the paired difference implies 16 pairs; not stated directly); crossover",
      source="https://psychiatryonline.org/doi/full/10.1176/appi.ajp.2020.20010018",
      quote="A single ketamine infusion significantly reduced depressive symptoms 24 hours after infusion compared with midazolam (MADRS score: midazolam, mean=24.13, SD=12.08, 95% CI=18.21, 30.04; ketamine, mean=15.44, SD=10.07, 95% CI=10.51, 20.37; mean difference=−8.69, SD=15.08, 95% CI=−16.72, −0.65, df=15; effect size=0.78)."),
 dict(study_id="canuso2018", outcome="continuous (LS mean change from baseline, MADRS)", timepoint_reported="24 h", confidence="low",
      reason="arm LS-mean changes (-19.2 vs -12.0) without SD/SE per arm (secondary review table)",
      source="https://pmc.ncbi.nlm.nih.gov/articles/PMC9540857/table/phar2707-tbl-0005",
      quote="Canuso et al. Am J Psychiatry 2018 (PERSEVERE) 31 N = 68, age 18–64 Acutely suicidal b Esk 84 mg twice weekly + AD NS 38.5 −19.2 ‐7.2 (2.85) p = < 0.05 Placebo twice weekly + Ad c 38.8 −12.0"),
 dict(study_id="fu2020_aspire1", outcome="continuous (LS mean change from baseline, MADRS)", timepoint_reported="24 h", confidence="low",
      reason="arm LS-mean changes (-16.4 vs -12.8) without SD/SE and without per-arm n (226 enrolled, 1:1)",
      source="https://pmc.ncbi.nlm.nih.gov/articles/PMC9540857/table/phar2707-tbl-0005",
      quote="Fu et al. J Clin Psychiatry 2020 (ASPIRE-1) 33 N = 226, age 18–64 Acutely suicidal Esk 84 mg twice weekly + AD NS 41.3 −16.4 −3.8 (1.39) p < 0.05 Placebo twice weekly + AD 41.0 −12.8"),
 dict(study_id="pmc10810879_unidentified", outcome="response (>=30% MADRS improvement)", timepoint_reported="24 h after infusion", confidence="low",
      reason="trial not identified (title, design and randomisation of the PMC10810879 article not retrieved); response threshold 30% (not 50%); table reports counts by responder status (placebo 1/24, ketamine 12/24) in what may be a secondary biomarker analysis",
      source="https://pmc.ncbi.nlm.nih.gov/articles/PMC10810879/table/Tab1",
      quote="Clinical outcome 24 h after infusion (n) | Responders (1)a | Non-responders (23) | Responders (12)a | Non-responders (12) | ... aResponders were defined by at least 30% improvement of depressive symptoms assessed by MADRS score after 24 h after interventions."),
 dict(study_id="s12888_024_05716_0", outcome="continuous (MADRS score)", timepoint_reported="one hour after administration", confidence="low",
      reason="abstract pair '35.16 +/- 8.13 vs. 14.90 +/- 10.09' is ambiguous (apparently pre- vs post-infusion within the ketamine group, not ketamine vs saline); per-arm n not stated (64 randomised); first author not read; tables not retrieved",
      source="https://bmcpsychiatry.biomedcentral.com/articles/10.1186/s12888-024-05716-0",
      quote="One hour after the administration of ketamine treatment, there was a notable and significant improvement in both depression symptoms (35.16 ± 8.13 vs. 14.90 ± 10.09) and suicidal ideation (6.74 ± 6.67 vs. 0.42 ± 1.52)."),
]
with open(os.path.join(D, "excluded.csv"), "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=EXCL_COLS); w.writeheader(); w.writerows(excl)
print(len(arms), "arm rows;", len(studies), "studies;", len(excl), "excluded")
