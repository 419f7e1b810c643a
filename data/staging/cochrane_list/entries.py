# Data entry: every string below was read in this session in text returned by the library `search` tool
# (corpus pages). URL = PMC8434915 table page. Domain quotes: "<domain as printed> | <judgement> | <support>"
# verbatim, possibly cut where the page excerpt was cut (marked [cut]).
BASE = "https://pmc.ncbi.nlm.nih.gov/articles/PMC8434915/table/CD011612-tblf-"
S = {}
def add(name, tbl, agent, design, participants, comparator, quote, rob):
    S[name] = dict(tbl=tbl, agent=agent, design=design, participants=participants,
                   comparator=comparator, quote=quote, rob=rob)

add("Lapidus 2014", "0034", "ketamine", "cross-over",
    "DSM-IV MDD; N: 20", "saline placebo (intranasal)",
    "Lapidus 2014. ... Methods Double‐blind randomised controlled cross‐over trial ... Interventions 1 single intranasal infusion Ketamine (N = 10) 50 mg Placebo (N = 10)",
    [("random_sequence_generation","low","Random sequence generation (selection bias) | Low risk | Quote: ''The order of treatment periods was randomly assigned by the research pharmacy using permuted blocks of size four''"),
     ("allocation_concealment","low","Allocation concealment (selection bias) | Low risk | Quote: ''The order of treatment periods was randomly assigned by the research pharmacy using permuted blocks of size four''"),
     ("blinding_participants_personnel","low","Blinding of participants and personnel (performance bias) All outcomes | Low risk | Quote: ''All study investigators, anesthesiologists, and raters were blind to treatment assignment."),
     ("blinding_outcome_assessment","low","Blinding of outcome assessment (detection bias) All outcomes | Low risk | Quote: ''Raters were blind to treatment assignment''"),
     ("incomplete_outcome_data","low","Incomplete outcome data (attrition bias) All outcomes | Low risk | Study reports dropouts"),
     ("selective_reporting","unclear","Selective reporting (reporting bias) | Unclear risk | Protocol unavailable. Data reported matches methods"),
     ("other_bias","low","Other bias | Low risk | No other potential sources of bias identified")])

add("Berman 2000", "0008", "ketamine", "cross-over",
    "DSM-IV major depressive episode (1 bipolar disorder, depressed); N: 9", "saline placebo (IV)",
    "Berman 2000. ... Methods Double‐blind randomised controlled cross‐over trial ... 1 single IV infusion Ketamine (N = 4) 0.5 mg/kg infused over 40 minutes Placebo (N = 3) saline solution",
    [("random_sequence_generation","unclear","Random sequence generation (selection bias) | Unclear risk | No details given on randomisation procedure beyond quote: ''four participants were randomly assigned''"),
     ("allocation_concealment","unclear","Allocation concealment (selection bias) | Unclear risk | No details given on allocation concealment"),
     ("blinding_participants_personnel","unclear","Blinding of participants and personnel (performance bias) All outcomes | Unclear risk | No details given on blinding beyond quote: '''in a randomised, double‐blinded manner''"),
     ("blinding_outcome_assessment","unclear","Blinding of outcome assessment (detection bias) All outcomes | Unclear risk | No details given on blinding of outcome assessment"),
     ("incomplete_outcome_data","high","Incomplete outcome data (attrition bias) All outcomes | High risk | 2/9 participants withdrew to institute antidepressant treatment"),
     ("selective_reporting","high","Selective reporting (reporting bias) | High risk | Scores not reported for each measured time point (only baseline and final) and BDI scores missing"),
     ("other_bias","low","Other bias | Low risk | No other potential sources of bias identified")])

