"""RoB rows. (1) The 34 Cochrane RoB 1 rows staged in ../safety_rob/rob.csv, reused (not redone);
all seven Cochrane tables re-appeared in this session's search results and the judgements agree
(see LOG.md). (2) New rows read in this session: Fu 2020 (= fu2020_aspire1, not in the staged
file) and the Ochs-Ross 2020 attrition domain (cut off in the staged reading).
No review printing an OVERALL judgement for any of the 22 trials was reachable: no 'overall' rows."""
import csv, os, re
HERE = os.path.dirname(os.path.abspath(__file__))
CIT = 'Cochrane Database Syst Rev 2021;(9):CD011612 (doi 10.1002/14651858.CD011612.pub3), characteristics of included studies, risk of bias table'
COCH = 'https://pmc.ncbi.nlm.nih.gov/articles/PMC8434915/table/'

def staged():
    out = []
    for x in csv.DictReader(open(os.path.join(HERE, '..', 'safety_rob', 'rob.csv'))):
        q = x['quote']
        m = re.search(r'(Low|Unclear|High) risk\s*\|?\s*(.*)$', q)
        support = m.group(2).strip() if m else ''
        out.append(dict(study_id=x['study_id'], tool=x['tool'], domain=x['domain'], judgement=x['judgement'],
                        support=support, source=x['source'] + ' [' + CIT + '; row reused from data/staging/safety_rob/rob.csv]',
                        quote=q))
    return out

NEW = [
 ('fu2020_aspire1','random_sequence_generation','low','Quote: randomized (1:1), based on a computer-generated randomization schedule','CD011612-tblf-0019',
  'Random sequence generation (selection bias) | Low risk | Quote: \u201cEligible patients were randomized (1:1), based on a computer\u2010generated randomization scheduled\u201d.'),
 ('fu2020_aspire1','allocation_concealment','low','Quote: randomized (1:1), computer-generated schedule, permuted blocks stratified by centre and standard-of-care antidepressant','CD011612-tblf-0019',
  'Allocation concealment (selection bias) | Low risk | Quote:\u201cEligible patients were randomized (1:1), based on a computer\u2010generated randomization scheduled...Randomization was balanced using randomly permuted blocks and stratified by study center and type of standard\u2010of\u2010care antidepressant\u201d.'),
 ('fu2020_aspire1','blinding_participants_personnel','unclear','Stated but not tested.','CD011612-tblf-0019',
  'Blinding of participants and personnel (performance bias) All outcomes | Unclear risk | Stated but not tested.'),
 ('fu2020_aspire1','blinding_outcome_assessment','unclear','Stated but not tested. Likely unblinding of participants due to known dissociative effects of esketamine.','CD011612-tblf-0019',
  'Blinding of outcome assessment (detection bias) All outcomes | Unclear risk | Stated but not tested. Likely unblinding of participants due to known dissociative effects of esketamine.'),
 ('fu2020_aspire1','incomplete_outcome_data','low','Participant attrition reported in supplementary fi[...] (excerpt cut)','CD011612-tblf-0019',
  'Incomplete outcome data (attrition bias) All outcomes | Low risk | Participant attrition reported in supplementary fi'),
 ('ochsross2020_transform3','incomplete_outcome_data','low','Numbers of withdrawn part[...] (excerpt cut)','CD011612-tblf-0041',
  'Incomplete outcome data (attrition bias) All outcomes | Low risk | Numbers of withdrawn part'),
]

def rows():
    out = staged()
    have = {(r['study_id'], r['domain']) for r in out}
    for s, d, j, sup, tbl, q in NEW:
        assert (s, d) not in have
        out.append(dict(study_id=s, tool='RoB1', domain=d, judgement=j, support=sup, source=COCH + tbl + ' [' + CIT + ']', quote=q))
    return out
