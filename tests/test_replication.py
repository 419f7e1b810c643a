"""Replications (report.replications): the steps of ketameta.replication on a small data set whose
numbers are worked by hand, the errors of a bad replications or counts file, and the committed
replications against metafor (tests/reference/make_replication_fixtures.R)."""

from __future__ import annotations

import math
import shutil

import pytest
import yaml
from conftest import REPO

from ketameta.config import load_settings
from ketameta.errors import InputError

STUDIES = (
    "study_id,author,year,doi,design,population,drug,route,comparator\n"
    "a2001,A,2001,10.1000/a,parallel,MDD,ketamine,IV,saline\n"
    "b2002,B,2002,10.1000/b,parallel,MDD,ketamine,IV,saline\n"
)
ARMS = (
    "study_id,arm_id,role,dose,outcome,timepoint,n,events,source,derived\n"
    "a2001,ket,treatment,0.5,response,24h,10,6,test,\n"
    "a2001,pbo,control,saline,response,24h,10,2,test,\n"
    "b2002,ket,treatment,0.5,response,24h,20,10,test,\n"
    "b2002,pbo,control,saline,response,24h,20,4,test,\n"
)
COUNTS_HEADER = "replication,trial,role,events,n,source,quote\n"
COUNTS = (
    "t1,A 2001,treatment,6,10,review table,6/10\n"
    "t1,A 2001,control,2,10,review table,2/10\n"
    "t1,B 2002,treatment,9,20,review table,9/20\n"  # ours: 10/20
    "t1,B 2002,control,4,20,review table,4/20\n"
    "t1,C 2003,treatment,3,8,review table,3/8\n"  # not in our data
    "t1,C 2003,control,1,8,review table,1/8\n"
)


def _target(**over):
    t = {
        "id": "t1",
        "review": "Test review",
        "source": "test",
        "quote": "OR 3.0",
        "outcome": "response",
        "timepoint": "24h",
        "measure": "OR",
        "published": {"estimate": 3.0, "ci_low": 1.5, "ci_high": 6.0, "k": 3},
        "model": {"pooling": "IV", "method": "DL"},
        "trials": [
            {"name": "A 2001", "study_id": "a2001"},
            {"name": "B 2002", "study_id": "b2002"},
            {"name": "C 2003"},
        ],
    }
    t.update(over)
    return t


@pytest.fixture
def workdir(tmp_path):
    shutil.copytree(REPO / "config", tmp_path / "config", symlinks=True)
    (tmp_path / "data").mkdir()
    (tmp_path / "data/studies.csv").write_text(STUDIES)
    (tmp_path / "data/arms.csv").write_text(ARMS)
    (tmp_path / "data/counts.csv").write_text(COUNTS_HEADER + COUNTS)
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    cfg["data"] = {"studies": "data/studies.csv", "arms": "data/arms.csv"}
    cfg["analyses"] = {"response_24h": {"outcome": "response", "timepoint": "24h", "measure": "OR"}}
    for key in ("multiverse", "timecourse", "safety"):
        cfg.pop(key, None)
    cfg["report"].pop("claims", None)
    cfg["report"]["replications"] = "config/replications_test.yaml"
    (tmp_path / "config/config.yaml").unlink()
    (tmp_path / "config/config.yaml").write_text(yaml.safe_dump(cfg))
    return tmp_path