add("Zarate 2006a", "0064", "ketamine", "cross-over",
    "DSM-IV MDD, >=2 failed antidepressant trials; N: 18", "saline placebo (IV)",
    "Zarate 2006a. ... Methods Double‐blind randomised controlled cross‐over trial ... 1 single IV infusion Ketamine (N = 9) 0.5 mg/kg infused over 40 minutes Placebo (N = 9) 0.9% saline",
    [("random_sequence_generation","low","Random sequence generation (selection bias) | Low risk | Quote: ''Patients were randomly assigned to the order in which they received the 2 infusions via a random‐numbers chart''"),
     ("allocation_concealment","unclear","Allocation concealment (selection bias) | Unclear risk | No details given on allocation concealment"),
     ("blinding_participants_personnel","unclear","Blinding of participants and personnel (performance bias) All outcomes | Unclear risk | Stated but not tested."),
     ("blinding_outcome_assessment","unclear","Blinding of outcome assessment (detection bias) All outcomes | Unclear risk | Quote: ''Double‐blind'' no further details given"),
     ("incomplete_outcome_data","unclear","Incomplete outcome data (attrition bias) All outcomes | Unclear risk | Study reports dropouts"),
     ("selective_reporting","unclear","Selective reporting (reporting bias) | Unclear risk | Protocol unavailable. Data reported matches methods"),
     ("other_bias","low","Other bias | Low risk | No other potential sources of bias identified")])

add("Grunebaum 2018", "0022", "ketamine", "parallel",
    "DSM-IV major depressive episode; N: 80", "midazolam 0.02 mg/kg (IV)",
    "Grunebaum 2018. ... Methods Randomised, double‐blind, controlled trial ... Ketamine 0.5 mg/kg group (N = 40) Midazolam 0.02 mg/kg group (N = 40)",
    [("random_sequence_generation","low","Random sequence generation (selection bias) Low risk Quote: \"A permuted, blocked design was used, with 1:1 assignment between treatments and block size randomized between 4 and 6 with equal probability. Randomization was stratified on two baseline factors\""),
     ("allocation_concealment","unclear","Allocation concealment (selection bias) Unclear risk No information given on allocation concealment"),
     ("blinding_participants_personnel","unclear","Blinding of participants and personnel (performance bias) All outcomes Unclear risk No further information given beyond, quote: \"Patients and study personnel were blinded to treatment.\" Stated but not tested."),
     ("blinding_outcome_assessment","unclear","Blinding of outcome assessment (detection bias) All outcomes Unclear risk No further information given beyond, quote:\"Patients and study personnel were blinded to treatment.\""),
     ("incomplete_outcome_data","low","Incomplete outcome data (attrition bias) All outcomes Low risk Withdrawal and drop out rates reported.")])

add("Arabzadeh 2018", "0006", "ketamine", "parallel",
    "DSM-5 MDD; N: 90 randomised, 81 completed; oral ketamine 50 mg/day + sertraline", "placebo (oral) + sertraline",
    "Arabzadeh 2018. ... All patients received setraline (150 mg a day). As an adjuvant, they recieved either 50 mg/day ketamine or placebo.",
    [("random_sequence_generation","low","Random sequence generation (selection bias) | Low risk | Quote: \"Randomization of patients to either ketamine or placebo groups was done by a computerized random number generator (allocation ratio 1/1).\""),
     ("allocation_concealment","low","Allocation concealment (selection bias) | Low risk | Quote: \"Allocation was concealed using successively numbered, opaque, and sealed envelopes\"."),
     ("blinding_participants_personnel","unclear","Blinding of participants and personnel (performance bias) All outcomes | Unclear risk | Quote: \"The patients, the physician, and the statistician were all blind to allocation. The placebo and ketamine capsules were identical in shape, size, color, texture, and odor.\" No further details given."),
     ("blinding_outcome_assessment","unclear","Blinding of outcome assessment (detection bias) All outcomes | Unclear risk | Quote: \"The patients, the physician, and the statistician were all blind to allocati [cut]")])

