# (study_id, review, tool, domain, judgement, source, quote)
C = "Cochrane CD011612.pub3 (Dean 2021)"
def T(n): return f"https://pmc.ncbi.nlm.nih.gov/articles/PMC8434915/table/CD011612-tblf-{n}"
ROWS = []
def add(sid, n, items):
    for dom, j, q in items:
        ROWS.append((sid, C, "RoB1", dom, j, T(n), q))
add("lapidus2014","0034",[
 ("random_sequence_generation","low","Random sequence generation (selection bias) | Low risk | Quote: ''The order of treatment periods was randomly assigned by the research pharmacy using permuted blocks of size four''"),
 ("allocation_concealment","low","Allocation concealment (selection bias) | Low risk | Quote: ''The order of treatment periods was randomly assigned by the research pharmacy using permuted blocks of size four''"),
 ("blinding_participants_personnel","low","Blinding of participants and personnel (performance bias) All outcomes | Low risk | Quote: ''All study investigators, anesthesiologists, and raters were blind to treatment assignment."),
 ("blinding_outcome_assessment","low","Blinding of outcome assessment (detection bias) All outcomes | Low risk | Quote: ''Raters were blind to treatment assignment''"),
 ("incomplete_outcome_data","low","Incomplete outcome data (attrition bias) All outcomes | Low risk | Study reports dropouts"),
 ("selective_reporting","unclear","Selective reporting (reporting bias) | Unclear risk | Protocol unavailable. Data reported matches methods"),
 ("other_bias","low","Other bias | Low risk | No other potential sources of bias identified"),
])
add("berman2000","0008",[
 ("random_sequence_generation","unclear","Random sequence generation (selection bias) | Unclear risk | No details given on randomisation procedure beyond quote: ''four participants were randomly assigned''"),
 ("allocation_concealment","unclear","Allocation concealment (selection bias) | Unclear risk | No details given on allocation concealment"),
 ("blinding_participants_personnel","unclear","Blinding of participants and personnel (performance bias) All outcomes | Unclear risk | No details given on blinding beyond quote: '''in a randomised, double‐blinded manner''"),
 ("blinding_outcome_assessment","unclear","Blinding of outcome assessment (detection bias) All outcomes | Unclear risk | No details given on blinding of outcome assessment"),
 ("incomplete_outcome_data","high","Incomplete outcome data (attrition bias) All outcomes | High risk | 2/9 participants withdrew to institute antidepressant treatment"),
 ("selective_reporting","high","Selective reporting (reporting bias) | High risk | Scores not reported for each measured time point (only baseline and final) and BDI scores missing"),
 ("other_bias","low","Other bias | Low risk | No other potential sources of bias identified"),
])
add("ionescu2021_aspire2","0030",[
 ("random_sequence_generation","low","Random sequence generation (selection bias) | Low risk | Quote: \"Eligible patients were randomized (1:1) to 84 mg esketamine nasal spray or matching placebo nasal spray according to a computer‐generated schedule\"."),
 ("allocation_concealment","low","Allocation concealment (selection bias) | Low risk | Quote: \"Eligible patients were randomized (1:1) to 84 mg esketamine nasal spray or matching placebo nasal spray according to a computer‐generated schedule\"."),
 ("blinding_participants_personnel","unclear","Blinding of participants and personnel (performance bias) All outcomes | Unclear risk | Stated but not tested."),
 ("blinding_outcome_assessment","unclear","Blinding of outcome assessment (detection bias) All outcomes | Unclear risk | Different raters were used for efficacy and safety ratings, however it is likely patients were unblinded by dissociative side effects of esketamine."),
 ("incomplete_outcome_data","low","Incomplete outcome data (attrition bias) All outcomes | Low risk | Flow diagram of participants throughout study included. Participant withdrawal rate reported, similar between groups."),
])
add("ochsross2020_transform3","0041",[
 ("random_sequence_generation","low","Random sequence generation (selection bias) | Low risk | Quote: \"Eligible patients were randomized in a 1:1 ratio to one of two treatments: ESK+AD (N=72) or AD+PBO (N=66). Randomization was stratified by country and class of oral AD (SNRI or SSRI)\"."),
 ("allocation_concealment","low","Allocation concealment (selection bias) | Low risk | Quote: \"A computer‐generated randomization schedule was used to randomize patients (1:1)!\"."),
 ("blinding_participants_personnel","unclear","Blinding of participants and personnel (performance bias) All outcomes | Unclear risk | Stated but not tested."),
 ("blinding_outcome_assessment","unclear","Blinding of outcome assessment (detection bias) All outcomes | Unclear risk | Quote: \"MADRS scores were obtained remotely by telephone by independent rates using a structured clinical interview guide (SIGMA) for additional (triple) blinding in this study."),
])
add("hu2016","0025",[
 ("random_sequence_generation","unclear","Random sequence generation (selection bias) | Unclear risk | No further information beyond, \"patients were randomized according to a table of random numbers\"."),
 ("allocation_concealment","unclear","Allocation concealment (selection bias) | Unclear risk | No information given on allocation concealment"),
 ("blinding_participants_personnel","unclear","Blinding of participants and personnel (performance bias) All outcomes | Unclear risk | No information given beyond, \"The anesthesiologist was blind to the group membership of patients\". No direct information regarding blinding of participants."),
])
add("arabzadeh2018","0006",[
 ("random_sequence_generation","low","Random sequence generation (selection bias) | Low risk | Quote: \"Randomization of patients to either ketamine or placebo groups was done by a computerized random number generator (allocation ratio 1/1).\""),
 ("allocation_concealment","low","Allocation concealment (selection bias) | Low risk | Quote: \"Allocation was concealed using successively numbered, opaque, and sealed envelopes\"."),
 ("blinding_participants_personnel","unclear","Blinding of participants and personnel (performance bias) All outcomes | Unclear risk | Quote: \"The patients, the physician, and the statistician were all blind to allocation. The placebo and ketamine capsules were identical in shape, size, color, texture, and odor.\" No further details given."),
 ("blinding_outcome_assessment","unclear","Blinding of outcome assessment (detection bias) All outcomes | Unclear risk | Quote: \"The patients, the physician, and the statistician were all blind to allocati"),
])
add("fedgchin2019_transform1","0017",[
 ("random_sequence_generation","low","Random sequence generation (selection bias) Low risk Patients were randomised to interventions in a 1:1:1 sequence."),
 ("allocation_concealment","low","Allocation concealment (selection bias) Low risk Quote: \"Randomization was balanced by using randomly permuted blocks and stratified by country and class of oral antidepressant\""),
 ("blinding_participants_personnel","unclear","Blinding of participants and personnel (performance bias) All outcomes Unclear risk Stated but not tested."),
 ("blinding_outcome_assessment","unclear","Blinding of outcome assessment (detection bias) All outcomes Unclear risk MADRS assessments were c"),
])
