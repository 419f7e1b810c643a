"""Harms: the safety table against metafor (computed in R from the raw data on its own path),
the NNH interval rule, and the checks on the inputs."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest
from conftest import REPO, close, fixture

from ketameta.config import load_settings, settings_from_dict
from ketameta.errors import InputError
from ketameta.safety import nnh_interval, safety_counts, safety_table
from ketameta.workflow import load_data


@pytest.fixture(scope="module")
def settings():
    return load_settings(REPO / "config/config.yaml", root=REPO)


@pytest.fixture(scope="module")
def tables(settings):
    counts = safety_counts(load_data(settings), settings.raw["safety"], settings.effect_options)
    return counts, safety_table(counts, settings.raw["safety"])


def test_counts_are_the_combined_arms_metafor_was_given(tables):
    counts, _ = tables
    ref = fixture("safety.json")["outcomes"]
    assert sorted(counts["outcome"].unique()) == sorted(ref)
    for outcome, r in ref.items():
        part = counts[counts["outcome"] == outcome]
        assert list(part["study_id"]) == r["studies"]
        assert list(part["events_treat"]) == r["ai"] and list(part["n_treat"]) == r["n1i"]
        assert list(part["events_ctrl"]) == r["ci"] and list(part["n_ctrl"]) == r["n2i"]


@pytest.mark.parametrize("method", ["MH", "REML"])
@pytest.mark.parametrize("measure", ["RR", "RD"])
def test_pooled_harms_match_metafor(tables, method, measure):
    _, table = tables
    checked = 0
    for outcome, ref in fixture("safety.json")["outcomes"].items():
        key = f"{method.lower()}_{measure}"
        row = table[
            (table["outcome"] == outcome)
            & (table["measure"] == measure)
            & (table["method"] == method)
        ].iloc[0]
        if key not in ref:  # REML needs k >= 2
            assert len(ref["studies"]) == 1 and math.isnan(row["estimate"])
            continue
        r = ref[key]
        assert row["k"] == r["k"]
        for col in ("estimate", "se", "ci_low", "ci_high", "pval", "i2"):
            assert close(row[col], r.get(col)), (outcome, col, row[col], r.get(col))
        checked += 1
    assert checked >= 6


def test_primary_method_is_recorded(tables, settings):
    _, table = tables
    assert set(table["primary"][table["method"] == "MH"]) == {True}
    assert set(table["primary"][table["method"] == "REML"]) == {False}
    mh = table[table["method"] == "MH"]
    assert mh["note"].str.contains("no continuity correction").all()


@pytest.mark.parametrize(
    ("rd", "lo", "hi", "nnh", "text"),
    [
        (0.25, 0.2, 0.5, 4.0, "NNH 2.0 to 5.0"),
        (-0.1, -0.2, -0.05, -10.0, "NNTB 5.0 to 20.0"),
        # Altman (1998): an RD interval containing 0 gives NNH 1/hi ... infinity ... NNTB 1/|lo|
        (0.05, -0.1, 0.2, 20.0, "NNH 5.0 to infinity to NNTB 10.0"),
    ],
)
def test_nnh_interval_by_hand(rd, lo, hi, nnh, text):
    got, got_text = nnh_interval(rd, lo, hi)
    assert got == pytest.approx(nnh) and got_text == text


def test_nnh_of_the_table_inverts_the_risk_difference(tables):
    _, table = tables
    rd = table[(table["measure"] == "RD") & table["estimate"].notna()]
    for r in rd.itertuples():
        assert r.nnh == pytest.approx(1 / r.estimate) if r.estimate else math.isinf(r.nnh)


def test_a_trial_with_two_safety_timepoints_is_an_error(settings):
    raw = dict(settings.raw)
    raw["safety"] = {**raw["safety"], "timepoints": ["treatment_phase", "maintenance"]}
    data = load_data(settings)
    cfg = settings_from_dict(raw, REPO).raw["safety"]
    sustain = data.arms[data.arms["study_id"] == "daly2019_sustain1"]
    assert (sustain["timepoint"] == "maintenance").any()
    # SUSTAIN-1 is only at maintenance: no clash; a clash needs the same trial twice
    counts = safety_counts(data, cfg, settings.effect_options)
    assert (counts["study_id"] == "daly2019_sustain1").any()
    arms = data.arms.copy()
    extra = arms[(arms["study_id"] == "su2023") & (arms["outcome"] == "ae_dissociation")].copy()
    extra["timepoint"] = "maintenance"
    twice = dataclasses.replace(data, arms=pd.concat([arms, extra], ignore_index=True))
    with pytest.raises(InputError, match="su2023") as err:
        safety_counts(twice, cfg, settings.effect_options)
    assert err.value.key == "safety.timepoints"


def test_no_harm_data_gives_an_empty_table_and_figure(settings, tmp_path):
    from ketameta.verify import svg_data
    from ketameta.workflow import step_safety, step_safety_figure

    raw = {**settings.raw, "safety": {**settings.raw["safety"], "outcomes": ["ae_rash"]}}
    none = settings_from_dict(raw, REPO)
    step_safety(none, tmp_path)
    assert pd.read_csv(tmp_path / "safety.csv").empty
    step_safety_figure(none, tmp_path, tmp_path)
    assert svg_data(tmp_path / "safety.svg")["figure"] == "empty"
