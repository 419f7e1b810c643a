"""Writes randomised.csv, n_differences.csv, rob.csv. Every number below was read in this session
(see querylog.txt); quotes are verbatim excerpts from the search results."""
import csv, collections, os
HERE = os.path.dirname(os.path.abspath(__file__))
RAW = os.path.join(HERE, '..', '..', 'raw')

CUR = 'https://curamorbus.org/en/2308/ketamine-versus-electroconvulsive-therapy--comparative-efficacy-in-psychiatric-treatment (reproduction of the NEJM ELEKT-D abstract)'
Q_ANAND = 'A total of 403 patients were randomized at five clinical centers; 200 patients were assigned to the ketamine group and 203 to the ECT group. After 38 patients withdrew before starting their assigned treatment, ketamine was administered to 195 patients and ECT to 170 patients.'
COCH = 'https://pmc.ncbi.nlm.nih.gov/articles/PMC8434915/table/'
CIT = 'Cochrane Database Syst Rev 2021;(9):CD011612, doi 10.1002/14651858.CD011612.pub3 (characteristics of included studies)'
ASP2 = 'https://blossomanalysis.com/papers/esketamine-nasal-spray-for-rapid-reduction-of-depressive-symptoms-in-patients-with-major-depressive-disorder-who-have-active-suicide-ideation-with-intent-results-of-a-phase-3-double-blind-randomize/ (ASPIRE II abstract)'
Q_ASP2 = 'Of 230 patients who were randomized (115 per arm), 227 received study drug and were included in efficacy/safety analyses'
T3TAB = 'https://pmc.ncbi.nlm.nih.gov/articles/PMC8921149/table/Tab4 [Table 4]'
Q_T3TAB = 'TRANSFORM-3 ... Change to day 28 | N | ... | 39 | 36 | 24 | 24 | (columns: women esketamine, women placebo, men esketamine, men placebo)'

