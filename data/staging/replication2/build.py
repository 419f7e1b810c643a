"""Build targets.csv, per_study.csv and study_notes.csv (standard library only).

Every number below was read in this session in text returned by the library tools:
  * published pooled results: abstract pages found with `search` (pages corpus); URL + verbatim quote per row;
  * per-study numbers of Marchi et al. 2022: the R vectors of the authors' analysis script, read with `read_file`
    (library file id 42257274432). The strings in R_SNIPPETS are copied verbatim from that file; per-study values are
    parsed out of them (not typed by hand), and each per_study row quotes the verbatim vector prefix that ends with
    the value it records.
Run:  python3 build.py
"""
import csv, re

SCRIPT_SRC = ("GitHub R script 'Meta Analysis - Ketamine multidimensional psychopathology' (library read_file id "
              "42257274432; repository/path not shown by the index; a second stored version, id 41690079367, has an "
              "older 21-row dep_data)")

# ---- verbatim R text (copied from read_file id 42257274432) -------------------------------------------------
R_SNIPPETS = {
 # 5. Meta Analysis of Depression  (dep_data)
 "dep": {
  "labels": '.Label = c("Alizadeh et al. 2015", "Altinay et al. 2019", "Anderson et al. 2017", "Chen et al. 2018", "Domany et al. 2020", "Dong et al. 2019", "Fedgchin et al. 2019", "Fernie et al. 2017", "Keilp et al. 2021", "Kheirabadi et al. 2019", "Loo et al. 2012", "Murrough et al. 2015", "Ochs-Ross et al. 2020", "Pradhan et al. 2018", "Price et al. 2014", "Rasmussen et al. 2014", "Ray-Griffith et al. 2017", "Salloum et al. 2019", "Sharma et al. 2019", "Shiroma et al. 2020", "Singh et. 2015", "Taylor et al. 2018", "Yoosefi et. 2014", "Zarate et al. 2012", "Zhang et al. 2018", "Zhong et al. 2016", "Zou et al. 2021")',
  "codes": "Author = structure(c(1L, 3L, 2L, 4L, 5L, 6L, 7L, 8L, 9L,10L, 11L, 12L, 13L, 14L, 15L, 16L, 17L, 18L, 19L, 20L, 21L, 22L, 23L, 24L, 25L, 26L, 27L)",
  "Nt": "Nt = c(22L, 33L, NA, 24L, 7L, 43L, 115L, 20L, 39L, 16L, NA, 12L, 72L, NA, NA, NA, 8L, NA, NA, NA, 11L, NA, NA, 40L, 43L, 30L, 76L)",
  "Mt": "Mt = c(14.18, 16.8, NA, 15.54, 43.9, 6.4, -19, 14.08, 19.5, 19.4, NA, 21.7, 25.4, NA, NA, NA, 12.8, NA, NA, NA, -13.4, NA, NA, 23.73, 22.63, 14.8, 8.69)",
  "SDt": "SDt = c(11.83, 13.6, NA, 6.14, 26, 1.22, 13.86, 8.08, 9.4, 1.5, NA, 13.1, 12.7, NA, NA, NA, 4.6, NA, NA, NA, 3.03, NA, NA, 10.32, 0.95, 0.256, 4.15)",
  "Nc": "Nc = c(20L, 37L, NA, 24L, 7L, 45L, 113L, 20L, 39L, 15L, NA, 12L, 65L, NA, NA, NA, 8L, NA, NA, NA, 10L, NA, NA, 38L, 34L, 30L, 81L)",
  "Mc": "Mc = c(14.33, 14.8, NA, 16.7, 59.4, 7.62, -14.8, 12.08, 23.8, 12.9, NA, 22.2, 28.7, NA, NA, NA, 14.3, NA, NA, NA, -2.3, NA, NA, 30.68, 24.6, 16.814, 8.97)",
  "SDc": "SDc = c(9.46, 11.4, NA, 8.17, 17.2, 2.77, 15.07, 9.86, 8.9, 2.6, NA, 13.1, 10.11, NA, NA, NA, 5.1, NA, NA, NA, 3.38, NA, NA, 5.5, 1.03, 0.256, 4.82)",
  # study-level descriptors (factor codes + labels), used only for study_notes.csv
  "TRD": "TRD = c(0L, 0L, 1L, 1L, 0L, 0L, 0L, 0L, 0L, 0L, 0L, 0L, 1L, 0L, 1L, 0L, 0L, 0L, 0L, 0L, 1L, 0L, 0L, 0L, 0L, 1L, 0L)",
  "Disorder": 'Disorder = structure(c(4L, 10L, 9L, 9L, 3L, 4L, 4L, 4L, 4L, 4L, 4L, 8L, 9L, 6L, 9L, 2L, 10L, 5L, 2L, 4L, 9L, 7L, 4L, 1L, 10L, 9L, 2L), .Label = c("Bip Depre", "Depre", "Depre (ogni tipo)", "MDD", "MDD + ansia", "PTSD", "SAD", "Suicidio transdiagn", "TRD", "Unip/Bip Depre")',
  "Use": 'Use = structure(c(1L, 1L, 1L, 2L, 2L, 1L, 3L, 1L, 2L, 2L, 1L, 2L, 3L, 2L, 2L, 1L, 1L, 2L, 2L, 2L, 2L, 2L, 1L, 2L, 1L, 1L, 1L), .Label = c("Anest + ECT", "Tp ev", "Tp spray")',
  "Depre": 'Depre = structure(c(3L, 4L, 1L, 2L, 4L, 2L, 4L, 3L, 3L, 3L, 1L, 4L, 4L, 1L, 1L, 1L, 2L, 1L, 1L, 1L, 4L, 1L, 1L, 4L, 2L, 3L, 2L), .Label = c("", "HAM-D", "HRSD", "MADRS")',
  "Timepoint": 'Timepoint = structure(c(7L, 3L, 1L, 4L, 5L, 1L, 3L, 1L, 1L, 3L, 1L, 8L, 3L, 1L, 1L, 1L, 1L, 1L, 1L, 1L, 6L, 1L, 1L, 2L, 1L, 9L, 1L), .Label = c("", "1 day", "1 month", "14 days", "2 hours", "3 days", "6 ECT sessions", "7 days", "8 ECT sessions")',
  "Days.Followup": "Days.Followup = c(NA, 28L, NA, 14L, 3L, 28L, 28L, 28L, 1L, 28L, 28L, 7L, 28L, NA, 1L, NA, NA, NA, NA, NA, 3L, 1L, NA, 1L, 28L, 21L, 28L)",
  "N.participants.tot": "N.participants.tot = c(42L, 70L, NA, 48L, 18L, 88L, 228L, 40L, 78L, 31L, 46L, 24L, 137L, 20L, 57L, 38L, 16L, 45L, 25L, 54L, 30L, 18L, 31L, 15L, 77L, 90L, 157L)",
  "Intervention": 'Intervention = structure(c(5L, 6L, 1L, 14L, 12L, 2L, 4L, 3L, 14L, 14L, 6L, 14L, 15L, 14L, 14L, 11L, 9L, 14L, 14L, 14L, 13L, 14L, 10L, 14L, 7L, 8L, 5L), .Label = c("", "ECT+Keta (0.3 mg/kg)", "ECT+Keta (0.5-1 mg/kg)", "Esketamine (56 mg)+AD", "Ketamine (0.3 mg/kg)+Propofol+ECT", "Ketamine (0.5 mg/kg)+ECT", "Ketamine (0.5 mg/kg)+Propofol+ECT", "Ketamine (0.8 mg/kg)+ECT", "Ketamine (1 mg/kg mean)+ECT", "Ketamine (1-2 mg/kg)+ECT", "Ketamine (1.05 mg/kg mean)+ECT", "Ketamine 0.2 mg/kg", "Ketamine 0.4 mg/kg", "Ketamine 0.5 mg/kg", "Ketamine 28-84 mg + newly AD")',
  "Control": 'Control = structure(c(15L, 13L, 1L, 12L, 12L, 4L, 2L, 5L, 9L, 19L, 13L, 8L, 14L, 16L, 10L, 7L, 6L, 10L, 3L, 11L, 12L, 12L, 18L, 18L, 17L, 17L, 15L), .Label = c("", "AD+PBO", "ECT", "ECT+PBO", "ECT+propofol", "Methohexital (1 mg/kg) + ECT", "Methohexital (1.04 mg/kg mean) + ECT", "Midazolam", "Midazolam (0.02 mg/kg)", "Midazolam (0.045 mg/kg)", "Midazolam (0.045 mg/kg) + 1 keta", "PBO", "PBO+ECT", "PBO+newly AD", "PBO+Propofol+ECT", "Placebo + TIMBER psychoterapy", "Propofol + ECT", "Thiopental (2-3 mg/kg) + ECT", "Thiopental (3 mg/kg) + ECT")',
 },
 # 1. Meta Analysis of Anxiety (Anx_data)
 "anx": {
  "labels": '.Label = c("Anderson et al. 2017", "Domany et al. 2020", "Fedgchin et al. 2019", "Murrough et al. 2015", "Price et al. 2014", "Taylor et al. 2018")',
  "codes": "Author = structure(1:6",
  "Nt": "Nt = c(33L, 9L, 115L, 12L, 36L, 18L)",
  "Mt": "Mt = c(4.96, 3.75, 5.8, 6, 42.31, 66.1)",
  "SDt": "SDt = c(4.62, 1.64, 5.94, 2.6, 16.31, 30.9)",
  "Nc": "Nc = c(37L, 9L, 113L, 12L, 21L, 17L)",
  "Mc": "Mc = c(4.43, 16.45, 7.2, 8.2, 44.1, 86.1)",
  "SDc": "SDc = c(0.89, 6.79, 6.01, 3.9, 16.33, 30)",
 },
 # 4. Meta Analysis of Social functioning (SF_data)
 "sf": {
  "labels": '.Label = c("Fedgchin et al. 2019", "Ochs-Ross et al. 2020")',
  "codes": "Author = structure(1:2",
  "Nt": "Nt = c(115L, 72L)", "Nc": "Nc = c(113L, 65L)",
  "Mc": "Mc = c(16, -3.8)", "Mt": "Mt = c(13, -6.1)",
  "SDc": "SDc = c(9.7, 6.35)", "SDt": "SDt = c(9.32, 8.35)",
 },
}
AE_LABELS = '.Label = c("Alizadeh et al. 2015", "Anderson et al. 2017", "Chen M et al. 2018", "Domany et al. 2020", "Dong et al. 2019", "Fedgchin et al. 2019", "Fernie et al. 2017", "Keilp et al. 2021", "Loo et al. 2012", "Murrough et al. 2015", "Ochs-Ross et al. 2020", "Price et al. 2014", "Rasmussen et al. 2014", "Ray-Griffith et al. 2017", "Singh et. 2015", "Taylor et al. 2018", "Yoosefi et. 2014", "Zarate et al. 2012", "Zhang et al. 2018", "Zhong et al. 2016", "Zou et al. 2021")'
R_SNIPPETS["ae"] = {"labels": AE_LABELS, "codes": "Author = structure(1:21",
  "Nt": "Nt = c(22L, 33L, NA, 7L, NA, 115L, 20L, 39L, 26L, 12L, 72L, NA, NA, NA, 11L, 18L, NA, 41L, NA, 30L, 76L)",
  "Nc": "Nc = c(22L, 37L, NA, 7L, NA, 113L, 20L, 39L, 25L, 12L, 65L, NA, NA, NA, 10L, 18L, NA, 38L, NA, 30L, 81L)",
  "EventsT": "EventsT = c(0L, 15L, NA, 2L, NA, 93L, 0L, 10L, 2L, 5L, 51L, NA, NA, NA, 8L, 15L, NA, 36L, NA, 0L, 27L)",
  "EventsC": "EventsC = c(0L, 10L, NA, 1L, NA, 64L, 1L, 12L, 0L, 0L, 39L, NA, NA, NA, 5L, 4L, NA, 16L, NA, 0L, 25L)"}
