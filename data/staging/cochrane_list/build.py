"""Writes included.csv and rob.csv from entries.py (data entry read in this session). stdlib only."""
import csv, re, entries
BASE = entries.BASE
def slug(name): return re.sub(r'[^a-z0-9]', '', name.lower().replace('‐', ''))
def clean(q): return q.replace(' [cut]', '').rstrip()
inc_cols = ["review_study_name","agent","design","participants","comparator","table_url","quote","our_study_id","match_note"]
rob_cols = ["study_id","review","tool","domain","judgement","source","quote"]
inc, rob = [], []
for name, e in sorted(entries.S.items(), key=lambda kv: kv[1]['tbl']):
    sid, note = entries.MATCH.get(name, ("", "no study in data/raw/studies.csv with this first author and year"))
    url = BASE + e['tbl']
    inc.append(dict(review_study_name=name, agent=e['agent'], design=e['design'], participants=e['participants'],
                    comparator=e['comparator'], table_url=url, quote=e['quote'], our_study_id=sid, match_note=note))
    for dom, j, q in e['rob']:
        rob.append(dict(study_id=sid or slug(name), review="Cochrane CD011612.pub3 (Dean 2021)", tool="RoB1",
                        domain=dom, judgement=j, source=url + " [" + name + ", Characteristics of included studies]",
                        quote=clean(q)))
for name, tbl, agent, design, part, comp, quote in entries.OTHER:
    inc.append(dict(review_study_name=name, agent=agent, design=design, participants=part, comparator=comp,
                    table_url=BASE + tbl, quote=quote, our_study_id="", match_note="other agent (lanicemine); not a ketamine/esketamine trial"))
with open("included.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, inc_cols); w.writeheader(); w.writerows(inc)
with open("rob.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, rob_cols); w.writeheader(); w.writerows(rob)
print(len(inc), "included rows;", len(rob), "rob rows")