add("Su 2017", "0059", "ketamine", "parallel",
    "DSM-IV MDD; N: 71; ketamine 0.2 or 0.5 mg/kg IV", "saline placebo (IV)",
    "Su 2017. ... Methods Double‐blind, randomised, parallel‐group, placebo controlled trial ... 40‐minute intravenous infusion ketamine (0.2 mg/kg or 0.5 mg/kg) or saline.",
    [("random_sequence_generation","unclear","Random sequence generation (selection bias) | Unclear risk | No details on randomisation procedures given"),
     ("allocation_concealment","unclear","Allocation concealment (selection bias) | Unclear risk | No details on allocation concealment given"),
     ("blinding_participants_personnel","unclear","Blinding of participants and personnel (performance bias) All outcomes | Unclear risk | Stated but not tested"),
     ("blinding_outcome_assessment","unclear","Blinding of outcome assessment (detection bias) All outcomes | Unclear risk | No details about blinding of outcome assessment given"),
     ("incomplete_outcome_data","low","Incomplete outcome data (attrition bias) All outcomes | Low risk | Consort flow diagram with details of attrition included in figure 1 (page 2843)"),
     ("selective_reporting","low","Selective reporting (reporting bias) | Low risk | Trial registration available online (UMIN000016985). Outcomes all reported."),
     ("other_bias","low","Other bias | Low risk | None identified")])

add("Chen 2017", "0011", "ketamine", "parallel",
    "DSM-IV-TR major depressive episode receiving ECT; N: 132 randomised, 127 completed", "saline (with propofol anaesthesia for ECT)",
    "Chen 2017. ... Patients assigned to the study group were anesthetised using 1.5 mg/kg propofol and 0.3 mg/kg ketamine delivered intravenously. Patients assigned to the control group were anesthestised using 1.5 mg/kg propofol and normal saline.",
    [("random_sequence_generation","low","Random sequence generation (selection bias) | Low risk | Quote: \"All recruited participants were randomly assigned into 1 of 2 groups: the control group and the study group. Half the patients were placed in each group using a computer‐generated random number table.\" No further details given."),
     ("allocation_concealment","low","Allocation concealment (selection bias) | Low risk | Quote: \"The patients, treatment teams, and the outcome assessors were all blinded to the intervention allocation.\""),
     ("blinding_participants_personnel","unclear","Blinding of participants and personnel (performance bias) All outcomes | Unclear risk | Blinding stated but not tested. Quote: \"The anesthesiologists, patients, and outcome raters were all blind to the group assignments and the anesthetic regimen.\"")])

add("Hu 2016", "0025", "ketamine", "parallel",
    "DSM-IV MDD; N: 30 randomised (27 completed); single IV ketamine + escitalopram 10 mg/day", "saline placebo + escitalopram",
    "Hu 2016. ... Methods Randomised, double‐blind, placebo‐controlled, parallel‐group trial ... Escitalopram and placebo group (N = 14) Escitalopram andIV ketamine group (N = 13)",
    [("random_sequence_generation","unclear","Random sequence generation (selection bias) | Unclear risk | No further information beyond, \"patients were randomized according to a table of random numbers\"."),
     ("allocation_concealment","unclear","Allocation concealment (selection bias) | Unclear risk | No information given on allocation concealment"),
     ("blinding_participants_personnel","unclear","Blinding of participants and personnel (performance bias) All outcomes | Unclear risk | No information given beyond, \"The anesthesiologist was blind to the group membership of patients\". No direct information regarding blinding of participants.")])

add("Singh 2016 b", "0056", "esketamine", "parallel",
    "DSM-IV-TR recurrent MDD without psychotic features; N: 30; IV esketamine 0.20 or 0.40 mg/kg", "saline placebo (IV)",
    "Singh 2016 b. ... randomsly assigned to receive an IV infusion of .20mmg/kg or.40mmg/kg esketamine or placebo (.9% saline solution) over 40 minutes.",
    [("random_sequence_generation","low","Random sequence generation (selection bias) | Low risk | Quote: \"Central randomization was implemented based on a computer generated randomization schedule prepared by the sponsor before the study. The randomization was balanced by using randomly permuted blocks and was stratified by study center\"."),
     ("allocation_concealment","unclear","Allocation concealment (selection bias) | Unclear risk | Quote: \"Before dosing, the unblinded pharmacist at each study site contacted the randomization center and provided the required subject information. The randomization center assigned a randomization number [cut]")])