R_SNIPPETS["dae"] = {"labels": AE_LABELS, "codes": "Author = structure(1:21",
  "Nt": "Nt = c(22L, 33L, NA, 7L, NA, 117L, 20L, 39L, 26L, 12L, 72L, NA, NA, NA, 11L, 18L, 17L, 14L, 43L, 30L, 76L)",
  "Nc": "Nc = c(22L, 37L, NA, 7L, NA, 113L, 20L, 39L, 25L, 12L, 65L, NA, NA, NA, 10L, 18L, 14L, 12L, 34L, 30L, 81L)",
  "EventsT": "EventsT = c(0L, 0L, NA, 0L, NA, 1L, 0L, 5L, 0L, 0L, 4L, NA, NA, NA, 1L, 0L, 1L, 0L, 0L, 0L, 0L)",
  "EventsC": "EventsC = c(0L, 0L, NA, 0L, NA, 2L, 0L, 4L, 0L, 0L, 2L, NA, NA, NA, 0L, 0L, 0L, 0L, 0L, 0L, 0L)"}
R_SNIPPETS["do"] = {"labels": AE_LABELS, "codes": "Author = structure(1:21",
  "Nt": "Nt = c(22L, 33L, NA, 7L, 55L, 117L, 20L, NA, 26L, 12L, 72L, NA, NA, NA, 11L, 18L, 17L, 14L, 43L, 30L, 76L)",
  "Nc": "Nc = c(22L, 37L, NA, 7L, 62L, 113L, 20L, NA, 25L, 12L, 65L, NA, NA, NA, 10L, 18L, 14L, 12L, 34L, 30L, 81L)",
  "EventsT": "EventsT = c(0L, 14L, NA, 0L, 12L, 6L, 7L, NA, 20L, 0L, 10L, NA, NA, NA, 1L, 1L, 2L, 3L, 0L, 0L, 9L)",
  "EventsC": "EventsC = c(2L, 19L, NA, 0L, 17L, 6L, 7L, NA, 15L, 0L, 6L, NA, NA, NA, 0L, 0L, 0L, 1L, 0L, 0L, 11L)"}