# randomised rows: study, arm, n (None = not read), source, quote, notes
R = [
 ('anand2023_elektd','ket',200,CUR,Q_ANAND,''),
 ('anand2023_elektd','ect',203,CUR,Q_ANAND,''),
 ('arabzadeh2018','all',90,COCH+'CD011612-tblf-0006 ['+CIT+', Arabzadeh 2018]','N: 90 randomised, 81 completed the study ... Ketamine 50 mg/day group (N = 41) ... Placebo group (N = 40)','total only: per-arm randomised n not stated; the group Ns 41/40 add up to the 81 completers'),
 ('berman2000','all',9,COCH+'CD011612-tblf-0008 ['+CIT+', Berman 2000]','Double-blind randomised controlled cross-over trial ... N: 9 ... 2/9 participants withdrew to institute antidepressant treatment','crossover: 9 randomised to treatment order, each participant meant to receive both ketamine and saline; 7 completed both periods'),
 ('canuso2018','all',68,'https://ajp.psychiatryonline.org/doi/10.1176/appi.ajp.2018.17060720 [abstract]','In a double-blind, multicenter, proof-of-concept study, 68 participants were randomly assigned to receive esketamine (84 mg) or placebo twice weekly for 4 weeks','total only; canuso2018 has no rows in data/raw/arms.csv (contrasts only)'),
 ('daly2018','pbo',33,'https://jamanetwork.com/journals/jamapsychiatry/fullarticle/2666767 [abstract]','67 were randomized ... In period 1, participants were randomized (3:1:1:1) to placebo (n = 33), esketamine 28 mg (n = 11), 56 mg (n = 11), or 84 mg (n = 12) twice weekly','period 1 randomisation'),
 ('daly2018','esk28',11,'https://jamanetwork.com/journals/jamapsychiatry/fullarticle/2666767 [abstract]','In period 1, participants were randomized (3:1:1:1) to placebo (n = 33), esketamine 28 mg (n = 11), 56 mg (n = 11), or 84 mg (n = 12)','period 1 randomisation'),
 ('daly2018','esk56',11,'https://jamanetwork.com/journals/jamapsychiatry/fullarticle/2666767 [abstract]','In period 1, participants were randomized (3:1:1:1) to placebo (n = 33), esketamine 28 mg (n = 11), 56 mg (n = 11), or 84 mg (n = 12)','period 1 randomisation'),
 ('daly2018','esk84',12,'https://jamanetwork.com/journals/jamapsychiatry/fullarticle/2666767 [abstract]','In period 1, participants were randomized (3:1:1:1) to placebo (n = 33), esketamine 28 mg (n = 11), 56 mg (n = 11), or 84 mg (n = 12)','period 1 randomisation'),
 ('daly2019_sustain1','all',297,'https://m2.mtmt.hu/api/publication/30710084 (JAMA Psychiatry abstract); PMC6551577 key points','Among the 297 adults ... who entered the randomized maintenance phase, 176 achieved stable remission ... Among the 121 who achieved stable response','total only: randomised withdrawal, 1:1 within two strata (stable remitters 176, stable responders 121); per-arm randomised n not stated in the text read'),
 ('domany2019','ket',22,'https://ketamine.nz/reference-8.php (abstract); PubMed mirror http://47.251.13.51:8081/30246667','Twenty-two participants were randomised to the ketamine group, and 19 to the control, with 82.5% (n = 33) completing the study',''),
 ('domany2019','pbo',19,'https://ketamine.nz/reference-8.php (abstract); PubMed mirror http://47.251.13.51:8081/30246667','Twenty-two participants were randomised to the ketamine group, and 19 to the control, with 82.5% (n = 33) completing the study',''),
 ('ekstrand2022_ketect','all',None,'http://47.251.13.51:8081/35020871 (PubMed mirror abstract); https://pmc.ncbi.nlm.nih.gov/articles/PMC9154276','In total 186 inpatients were included and received treatment.','NOT READ: number randomised not found (abstract gives only 186 included and treated; flow chart not reachable)'),
 ('fedgchin2019_transform1','all',346,COCH+'CD011612-tblf-0017 ['+CIT+', Fedgchin 2019]; PubMed mirror http://47.251.13.51:8081/31290965','N: 346 randomised (342 included in analysis) | abstract: Eligible patients (N = 346) were randomized (1:1:1)','total only: per-arm randomised n not read'),
 ('fu2020_aspire1','all',226,'https://dev2.psychiatrist.com/jcp/esketamine-nasal-spray-rapidly-reduces-depression (J Clin Psychiatry abstract); '+COCH+'CD011612-tblf-0019','enrolled 226 adults ... Patients were randomized 1:1 to esketamine 84 mg or placebo nasal spray | Cochrane: N: 226','total only: per-arm randomised n not read'),
 ('hu2016','all',30,'https://www.unboundmedicine.com/medline/citation/26478208 (abstract); '+COCH+'CD011612-tblf-0025','Thirty outpatients with severe MDD ... were randomized | Cochrane: N: 30 randomised (27 completed the trial) ... Escitalopram and placebo group (N = 14) Escitalopram andIV ketamine group (N = 13)','total only: per-arm randomised n not stated; group Ns 14/13 add up to the 27 completers'),
 ('ionescu2021_aspire2','esk',115,ASP2,Q_ASP2,''),
 ('ionescu2021_aspire2','pbo',115,ASP2,Q_ASP2,''),
 ('jafarinia2016','all',None,'https://open-foundation.org/efficacy-and-safety-of-oral-ketamine-versus-diclofenac-to-alleviate-mild-to-moderate-depression-in-chronic-pain-patients-a-double-blind-randomized-controlled-trial-2/ (abstract)','Twenty participants in each arm completed the trial program','NOT READ: number randomised not stated in the abstract; full text (scribd accepted manuscript) only title page reachable'),
 ('lapidus2014','all',20,'https://pmc.ncbi.nlm.nih.gov/articles/PMC4185009 (abstract)','Twenty patients with major depression were randomized and 18 completed two treatment days with intranasal ketamine hydrochloride (50 mg) or saline solution in a randomized, double-blind, crossover study','crossover: 20 randomised to treatment order (Cochrane tblf-0034 lists Ketamine (N = 10), Placebo (N = 10) = first-period allocation); 18 completed both days'),
 ('lii2023','all',40,'https://medrxiv.org/content/10.1101/2023.04.28.23289210v2.full.txt; PubMed mirror http://47.251.13.51:8081/38188539','Forty adult patients with major depressive disorder who were scheduled for routine surgery were randomized to a single infusion of ketamine (0.5 mg/kg) or placebo (saline)','total only: per-arm randomised n not in the abstract'),
 ('loo2023_kads','all',None,'https://pmc.ncbi.nlm.nih.gov/articles/PMC10727911/ (abstract start only)','Initially, the trial tested fixed-dose ketamine 0.5 mg/kg versus midazolam 0.025 mg/kg (cohort 1). Dosing was revised ... (cohort 2)','NOT READ: randomised n per cohort/arm not in the reachable excerpt (abstract cut before results)'),
 ('murrough2013','all',73,'https://vdocuments.pub/ni-hms-572203.html (NIHMS572203 author manuscript, page 1)','randomlyassigned under double-blind conditions to receive a single intravenous infusion of ketamine ormidazolam in a 2:1 ratio (N=73)','total only: per-arm randomised n not visible (arms.csv 47/25 from Nikolin 2023 Table 1 sum to 72)'),
 ('ochsross2020_transform3','esk',72,COCH+'CD011612-tblf-0041 ['+CIT+', Ochs-Ross 2020]','N: 138 randomised (137 included in analysis) ... Quote: "Eligible patients were randomized in a 1:1 ratio to one of two treatments: ESK+AD (N=72) or AD+PBO (N=66)."',''),
 ('ochsross2020_transform3','pbo',66,COCH+'CD011612-tblf-0041 ['+CIT+', Ochs-Ross 2020]','N: 138 randomised (137 included in analysis) ... Quote: "Eligible patients were randomized in a 1:1 ratio to one of two treatments: ESK+AD (N=72) or AD+PBO (N=66)."',''),
 ('popova2019_transform2','all',227,'https://clinicaltrials.gov/ct2/show/results/NCT02418585 [Participant Flow]','Total 236 participants were enrolled, out of which 227 were randomized and 9 participants were excluded due to Good Clinical Practice (GCP) violations.','total only: per-arm flow cut off in the excerpt'),
 ('reif2023_escapetrd','esk',336,'https://repository.uantwerpen.be/link/irua/200542 (NEJM abstract)','Overall, 336 patients were assigned to the esketamine group and 340 to the quetiapine group.',''),
 ('reif2023_escapetrd','que',340,'https://repository.uantwerpen.be/link/irua/200542 (NEJM abstract)','Overall, 336 patients were assigned to the esketamine group and 340 to the quetiapine group.',''),
 ('su2023','ket',42,'https://read.qxmd.com/read/36966411 (abstract); https://dbpia.nl.go.kr/view-large/407082910 [Table 1 header]','We recruited 84 outpatients ... and randomized them into two groups | Table 1: Ketamine group (n = 42) Midazolam group (n = 42)','per-arm n from the Table 1 header; 42 + 42 = 84 = number randomised'),
 ('su2023','mid',42,'https://read.qxmd.com/read/36966411 (abstract); https://dbpia.nl.go.kr/view-large/407082910 [Table 1 header]','We recruited 84 outpatients ... and randomized them into two groups | Table 1: Ketamine group (n = 42) Midazolam group (n = 42)','per-arm n from the Table 1 header; 42 + 42 = 84 = number randomised'),
 ('takahashi2021','pbo',80,'https://bmcpsychiatry.biomedcentral.com/articles/10.1186/s12888-021-03538-y (abstract)','Of the 202 patients randomized in the DB induction phase (esketamine [n = 122] or placebo [n = 80])',''),
 ('takahashi2021','all',202,'https://bmcpsychiatry.biomedcentral.com/articles/10.1186/s12888-021-03538-y (abstract)','Of the 202 patients randomized in the DB induction phase (esketamine [n = 122] or placebo [n = 80])','esketamine arms together 122 (randomised 2:1:1:1 placebo:28:56:84 mg); per-dose randomised n not read'),
]
ESK_TOTAL = {'takahashi2021': (('esk28','esk56','esk84'), 122)}
CROSSOVER = {'berman2000','lapidus2014'}