add("Correia‐Melo 2020", "0013", "esketamine", "parallel",
    "DSM-IV MDD; N: 63; IV esketamine 0.25 mg/kg vs IV racemic ketamine 0.5 mg/kg", "racemic ketamine 0.5 mg/kg IV (active, non-inferiority)",
    "Correia‐Melo 2020. ... Randomised, double‐blind, active‐controlled, bicentre, noninferiority clinical trial, with two parallel groups.",
    [("random_sequence_generation","low","Random sequence generation (selection bias) | Low risk | Quote: \"Participants were randomized on a 1:1 ratio into two groups of either ketamine (Clortamina®, BioChimico, 10 mL ampoules, 50 mg/mL and dose: 0.5 mg/kg) or esketamine (Ketamin®, Cristália, 2 mL ampoules, 50 mg/mL and dose: 0.25 mg/kg, through an electronic randomization platform (http://www.randomizer.org) (Urbaniak and Plous, 2013).\""),
     ("allocation_concealment","low","Allocation concealment (selection bias) | Low risk | Quote: \"Only the single investigator, who was responsible for both centres’ randomization and allocation processes, and the nurse responsible for drug preparation, were aware of the drug being infused.\""),
     ("blinding_participants_personnel","unclear","Blinding of participants and personnel (performance bias) All outcomes | Unclear risk | Blinding stated but not tested"),
     ("blinding_outcome_assessment","low","Blinding of outcome assessment (detection bias) All outcomes | Low risk | Quote: \"All assessments were conducted by investigators blind to treatment allocation.”"),
     ("incomplete_outcome_data","low","Incomplete outcome data (attrition bias) All outcomes | Low risk | Numbers inc [cut]")])

add("Fava 2018", "0016", "ketamine", "parallel",
    "DSM-IV-TR MDD (TRD); N: 99; single IV ketamine 0.1/0.2/0.5/1.0 mg/kg", "midazolam 0.045 mg/kg (active placebo)",
    "Fava 2018. ... Five arms in a 1:1:1:1:1 fashion: a single intravenous dose of ketamine 0.1 mg/kg (n = 18), ... and a single dose of midazolam 0.045 mg/kg (active placebo) (n = 19).",
    [("random_sequence_generation","low","Random sequence generation (selection bias) Low r [cut]")])

add("Shiroma 2020", "0054", "ketamine", "parallel",
    "DSM-IV MDD; N: 54; 6 IV ketamine infusions over 12 days", "5 midazolam 0.045 mg/kg + 1 ketamine infusion",
    "Shiroma 2020. ... Randomised, double‐blind, active placebo‐controlled trial ... Participants were randomised to receive 6 ketamine (0.5mmg/kg) infusions or 5 midazolam (0.045mmg/kg) plus 1 ketamine (0.5mmg/kg) infusion.",
    [("random_sequence_generation","low","Random sequence generation (selection bias) | Low risk | Quote: “Randomization was conducted using permutated blocks of 4 and 1:1 assignment between treatments”."),
     ("allocation_concealment","low","Allocation concealment (selection bias) | Low risk | Quote: \"Group assignments for each participant was concealed in sequentially numbered, sealed, opaque envelopes.”"),
     ("blinding_participants_personnel","high","Blinding of participants and personnel (performance bias) All outcomes | High risk | Blinding tested with limited effectiveness for both personnel and participants.")])

add("Downey 2016", "0015", "ketamine", "parallel",
    "DSM-IV major depressive episode; N: 60 randomised; 3 arms lanicemine / ketamine 0.5 mg/kg / placebo", "saline placebo (IV) (third arm: lanicemine)",
    "Downey 2016. ... Participants received a constant intravenous infusion of lanicemine (100 mg total dose), ketamine (0.5 mg/kg total dose) or placebo (0.9% saline)",
    [("random_sequence_generation","unclear","Random sequence generation (selection bias) | Unclear risk | Quote: \"participants were randomized\". No further details given on randomisation procedure."),
     ("allocation_concealment","low","Allocation concealment (selection bias) | Low risk | Quote: \"The research pharmacies at each site held separate randomization codes and dispensed the infusions on the day of the experiment labelled with a code number\"."),
     ("blinding_participants_personnel","unclear","Blinding of participants and personnel (performance bias) All outcomes | Unclear risk | Quote: \"The research pharmacies at each site held separate randomization codes and dispensed the infusions on the day of the experiment labelled with a code number\"."),
     ("blinding_outcome_assessment","unclear","Blinding of outcome assessment (detection bias) All outcomes | Unclear risk | No information given."),
     ("incomplete_outcome_data","unclear","Incomplete outcome data (attrition bias) All outcomes | Unclear risk | Study reports dropouts (zero)."),
     ("selective_reporting","unclear","Selective reporting (reporting bias) | Unclear risk | No information given."),
     ("other_bias","high","Other bias | High risk | Potential bias due to funding by pharmaceutical company. Quote: \"This study was whol [cut]")])