# ---- parsing helpers --------------------------------------------------------------------------------------------
def rvec(s):
    """values of the c(...) in snippet s, as strings (NA kept); also returns the token spans."""
    inner = s[s.index("c(") + 2: s.rindex(")")]
    toks = [t.strip() for t in inner.split(",")]
    return toks

def rval(tok):
    if tok == "NA": return None
    t = tok.rstrip("L")
    return int(t) if re.fullmatch(r"-?\d+", t) else float(t)

def labels(s):
    return re.findall(r'"([^"]*)"', s[s.index(".Label"):])

def codes(s):
    if "structure(1:" in s:
        k = int(re.search(r"structure\(1:(\d+)", s).group(1)); return list(range(1, k + 1))
    return [rval(t) for t in rvec(s[: s.index(")") + 1])]

def prefix(s, i):
    """verbatim prefix of snippet s that ends with element i (0-based)."""
    start = s.index("c(") + 2
    toks = s[start:].split(",")
    return s[: start + len(",".join(toks[: i + 1]))]

def factor(snip, i):
    cs = rvec(snip[: snip.index(")") + 1]); labs = labels(snip)
    return labs[rval(cs[i]) - 1]

def studies(key):
    d = R_SNIPPETS[key]; labs = labels(d["labels"]); cds = codes(d["codes"])
    return [labs[c - 1] for c in cds]

