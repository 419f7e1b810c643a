"""Standard-library checks for randomised.csv, n_differences.csv, rob.csv."""
import csv, os, re, sys
HERE = os.path.dirname(os.path.abspath(__file__)); RAW = os.path.join(HERE, '..', '..', 'raw')
err = []
studies = {r['study_id']: r for r in csv.DictReader(open(os.path.join(RAW, 'studies.csv')))}
arms = list(csv.DictReader(open(os.path.join(RAW, 'arms.csv'))))
arm_ids = {(r['study_id'], r['arm_id']) for r in arms}
R = list(csv.DictReader(open(os.path.join(HERE, 'randomised.csv'))))
assert list(R[0].keys()) == ['study_id','arm_id','n_randomised','source','quote','notes']
seen = set()
for r in R:
    k = (r['study_id'], r['arm_id'])
    if k in seen: err.append('duplicate %s' % (k,))
    seen.add(k)
    if r['study_id'] not in studies: err.append('unknown study %s' % r['study_id'])
    if r['arm_id'] != 'all' and k not in arm_ids: err.append('arm not in arms.csv %s' % (k,))
    if not r['source'] or not r['quote']: err.append('missing source/quote %s' % (k,))
    if r['n_randomised']:
        n = int(r['n_randomised'])
        if n <= 0: err.append('n<=0 %s' % (k,))
        # the number (as digits or as a spelled-out word we know) must appear in the quote
        words = {9:'N: 9',20:'Twenty',22:'Twenty-two',19:'19',30:'Thirty',40:'Forty',68:'68',84:'84'}
        if str(n) not in r['quote'] and words.get(n, '@@') not in r['quote']:
            err.append('n_randomised %s not in quote %s' % (n, k))
    else:
        if 'NOT READ' not in r['notes']: err.append('empty n without NOT READ note %s' % (k,))
covered = {r['study_id'] for r in R}
missing = set(studies) - covered
if missing: err.append('studies without a randomised row: %s' % sorted(missing))
# n_differences
D = list(csv.DictReader(open(os.path.join(HERE, 'n_differences.csv'))))
rand = {}
for r in R:
    if r['n_randomised']: rand[(r['study_id'], r['arm_id'])] = int(r['n_randomised'])
arm_n = {(a['study_id'], a['arm_id'], a['outcome'], a['timepoint']): int(a['n']) for a in arms}
for d in D:
    k = (d['study_id'], d['arm_id'], d['outcome'], d['timepoint'])
    if k not in arm_n: err.append('n_differences row not in arms.csv %s' % (k,)); continue
    if int(d['n_in_arms_csv']) != arm_n[k]: err.append('n mismatch %s' % (k,))
    if d['n_randomised']:
        nr = int(d['n_randomised'])
        if nr == arm_n[k]: err.append('listed but equal %s' % (k,))
        if nr != rand.get((d['study_id'], d['arm_id']), rand.get((d['study_id'], 'all'))): err.append('n_randomised not from randomised.csv %s' % (k,))
    if d['reason'] and (not d['source'] or not d['quote']): err.append('reason without source/quote %s' % (k,))
# every arms row whose arm randomised n is known and differs must be listed
listed = {(d['study_id'], d['arm_id'], d['outcome'], d['timepoint']) for d in D}
for k, n in arm_n.items():
    if (k[0], k[1]) in rand and rand[(k[0], k[1])] != n and k not in listed: err.append('difference not listed %s' % (k,))
# rob
B = list(csv.DictReader(open(os.path.join(HERE, 'rob.csv'))))
assert list(B[0].keys()) == ['study_id','tool','domain','judgement','support','source','quote']
for b in B:
    if b['study_id'] not in studies: err.append('rob unknown study %s' % b['study_id'])
    if b['tool'] not in ('RoB1','RoB2'): err.append('tool %s' % b['tool'])
    if not b['source'] or not b['quote']: err.append('rob missing source/quote')
    if b['tool'] == 'RoB1':
        if b['judgement'] not in ('low','unclear','high'): err.append('judgement %s' % b['judgement'])
        if (b['judgement'].capitalize() + ' risk') not in b['quote']: err.append('judgement wording not in quote %s %s' % (b['study_id'], b['domain']))
    if b['domain'] == 'overall' and 'overall' not in b['quote'].lower(): err.append('overall row without overall in quote')
if len({(b['study_id'], b['domain'], b['source']) for b in B}) != len(B): err.append('duplicate rob rows')
print('randomised rows:', len(R), '| trials with a number:', len({r['study_id'] for r in R if r['n_randomised']}), 'of', len(studies))
print('n_differences rows:', len(D), '| with reason:', sum(1 for d in D if d['reason']))
print('rob rows:', len(B), '| trials:', len({b['study_id'] for b in B}), '| overall rows:', sum(1 for b in B if b['domain']=='overall'))
if err:
    print('FAIL'); print('\n'.join(err)); sys.exit(1)
print('ALL CHECKS PASSED')
