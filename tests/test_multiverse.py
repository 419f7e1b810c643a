"""The multiverse: expansion (count, order, exclusions), equality with the single-analysis path,
the choice summary, the specification curve, and the cluster profile's planned jobs."""

from __future__ import annotations

import copy
import math
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO

from ketameta.config import load_settings, settings_from_dict, validate_config
from ketameta.errors import InputError
from ketameta.multiverse import (
    batch_ids,
    batch_specs,
    check,
    check_data,
    choice_summary,
    expand,
    run_specs,
    summary,
)
from ketameta.pooling import pooled_table
from ketameta.workflow import effects_table, load_data

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def default():
    return load_settings(REPO / "config/config.yaml", root=REPO)


def _mv(**section) -> dict:
    """A validated multiverse section (schema defaults filled) from the keys given."""
    cfg = validate_config(
        {
            "data": {"studies": "s.csv", "arms": "a.csv"},
            "analyses": {"x": {"outcome": "response", "timepoint": "24h", "measure": "OR"}},
            "multiverse": section,
        }
    )
    return cfg["multiverse"]


SMALL = {
    "outcome": ["response"],
    "timepoint": ["24h", "d28"],
    "measure": ["OR", "RR"],
    "estimator": ["REML", "DL"],
    "test": ["z", "knha"],
    "prior": [{"kind": "halfnormal", "scale": 0.5}],
    "subsets": {
        "drug": {
            "both": {},
            "racemic": {"drug": ["ketamine"]},
            "esketamine": {"drug": ["esketamine"]},
        }
    },
    "exclude": [
        {"estimator": "DL", "test": "knha"},
        {"drug": "esketamine", "timepoint": "24h"},
    ],
}


def test_expansion_counts_the_product_minus_the_exclusions():
    mv = _mv(**SMALL)
    specs = expand(mv)
    # 1 outcome x 2 timepoints x 2 measures x 3 drug subsets x 1 zero-cell rule = 12 data
    # choices, each with 2 x 2 frequentist models + 1 prior = 5 models: 60. Leaving out DL with
    # knha drops one model of each data choice (12), and esketamine at 24 h the 2 measures x 4
    # remaining models of that data choice (8): 40.
    assert len(specs) == 40
    assert [s.spec_id for s in specs] == list(range(1, 41))
    for s in specs:
        c = dict(s.choices)
        assert not (c["estimator"] == "DL" and c["test"] == "knha")
        assert not (c["drug"] == "esketamine" and c["timepoint"] == "24h")
        assert (c["framework"] == "bayes") == (c["prior"] != "") == (c["estimator"] == "")
    # data choices vary slowest: the first five specifications share one data choice
    assert len({s.data_key for s in specs[:4]}) == 1
    assert [dict(s.choices)["framework"] for s in specs[:4]] == ["frequentist"] * 3 + ["bayes"]
    frequentist = [s for s in specs if dict(s.choices)["framework"] == "frequentist"]
    assert len(frequentist) == 40 - 10  # one Bayesian specification per remaining data choice


def test_exclusions_take_lists_and_any_axis():
    mv = _mv(**{**SMALL, "exclude": [{"measure": ["OR", "RR"], "framework": "bayes"}]})
    specs = expand(mv)
    assert len(specs) == 12 * 4
    assert all(dict(s.choices)["framework"] == "frequentist" for s in specs)


def test_batches_cover_every_specification_once():
    mv = _mv(**{**SMALL, "batch_size": 7})
    ids = batch_ids(mv)
    assert ids == ["0001", "0002", "0003", "0004", "0005", "0006"]  # ceil(40 / 7)
    got = [s.spec_id for b in ids for s in batch_specs(mv, b)]
    assert got == list(range(1, 41))
    with pytest.raises(ValueError, match="out of range"):
        batch_specs(mv, "0007")


@pytest.mark.parametrize(
    ("rule", "key", "message"),
    [
        ({"estimater": "DL"}, "multiverse.exclude[0].estimater", "not an axis"),
        ({"drug": "ketamine"}, "multiverse.exclude[0].drug", "not a choice of axis 'drug'"),
        ({"prior": "halfnormal(1)"}, "multiverse.exclude[0].prior", "not a choice"),
    ],
)
def test_bad_exclusions_name_the_key(rule, key, message):
    mv = _mv(**{**SMALL, "exclude": [rule]})
    with pytest.raises(InputError, match=message) as err:
        check(mv, "config/x.yaml")
    assert err.value.key == key and "config/x.yaml" in str(err.value)