add("Sumner 2020", "0060", "ketamine", "cross-over",
    "DSM-IV MDD; N: 30; racemic ketamine 0.25 mg/kg bolus + 0.25 mg/kg/h for 45 min", "remifentanil (active placebo)",
    "Sumner 2020. ... Randomised, double‐blind, active placebo‐ controlled cross‐over design. ... racemic ketamine ... or the active placebo remifentanil hydrochloride",
    [("random_sequence_generation","low","Random sequence generation (selection bias) | Low risk | Order counterbalanced."),
     ("allocation_concealment","unclear","Allocation concealment (selection bias) | Unclear risk | Order randomised as stated, but it is unclear how or by what method."),
     ("blinding_participants_personnel","high","Blinding of participants and personnel (performance bias) All outcomes | High risk | Blinding measures were not effective & high risk of performance bias: quote: “most (88%) participants were able to correctly identify their ketamine session during a debrief."),
     ("blinding_outcome_assessment","low","Blinding of outcome assessment (detection bias) All outcomes | Low risk | To maintain study blinding, the MADRS assessor was never present during the acute phase of drug effects"),
     ("incomplete_outcome_data","low","Incomplete outcome data (attrition bias) All outcomes | Low risk | No data missing."),
     ("selective_reporting","unclear","Selective reporting (reporting bias) | Unclear risk | No protocol available."),
     ("other_bias","low","Other bias | Low [cut]")])

add("Fu 2020", "0019", "esketamine", "parallel",
    "DSM-5 MDD with active suicidal ideation with intent; N: 226; esketamine 84 mg nasal spray twice weekly 4 weeks + standard of care", "placebo nasal spray + standard-of-care antidepressant",
    "Fu 2020. ... Patients were randomised to receive 84 mg esketamine nasal spray or matching placebo nasal spray administered twice weekly for 4 weeks.",
    [("random_sequence_generation","low","Random sequence generation (selection bias) | Low risk | Quote: “Eligible patients were randomized (1:1), based on a computer‐generated randomization scheduled”."),
     ("allocation_concealment","low","Allocation concealment (selection bias) | Low risk | Quote:“Eligible patients were randomized (1:1), based on a computer‐generated randomization scheduled...Randomization was balanced using randomly permuted blocks and stratified by study center and type of standard‐of‐care antidepressant”."),
     ("blinding_participants_personnel","unclear","Blinding of participants and personnel (performance bias) All outcomes | Unclear risk | Stated but not tested."),
     ("blinding_outcome_assessment","unclear","Blinding of outcome assessment (detection bias) All outcomes | Unclear risk | Stated but not tested. Likely unblinding of participants due to known dissociative effects of esketamine."),
     ("incomplete_outcome_data","low","Incomplete outcome data (attrition bias) All outcomes | Low risk | Participant attrition reported in supplementary fi [cut]")])

add("Ionescu 2020", "0030", "esketamine", "parallel",
    "DSM-5 MDD with suicidal ideation; N: 230; esketamine 84 mg nasal spray twice weekly 4 weeks + standard of care", "placebo nasal spray + standard-of-care antidepressant",
    "Ionescu 2020. ... Participants were randomised to receive either 84 mg esketamine nasal spray or matching placebo nasal spray twice weekly for 4 weeks.",
    [("random_sequence_generation","low","Random sequence generation (selection bias) | Low risk | Quote: \"Eligible patients were randomized (1:1) to 84 mg esketamine nasal spray or matching placebo nasal spray according to a computer‐generated schedule\"."),
     ("allocation_concealment","low","Allocation concealment (selection bias) | Low risk | Quote: \"Eligible patients were randomized (1:1) to 84 mg esketamine nasal spray or matching placebo nasal spray according to a computer‐generated schedule\"."),
     ("blinding_participants_personnel","unclear","Blinding of participants and personnel (performance bias) All outcomes | Unclear risk | Stated but not tested."),
     ("blinding_outcome_assessment","unclear","Blinding of outcome assessment (detection bias) All outcomes | Unclear risk | Different raters were used for efficacy and safety ratings, however it is likely patients were unblinded by dissociative side effects of esketamine."),
     ("incomplete_outcome_data","low","Incomplete outcome data (attrition bias) All outcomes | Low risk | Flow diagram of participants throughout study included. Participant withdrawal rate reported, similar between groups.")])

