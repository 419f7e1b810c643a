"""Writes replication_arms.csv and replication_targets.csv (standard library only).
Every number below was read in this helper session; see LOG.md for the look-ups."""

import csv

COCH_DOI = "10.1002/14651858.CD011612.pub3"
JAD_DOI = "10.1016/j.jad.2020.09.071"
EODS_DOI = "10.1080/14740338.2022.2047928"

R1 = "cochrane_ket_vs_pbo_response_24h"
R1B = "cochrane_ket_vs_midazolam_response_24h"
R2 = "bahji_any_ketamine_vs_control_response"

T1 = "https://pmc.ncbi.nlm.nih.gov/articles/PMC7704936/table/T1 [Bahji 2021 JAD Table 1 'Study characteristics', first chunk only]"
GT = "https://github.com/bhaskargurram-ai/agentic-slr/blob/3c99310a64a1fcf46e0798c2083f2efd48f8fa3c/reviews/r04_bahji_ketamine_depression/ground_truth.json (third-party list of Bahji 2021 included PMIDs; 'inclusion_pmids_count': 24)"
LAP_SRC = "https://pmc.ncbi.nlm.nih.gov/articles/PMC4185009 (abstract); https://einstein.pure.elsevier.com/en/publications/a-randomized-controlled-trial-of-intranasal-ketamine-in-major-dep (abstract)"
LAP_Q = "Response criteria were met by 8 of 18 patients (44%) 24 hours after ketamine administration compared with 1 of 18 (6%) after placebo (p =.033)."
DALY_SRC = "https://pmc.ncbi.nlm.nih.gov/articles/PMC5838571/table/yoi170092t1 [Daly 2018 Table 1, Period 1, change at 24 h]"
DALY_Q = "Period 1 | No. | 33 | 11 | 11 | 12 | ... Change at 24 h | ... Responders, No. (%) | 1 (3) | 4 (36) | 3 (27.3) | 5 (42) |"
COCH_LAP_SRC = "https://pmc.ncbi.nlm.nih.gov/articles/PMC8434915/table/CD011612-tblf-0034 [Cochrane characteristics: Lapidus 2014]"
COCH_LAP_Q = "Lapidus 2014. ... Double-blind randomised controlled cross-over trial ... N: 20 ... Ketamine (N = 10) 50 mg Placebo (N = 10) ... Outcomes MADRS Response rate (>= 50% reduction in MADRS scores)"

MEMB_R1 = (
    "MEMBERSHIP IN THE 7-RCT ANALYSIS NOT CONFIRMED: Cochrane Analysis 1.x / forest plot not retrievable; Lapidus 2014 is an included "
    "ketamine-vs-placebo study (" + COCH_LAP_SRC + ") whose listed outcomes include response rate. "
)

rows = []


def add(rep, doi, study, sid, arm, ev, n, cs, src, q, conf, notes):
    rows.append(
        dict(
            replication=rep,
            review_doi=doi,
            study=study,
            study_id_in_data_raw=sid,
            arm=arm,
            events=ev,
            n=n,
            count_source=cs,
            source=src,
            quote=q,
            confidence=conf,
            notes=notes,
        )
    )


# ---------------- Replication 1: Cochrane ketamine vs placebo, response 24 h ----------------
lapnote = (
    MEMB_R1
    + "Counts = trial publication (18 crossover completers, both periods). Cochrane describes the arms as 'Ketamine (N = 10) / Placebo (N = 10)', "
    "which suggests the review may have used first-period (parallel) data or other numbers than 8/18 vs 1/18; the review's own count is unknown. "
    "data/raw/arms.csv lapidus2014 response 24h = 8/18 vs 1/18: MATCH with the publication."
)
add(
    R1,
    COCH_DOI,
    "Lapidus 2014",
    "lapidus2014",
    "treatment",
    8,
    18,
    "trial_publication",
    LAP_SRC,
    LAP_Q,
    "high",
    lapnote,
)
add(
    R1,
    COCH_DOI,
    "Lapidus 2014",
    "lapidus2014",
    "control",
    1,
    18,
    "trial_publication",
    LAP_SRC,
    LAP_Q,
    "high",
    lapnote,
)

