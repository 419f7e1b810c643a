"""Write the CSVs of data/staging/safety3/ (standard library only).

Every excluded row holds a statement read in this session (URL + verbatim quote, `...` marks an
elision).  No arm row and no CADSS row could be read with a per-arm count / mean, so arms.csv,
cadss.csv and studies.csv are header-only (see LOG.md).

    python3 build.py && python3 check.py
"""
import csv
import os

HERE = os.path.dirname(os.path.abspath(__file__))
RAW = os.path.join(HERE, "..", "..", "raw")


def header(name):
    with open(os.path.join(RAW, name), newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh))


ARMS_COLS = header("arms.csv")
STUDIES_COLS = header("studies.csv")
CADSS_COLS = ["study_id", "arm", "time", "mean", "sd_or_se", "n", "source", "quote"]
EXCL_COLS = ["study_id", "outcome", "timepoint_reported", "confidence", "reason", "source", "quote"]

ARMS = []      # nothing extractable (see LOG.md)
STUDIES = []   # no new trial with a usable row
CADSS = []     # no per-arm CADSS mean/SD at any time point was visible

EXCLUDED = [
    dict(study_id="singh2016_ketamine",
         outcome="ae_headache / ae_dissociation / ae_nausea / ae_dizziness",
         timepoint_reported="double-blind phase (up to 4 weeks)",
         confidence="low",
         reason="pooled statement over all ketamine arms with a >=20% threshold; no per-arm count and no placebo figure",
         source="https://medtally.com/post/a-double-blind-randomized-placebo-controlled-dose-frequency-study-of-intravenous-ketamine-in-patients-with-treatment--518803 (AJP 2016 abstract)",
         quote="Both regimens were generally well tolerated. Headache, anxiety, dissociation, nausea, and dizziness were the most common (≥20%) treatment-emergent adverse events. Dissociative symptoms occurred transiently and attenuated with repeated dosing."),
    dict(study_id="arabzadeh2018",
         outcome="any side effect",
         timepoint_reported="6-week trial",
         confidence="low",
         reason="no AE term and no count; the abstract ('did not observe any side effects for ketamine') and the news summary ('minimal, did not differ between groups') disagree, so no zero can be entered for any named AE",
         source="http://47.251.13.51:8081/29660637 (PubMed mirror abstract); https://www.psychiatryadvisor.com/home/depression-advisor/oral-ketamine-an-effective-sertraline-adjuvant-for-relieving-major-depressive-disorder-symptoms/",
         quote="We did not observe any side effects for ketamine administration. ... Side effects were minimal, did not differ between groups, and were mild in intensity."),
    dict(study_id="jafarinia2016",
         outcome="any adverse effect / psychotomimetic effects",
         timepoint_reported="6-week trial",
         confidence="low",
         reason="secondary annotation; no AE term with counts per arm",
         source="https://clpsychiatry.org/educationcareers/annotated-abstracts/2016-q4/chronic-pain",
         quote="Minimal adverse effects were noted; oral ketamine was well tolerated with no evidence of transient psychotomimetic effects."),
    dict(study_id="abbar2022",
         outcome="side effects (manic / psychotic symptoms)",
         timepoint_reported="after two infusions (day 0 and 24 h)",
         confidence="low",
         reason="no count per arm; manic/psychotic symptoms are not an outcome of this file; arm sizes inconsistent in the PMC abstract (randomised 'placebo (n=83) or ketamine (n=73)' but '46 (63.0%) of 83 participants in the ketamine arm')",
         source="https://www.scribd.com/document/557968323/Ketamine-for-the-acute-treatment-of-severe-suicidal-ideation-double (BMJ 2022;376:e067194 PDF p1, two-column text interleaved); https://pmc.ncbi.nlm.nih.gov/articles/PMC8808464",
         quote="Side effects were limited. No manic or psychotic ... symptom was seen."),
    dict(study_id="grunebaum2018",
         outcome="side effects",
         timepoint_reported="after a single infusion",
         confidence="low",
         reason="qualitative only; no per-arm count (N=80 randomised in total, per-arm n not read)",
         source="https://psychiatryonline.org/doi/full/10.1176/appi.ajp.2017.17060647 (abstract)",
         quote="Side effects were short-lived, and clinical improvement was maintained for up to 6 weeks with additional optimized standard pharmacotherapy in an uncontrolled follow-up."),
    dict(study_id="murrough2015",
         outcome="discontinued_ae",
         timepoint_reported="primary 7-day assessment period",
         confidence="low",
         reason="'no dropouts' is any-cause, not discontinuation for an adverse event; per-arm n not read (n = 24 in total); mixed mood and anxiety spectrum disorders, not a depression-only population",
         source="http://core-cms.prod.aop.cambridge.org/core/journals/psychological-medicine/article/ketamine-for-rapid-reduction-of-suicidal-ideation-a-randomized-controlled-trial/330D776E6A800D3EAA0DBFED09665FB4 (abstract)",
         quote="The intervention was well tolerated and no dropouts occurred during the primary 7-day assessment period."),
    dict(study_id="jelovac2025_karmadep2",
         outcome="serious_ae",
         timepoint_reported="treatment phase (up to 8 infusions over 4 weeks) or whole follow-up (not stated)",
         confidence="low",
         reason="blog (secondary) only; unit (patients or events), arm order and period not stated; per-arm safety n not read (65 randomised, 62 analysed); news summary only says rates were similar",
         source="https://www.drdonline.net/post/the-karma-dep-2-trial-ketamine-no-better-than-midazolam-for-inpatient-depression; https://www.epocrates.com/online/article/newer-biologics-for-ibd-how-do-they-compare-in-terms-of-serious-infection",
         quote="Adverse events were frequent but comparable: fatigue, sleep disturbance, mild hypertension, and transient dissociation. Serious adverse events occurred in both arms (7 vs 6). ... Both treatments were generally safe, with similar rates of adverse events and serious adverse events in each group."),
    dict(study_id="talati2019",
         outcome="CADSS (cadss.csv)",
         timepoint_reported="4, 24, 48 h, 7 and 28 days",
         confidence="low",
         reason="only a between-group significance statement; no mean/SD per arm visible (abstract cut); full text not returned",
         source="https://www.jaypeedigital.com/browseLockedJournal/IJPP/article/17985 (abstract); https://www.ijiapp.com/abstractArticleContentBrowse/IJPP/17985/JPJ/fullText (first chunk only)",
         quote="Both CADSS and YMRS scores were significantly higher (p < 0.001) in the ket"),
    dict(study_id="hu2016",
         outcome="CADSS (cadss.csv) and adverse events",
         timepoint_reported="1, 2, 4, 24 and 72 h; days 7-28",
         confidence="low",
         reason="CADSS was measured at several time points but no value is in the visible abstract; the Cambridge full text returned only its introduction chunk",
         source="http://47.251.13.51:8081/26478208 (PubMed mirror abstract); https://www-cambridge-org.ezproxyberklee.flo.org/core/journals/psychological-medicine/article/single-iv-ketamine-augmentation-of-newly-initiated-escitalopram-for-major-depression-results-from-a-randomized-placebocontrolled-4week-study/306D6680A053D46D05314224AF52496B",
         quote="Adverse psychopathological effects were measured with the Brief Psychiatric Rating Scale (BPRS)-positive symptoms, Young Mania Rating Scale (YMRS) and Clinician Administered Dissociative States Scale (CADSS). Patients were assessed at baseline, 1, 2, 4, 24 and 72 h and 7, 14, 21 and 28 days."),
    dict(study_id="bmcpsych2024_s12888_024_05716",
         outcome="ae_headache / ae_dizziness / ae_dissociation (increased heart rate)",
         timepoint_reported="after a single infusion",
         confidence="low",
         reason="qualitative abstract statement without counts; the article's table pages were not returned; first author not read (trial not in data/raw: IV ketamine 0.5 mg/kg vs saline, 64 TRD patients with suicidal ideation, BMC Psychiatry 2024)",
         source="https://bmcpsychiatry.biomedcentral.com/articles/10.1186/s12888-024-05716-0 (abstract)",
         quote="However, ketamine recipients frequently experienced side effects such as increased heart rate, headache, dizziness, and dissociative syndrome symptoms."),
    dict(study_id="kheirabadi2023",
         outcome="drowsiness / lightheadedness",
         timepoint_reported="6 weeks of twice-weekly oral ketamine",
         confidence="low",
         reason="out of scope: 1 vs 2 mg/kg oral ketamine (no placebo, midazolam or non-ketamine comparator); p-values only",
         source="https://brieflands.com/articles/ijpbs-137879 (abstract)",
         quote="The comparison of the frequency of ketamine-related adverse effects revealed a significantly higher incidence of drowsiness (P-value = 0.021) and lightheadedness (P-value = 0.004) in high-dose ketamine."),
]


def write(name, cols, rows):
    with open(os.path.join(HERE, name), "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in cols})


if __name__ == "__main__":
    write("arms.csv", ARMS_COLS, ARMS)
    write("studies.csv", STUDIES_COLS, STUDIES)
    write("cadss.csv", CADSS_COLS, CADSS)
    write("excluded.csv", EXCL_COLS, EXCLUDED)
    print("arms %d, studies %d, cadss %d, excluded %d" % (len(ARMS), len(STUDIES), len(CADSS), len(EXCLUDED)))