add("Ochs‐Ross 2020", "0041", "esketamine", "parallel",
    "DSM-5 MDD without psychotic features, elderly (esketamine M age 70.6); N: 138 randomised (137 analysed); flexibly dosed esketamine 28/56/84 mg + new oral AD", "placebo nasal spray + new oral antidepressant",
    "Ochs‐Ross 2020. ... Patients were randomised to receive either flexibly dosed esketamine (28 mg, 56 mg, or 84 mg) plus a newly initiated antidepressant, or a placebo plus newly initiated antidepressant for four weeks.",
    [("random_sequence_generation","low","Random sequence generation (selection bias) | Low risk | Quote: \"Eligible patients were randomized in a 1:1 ratio to one of two treatments: ESK+AD (N=72) or AD+PBO (N=66). Randomization was stratified by country and class of oral AD (SNRI or SSRI)\"."),
     ("allocation_concealment","low","Allocation concealment (selection bias) | Low risk | Quote: \"A computer‐generated randomization schedule was used to randomize patients (1:1)!\"."),
     ("blinding_participants_personnel","unclear","Blinding of participants and personnel (performance bias) All outcomes | Unclear risk | Stated but not tested."),
     ("blinding_outcome_assessment","unclear","Blinding of outcome assessment (detection bias) All outcomes | Unclear risk | Quote: \"MADRS scores were obtained remotely by telephone by independent rates using a structured clinical interview guide (SIGMA) for additional (triple) blinding in this study. ... Effectiveness of patient or personnel blinding not tested."),
     ("incomplete_outcome_data","low","Incomplete outcome data (attrition bias) All outcomes | Low risk | Numbers of withdrawn part [cut]")])

add("Fedgchin 2019", "0017", "esketamine", "parallel",
    "DSM-5 MDD without psychotic features; N: 346 randomised (342 analysed); esketamine 56 mg or 84 mg nasal spray twice weekly 4 weeks + new oral AD", "placebo nasal spray + new oral antidepressant",
    "Fedgchin 2019. ... Phase 3 randomised, double‐blind, active‐controlled multicentre trial ... Esketamine 56 mg Esketamine 84 mg Placebo nasal spray",
    [("random_sequence_generation","low","Random sequence generation (selection bias) Low risk Patients were randomised to interventions in a 1:1:1 sequence."),
     ("allocation_concealment","low","Allocation concealment (selection bias) Low risk Quote: \"Randomization was balanced by using randomly permuted blocks and stratified by country and class of oral antidepressant\""),
     ("blinding_participants_personnel","unclear","Blinding of participants and personnel (performance bias) All outcomes Unclear risk Stated but not tested."),
     ("blinding_outcome_assessment","unclear","Blinding of outcome assessment (detection bias) All outcomes Unclear risk MADRS assessments were c [cut]")])