def _write(workdir, targets, counts="data/counts.csv"):
    doc = {"replications": targets}
    if counts:
        doc["counts"] = counts
    (workdir / "config/replications_test.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return load_settings(workdir / "config/config.yaml", root=workdir)


def _table(settings):
    from ketameta.replication import read_counts, read_replications, replication_table
    from ketameta.workflow import load_data

    doc = read_replications(settings.replications_path, settings.raw)
    counts = read_counts(settings.replication_counts_path, doc)
    return replication_table(doc, counts, load_data(settings), settings).set_index("step")


def _log_or(a, n1, c, n2):
    return math.log(a * (n2 - c) / ((n1 - a) * c)), 1 / a + 1 / (n1 - a) + 1 / c + 1 / (n2 - c)


def _dl(pairs):
    """DerSimonian-Laird by hand (DerSimonian & Laird 1986)."""
    y = [p[0] for p in pairs]
    v = [p[1] for p in pairs]
    w = [1 / x for x in v]
    fe = sum(wi * yi for wi, yi in zip(w, y, strict=True)) / sum(w)
    q = sum(wi * (yi - fe) ** 2 for wi, yi in zip(w, y, strict=True))
    c = sum(w) - sum(wi**2 for wi in w) / sum(w)
    tau2 = max(0.0, (q - (len(y) - 1)) / c)
    ws = [1 / (vi + tau2) for vi in v]
    mu = sum(wi * yi for wi, yi in zip(ws, y, strict=True)) / sum(ws)
    se = math.sqrt(1 / sum(ws))
    return mu, mu - 1.959963984540054 * se, mu + 1.959963984540054 * se


def test_steps_separate_model_extraction_and_trials(workdir):
    t = _table(_write(workdir, [_target()]))
    assert list(t.index) == [
        "published",
        "review data",
        "our data, review trials",
        "our data, trials we hold",
        "our model",
    ]
    assert t.loc["published", "estimate"] == 3.0
    review = [_log_or(6, 10, 2, 10), _log_or(9, 20, 4, 20), _log_or(3, 8, 1, 8)]
    mu, lo, hi = _dl(review)
    assert t.loc["review data", "estimate"] == pytest.approx(math.exp(mu), rel=1e-10)
    assert t.loc["review data", "ci_low"] == pytest.approx(math.exp(lo), rel=1e-10)
    assert t.loc["review data", "vs_published"] == pytest.approx(math.exp(mu) / 3.0, rel=1e-10)
    # ours for A and B (B has 10/20, not 9/20), the review's for C
    mixed = [_log_or(6, 10, 2, 10), _log_or(10, 20, 4, 20), _log_or(3, 8, 1, 8)]
    assert t.loc["our data, review trials", "estimate"] == pytest.approx(
        math.exp(_dl(mixed)[0]), rel=1e-10
    )
    assert (
        "B 2002: review 9/20 vs 4/20, ours 10/20 vs 4/20"
        in t.loc["our data, review trials", "note"]
    )
    assert t.loc["our data, review trials", "note"].startswith("ours: A 2001, B 2002; numbers")
    assert "A 2001: review" not in t.loc["our data, review trials", "note"]  # equal counts
    held = t.loc["our data, trials we hold"]
    assert held["k"] == 2 and "not in our data: C 2003" in held["note"]
    assert held["estimate"] == pytest.approx(math.exp(_dl(mixed[:2])[0]), rel=1e-10)
    assert t.loc["our model", "model"] == "REML random effects, z test"


def test_without_review_numbers_the_review_step_says_why(workdir):
    t = _table(_write(workdir, [_target()]))
    assert not math.isnan(t.loc["review data", "estimate"])
    (workdir / "data/counts.csv").write_text(COUNTS_HEADER + COUNTS.split("t1,C 2003")[0])
    t = _table(load_settings(workdir / "config/config.yaml", root=workdir))
    assert math.isnan(t.loc["review data", "estimate"])
    assert "not given for C 2003" in t.loc["review data", "note"]
    assert "our data, review trials" not in t.index  # C has no numbers at all


def test_mantel_haenszel_model(workdir):
    """MH OR by hand (Mantel & Haenszel 1959): sum(a d / n) / sum(b c / n)."""
    t = _table(_write(workdir, [_target(model={"pooling": "MH", "method": "FE"})]))
    tables = [(6, 4, 2, 8), (9, 11, 4, 16), (3, 5, 1, 7)]
    num = sum(a * d / (a + b + c + d) for a, b, c, d in tables)
    den = sum(b * c / (a + b + c + d) for a, b, c, d in tables)
    assert t.loc["review data", "estimate"] == pytest.approx(num / den, rel=1e-10)
    assert t.loc["review data", "model"] == "MH fixed effect"


@pytest.mark.parametrize(
    ("counts", "where", "message"),
    [
        ("t1,A 2001,treatment,12,10,x,y\n", "line 2, column 'events'", "more than n"),
        ("t1,D 2004,treatment,1,10,x,y\n", "line 2, column 'trial'", "not a trial"),
        ("t2,A 2001,treatment,1,10,x,y\n", "line 2, column 'replication'", "not a replication"),
        ("t1,A 2001,arm,1,10,x,y\n", "line 2, column 'role'", "not one of"),
        ("t1,A 2001,treatment,1,10,x,\n", "line 2, column 'quote'", "empty"),
    ],
)
def test_bad_counts_name_file_line_and_column(workdir, counts, where, message):
    (workdir / "data/counts.csv").write_text(COUNTS_HEADER + counts)
    with pytest.raises(InputError) as err:
        _write(workdir, [_target()])
    text = str(err.value)
    assert "counts.csv" in text and where in text and message in text


def test_bad_replications_file(workdir):
    with pytest.raises(InputError, match="duplicate replication id 't1'"):
        _write(workdir, [_target(), _target()])
    with pytest.raises(InputError, match="measure"):
        _write(workdir, [_target(measure="HR")])
    with pytest.raises(InputError, match="named twice"):
        _write(workdir, [_target(trials=[{"name": "A 2001"}, {"name": "A 2001"}])])


def test_committed_replication_matches_metafor():
    """config/replications.yaml on the real data, each step against metafor
    (tests/reference/make_replication_fixtures.R: RevMan's Hedges' g written out in R, rma DL;
    escalc SMD with rma REML)."""
    from conftest import fixture

    from ketameta.replication import read_counts, read_replications, replication_table
    from ketameta.workflow import load_data

    ref = fixture("replication.json")
    settings = load_settings(REPO / "config/config.yaml", root=REPO)
    doc = read_replications(settings.replications_path, settings.raw)
    counts = read_counts(settings.replication_counts_path, doc)
    t = replication_table(doc, counts, load_data(settings), settings)
    t = t[t["replication"] == "marchi2022_depression"].set_index("step")
    for step, key in (
        ("review data", "review_revman"),
        ("our data, review trials", "mixed_revman"),
        ("our data, trials we hold", "ours_revman"),
        ("our model", "ours_reml"),
    ):
        for col in ("estimate", "ci_low", "ci_high"):
            assert t.loc[step, col] == pytest.approx(ref[key][col], rel=1e-9, abs=1e-12), step
        assert t.loc[step, "k"] == ref[key]["k"]
    # the published value comes back to its printed precision with the review's own numbers
    assert round(t.loc["review data", "estimate"], 2) == t.loc["published", "estimate"] == -0.61
    assert (
        round(t.loc["review data", "ci_low"], 2),
        round(t.loc["review data", "ci_high"], 2),
    ) == (
        -1.06,
        -0.16,
    )
    # metafor's own variance for Hedges' g would not have reproduced it (the explanation says so)
    assert round(ref["review_escalc"]["estimate"], 2) == -0.63
    assert (
        "Ochs-Ross et al. 2020: review 25.4 (SD 12.7, n 72)"
        in t.loc["our data, review trials", "note"]
    )


def test_revman_smd_by_hand():
    """Deeks & Higgins (2010): n 20/20, means 10 vs 12, SDs 4 and 4: d = -0.5,
    g = -0.5 x (1 - 3/151) = -0.490066, var = 40/400 + g^2 / (2 x 36.06) = 0.103330."""
    from ketameta.replication import revman_smd

    g, v = revman_smd([10], [4], [20], [12], [4], [20])
    assert g[0] == pytest.approx(-0.5 * (1 - 3 / 151), rel=1e-14)
    assert g[0] == pytest.approx(-0.490066, abs=1e-6)
    assert v[0] == pytest.approx(0.1 + g[0] ** 2 / 72.12, rel=1e-14)
    assert v[0] == pytest.approx(0.103330, abs=1e-6)