def test_subset_axis_cannot_shadow_a_column():
    mv = _mv(**{**SMALL, "subsets": {"measure": {"all": {}}}, "exclude": []})
    with pytest.raises(InputError, match="name of a column"):
        check(mv)


def test_no_model_is_an_error():
    with pytest.raises(InputError, match="no model"):
        check(_mv(**{**SMALL, "estimator": [], "prior": [], "exclude": []}))


def test_unknown_multiverse_key_is_a_schema_error():
    with pytest.raises(InputError, match="multiverse"):
        _mv(**{**SMALL, "batchsize": 10})


def test_data_checks_subset_columns_and_measure_kinds(default):
    data = load_data(default)
    mv = _mv(**{**SMALL, "subsets": {"quality": {"good": {"jadad_score": ["5"]}}}, "exclude": []})
    with pytest.raises(InputError, match="jadad_score"):
        check_data(mv, data, "config.yaml")
    mv = _mv(**{**SMALL, "outcome": ["depression_change"], "exclude": []})
    with pytest.raises(InputError, match="continuous, so measure OR"):
        check_data(mv, data, "config.yaml")


def _single_analysis_config(raw: dict, specs) -> tuple[dict, dict]:
    """One workflow config whose analyses are the data choices x priors of ``specs`` (one
    zero-cell rule), and which analysis name each specification is."""
    mv = raw["multiverse"]
    cfg = copy.deepcopy(raw)
    cfg.pop("multiverse")
    cfg["report"].pop("claims", None)
    cfg["frequentist"] = {
        **cfg["frequentist"],
        "methods": [e for e in mv["estimator"] if e != "FE"],
        "tests": list(mv["test"]),
        "fixed_effect": "FE" in mv["estimator"],
        "binary": [],
    }
    cfg["bayes"] = {**cfg["bayes"], "exact": True, "mcmc": []}
    cfg["analyses"] = {}
    names = {}
    for s in specs:
        one = s.analysis_config()
        key = (s.data_key, s.choice("prior"))
        if key not in names:
            names[key] = f"a{len(names)}"
            analysis = one["analyses"]["spec"]
            if s.choice("framework") == "frequentist":
                analysis["tau_prior"] = dict(mv["prior"][0]) if mv["prior"] else None
                if analysis["tau_prior"] is None:
                    analysis.pop("tau_prior")
            cfg["analyses"][names[key]] = analysis
        cfg["effects"] = {**cfg["effects"], **one["effects"]}
    return cfg, names


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _check_equal_to_single_analyses(settings, specs) -> int:
    """Every specification's numbers equal the row the workflow's own pooling path writes for
    the same choices (config -> effects_table -> pooled_table), bit for bit."""
    table = run_specs(specs, settings)
    checked = 0
    by_zero: dict = {}
    for s in specs:
        by_zero.setdefault(s.zero_cell, []).append(s)
    for group in by_zero.values():
        cfg, names = _single_analysis_config(settings.raw, group)
        single = settings_from_dict(cfg, settings.root)
        effects = effects_table(single)
        pooled = pooled_table(effects, single)
        for s in group:
            row = table[table["spec_id"] == s.spec_id].iloc[0]
            name = names[(s.data_key, s.choice("prior"))]
            eff = effects[(effects["analysis"] == name) & effects["included"].astype(bool)]
            assert row["k"] == len(eff), s
            assert row["studies"] == ";".join(sorted(eff["study_id"].unique()))
            if len(eff) < settings.raw["multiverse"]["min_k"]:
                assert math.isnan(row["estimate"]) and row["note"].startswith("not estimated")
                continue
            fits = pooled[(pooled["analysis"] == name) & (pooled["subgroup"] == "")]
            if s.choice("framework") == "bayes":
                ref = fits[(fits["model"] == "bayes_nn") & (fits["method"] == "exact")].iloc[0]
                pairs = {"estimate": "estimate", "ci_low": "ci_low", "ci_high": "ci_high"}
                pairs["p_benefit"] = "p_benefit"
            else:
                ref = fits[
                    (fits["method"] == s.choice("estimator")) & (fits["test"] == s.choice("test"))
                ].iloc[0]
                pairs = {c: c for c in ("estimate", "ci_low", "ci_high", "pval", "tau2", "i2")}
            for ours, theirs in pairs.items():
                assert _same(float(row[ours]), float(ref[theirs])), (s, ours)
            assert _same(float(row["estimate_bt"]), float(ref["estimate_bt"]))
            checked += 1
    return checked


