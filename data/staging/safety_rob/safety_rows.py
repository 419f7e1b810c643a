# rows: dict per arm. All numbers copied from retrieved pages (see quote).
R = []
def add(study, arm, role, dose, outcome, tp, tpr, n, ev, src, quote, notes="", mean="", sd="", scale="", conf="high", derived=""):
    R.append(dict(study_id=study, arm_id=arm, role=role, dose=dose, outcome=outcome, timepoint=tp,
                  timepoint_reported=tpr, n=n, events=ev, mean=mean, sd=sd, scale=scale,
                  confidence=conf, derived=derived, source=src, quote=quote, notes=notes))

# ---- TRANSFORM-1 (Fedgchin 2019), PMC6822141 Table 5
S = "https://pmc.ncbi.nlm.nih.gov/articles/PMC6822141/table/T5 [Table 5]"
HDR = "Table 5. Most Frequently Reported Adverse Events in the Double-Blind Phase ... Esketamine 56 mg/ oral antidepressant N = 115 Esketamine 84 mg/ oral antidepressant N = 116 Total esketamine/ oral antidepressant N = 231 Oral antidepressant/placebo N = 113"
T1 = {"ae_nausea": ("Nausea 31 (27.0%) 37 (31.9%) 68 (29.4%) 12 (10.6%)", 31, 37, 12),
      "ae_dissociation": ("Dissociation 30 (26.1%) 32 (27.6%) 62 (26.8%) 4 (3.5%)", 30, 32, 4),
      "ae_dizziness": ("Dizziness 32 (27.8%) 26 (22.4%) 58 (25.1%) 10 (8.8%)", 32, 26, 10),
      "ae_headache": ("Headache 23 (20.0%) 24 (20.7%) 47 (20.3%) 19 (16.8%)", 23, 24, 19),
      "ae_vomiting": ("Vomiting 7 (6.1%) 14 (12.1%) 21 (9.1%) 2 (1.8%)", 7, 14, 2),
      "ae_bp_increase": ("Blood pressure increased 8 (7.0%) 11 (9.5%) 19 (8.2%) 5 (4.4%)", 8, 11, 5)}
N1 = "safety population of the double-blind induction phase (table N: 56 mg 115, 84 mg 116, placebo 113); differs from the observed-case day-28 n used for efficacy rows in data/raw/arms.csv; MedDRA preferred term as reported"
for oc,(line,a,b,c) in T1.items():
    q = HDR + " | " + line
    add("fedgchin2019_transform1","esk56","treatment","56 mg twice weekly + new oral AD",oc,"w4","double-blind phase (4-week induction)",115,a,S,q,N1)
    add("fedgchin2019_transform1","esk84","treatment","84 mg twice weekly + new oral AD",oc,"w4","double-blind phase (4-week induction)",116,b,S,q,N1)
    add("fedgchin2019_transform1","pbo","control","intranasal placebo + new oral antidepressant",oc,"w4","double-blind phase (4-week induction)",113,c,S,q,N1)

# ---- ASPIRE II (Ionescu 2021), PMC7816667 Table 2
S = "https://pmc.ncbi.nlm.nih.gov/articles/PMC7816667/table/T2 [Table 2]"
HDR = "Table 2. Summary of Most Frequently Reported Treatment-Emergent Adverse Events During Double-Blind Phases ... Placebo + standard of care n = 113 Esketamine 84 mg + standard of care n = 114"
A2 = {"ae_dizziness": ("Dizziness 21 (18.6) 47 (41.2)", 47, 21),
      "ae_dissociation": ("Dissociation 9 (8.0) 44 (38.6)", 44, 9),
      "ae_nausea": ("Nausea 16 (14.2) 38 (33.3)", 38, 16),
      "ae_headache": ("Headache 26 (23.0) 25 (21.9)", 25, 26),
      "ae_vomiting": ("Vomiting 5 (4.4) 18 (15.8)", 18, 5),
      "ae_bp_increase": ("Blood pressure increased 3 (2.7) 7 (6.1)", 7, 3)}
N2 = "safety population (227 received study drug: esketamine 114, placebo 113; 115 randomized per arm); double-blind treatment twice weekly for 4 weeks; PMC7816667 = Int J Neuropsychopharmacol 2021;24(1):22-31 doi:10.1093/ijnp/pyaa068 (page header)"
for oc,(line,e,p) in A2.items():
    q = HDR + " | " + line
    add("ionescu2021_aspire2","esk","treatment","84 mg twice weekly x4 wk + standard of care",oc,"w4","double-blind phase (twice weekly for 4 weeks)",114,e,S,q,N2)
    add("ionescu2021_aspire2","pbo","control","intranasal placebo + standard of care",oc,"w4","double-blind phase (twice weekly for 4 weeks)",113,p,S,q,N2)