# ---- targets ----------------------------------------------------------------------------------------------------
MARCHI = ("Marchi M, Magarini FM, Galli G, Mordenti F, Travascio A, Uberti D, De Micheli E, Pingani L, Ferrari S, "
          "Galeazzi GM. The effect of ketamine on cognition, anxiety, and social functioning in adults with psychiatric "
          "disorders: a systematic review and meta-analysis. Front Neurosci 2022;16:1011103 (PMC9730521, PMID 36507365)")
MDOI = "10.3389/fnins.2022.1011103"
MURL = "https://iris.unimore.it/handle/11380/1292917 (abstract; same text at frontiersin.org/.../fnins.2022.1011103/full)"
MODEL_SMD = ("random effects, DerSimonian-Laird (authors' script: metacont(sm='SMD', method.tau='DL'), R package meta; "
             "paper abstract states only 'Standardized mean difference (SMD) was used')")
MODEL_OR = ("authors' script: metabin(sm='OR') with meta defaults (Mantel-Haenszel common effect + DL random effects); "
            "forest plot drawn with random=T")

def trial_list(key, need=("Nt", "Nc")):
    d = R_SNIPPETS[key]; names = studies(key)
    vecs = {k: rvec(d[k]) for k in need}
    return [n for i, n in enumerate(names) if all(rval(vecs[k][i]) is not None for k in need)]

targets = []
def T(**kw):
    base = dict(target_id="", review="", doi="", comparison="", outcome="", timepoint="", measure="", estimate="",
                ci_low="", ci_high="", k="", n_participants="", model="", included_trials="", source="", quote="")
    base.update(kw); targets.append(base)

T(target_id="marchi2022_depression", review=MARCHI, doi=MDOI,
  comparison="ketamine or esketamine (any route; alone or within ECT anaesthesia) vs any control (placebo, midazolam, anaesthetic+ECT, ECT) in adults with psychiatric disorders",
  outcome="depression severity (endpoint or change score; HAM-D/HRSD/MADRS as coded per study)", timepoint="mixed (last or reported time point per study; 1 day to 1 month; ECT sessions)",
  measure="SMD (Hedges g; negative favours ketamine)", estimate="-0.61", ci_low="-1.06", ci_high="-0.16",
  model=MODEL_SMD, included_trials=";".join(trial_list("dep")), source="https://www.frontiersin.org/journals/neuroscience/articles/10.3389/fnins.2022.1011103/text (abstract; same result in iris.unimore.it/handle/11380/1292917)",
  quote="The effect of ketamine on depression was confirmed (SMD:-0.61[95%CI:-1.06;-0.16])")
T(target_id="marchi2022_anxiety", review=MARCHI, doi=MDOI,
  comparison="ketamine or esketamine vs control (psychiatric disorders) [OUTCOME OUTSIDE PROJECT SET - provenance check]",
  outcome="anxiety symptoms (CAS, BAI, GAD-7, CAST anxiety subscale, STAI-S, LSAS)", timepoint="mixed",
  measure="SMD (Hedges g)", estimate="-0.42", ci_low="-0.84", ci_high="0.003", k="6", model=MODEL_SMD,
  included_trials=";".join(trial_list("anx")), source=MURL,
  quote="by pooling results of 6 RCTs, ketamine may be effective in reducing anxiety symptoms (SMD: −0.42 [95% CI: −0.84; 0.003])")
T(target_id="marchi2022_anxiety_noECT", review=MARCHI, doi=MDOI,
  comparison="as marchi2022_anxiety, trials not within ECT [OUTCOME OUTSIDE PROJECT SET - provenance check]",
  outcome="anxiety symptoms", timepoint="mixed", measure="SMD (Hedges g)", estimate="-0.58", ci_low="-1.07", ci_high="-0.09", k="5",
  model=MODEL_SMD + "; script: subset(Anx_data, use != 'ECT') drops Anderson et al. 2017",
  included_trials=";".join(trial_list("anx")[1:]), source=MURL,
  quote="particularly when administered not within ECT (5 trials; SMD: −0.58 [95% CI: −1.07; −0.09])")