def test_specifications_equal_the_single_analysis_path_sample(default):
    """A seeded sample of the default multiverse's data choices (every model of each)."""
    specs = expand(default.raw["multiverse"])
    keys = sorted({s.data_key for s in specs})
    chosen = set(random.Random(20261130).sample(keys, 24))
    sample = [s for s in specs if s.data_key in chosen]
    assert _check_equal_to_single_analyses(default, sample) > 50


@pytest.mark.slow
def test_every_default_specification_equals_the_single_analysis_path(default):
    """Every specification of the default multiverse whose risk-of-bias choice is "any" against
    the single-analysis path (each one run as its own config); the "no high-risk trial" twins
    against a seeded sample of that path and, where they pool the same trials as their twin
    (today all: the one high-risk trial, Berman 2000, is in no subset), against the twin's row."""
    specs = expand(default.raw["multiverse"])
    assert len(specs) >= 500
    axis = "risk_of_bias"
    anyrob = [s for s in specs if s.choice(axis) == "any risk of bias"]
    norob = [s for s in specs if s.choice(axis) != "any risk of bias"]
    assert len(anyrob) == len(norob) and norob
    checked = _check_equal_to_single_analyses(default, anyrob)
    assert checked >= 500  # the floor: at least 500 estimated on the real data
    keys = sorted({s.data_key for s in norob})
    chosen = set(random.Random(20261130).sample(keys, 24))
    assert _check_equal_to_single_analyses(default, [s for s in norob if s.data_key in chosen])
    table = run_specs(specs, default).set_index("spec_id")
    twin = {tuple(c for c in s.choices if c[0] != axis): s.spec_id for s in anyrob}
    cols = ["k", "studies", "estimate", "ci_low", "ci_high", "tau2"]
    same_trials = 0
    for s in norob:
        other = twin[tuple(c for c in s.choices if c[0] != axis)]
        a, b = table.loc[s.spec_id, cols], table.loc[other, cols]
        if a["studies"] != b["studies"]:  # a high-risk trial left out: the sample covers these
            continue
        same_trials += 1
        for c in cols[2:]:
            assert _same(float(a[c]), float(b[c])), (s, c)
    assert same_trials > 0


def test_choice_summary_by_hand():
    table = pd.DataFrame(
        {
            "spec_id": [1, 2, 3, 4, 5],
            "measure": ["OR"] * 5,
            "drug": ["a", "a", "b", "b", "b"],
            "framework": ["frequentist"] * 4 + ["bayes"],
            "estimator": ["REML", "DL", "REML", "DL", ""],
            "k": [3, 3, 2, 2, 2],
            "studies": ["s1;s2;s3"] * 2 + ["s1;s2"] * 3,
            "estimate": [0.1, 0.3, 1.0, 2.0, 1.5],
            "estimate_bt": np.exp([0.1, 0.3, 1.0, 2.0, 1.5]),
            "benefit": pd.array([False, True, True, True, False], dtype="boolean"),
        }
    )
    out = choice_summary(table)
    drug = out[out["axis"] == "drug"].set_index("choice")
    assert drug.loc["a", "n_specs"] == 2 and drug.loc["b", "n_specs"] == 3
    assert drug.loc["a", "median_estimate_bt"] == pytest.approx(math.exp(0.2))
    assert drug.loc["b", "median_estimate_bt"] == pytest.approx(math.exp(1.5))
    assert drug.loc["a", "share_benefit"] == 0.5
    assert drug.loc["b", "share_benefit"] == pytest.approx(2 / 3)
    assert drug["spread"].iloc[0] == pytest.approx(1.3)
    assert drug["benefit_spread"].iloc[0] == pytest.approx(2 / 3 - 0.5)
    # the estimator axis leaves out the Bayesian row (not applicable): medians 0.55 and 1.15
    est = out[out["axis"] == "estimator"].set_index("choice")
    assert set(est.index) == {"REML", "DL"}
    assert est["spread"].iloc[0] == pytest.approx(0.6)
    assert list(out["axis"])[:2] == ["drug", "drug"]  # the largest spread first
    head = summary(table)
    assert head["estimated"] == 5 and head["share_benefit"] == 0.6
    assert head["study_sets"] == 2 and head["per_measure"][0]["median_bt"] == math.exp(1.0)


