"""Bad input gets one clear message naming file, line and column (exact messages checked)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import REPO

from ketameta.config import load_settings
from ketameta.data import load_dataset
from ketameta.errors import InputError
from ketameta.workflow import prepare

STUDIES = "study_id,author,year,doi,design,population,drug,route,comparator\n"
GOOD_STUDIES = STUDIES + (
    "a2020,Alpha A,2020,10.1000/a,parallel,TRD,ketamine,IV,saline\n"
    "b2021,Beta B,2021,10.1000/b,crossover,MDD,esketamine,IN,placebo\n"
)
ARMS = "study_id,arm_id,role,dose,outcome,timepoint,n,events,source,derived\n"
GOOD_ARMS = ARMS + (
    "a2020,ket,treatment,0.5 mg/kg,response,24h,20,10,Table 2,\n"
    "a2020,pbo,control,saline,response,24h,20,4,Table 2,\n"
    "b2021,esk,treatment,84 mg,response,24h,18,8,Table 1,\n"
    "b2021,pbo,control,placebo,response,24h,18,2,Table 1,\n"
)


def write(tmp_path: Path, studies: str | bytes = GOOD_STUDIES, arms: str | bytes = GOOD_ARMS):
    s, a = tmp_path / "studies.csv", tmp_path / "arms.csv"
    for path, content in ((s, studies), (a, arms)):
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return s, a


def message(tmp_path, studies=GOOD_STUDIES, arms=GOOD_ARMS) -> str:
    s, a = write(tmp_path, studies, arms)
    with pytest.raises(InputError) as err:
        load_dataset(s, a)
    return str(err.value).replace(str(tmp_path) + "/", "")


def test_good_files_load(tmp_path):
    s, a = write(tmp_path)
    data = load_dataset(s, a)
    assert list(data.studies["study_id"]) == ["a2020", "b2021"]
    assert data.arms["events"].tolist() == [10.0, 4.0, 8.0, 2.0]
    assert data.arms["_line"].tolist() == [2, 3, 4, 5]


BAD_ARMS = {
    "events_above_n": (
        GOOD_ARMS.replace("20,10,Table 2", "20,25,Table 2"),
        "arms.csv, line 2, column 'events': 25 events is more than n = 20",
    ),
    "negative_n": (
        GOOD_ARMS.replace("20,4,Table", "-20,4,Table"),
        "arms.csv, line 3, column 'n': -20 is not a positive count",
    ),
    "zero_n": (
        GOOD_ARMS.replace("20,4,Table", "0,4,Table"),
        "arms.csv, line 3, column 'n': 0 is not a positive count",
    ),
    "non_integer_events": (
        GOOD_ARMS.replace("20,10,Table", "20,2.5,Table"),
        "arms.csv, line 2, column 'events': '2.5' is not an integer",
    ),
    "text_in_n": (
        GOOD_ARMS.replace("18,8,Table", "eighteen,8,Table"),
        "arms.csv, line 4, column 'n': 'eighteen' is not an integer",
    ),
    "nan_string": (
        GOOD_ARMS.replace("18,2,Table", "18,NaN,Table"),
        "arms.csv, line 5, column 'events': 'NaN' is not a finite number",
    ),
    "unknown_study": (
        GOOD_ARMS + "zzz,ket,treatment,1,response,24h,10,1,x,\n",
        "arms.csv, line 6, column 'study_id': study 'zzz' is not in the studies file",
    ),
    "bad_role": (
        GOOD_ARMS.replace("a2020,pbo,control", "a2020,pbo,placebo"),
        "arms.csv, line 3, column 'role': 'placebo' is not one of: treatment, control",
    ),
    "duplicate_key": (
        GOOD_ARMS + "a2020,ket,treatment,0.5 mg/kg,response,24h,20,10,Table 2,\n",
        "arms.csv, line 6, column 'timepoint': duplicate row (study_id=a2020, arm_id=ket, "
        "outcome=response, timepoint=24h); first seen on line 2",
    ),
    "two_controls": (
        GOOD_ARMS + "a2020,mid,control,midazolam,response,24h,20,5,Table 2,\n",
        "arms.csv, line 6, column 'role': study 'a2020' has more than one control arm for "
        "response at 24h",
    ),
    "missing_column": (
        GOOD_ARMS.replace(",source,derived", ",derived")
        .replace(",Table 2,", ",")
        .replace(",Table 1,", ","),
        "arms.csv, line 1: missing required column(s): source",
    ),
    "ragged_row": (
        GOOD_ARMS + "b2021,x,treatment,1,response,24h,10\n",
        "arms.csv, line 6: has 7 fields but the header has 10",
    ),
    "semicolons": (
        GOOD_ARMS.replace(",", ";"),
        "arms.csv, line 1: the header is separated by semicolons; columns must be separated by "
        "commas",
    ),
    "empty_file": ("", "arms.csv: file is empty (a header row is required)"),
    "bom": (
        b"\xef\xbb\xbf" + GOOD_ARMS.encode(),
        "arms.csv: file starts with a UTF-8 byte-order mark (BOM); save it as plain UTF-8",
    ),
    "latin1": (
        GOOD_ARMS.replace("Table 1", "Tabl\xe9").encode("latin-1"),
        "arms.csv, line 4: not valid UTF-8 (byte 0xe9); save the file as UTF-8",
    ),
    "mixed_kinds": (
        ARMS.replace("events,", "events,mean,sd,")
        + "a2020,ket,treatment,x,response,24h,20,10,,,s,\n"
        + "a2020,pbo,control,x,response,24h,20,,1.5,2,s,\n",
        "arms.csv, line 3, column 'outcome': outcome 'response' is binary in some rows and "
        "continuous in others",
    ),
    "negative_sd": (
        ARMS.replace("events,", "mean,sd,")
        + "a2020,ket,treatment,x,madrs_change,24h,20,-10,-3,s,\n",
        "arms.csv, line 2, column 'sd': -3 is not a positive standard deviation",
    ),
    "empty_source": (
        GOOD_ARMS.replace("20,4,Table 2,", "20,4,,"),
        "arms.csv, line 3, column 'source': is empty but required",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ARMS))
def test_bad_arms_file_gives_exact_message(tmp_path, case):
    content, expected = BAD_ARMS[case]
    assert message(tmp_path, arms=content) == expected


BAD_STUDIES = {
    "duplicate_study": (
        GOOD_STUDIES + "a2020,Alpha A,2020,10.1000/a,parallel,TRD,ketamine,IV,saline\n",
        "studies.csv, line 4, column 'study_id': duplicate row (study_id=a2020); first seen on "
        "line 2",
    ),
    "bad_route": (
        GOOD_STUDIES.replace(",IN,", ",nasal,"),
        "studies.csv, line 3, column 'route': 'nasal' is not one of: IV, IN, oral, IM, SC, ID",
    ),
    "bad_design": (
        GOOD_STUDIES.replace("parallel", "cluster"),
        "studies.csv, line 2, column 'design': 'cluster' is not one of: parallel, crossover",
    ),
    "no_identifier": (
        GOOD_STUDIES.replace("10.1000/b", ""),
        "studies.csv, line 3, column 'doi': no doi, pmid or registration id; every study needs "
        "a source id",
    ),
    "bad_year": (
        GOOD_STUDIES.replace("2021,10", "20211,10"),
        "studies.csv, line 3, column 'year': 20211 is not a plausible year (1900-2100)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_STUDIES))
def test_bad_studies_file_gives_exact_message(tmp_path, case):
    content, expected = BAD_STUDIES[case]
    assert message(tmp_path, studies=content) == expected


def test_missing_control_arm_named_at_analysis_time(tmp_path):
    arms = GOOD_ARMS.replace("b2021,pbo,control,placebo,response,24h,18,2,Table 1,\n", "")
    s, a = write(tmp_path, arms=arms)
    cfg = {
        "data": {"studies": "studies.csv", "arms": "arms.csv"},
        "analyses": {"r24": {"outcome": "response", "timepoint": "24h", "measure": "OR"}},
    }
    with pytest.raises(InputError) as err:
        prepare(cfg, tmp_path, "cfg.yaml")
    assert str(err.value) == (
        "arms.csv, line 4, column 'role': study 'b2021' has no control arm for response at 24h "
        "(analysis 'r24' needs one for OR)"
    )


def _config_error(tmp_path, text: str) -> str:
    (tmp_path / "data").mkdir(exist_ok=True)
    shutil.copy(REPO / "data/raw/studies.csv", tmp_path / "data/studies.csv")
    shutil.copy(REPO / "data/raw/arms.csv", tmp_path / "data/arms.csv")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    with pytest.raises(InputError) as err:
        load_settings(cfg, root=tmp_path)
    return str(err.value).replace(str(tmp_path) + "/", "")


DATA = "data: {studies: data/studies.csv, arms: data/arms.csv}\n"
ANALYSIS = "analyses: {r: {outcome: response, timepoint: 24h, measure: OR}}\n"
BAD_CONFIGS = {
    "unknown_top_key": (
        DATA + ANALYSIS + "bayesian: {}\n",
        "c.yaml, key 'bayesian': unknown key; allowed keys: analyses, bayes, data, effects, "
        "frequentist, multiverse, plots, report, safety, timecourse",
    ),
    "tau_prior_without_its_parameter": (
        DATA + ANALYSIS + "bayes: {tau_prior: {kind: uniform, scale: 1}}\n",
        "c.yaml, key 'bayes.tau_prior': 'upper' is a required property",
    ),
    "unknown_method": (
        DATA + ANALYSIS + "frequentist: {methods: [REML, XX]}\n",
        "c.yaml, key 'frequentist.methods[1]': 'XX' is not one of: DL, REML, PM, ML, HE, SJ, EB",
    ),
    "unknown_measure": (
        DATA + "analyses: {r: {outcome: response, timepoint: 24h, measure: IRR}}\n",
        "c.yaml, key 'analyses.r.measure': 'IRR' is not one of: OR, RR, RD, MD, SMD, PLO, HR",
    ),
    "path_outside": (
        "data: {studies: ../../etc/studies.csv, arms: data/arms.csv}\n" + ANALYSIS,
        "c.yaml, key 'data.studies': '../../etc/studies.csv' points outside the workflow directory",
    ),
    "formula_in_title": (
        DATA + "analyses: {r: {outcome: response, timepoint: 24h, measure: OR, "
        "title: '=HYPERLINK(1)'}}\n",
        "c.yaml, key 'analyses.r.title': '=HYPERLINK(1)' contains characters that are not allowed",
    ),
    "duplicate_key": (
        DATA + ANALYSIS + "effects: {multiarm: split}\neffects: {multiarm: combine}\n",
        "c.yaml, line 4: invalid YAML: duplicate key 'effects'",
    ),
    "missing_analyses": (DATA, "c.yaml: 'analyses' is a required property"),
    "wrong_type": (
        DATA + ANALYSIS + "frequentist: {level: high}\n",
        "c.yaml, key 'frequentist.level': 'high' is not of type 'number'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config_gives_exact_message(tmp_path, case):
    text, expected = BAD_CONFIGS[case]
    assert _config_error(tmp_path, text) == expected


def test_committed_data_are_valid():
    data = load_dataset(REPO / "data/raw/studies.csv", REPO / "data/raw/arms.csv")
    assert len(data.studies) >= 15
    medium = data.arms[data.arms["confidence"] == "medium"]
    assert (medium["derived"] != "").all(), "every derived number says how it was derived"
    assert (data.arms["source"] != "").all()