T(target_id="marchi2022_social_functioning", review=MARCHI, doi=MDOI,
  comparison="esketamine + new oral AD vs placebo + AD [OUTCOME OUTSIDE PROJECT SET - provenance check]",
  outcome="social functioning (SDS as coded in script)", timepoint="day 28 (as in the two trials)", measure="SMD (Hedges g)",
  estimate="-0.31", ci_low="-0.52", ci_high="-0.10", k="2", model=MODEL_SMD,
  included_trials=";".join(trial_list("sf")), source=MURL,
  quote="Patients treated with ketamine also had an improvement in social functioning (SMD: −0.31 [95% CI: −0.52; −0.10]), although the estimate was based only on 2 studies.")
for key, tid, outc in [("ae", "marchi2022_any_adverse_effect", "participants with any adverse effect"),
                       ("dae", "marchi2022_dropout_ae", "drop-outs due to adverse effects"),
                       ("do", "marchi2022_dropout_any", "drop-outs for any cause")]:
    T(target_id=tid, review=MARCHI, doi=MDOI, comparison="ketamine or esketamine vs any control (psychiatric disorders)",
      outcome=outc, timepoint="end of trial (as coded per study)", measure="OR", model=MODEL_OR,
      included_trials=";".join(trial_list(key)),
      source="PUBLISHED POOLED VALUE NOT READ (abstract does not give it; PMC9730521 results/figures not reachable). Per-study counts: " + SCRIPT_SRC,
      quote="")

# partial targets: pooled value read, per-study numbers not readable
T(target_id="bahk2021_esk_madrs_2to4h", review="Authors as listed on moreblossom.com: Bahk W, Kim N, Lim H (full author list not read). Rapid onset of intranasal esketamine in patients with treatment resistance depression and major depression with suicide ideation: a meta-analysis. Clin Psychopharmacol Neurosci 2021;19(2):341-354 (PMC8077059)",
  doi="10.9758/cpn.2021.19.2.341", comparison="intranasal esketamine vs placebo (TRD + MDSI)", outcome="MADRS total score change",
  timepoint="2-4 h after first dose", measure="SMD", estimate="-0.41", ci_low="-0.58", ci_high="-0.25", n_participants="",
  model="not read", included_trials="review-level list (Table 1, truncated after ASPIRE-1): NCT02918318; Daly et al. (NCT01998958); Canuso et al. (NCT02133001); Fedgchin et al. TRANSFORM-1 (NCT02417064); Popova et al. TRANSFORM-2 (NCT02418585); Ochs-Ross et al. TRANSFORM-3 (NCT02422186); Fu et al. ASPIRE-1 (NCT03039192); [8th trial cut off]",
  source="https://pmc.ncbi.nlm.nih.gov/articles/PMC8077059/ (abstract); https://pmc.ncbi.nlm.nih.gov/articles/PMC8077059/table/T1 (Table 1)",
  quote="Esketamine more significantly improved MADRS total scores than placebo starting from 2−4 hours after the first administration (standardized mean difference, −0.41 [95% CI, −0.58 to −0.25], p < 0.00001)")
T(target_id="bahk2021_esk_si_resolution_2to4h", review="Bahk W, Kim N, Lim H et al. (as listed on moreblossom.com). Clin Psychopharmacol Neurosci 2021;19(2):341-354 (PMC8077059)", doi="10.9758/cpn.2021.19.2.341",
  comparison="intranasal esketamine vs placebo (MDD with suicidal ideation)", outcome="resolution of suicidality", timepoint="2-4 h",
  measure="OR", estimate="2.04", ci_low="1.37", ci_high="3.05", model="not read",
  included_trials="MDSI subgroup of the review list; probably Canuso et al. and Fu et al. ASPIRE-1 (+ the truncated 8th trial) - NOT confirmed",
  source="https://pmc.ncbi.nlm.nih.gov/articles/PMC8077059/ (abstract)",
  quote="Resolution of suicide in MDSI was also greater for esketamine than for placebo at 2−4 hours (OR of 2.04, 95% CIs, 1.37 to 3.05, p = 0.0005)")