# ---------------- Replication 1b: Cochrane ketamine vs midazolam, response 24 h ----------------
murnote = (
    "MEMBERSHIP NOT CONFIRMED (Cochrane forest plot not retrievable). Murrough 2013 (Cochrane name presumably 'Murrough 2013a') is the "
    "midazolam-controlled trial in data/raw; SoF 2 'total dropouts: 72 (1 RCT)' equals the 72 randomized in Murrough per Bahji Table 1 "
    "('Murrough 2013 ... Parallel TRD MDD 72'), suggestive only. Counts NOT re-read in this session (abstract with 64%/28% not returned); "
    "data/raw/arms.csv holds 30/47 vs 7/25 (medium, % x n) - not re-verified here, so events/n left blank."
)
add(
    R1B,
    COCH_DOI,
    "Murrough 2013a (name assumed)",
    "murrough2013",
    "treatment",
    "",
    "",
    "",
    T1,
    "Murrough 2013 (Murrough et al., 2013a) Parallel TRD MDD 72 51.4 44.8 Racemic, monotherapy 0.5 mg/kg IV, single MADRS Midazolam",
    "low",
    murnote,
)
add(
    R1B,
    COCH_DOI,
    "Murrough 2013a (name assumed)",
    "murrough2013",
    "control",
    "",
    "",
    "",
    T1,
    "Murrough 2013 (Murrough et al., 2013a) Parallel TRD MDD 72 51.4 44.8 Racemic, monotherapy 0.5 mg/kg IV, single MADRS Midazolam",
    "low",
    murnote,
)