def test_specification_curve_plots_the_sorted_estimates(default, tmp_path):
    from ketameta.plots import specification_curve
    from ketameta.verify import svg_data

    mv = _mv(**{**SMALL, "exclude": []})
    settings = settings_from_dict({**default.raw, "multiverse": mv}, REPO)
    table = run_specs(expand(mv), settings)
    out = [("svg", tmp_path / "c.svg"), ("png", tmp_path / "c.png")]
    specification_curve(table, title="t", outputs=out)
    data = svg_data(tmp_path / "c.svg")
    for measure in ("OR", "RR"):
        part = table[(table["measure"] == measure) & table["estimate"].notna()]
        drawn = data["measures"][measure]
        # sorted by estimate; estimates equal to 1e-10 (DL and REML at tau2 = 0, ...) by spec_id
        key = part.assign(_key=part["estimate"].round(10))
        expected = key.sort_values(["_key", "spec_id"], kind="stable")["estimate"].tolist()
        assert drawn["estimate"] == expected
        assert expected == pytest.approx(sorted(part["estimate"].tolist()), rel=1e-9)
        assert sorted(drawn["spec_id"]) == sorted(part["spec_id"].tolist())
    assert (tmp_path / "c.png").stat().st_size > 0


def test_filters_drop_listed_values_and_keep_missing(default):
    from ketameta.effects import select_rows
    from ketameta.spec import AnalysisSpec

    data = load_data(default)
    keep = AnalysisSpec("k", "response", "24h", "OR", filters={"drug": ["esketamine"]})
    drop = AnalysisSpec("d", "response", "24h", "OR", filters={"drug": {"not": ["esketamine"]}})
    rows_keep = select_rows(data, keep, default.effect_options)
    rows_drop = select_rows(data, drop, default.effect_options)
    everything = select_rows(
        data, AnalysisSpec("a", "response", "24h", "OR"), default.effect_options
    )
    assert set(rows_keep["study_id"]) | set(rows_drop["study_id"]) == set(everything["study_id"])
    assert not set(rows_keep["study_id"]) & set(rows_drop["study_id"])
    # a missing value is not in the dropped list, so it is kept
    data.studies.loc[data.studies["study_id"] == "daly2018", "drug"] = np.nan
    rows = select_rows(data, drop, default.effect_options)
    assert "daly2018" in set(rows["study_id"])


def _dry_run(dest: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "snakemake"), "--dry-run", "--forceall", *args],
        cwd=dest,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"},
    )


def _planned(stdout: str) -> dict[str, list[dict[str, str]]]:
    """Jobs of a dry run: rule -> one dict of its 'resources:' per job."""
    jobs: dict[str, list[dict[str, str]]] = {}
    rule = None
    for line in stdout.splitlines():
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
            jobs.setdefault(rule, []).append({})
        elif rule and line.strip().startswith("resources:"):
            items = line.split("resources:", 1)[1].split(",")
            jobs[rule][-1].update(dict(i.strip().split("=", 1) for i in items))
    return jobs


def test_slurm_profile_plans_every_job_with_its_resources(tmp_path, default):
    """`snakemake --profile profiles/slurm --dry-run` (executor plugin from the cluster extra):
    every rule's jobs are planned, the batches as the config says, and each job asks for the
    resources the profile sets for its rule."""
    for item in ("Snakefile", "config", "report", "data/raw", "profiles"):
        src = REPO / item
        dst = tmp_path / item
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst)
    proc = _dry_run(tmp_path, "--profile", "profiles/slurm")
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = _planned(proc.stdout)
    n_batches = len(batch_ids(default.raw["multiverse"]))
    assert n_batches >= 2
    counts = {rule: len(v) for rule, v in jobs.items()}
    assert counts == {
        "tables": 1,
        "mcmc": 1,
        "figures": 1,
        "multiverse_batch": n_batches,
        "multiverse": 1,
        "report": 1,
        "all": 1,
    }
    profile = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    assert profile["executor"] == "slurm"
    for rule, planned in jobs.items():
        if rule == "all":  # a local rule: no resources asked of the cluster
            continue
        want = {**profile["default-resources"], **profile["set-resources"].get(rule, {})}
        for job in planned:
            for key, value in want.items():
                assert job.get(key) == str(value), (rule, key, job)
    # a dry run does not print threads; the slurm plugin submits cpus_per_task of them
    assert jobs["mcmc"][0]["cpus_per_task"] == str(profile["set-threads"]["mcmc"])


def test_local_profile_is_a_valid_profile(tmp_path):
    for item in ("Snakefile", "config", "report", "data/raw", "profiles"):
        src = REPO / item
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, tmp_path / item)
    proc = _dry_run(tmp_path, "--profile", "profiles/local")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "multiverse_batch" in proc.stdout