YANG = "Yang S, Wang J, Li X, Wang T, Xu Z, Xu X, Zhou X, Chen G. Adverse effects of esketamine for the treatment of major depression disorder: findings from randomized controlled trials. Psychiatr Q 93(1):81-95 (PMC page dated 2021 Jan 7; PMC8993781, PMID 33411126)"
for tid, outc, est, lo, hi, q in [
    ("yang2021_dissociation", "dissociation", "4.54", "2.36", "8.73", "dissociation (RR = 4.54, 95% CI, 2.36 to 8.73, P < 0.00001)"),
    ("yang2021_nausea", "nausea", "2.34", "1.04", "5.25", "the risk of nausea (RR = 2.34, 95% CI, 1.04 to 5.25, P = 0.04)"),
    ("yang2021_dizziness", "dizziness", "3.00", "1.80", "5.00", "dizziness (RR = 3.00, 95% CI, 1.80 to 5.00, P < 0.0001)")]:
    T(target_id=tid, review=YANG, doi="10.1007/s11126-020-09871-x", comparison="esketamine vs placebo (MDD)", outcome=outc,
      timepoint="double-blind phase", measure="RR", estimate=est, ci_low=lo, ci_high=hi, k="4", n_participants="551",
      model="not read", included_trials="NOT READ (4 RCTs, 551 patients; trial names not in the abstract; table pages of PMC8993781 not indexed)",
      source="https://pmc.ncbi.nlm.nih.gov/articles/PMC8993781/ (abstract)",
      quote="Finally, four RCTs with 551 patients were included in our study. ... " + q)
ZHENG = "Zheng W, Cai DB, Xiang YQ, Jiang WL, Sim K, Ungvari GS, Huang X, Huang XX, Ning YP, Xiang YT. Adjunctive intranasal esketamine for major depressive disorder: a systematic review of randomized double-blind controlled-placebo studies (2020; journal not shown in the excerpt)"
for tid, outc, tp, est, lo, hi, q in [
    ("zheng2020_response_endpoint", "response (study-defined)", "endpoint", "1.39", "1.18", "1.64", "significantly greater study-defined response (RR=1.39, 95%CI: 1.18 to 1.64, P<0.0001)"),
    ("zheng2020_remission_endpoint", "remission (study-defined)", "endpoint", "1.42", "1.17", "1.72", "remission (RR=1.42, 95%CI: 1.17 to 1.72, P = 0.0004) at endpoint assessment"),
    ("zheng2020_response_24h", "response (study-defined)", "24 h", "5.42", "1.38", "21.20", "peaking at 24 h (RR=5.42, 95%CI: 1.38 to 21.20, P = 0.02)")]:
    T(target_id=tid, review=ZHENG, doi="", comparison="adjunctive intranasal esketamine vs placebo (MDD)", outcome=outc, timepoint=tp,
      measure="RR", estimate=est, ci_low=lo, ci_high=hi, k="4", n_participants="708",
      model="RevMan 5.3 (effect model not stated in the excerpt)", included_trials="NOT READ (4 RCTs with 7 active arms)",
      source="https://discovery.researcher.life/article/adjunctive-intranasal-esketamine-for-major-depressive-disorder-a-systematic-review-of-randomized-doubleblind-controlledplacebo-studies/8efb1c7314723fe2bbe25570f982f8f2 (abstract); same abstract at https://research-repository.uwa.edu.au/en/publications/adjunctive-intranasal-esketamine-for-major-depressive-disorder-a-",
      quote="Four RCTs with 7 active arms covering 708 patients with MDD on intranasal esketamine (n = 419) and placebo (n = 289) were included. ... " + q)
T(target_id="kryst2020_depression_24h", review="Kryst J, Kawalec P, Mikrut Mitoraj A, Pilc A, Lason W, Brzostek T. Efficacy of single and repeated administration of ketamine in unipolar and bipolar depression: a meta-analysis of randomized clinical trials. Pharmacol Rep 2020;72:543-562",
  doi="10.1007/s43440-020-00097-z", comparison="single-dose ketamine vs control (unipolar and bipolar depression)", outcome="depressive symptoms",
  timepoint="24 h", measure="SMD", estimate="-0.89", ci_low="-1.24", ci_high="-0.53", k="", n_participants="", model="not read",
  included_trials="NOT READ (20 studies in the whole meta-analysis; which enter the 24-h analysis not read)",
  source="https://citclinics.com/efficacy-of-single-and-repeated-administration-of-ketamine-in-unipolar-and-bipolar-depression-a-meta-analysis-of-randomized-clinical-trials/ (abstract)",
  quote="A total of 20 studies were included in the meta-analysis. The largest effect of ketamine vs. controls in reducing depressive symptoms was observed at 24 h (SMD = − 0.89; 95% CI − 1.24; − 0.53; p < 0.00001)")