add("Shams Alizadeh 2015", "0053", "ketamine", "parallel",
    "DSM-IV-TR MDD receiving ECT; N: 44; ketamine 0.3 mg/kg IV before ECT", "saline 5 mL (before ECT)",
    "Shams Alizadeh 2015. ... The intervention group received 0.3 mg/kg of ketamine hydrochloride intravenously which was diluted with 5mL of saline. In the control group, ketamine was replaced with 5mL of Normal saline.",
    [("random_sequence_generation","low","Random sequence generation (selection bias) | Low risk | No further information beyond, \"The patients were allocated randomly using the block randomization method.\""),
     ("allocation_concealment","unclear","Allocation concealment (selection bias) | Unclear risk | No information given on allocation concealment."),
     ("blinding_participants_personnel","unclear","Blinding of participants and personnel (performance bias) All outcomes | Unclear risk | No further information beyond, \"The patients were also blind to the received medication\""),
     ("blinding_outcome_assessment","low","Blinding of outcome assessment (detection bias) All outcomes | Low risk | Quote: \"The HRSD scores, vital signs, and duration of reorientation were collected by an author who was blind to group assignment\"."),
     ("incomplete_outcome_data","low","Incomplete outcome data (attrition bias) All outcomes | Low risk | Numbers of withdrawn participants and reasons for withdrawal reported."),
     ("selective_reporting","unclear","Selective reporting (reporting bias) | Unclear risk | Protocol unavailable"),
     ("other_bias","low","Other bias | Low risk |")])

add("Loo 2012", "0036", "ketamine", "parallel",
    "DSM-IV major depressive episode (9 bipolar) receiving ECT; N: 46; ketamine 0.5 mg/kg IV after thiopentone induction", "saline (ECT with thiopentone)",
    "Loo 2012. ... All patients first received ECT 3 times a week. After induction of unconsciousness with IV thiopentone (3‐5mg/kg), patients randomly assigned to ketamine or placebo Ketamine (N = 26) 0.5 mg/kg IV Placebo (N = 25) saline",
    [("random_sequence_generation","low","Random sequence generation (selection bias) | Low risk | Quote: ''Participants were randomly assigned (by computer‐generated random number sequence)''"),
     ("allocation_concealment","low","Allocation concealment (selection bias) | Low risk | Quote: ''Participants and clinical staff other than the ECT anaesthetist were masked to treatment condition''"),
     ("blinding_participants_personnel","low","Blinding of participants and personnel (performance bias) All outcomes | Low risk | Quote: ''Participants and clinical staff other than the ECT anaesthetist were masked to treatment condition...")])

add("Anderson 2017", "0005", "ketamine", "parallel",
    "DSM-IV moderate-to-severe unipolar or bipolar depressive episode receiving ECT; N: 79 randomised, 70 in mITT; ketamine 0.5 mg/kg before anaesthetic induction", "saline (before ECT anaesthetic induction)",
    "Anderson 2017. ... Ketamine (0.5 mg/kg) or saline was given as a slow intravenous bolus directly before anaesthetic induction at each treatment. ECT treatments were administered twice weekly.",
    [("random_sequence_generation","low","Random sequence generation (selection bias) Low risk Quote: \"Patients were randomly assigned (1:1) to receive either ketamine or saline as anaesthetic for their ECT treatment. Randomisation was done by the Christie Hospital Clinical Trials Co‐ordination Unit (CTU) by use of permuted block randomisation"),
     ("allocation_concealment","low","Allocation concealment (selection bias) Low risk \"Both patients and assessment and ECT treatment teams were masked to treatment allocation, although the anaesthetists administering the study medication were not.")])

add("Carspecken 2018", "0010", "ketamine", "parallel",
    "Veterans with DSM-V MDD (treatment resistant) scheduled for ECT; N: 52; IV racemic ketamine 1-2 mg/kg for ECT anaesthesia", "methohexital 1-2 mg/kg (ECT anaesthesia; active)",
    "Carspecken 2018. ... Intravenous racemic ketamine (1‐2 mg/kg) or methohexital (1‐2 mg/kg), in addition to ketorolac 30 mg for induction of general anesthesia.",
    [("random_sequence_generation","low","Random sequence generation (selection bias) | Low risk | Quote: “\"Patient randomization was performed using permuted block randomization to ensure number of subjects assigned to each treatment arm was balanced\""),
     ("allocation_concealment","low","Allocation concealment (selection bias) | Low risk | Quote: “\"Patient randomization was performed using permuted block randomization to ensure number of subjects assigned to each treatment arm was balanced\""),
     ("blinding_participants_personnel","unclear","Blinding of participants and personnel (performance bias) All outcomes | Unclear risk | Quote: “\"Subjects and depression score raters were blinded to study drug intervention. Because of feasibility issues, anesthesiologists and psychiatrists were not blinded during ECT sessions.\" Effectiveness of blinding not assessed."),
     ("blinding_outcome_assessment","unclear","Blinding of outcome assessment (detection bias) All outcomes | Unclear risk | Effectiveness of blinding not as [cut]")])