# ---------------- Replication 2: Bahji (trial list of the 2021 JAD review) ----------------
B2 = (
    "TRIAL LIST IS THAT OF BAHJI 2021 JAD (24 trials, 1877 participants). The target RR 2.14 (1.72-2.66) is from the 2022 Expert Opin Drug Saf "
    "paper (36 studies, 2903 participants) whose included-study list was NOT found; the JAD list is at best a subset of it. "
    "Bahji's response time point and which arms it pooled are not known (no forest plot read). "
)
t1 = {  # study: (Table 1 row quote, data_raw id, extra note)
    "Berman 2000": (
        "Berman 2000 (Berman et al., 2000) Crossover Non-TRD MDD 9 55.6 37.0 Racemic, monotherapy 0.5 mg/kg IV, multiple HDRS Placebo",
        "berman2000",
        "No response counts read (data/raw has only HDRS change for 7 completers).",
    ),
    "Kudoh 2002": (
        "Kudoh 2002 (Kudoh et al., 2002) Parallel Non-TRD 70 N/R 47.6 Racemic, adjunctive 1 mg/kg IV, single HDRS Placebo",
        "",
        "Anaesthesia-induction trial in surgical patients; no response counts read.",
    ),
    "Zarate 2006": (
        "Zarate 2006 (Zarate et al., 2006) Crossover TRD MDD 18 66.7 46.7 Racemic, monotherapy 0.5 mg/kg IV, multiple HDRS Placebo",
        "",
        "Crossover; no controlled response counts read.",
    ),
    "Diazgranados 2010": (
        "Diazgranados 2010 (Diazgranados et al., 2010) Crossover TRD BD 9 66.7 47.9 Racemic, adjunctive 0.5 mg/kg IV, multiple MADRS Placebo",
        "",
        "Bipolar crossover; Bahji Table 1 gives N 9 (not 18). No counts read.",
    ),
    "Zarate 2012": (
        "Zarate 2012 (Zarate et al., 2012) Crossover TRD BD 15 53.3 46.7 Racemic, adjunctive 0.5 mg/kg IV, multiple MADRS Placebo",
        "",
        "Bipolar crossover; no counts read.",
    ),
    "Sos 2013": (
        "Sos 2013 (Sos et al., 2013) Crossover Non-TRD 30 50.0 43.4 Racemic, adjunctive 0.5 mg/kg IV, single MADRS Placebo",
        "",
        "Crossover; no counts read.",
    ),
    "Murrough 2013": (
        "Murrough 2013 (Murrough et al., 2013a) Parallel TRD MDD 72 51.4 44.8 Racemic, monotherapy 0.5 mg/kg IV, single MADRS Midazolam",
        "murrough2013",
        "Counts not re-read this session; data/raw holds 30/47 vs 7/25 at 24 h (medium) - not re-verified, left blank.",
    ),
    "Lapidus 2014": (
        "Lapidus 2014 (Lapidus et al., 2014) Crossover TRD MDD 20 25.0 48.0 Esketamine, adjunctive 50 mg/day IN MADRS Placebo",
        "lapidus2014",
        "",
    ),
    "Hu 2016": (
        "Hu 2016 (Hu et al., 2016) Parallel TRD MDD 27 63.0 38.9 Racemic, adjunctive 0.5 mg/kg IV, multiple MADRS Placebo",
        "hu2016",
        "No counts read this session; data/raw holds week-4 response (medium) - not re-verified, left blank.",
    ),
    "Singh 2016a": (
        "Singh 2016a (Singh et al., 2016b) Parallel TRD MDD 67 70.6 43.0 Racemic, adjunctive 0.5 mg/kg IV, multiple MADRS Placebo",
        "",
        "IV ketamine twice vs thrice weekly vs placebo; no counts read (data/raw/excluded.csv has MADRS only).",
    ),
    "Singh 2016b": (
        "Singh 2016b (Singh et al., 2016a) Parallel TRD MDD 40 57.9 43.7 Esketamine, adjunctive 0.2–0.4 mg/kg IV, single MADRS Placebo",
        "",
        "IV esketamine; no counts read.",
    ),
    "Li 2016": (
        "Li 2016 (Li et al., 2016) Parallel TRD MDD 64 75.0 46.6 Racemic, adjunctive 0.2–0.5 mg/kg IV HDRS Placebo",
        "",
        "No counts read.",
    ),
    "Grunebaum 2017": (
        "Grunebaum 2017 (Grunebaum et al., 2017) Parallel Non-TRD BD 16 62.5 41.0 Racemic, adjunctive 0.5 mg/kg IV, single HDRS Midazolam",
        "",
        "Bipolar, midazolam; no counts read.",
    ),
    "Su 2017": (
        "Su 2017 (Su et al., 2017) Parallel TRD MDD 95 71.0 47.3 Racemic, adjunctive 0.2–0.5 mg/kg IV, single HDRS Placebo",
        "",
        "Two ketamine doses vs saline; no counts read.",
    ),
}
for study, (q, sid, extra) in t1.items():
    if study == "Lapidus 2014":
        n2 = (
            B2
            + "Listed in Bahji Table 1 (read). Bahji labels the drug 'Esketamine', but the trial publication says intranasal ketamine hydrochloride (racemic). "
            "Counts = publication (24 h, 18 completers, crossover); Bahji's own count/time point unknown. data/raw lapidus2014 = 8/18 vs 1/18: MATCH."
        )
        add(
            R2,
            JAD_DOI,
            study,
            sid,
            "treatment",
            8,
            18,
            "trial_publication",
            LAP_SRC + " ; membership: " + T1,
            LAP_Q + " || " + q,
            "high",
            n2,
        )
        add(
            R2,
            JAD_DOI,
            study,
            sid,
            "control",
            1,
            18,
            "trial_publication",
            LAP_SRC + " ; membership: " + T1,
            LAP_Q + " || " + q,
            "high",
            n2,
        )
        continue
    n2 = B2 + "Listed in Bahji Table 1 (read, " + T1 + "). " + extra
    add(R2, JAD_DOI, study, sid, "treatment", "", "", "", T1, q, "low", n2)
    add(R2, JAD_DOI, study, sid, "control", "", "", "", T1, q, "low", n2)