T(target_id="lee2015_depression_day1", review="Lee EE, Della Selva MP, Liu A, Himelhoch S. Ketamine as a novel treatment for major depressive disorder and bipolar depression: a systematic review and quantitative meta-analysis. Gen Hosp Psychiatry 2015;37(2):178-84 (PMID 25698228)",
  doi="10.1016/j.genhosppsych.2015.01.003", comparison="ketamine vs placebo (MDD and bipolar depression)", outcome="depressive symptoms",
  timepoint="day 1", measure="SMD (positive favours ketamine as reported)", estimate="1.01", ci_low="0.69", ci_high="1.34", k="6", model="not read (authors obtained data directly from study authors)",
  included_trials="NOT READ (six randomized placebo-controlled trials)", source="https://avyia.com/ketamine-as-a-novel-treatment-for-major-depressive-disorder-and-bipolar-depression-a-systematic-review-and-quantitative-meta-analysis (summary page quoting the abstract)",
  quote="The overall effect size at day 1 was large and statistically significant with an overall standardized mean difference of 1.01 (95% confidence interval 0.69-1.34) (P<.001)")
T(target_id="menon_ect_vs_ketamine_depression", review="Menon V, Varadharajan N, Faheem A, Andrade C. Ketamine vs electroconvulsive therapy for major depressive episode: a systematic review and meta-analysis. JAMA Psychiatry, brief report (year not shown in the excerpt; search to May 15, 2022)",
  doi="", comparison="ketamine vs ECT (negative SMD favours ECT per the abstract's wording)", outcome="post-treatment depression ratings", timepoint="1 week (or nearest) post-treatment",
  measure="SMD (Hedges g)", estimate="-0.39", ci_low="-0.81", ci_high="0.02", k="5", n_participants="",
  model="random-effects (estimator not stated in the excerpt)", included_trials="NOT READ (5 parallel-group RCTs; names in the supplement)",
  source="https://www.scribd.com/document/698918199/Paper (first page of the article)",
  quote="Five trials (ketamine group: n = 141; ECT group: n = 137) were meta-analyzed. The overall pooled SMD for posttreatment depression ratings was −0.39 (95% CI, −0.81 to 0.02; I2 = 45%; 5 RCTs).")
T(target_id="ndt_si_ketamine_24h", review="Authors not shown in the excerpt (Affiliated Hospital of Southwest Medical University, Luzhou; correspondence Xiao-Bin Wang). Meta-analysis of ketamine and esketamine in reducing suicidal ideation. Neuropsychiatr Dis Treat (Dove; year not shown; search to September 29, 2022)",
  doi="", comparison="IV ketamine vs control (parallel RCTs)", outcome="suicidal ideation score (SSI/BSS/BDI/MSSI)", timepoint="24 h",
  measure="Cohen's d (positive = greater SI reduction with ketamine)", estimate="0.95", ci_low="0.48", ci_high="1.41", model="not read",
  included_trials="NOT READ", source="https://www.safetylit.org/citations/index.php?fuseaction=citations.viewdetails&citationIds%5B%5D=citjournalarticle_795771_18 (abstract)",
  quote="ketamine produced a large degree of anti-SI effect within the 4-6 hours (Cohen's d = 1.16, 95% CI: 0.50, 1.81) and a medium-large degree in the 24 hours (Cohen's d = 0.95, 95% CI: 0.48, 1.41).")
T(target_id="ndt_si_esketamine_24h", review="as ndt_si_ketamine_24h", doi="", comparison="intranasal esketamine vs placebo (parallel RCTs)",
  outcome="suicidal ideation score", timepoint="24 h", measure="Cohen's d", estimate="0.30", ci_low="0.17", ci_high="0.47", model="not read",
  included_trials="NOT READ (esketamine RCTs; probably ASPIRE I/II and Canuso 2018 - not confirmed)",
  source="https://www.safetylit.org/citations/index.php?fuseaction=citations.viewdetails&citationIds%5B%5D=citjournalarticle_795771_18 (abstract)",
  quote="Esketamine, on the other hand, produced a small-medium degree of anti-SI effect within the 4-6 hours timeframe (Cohen's d = 0.26, 95% CI: 0.09, 0.44) and the 24 hours (Cohen's d = 0.30, 95% CI: 0.17, 0.47).")
T(target_id="chinjmap_esk_dissociation", review="Chinese meta-analysis of the safety of esketamine nasal spray add-on therapy for TRD (chinjmap.com journal; year and authors not shown in the excerpt)",
  doi="10.13748/j.cnki.issn1007-7693.20224126", comparison="esketamine nasal spray + oral AD vs placebo + oral AD (TRD)", outcome="dissociation", timepoint="double-blind phase",
  measure="RR", estimate="6.35", ci_low="2.84", ci_high="14.23", k="5", n_participants="1019", model="not read", included_trials="NOT READ (five RCTs)",
  source="http://www.chinjmap.com/article/doi/10.13748/j.cnki.issn1007-7693.20224126 (abstract)",
  quote="Five RCTs and 1 019 patients were included in the study. Compared with contrast group, treatment group had more adverse reacions, such as dissociation(RR=6.35, 95%CI, 2.84-14.23,")