add("Jarventausta 2013", "0032", "esketamine", "parallel",
    "DSM-IV severe or psychotic MDD, >=2 failed antidepressant trials, receiving ECT; N: 32; S-ketamine 0.4 mg/kg bolus before propofol", "saline (ECT with propofol)",
    "Jarventausta 2013. ... S‐ketamine (N = 16) 0.4 mg/kg as a bolus Saline (N = 16) Following S‐ketamine or saline, all patients received an initial bolus of 0.5 mg/kg propofol",
    [("random_sequence_generation","unclear","Random sequence generation (selection bias) | Unclear risk | No details given on randomisation procedure, simply ''randomized''"),
     ("allocation_concealment","unclear","Allocation concealment (selection bias) | Unclear risk | No details given on allocation concealment procedure"),
     ("blinding_participants_personnel","unclear","Blinding of participants and personnel (performance bias) All outcomes | Unclear risk | No details given on blinding of participants and personnel"),
     ("blinding_outcome_assessment","low","Blinding of outcome assessment (detection bias) All outcomes | Low risk | Quote: ''all the rating were done blindly to S‐ketamine by experienced nurses''"),
     ("incomplete_outcome_data","unclear","Incomplete outcome data (attrition bias) All outcomes | Unclear risk | Requested data to authors (waiting for a reply)")])

# other agent (seen incidentally; no RoB extracted: brief asks RoB only for ketamine/esketamine)
OTHER = [("Sanacora 2014 (a)", "0050", "other", "parallel",
          "DSM-IV MDD, >=2 failed antidepressant trials; N: 34; lanicemine (AZD6765) 100 mg IV", "saline placebo (IV)",
          "Sanacora 2014 (a). ... 1 single IV infusion Lanicemine (AZD6765) (N = 16) 100 mg infused over 60 minutes Placebo (N = 18) 0.9% saline")]

# match to data/raw/studies.csv (rule: same first author, year, design and drug)
MATCH = {
 "Lapidus 2014": ("lapidus2014", "same first author (Lapidus), year 2014, cross-over, intranasal ketamine vs saline"),
 "Berman 2000": ("berman2000", "same first author (Berman), year 2000, cross-over, IV ketamine vs saline"),
 "Arabzadeh 2018": ("arabzadeh2018", "same first author (Arabzadeh), year 2018, parallel, oral ketamine vs placebo on sertraline"),
 "Hu 2016": ("hu2016", "same first author (Hu), year 2016, parallel, single IV ketamine vs saline with escitalopram"),
 "Fu 2020": ("fu2020_aspire1", "same first author (Fu), year 2020, parallel, esketamine 84 mg nasal spray vs placebo + standard of care, MDD with suicidal ideation with intent (ASPIRE I)"),
 "Fedgchin 2019": ("fedgchin2019_transform1", "same first author (Fedgchin), year 2019, parallel, esketamine 56/84 mg vs placebo + new oral AD (TRANSFORM-1)"),
 "Ochs‐Ross 2020": ("ochsross2020_transform3", "same first author (Ochs-Ross), year 2020, parallel, flexible esketamine + new AD vs placebo + new AD, elderly (TRANSFORM-3)"),
 "Ionescu 2020": ("", "NOT matched by rule: probable same trial as ionescu2021_aspire2 (same first author, esketamine 84 mg nasal spray vs placebo + standard of care, MDD with suicidal ideation, parallel) but the review's year (2020) differs from studies.csv (2021); earlier staging (safety_rob) used ionescu2021_aspire2 for this table - a human should confirm"),
 "Su 2017": ("", "not in studies.csv; su2023 is a different trial (Su TP 2023, ketamine vs midazolam)"),
 "Loo 2012": ("", "not in studies.csv; loo2023_kads is a different trial (KADS 2023, SC ketamine vs midazolam)"),
}