# reasons for differences, keyed by (study, arm or '*', outcome or '*'); value: (reason, source, quote)
REASON = {
 ('anand2023_elektd','*','*'): ('received assigned treatment: 38 patients withdrew before starting their assigned treatment (ketamine administered to 195, ECT to 170)', CUR, Q_ANAND),
 ('arabzadeh2018','*','*'): ('completers: "81 completed the study" (group N 41 + 40 = 81 of 90 randomised)', COCH+'CD011612-tblf-0006', 'N: 90 randomised, 81 completed the study ... Ketamine 50 mg/day group (N = 41) ... Placebo group (N = 40)'),
 ('berman2000','*','*'): ('crossover completers: 2/9 participants withdrew to institute antidepressant treatment', COCH+'CD011612-tblf-0008', 'N: 9 ... Incomplete outcome data (attrition bias) All outcomes | High risk | 2/9 participants withdrew to institute antidepressant treatment'),
 ('lapidus2014','*','*'): ('crossover completers: 18 of 20 randomized completed two treatment days', 'https://pmc.ncbi.nlm.nih.gov/articles/PMC4185009', 'Twenty patients with major depression were randomized and 18 completed two treatment days'),
 ('hu2016','*','*'): ('completers: "30 randomised (27 completed the trial)" (group N 14 + 13 = 27)', COCH+'CD011612-tblf-0025', 'N: 30 randomised (27 completed the trial) ... Escitalopram and placebo group (N = 14) Escitalopram andIV ketamine group (N = 13)'),
 ('ionescu2021_aspire2','*','ae'): ('received study drug: 227 of 230 randomised received study drug and were included in efficacy/safety analyses (safety table N 114/113)', ASP2, Q_ASP2),
 ('ochsross2020_transform3','*','*'): ('observed cases with a day-28 MADRS: subgroup table row "Change to day 28 N" (women 39 + men 24 = 63 esketamine; 36 + 24 = 60 placebo); Cochrane: 138 randomised, 137 included in analysis', T3TAB, Q_T3TAB),
 ('daly2019_sustain1','*','relapse'): ('randomised-withdrawal stratum: relapse analysed separately in stable remitters (176) and stable responders (121) of the 297 randomised', 'https://m2.mtmt.hu/api/publication/30710084', 'Among the 297 adults ... who entered the randomized maintenance phase, 176 achieved stable remission ... Among the 121 who achieved stable response'),
 ('fedgchin2019_transform1','*','d28'): ('observed cases at day 28 (stated in data/raw/arms.csv notes by the earlier extraction; not re-read this session); Cochrane: 346 randomised, 342 included in analysis', 'data/raw/arms.csv notes; '+COCH+'CD011612-tblf-0017', 'arms.csv notes: "observed cases at day 28, not ITT" | Cochrane: N: 346 randomised (342 included in analysis)'),
 ('fedgchin2019_transform1','*','ae'): ('safety population of the double-blind induction phase (AE table N; stated in data/raw/arms.csv notes, not re-read this session)', 'data/raw/arms.csv notes (source PMC6822141 Table 5)', 'arms.csv notes: "safety population of the double-blind induction phase (table N: 56 mg 115, 84 mg 116, placebo 113)"'),
 ('popova2019_transform2','*','d28'): ('observed cases at day 28 (stated in data/raw/arms.csv notes by the earlier extraction; not re-read this session)', 'data/raw/arms.csv notes', 'arms.csv notes: "observed cases at day 28, not ITT (randomized 114/109)"'),
}