# ---- per-study rows -----------------------------------------------------------------------------------------------
per = []; notes = []
def cont_rows(key, tid):
    d = R_SNIPPETS[key]; names = studies(key)
    v = {k: rvec(d[k]) for k in ("Nt", "Mt", "SDt", "Nc", "Mc", "SDc")}
    for i, name in enumerate(names):
        if rval(v["Nt"][i]) is None: continue
        for arm, (kn, km, ks) in (("treatment", ("Nt", "Mt", "SDt")), ("control", ("Nc", "Mc", "SDc"))):
            q = " | ".join([d["labels"][:60] + "... (row %d = code %s = %s)" % (i + 1, codes(d["codes"])[i], name),
                            prefix(d[kn], i), prefix(d[km], i), prefix(d[ks], i)])
            per.append(dict(target_id=tid, trial=name, arm=arm, events="", n=rval(v[kn][i]), mean=rval(v[km][i]),
                            sd=rval(v[ks][i]), source=SCRIPT_SRC + " [object %s]" % {"dep": "dep_data", "anx": "Anx_data", "sf": "SF_data"}[key], quote=q))
def bin_rows(key, tid, obj):
    d = R_SNIPPETS[key]; names = studies(key)
    v = {k: rvec(d[k]) for k in ("Nt", "Nc", "EventsT", "EventsC")}
    for i, name in enumerate(names):
        if rval(v["Nt"][i]) is None: continue
        for arm, (kn, ke) in (("treatment", ("Nt", "EventsT")), ("control", ("Nc", "EventsC"))):
            q = " | ".join(["Author = structure(1:21, ... (row %d = %s)" % (i + 1, name), prefix(d[kn], i), prefix(d[ke], i)])
            per.append(dict(target_id=tid, trial=name, arm=arm, events=rval(v[ke][i]), n=rval(v[kn][i]), mean="", sd="",
                            source=SCRIPT_SRC + " [object %s]" % obj, quote=q))
cont_rows("dep", "marchi2022_depression"); cont_rows("anx", "marchi2022_anxiety")
# anxiety without ECT = same rows minus Anderson
for r in [r for r in per if r["target_id"] == "marchi2022_anxiety" and r["trial"] != "Anderson et al. 2017"]:
    per.append(dict(r, target_id="marchi2022_anxiety_noECT"))
cont_rows("sf", "marchi2022_social_functioning")
bin_rows("ae", "marchi2022_any_adverse_effect", "AE_data"); bin_rows("dae", "marchi2022_dropout_ae", "DAE_data"); bin_rows("do", "marchi2022_dropout_any", "DO_data")
# trial list only (numbers not printed in any reachable page)
for t in ["NCT02918318", "Daly et al. (NCT01998958)", "Canuso et al. (NCT02133001)", "Fedgchin et al. TRANSFORM-1 (NCT02417064)",
          "Popova et al. TRANSFORM-2 (NCT02418585)", "Ochs-Ross et al. TRANSFORM-3 (NCT02422186)", "Fu et al. ASPIRE-1 (NCT03039192)"]:
    per.append(dict(target_id="bahk2021_esk_madrs_2to4h", trial=t, arm="", events="", n="", mean="", sd="",
                    source="https://pmc.ncbi.nlm.nih.gov/articles/PMC8077059/table/T1 [Table 1]",
                    quote="General characteristics of double-blinded randomized clinical trials included in the meta-analysis ... " + t.split(" (")[0]))

# study-level descriptors of dep_data, decoded from the script's factor codes
d = R_SNIPPETS["dep"]; names = studies("dep")
for i, name in enumerate(names):
    notes.append(dict(target_id="marchi2022_depression", trial=name,
        has_data="yes" if rval(rvec(d["Nt"])[i]) is not None else "no (NA)",
        intervention=factor(d["Intervention"], i), control=factor(d["Control"], i), use=factor(d["Use"], i),
        scale=factor(d["Depre"], i), timepoint=factor(d["Timepoint"], i), days_followup=rval(rvec(d["Days.Followup"])[i]) or "",
        disorder=factor(d["Disorder"], i), trd=rval(rvec(d["TRD"])[i]), n_participants_tot=rval(rvec(d["N.participants.tot"])[i]) or ""))

def write(path, rows, cols):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols); w.writeheader(); [w.writerow({c: r.get(c, "") for c in cols}) for r in rows]
write("targets.csv", targets, ["target_id", "review", "doi", "comparison", "outcome", "timepoint", "measure", "estimate", "ci_low", "ci_high", "k",
                               "n_participants", "model", "included_trials", "source", "quote"])
write("per_study.csv", per, ["target_id", "trial", "arm", "events", "n", "mean", "sd", "source", "quote"])
write("study_notes.csv", notes, ["target_id", "trial", "has_data", "intervention", "control", "use", "scale", "timepoint", "days_followup",
                                 "disorder", "trd", "n_participants_tot"])
print(len(targets), "targets;", len(per), "per-study rows;", len(notes), "study notes")