# trials beyond the readable part of Table 1: membership from the third-party list only
gt_rest = [
    (
        "Canuso 2018",
        "29656663",
        "",
        "Not in data/raw; data/staging/issue9 has day-2 response 19/35 vs 9/31 (not re-verified here).",
    ),
    (
        "Grunebaum 2018",
        "29202655",
        "",
        "Midazolam control; primary outcome suicidal ideation; no counts read.",
    ),
    (
        "Fava 2020 (listed as 'Fava 2018' in the third-party file)",
        "30283029",
        "",
        "Four ketamine doses vs midazolam; no counts read.",
    ),
    ("Phillips 2019", "30922101", "", "Crossover vs midazolam; no counts read."),
    (
        "Ionescu 2019",
        "30286416",
        "",
        "Repeated IV ketamine vs saline; only remission in data/staging/issue9; no response counts.",
    ),
    (
        "Popova 2019 (TRANSFORM-2)",
        "31109201",
        "popova2019_transform2",
        "No counts read this session; data/raw holds day-28 observed-case response (medium) - not re-verified.",
    ),
    (
        "Fedgchin 2019 (TRANSFORM-1)",
        "31290965",
        "fedgchin2019_transform1",
        "No counts read this session; data/raw holds day-28 observed-case response per dose (medium) - not re-verified.",
    ),
    (
        "Correia-Melo 2020",
        "31786030",
        "",
        "Head-to-head esketamine vs racemic ketamine (no placebo) - cannot enter a vs-placebo pooled RR; no counts read.",
    ),
    (
        "Ochs-Ross 2020 (TRANSFORM-3)",
        "31734084",
        "ochsross2020_transform3",
        "No counts read this session; data/raw holds day-28 observed-case response (medium) - not re-verified.",
    ),
]
for study, pmid, sid, extra in gt_rest:
    q = '"inclusion_pmids": [ ... "%s" ... ], "inclusion_pmids_count": 24' % pmid
    n2 = (
        B2
        + "Membership only from a third-party list (PMID "
        + pmid
        + "), NOT from Bahji's own table (its second chunk was not retrievable): medium-low certainty. "
        + extra
    )
    add(R2, JAD_DOI, study, sid, "treatment", "", "", "", GT, q, "low", n2)
    add(R2, JAD_DOI, study, sid, "control", "", "", "", GT, q, "low", n2)

# Daly 2018: counts read this session (three dose arms share one placebo arm)
dq = '"pmid": "29282469", "first_author": "Daly", "year": 2018, "short_name": "Daly 2018"'
dnote = (
    B2
    + "Membership from the third-party list (PMID 29282469), not from Bahji's own table. Counts read as counts from the trial's Table 1 (period 1, 24 h); "
    "three esketamine doses share ONE placebo arm (n=33): combine doses or split the control before pooling; Bahji's handling unknown. "
    "data/raw daly2018 response 24h (4/11, 3/11, 5/12 vs 1/33): MATCH."
)
for dose, ev, n in (("28 mg", 4, 11), ("56 mg", 3, 11), ("84 mg", 5, 12)):
    add(
        R2,
        JAD_DOI,
        "Daly 2018 (esketamine %s, period 1)" % dose,
        "daly2018",
        "treatment",
        ev,
        n,
        "trial_publication",
        DALY_SRC + " ; membership: " + GT,
        DALY_Q + " || " + dq,
        "high",
        dnote,
    )
add(
    R2,
    JAD_DOI,
    "Daly 2018 (placebo, period 1)",
    "daly2018",
    "control",
    1,
    33,
    "trial_publication",
    DALY_SRC + " ; membership: " + GT,
    DALY_Q + " || " + dq,
    "high",
    dnote,
)