# ---- SUSTAIN-1 (Daly 2019), PMC6551577 Table 3
S = "https://pmc.ncbi.nlm.nih.gov/articles/PMC6551577/table/yoi190033t3 [Table 3]"
HDR = "Table 3. Most Frequently Reported Adverse Events in the Maintenance Phase in Patients Who Achieved Stable Remission and Those Who Achieved Stable Response ... Esketamine Nasal Spray and Oral Antidepressant (n = 152) Oral Antidepressant and Placebo Nasal Spray (n = 145)"
SU = {"ae_dissociation": ("Dissociation 35 (23.0) 0", 35, 0),
      "ae_dizziness": ("Dizziness 31 (20.4) 7 (4.8)", 31, 7),
      "ae_headache": ("Headache 27 (17.8) 14 (9.7)", 27, 14),
      "ae_nausea": ("Nausea 25 (16.4) 1 (0.7)", 25, 1),
      "ae_bp_increase": ("Blood pressure increased 10 (6.6) 5 (3.4)", 10, 5),
      "ae_vomiting": ("Vomiting 10 (6.6) 1 (0.7)", 10, 1)}
N3 = "randomized maintenance phase, stable remitters AND stable responders combined (n 152 vs 145), i.e. larger than the stable-remitter n (90/86) of the relapse rows in data/raw/arms.csv; variable exposure duration (randomized withdrawal)"
for oc,(line,e,p) in SU.items():
    q = HDR + " | " + line
    add("daly2019_sustain1","esk","treatment","56 or 84 mg (continued) + oral AD",oc,"maintenance","maintenance phase (stable remitters + stable responders)",152,e,S,q,N3)
    add("daly2019_sustain1","pbo","control","switch to intranasal placebo + continued oral AD",oc,"maintenance","maintenance phase (stable remitters + stable responders)",145,p,S,q,N3)

# ---- Su 2023, dbpia mirror of IJNP Table 1
S = "https://dbpia.nl.go.kr/view-large/407082910 (mirror of IJNP Table 1) [Table 1]"
HDR = "Table 1. Demographic Characteristics, Baseline Clinical Symptoms, and Treatment Outcomes of Patients With TRD and Prominent Suicidal Ideation Receiving a Single Infusion of Ketamine vs Midazolam Placebo ... Ketamine group (n = 42)Midazolam group (n = 42) ... Adverse effects during infusion, n (%)"
N4 = "adverse effects during the single 40-min infusion; timepoint slug 'infusion' = during infusion (not a post-dose time point)"
q = HDR + " Derealization29 (69.0)7 (16.7)<.001"
add("su2023","ket","treatment","0.5 mg/kg single infusion","ae_dissociation","infusion","adverse effects during infusion",42,29,S,q,N4+"; reported term 'Derealization' mapped to ae_dissociation")
add("su2023","mid","control","midazolam 0.045 mg/kg","ae_dissociation","infusion","adverse effects during infusion",42,7,S,q,N4+"; reported term 'Derealization' mapped to ae_dissociation")
q = HDR + " Dizziness24 (57.1)5 (11.9)<.00"
add("su2023","ket","treatment","0.5 mg/kg single infusion","ae_dizziness","infusion","adverse effects during infusion",42,24,S,q,N4)
add("su2023","mid","control","midazolam 0.045 mg/kg","ae_dizziness","infusion","adverse effects during infusion",42,5,S,q,N4)

# ---- Lii 2023, medRxiv v2 abstract: SAE
S = "https://medrxiv.org/content/10.1101/2023.04.28.23289210v2.full.txt (preprint v2 abstract)"
q = "40 adult patients with major depressive disorder were randomized to a single infusion of ketamine (0.5 mg/kg) or placebo (saline) during anesthesia as usual for routine surgery. ... One serious adverse event occurred in each group, unrelated to ketamine administration."
D = "events (1 per group) read in the medRxiv v2 abstract; per-arm n = 20 not stated in that abstract - taken from data/raw/arms.csv lii2023 day-1 response/remission rows (n = 20 per arm, Extended Data Table 1, PMC10769130/table/T4); 40 randomized in total"
NL = "preprint (medRxiv v2) statement, not checked against the published Nature Mental Health version; SAE window = whole trial follow-up (not stated in abstract); stated to be unrelated to ketamine"
add("lii2023","ket","treatment","0.5 mg/kg single infusion during general anesthesia","serious_ae","trial","whole trial (abstract: serious adverse events)",20,1,S,q,NL,conf="medium",derived=D)
add("lii2023","pbo","control","saline","serious_ae","trial","whole trial (abstract: serious adverse events)",20,1,S,q,NL,conf="medium",derived=D)
