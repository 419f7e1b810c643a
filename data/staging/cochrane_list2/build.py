"""Writes membership.csv and rob.csv (standard library only). Quotes are verbatim from search excerpts read in this session."""
import csv

MEMBERSHIP_HEADER = ["trial", "our_study_id", "included", "evidence_url", "quote", "note"]
ROB_HEADER = ["study_id", "review", "tool", "domain", "judgement", "source", "quote"]

rows = [
    ["Murrough 2013 (IV ketamine vs midazolam, TRD, n 73; AJP)", "murrough2013", "unknown", "", "",
     "No included-study, excluded-study or ongoing-study table and no reference list naming Murrough was returned (queries 5, 15, 25, 27, 32; earlier log queries 5, 8, 45). "
     "Only a hint: SoF 2 (ketamine vs midazolam, https://pmc.ncbi.nlm.nih.gov/articles/PMC8434915/table/CD011612-tbl-0002) lists 'Acceptability: total dropouts № of participants: 72 (1 RCT)' without naming the trial. That is suggestive, not proof. "
     "If table numbers are alphabetical, an included 'Murrough' table would be one of tblf-0037 to 0040 (between Loo 2012 = 0036 and Ochs-Ross 2020 = 0041); none of these was returned."],
    ["Daly 2018 (intranasal esketamine, JAMA Psychiatry, doubly randomised delayed start)", "daly2018", "unknown", "", "",
     "No CD011612 page naming Daly 2018 or its registration NCT01998958 was returned (queries 3, 7, 16; earlier log queries 23, 46). "
     "Structural constraint, an inference that is not evidence: if table numbers are alphabetical, the only free included-table number between Correia-Melo 2020 (0013) and Downey 2016 (0015) is 0014. So at most one of Daly 2018 and Daly 2019 can be an included study."],
    ["Popova 2019 (TRANSFORM-2, esketamine flexible dose + new oral AD)", "popova2019_transform2", "unknown", "", "",
     "No CD011612 page naming Popova 2019 or NCT02418585 was returned (queries 6, 7, 21; earlier log query 22). The numbers that could hold it are tblf-0042 to 0049 (between Ochs-Ross 0041 and Sanacora 2014 (a) 0050); none was returned."],
    ["Canuso 2018 (esketamine, imminent suicide risk, PeRSEVERe)", "canuso2018", "unknown", "", "",
     "No CD011612 page naming Canuso 2018 or NCT02133001 was returned (queries 1, 4, 20, 30; earlier log query 24). Searches return the Fu 2020 (tblf-0019) and Ionescu 2020 (tblf-0030) tables instead. "
     "If table numbers are alphabetical, an included 'Canuso 2018' could only be tblf-0009 (between Berman 2000 = 0008 and Carspecken 2018 = 0010); tblf-0009 was never returned."],
    ["Domany 2019 (oral ketamine, BJP)", "domany2019", "no",
     "https://pmc.ncbi.nlm.nih.gov/articles/PMC8434915/table/CD011612-tblf-0105",
     "NCT02037503. Study name | Effect of oral ketamine treatment on suicidal ideation and drug resistant major depression, a clinical and fMRI study | Methods | In a double‐blind, placebo‐controlled trial, patients admitted to the emergency department after a suicide attempt will be randomised into two groups: one will be given a daily subanaesthetic dose of oral ketamine, while the second group will receive a daily dose of placebo. Participants will be followed up for 21 days. ... Starting date | January 2014 | Contact information | | Notes | NCT02037503 |",
     "The review lists this trial's registration, NCT02037503, as an ONGOING study. The table uses the ongoing-studies layout: Study name / Starting date / Contact information, and the earlier session saw ongoing tables at tblf-0099 and tblf-0101. It is not listed as an included study. "
     "That this is the Domany trial rests on the registration number. The Domany BJP 2019 PDF (https://www.scribd.com/document/678995488/domany-repeated-oral-ketamine-for-outpatient-treatment-of-resistant-depression) reads '41 participants received either 1 mg/kg oral keta- mine or placebo thrice weekly for 21 days (ClinicalTrials.gov' ... 'Identifier: NCT02037503)'. The '...' marks interleaved two-column text in the PDF copy. "
     "Caveat: the review names the registration, not the 2019 paper. A human should confirm that the review did not also include 'Domany 2019' as a separate entry. No Domany included table was returned (query 9 returned this ongoing table instead; earlier log query 47)."],
    ["Jafarinia 2016 (oral ketamine vs diclofenac, chronic pain patients)", "jafarinia2016", "unknown", "", "",
     "No CD011612 page naming Jafarinia 2016 was returned (queries 17, 33; earlier log query 28). Only abstract copies came back. If table numbers are alphabetical, an included 'Jafarinia 2016' could only be tblf-0031 (between Ionescu 2020 = 0030 and Jarventausta 2013 = 0032); tblf-0031 was never returned."],
    ["Daly 2019 (SUSTAIN-1, randomised withdrawal)", "daly2019_sustain1", "unknown", "", "",
     "No CD011612 page naming Daly 2019 or NCT02493868 was returned (queries 3, 12, 22, 34). The same tblf-0014 constraint as Daly 2018 applies: if numbering is alphabetical, at most one of Daly 2018 and Daly 2019 is an included study."],
    ["Takahashi 2021 (Japanese esketamine phase 2b)", "takahashi2021", "unknown", "", "",
     "No CD011612 page naming Takahashi or NCT02918318 (included, ongoing or awaiting classification) was returned (queries 11, 31). The dates make inclusion of the publication impossible but leave the trial open. "
     "The review was published '2021 Sep 12' (CD011612-tbl-0002 page header) and searched 'all years to July 2020' (Cochrane abstract). Takahashi's paper is '2021 Oct 25;21:526' (PMC8547110 header). So the paper itself cannot be among the review's references. "
     "The trial (meddatax NCT02918318: 'Study Start Date 2016-12-12', 'Study Completion Date 2019-12-13') could in principle appear as a registration entry, but no page showed it. If numbering is alphabetical, 'Takahashi' would have to be tblf-0061 to 0063."],
]

with open("membership.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(MEMBERSHIP_HEADER)
    w.writerows(rows)

# No new included-study table was found in this session, so rob.csv holds the header only.
with open("rob.csv", "w", newline="", encoding="utf-8") as f:
    csv.writer(f).writerow(ROB_HEADER)
print("wrote membership.csv (%d rows) and rob.csv (header only)" % len(rows))