def reason_for(s, a, o, t):
    kind = 'ae' if (o.startswith('ae_') or o in ('serious_ae','discontinued_ae')) else ('relapse' if o.startswith('relapse') else None)
    for key in [(s,a,o),(s,'*',kind),(s,'*',t),(s,'*','*')]:
        if key in REASON: return REASON[key]
    return None

def main():
    rows = [dict(study_id=s, arm_id=a, n_randomised='' if n is None else n, source=src, quote=q, notes=no) for s,a,n,src,q,no in R]
    with open(os.path.join(HERE,'randomised.csv'),'w',newline='') as f:
        w = csv.DictWriter(f, fieldnames=['study_id','arm_id','n_randomised','source','quote','notes']); w.writeheader(); w.writerows(rows)
    rand = collections.defaultdict(dict)
    for s,a,n,*_ in R:
        if n is not None: rand[s][a] = n
    arms = list(csv.DictReader(open(os.path.join(RAW,'arms.csv'))))
    groups = collections.defaultdict(list)
    for x in arms: groups[(x['study_id'], x['outcome'], x['timepoint'])].append(x)
    out = []
    def add(x, nr, note=''):
        r = reason_for(x['study_id'], x['arm_id'], x['outcome'], x['timepoint'])
        reason, src, q = r if r else ('', '', '')
        # 'note' (how the comparison was made) is NOT written into reason: reason holds only what a source states
        if not src:
            rr = [y for y in R if y[0]==x['study_id']][0]; src, q = rr[3], rr[4]
        out.append(dict(study_id=x['study_id'], arm_id=x['arm_id'], outcome=x['outcome'], timepoint=x['timepoint'],
                        n_in_arms_csv=x['n'], n_randomised=nr, reason=reason, source=src, quote=q))
    for (s,o,t), g in groups.items():
        rs = rand.get(s, {})
        if not rs: continue
        if s in CROSSOVER:
            for x in g:
                if int(x['n']) != rs['all']: add(x, rs['all'], 'crossover: n_randomised is the total randomised (each participant in both arms)')
            continue
        if s in ESK_TOTAL:
            esk_arms, tot = ESK_TOTAL[s]
            for x in g:
                if x['arm_id'] in rs and int(x['n']) != rs[x['arm_id']]: add(x, rs[x['arm_id']])
            if sum(int(x['n']) for x in g if x['arm_id'] in esk_arms) != tot:
                for x in g:
                    if x['arm_id'] in esk_arms: add(x, '', 'per-arm randomised n not read; esketamine arms together randomised %d' % tot)
            continue
        per_arm = all(x['arm_id'] in rs for x in g)
        if per_arm:
            for x in g:
                if int(x['n']) != rs[x['arm_id']]: add(x, rs[x['arm_id']])
        elif 'all' in rs:
            tot = sum(int(x['n']) for x in g)
            if tot != rs['all']:
                for x in g: add(x, '', 'per-arm randomised n not read; arm n in this outcome/timepoint sum to %d vs %d randomised in total' % (tot, rs['all']))
    with open(os.path.join(HERE,'n_differences.csv'),'w',newline='') as f:
        w = csv.DictWriter(f, fieldnames=['study_id','arm_id','outcome','timepoint','n_in_arms_csv','n_randomised','reason','source','quote']); w.writeheader(); w.writerows(out)
    # RoB
    import rob_rows
    with open(os.path.join(HERE,'rob.csv'),'w',newline='') as f:
        w = csv.DictWriter(f, fieldnames=['study_id','tool','domain','judgement','support','source','quote']); w.writeheader(); w.writerows(rob_rows.rows())
    print('randomised', len(rows), 'n_differences', len(out))

if __name__ == '__main__': main()