cols = [
    "replication",
    "review_doi",
    "study",
    "study_id_in_data_raw",
    "arm",
    "events",
    "n",
    "count_source",
    "source",
    "quote",
    "confidence",
    "notes",
]
with open("replication_arms.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=cols)
    w.writeheader()
    w.writerows(rows)

# ---------------- targets ----------------
SOF1 = "https://pmc.ncbi.nlm.nih.gov/articles/PMC8434915/table/CD011612-tbl-0001 [Summary of findings 1]"
SOF2 = "https://pmc.ncbi.nlm.nih.gov/articles/PMC8434915/table/CD011612-tbl-0002 [Summary of findings 2]"
COCH = "Dean RL et al. Cochrane Database Syst Rev 2021;9:CD011612 (pub3)"
NOMODEL = "not stated in any text read (SoF table gives OR only; Methods/Data-and-analyses not retrievable)"
T = []


def tgt(rep, review, comp, outc, tp, meas, est, lo, hi, k, n, model, src, q):
    T.append(
        dict(
            replication=rep,
            review=review,
            comparison=comp,
            outcome=outc,
            timepoint=tp,
            measure=meas,
            estimate=est,
            ci_low=lo,
            ci_high=hi,
            k=k,
            n=n,
            model=model,
            source=src,
            quote=q,
        )
    )


tgt(
    R1,
    COCH,
    "ketamine vs placebo",
    "response",
    "24h",
    "OR",
    "3.94",
    "1.54",
    "10.10",
    "7",
    "185",
    NOMODEL,
    SOF1,
    "Efficacy: number of participants who respond to treatment ‐ at 24 hours (Response) assessed with: HDRS, HDRS‐17, MADRS № of participants: 185 (7 RCTs) | OR 3.94 (1.54 to 10.10) | Study population ... 8.8% | 27.4% (12.9 to 49.2)",
)
tgt(
    R1,
    COCH,
    "ketamine vs placebo",
    "remission",
    "24h",
    "OR",
    "5.60",
    "1.07",
    "29.46",
    "3",
    "75",
    NOMODEL,
    SOF1,
    "Efficacy: number of participants who achieve remission ‐ at 24 hours (Remission) assessed with: MADRS, HDRS № of participants: 75 (3 RCTs) | OR 5.60 (1.07 to 29.46) | Study population ... 2.4% | 12.0%",
)
tgt(
    R1B,
    COCH,
    "ketamine vs midazolam",
    "response",
    "24h",
    "OR",
    "2.48",
    "1.00",
    "6.18",
    "4",
    "296",
    NOMODEL,
    SOF2,
    "Efficacy: number of participants who respond to treatment ‐ at 24 hours assessed with: HAM‐D‐6, HAM‐D‐17, MADRS № of participants: 296 (4 RCTs) | OR 2.48 (1.00 to 6.18) | Study population ... 25.9% | 46.5% (25.9 to 68.4)",
)
tgt(
    R1B,
    COCH,
    "ketamine vs midazolam",
    "remission",
    "24h",
    "OR",
    "2.21",
    "0.67",
    "7.32",
    "2",
    "122",
    NOMODEL,
    SOF2,
    "Efficacy: number of participants who achieve remission ‐ at 24 hours assessed with: MADRS № of participants: 122 (2 RCTs) | OR 2.21 (0.67 to 7.32) | Study population ... 18.0% | 32.7%",
)
tgt(
    R2,
    "Bahji A et al. Efficacy and safety of racemic ketamine and esketamine for depression: a systematic review and meta-analysis. Expert Opin Drug Saf 2022, pp. 853-866 (doi 10.1080/14740338.2022.2047928; PMID 35231204) - NOT the 2021 J Affect Disord paper",
    "any ketamine (racemic or esketamine) vs placebo",
    "response",
    "not stated in abstract",
    "RR",
    "2.14",
    "1.72",
    "2.66",
    "36 studies in review (k for response not stated)",
    "2903 (whole review)",
    "random-effects meta-analysis of pooled rate ratios; tau^2 estimator not stated; I2=65%",
    "https://informahealthcare.com/doi/epub/10.1080/14740338.2022.2047928 (abstract); also https://chigaco.vukou.com/35231204",
    "We conducted random-effects meta-analyses using pooled rate ratios (RRs) ... We found 36 studies (2903 participants ... ). ... Treatment with any form of ketamine was associated with improved response (RR=2.14; 95% CI, 1.72-2.66; I2=65%)",
)
tgt(
    R2,
    "Bahji A et al. Comparative efficacy of racemic ketamine and esketamine for depression: a systematic review and meta-analysis. J Affect Disord 2021;278:542-555 (doi 10.1016/j.jad.2020.09.071; PMID 33022440; PMC7704936)",
    "racemic ketamine / esketamine vs control",
    "response",
    "",
    "RR",
    "",
    "",
    "",
    "24 trials in review",
    "1877 (whole review)",
    "random-effects meta-analyses (RR for response); estimator not stated in text read",
    "http://47.251.13.51:8081/33022440 (PubMed mirror abstract, cut after 'Racemic ketamine re')",
    "Evidence from randomized controlled trials was synthesized as rate ratios (RRs) for treatment response ... via random-effects meta-analyses. Findings: 24 trials representing 1877 participants were pooled.",
)
tcols = [
    "replication",
    "review",
    "comparison",
    "outcome",
    "timepoint",
    "measure",
    "estimate",
    "ci_low",
    "ci_high",
    "k",
    "n",
    "model",
    "source",
    "quote",
]
with open("replication_targets.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=tcols)
    w.writeheader()
    w.writerows(T)
print(len(rows), "arm rows;", len(T), "targets")
