"""End to end: the real data through the package steps, and the Snakemake workflow itself."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, close, fixture

from ketameta.config import load_settings, read_yaml, settings_from_dict, sha256_file
from ketameta.pooling import pooled_table
from ketameta.workflow import NO_STUDIES, effects_table, prepare

BIN = Path(sys.executable).parent
SNAKEMAKE = str(BIN / "snakemake")
WORKFLOW_FILES = ["Snakefile", "config", "report", "data/raw", "tests/data"]


@pytest.fixture(scope="module")
def ketamine_tables():
    """The default config's tables, in-process; MCMC off (its rows are checked from the
    committed results in test_bayes_rows_of_the_committed_results, and the sampler has its own
    tests), so the fixture costs seconds, not a compile per model structure."""
    raw = load_settings(REPO / "config/config.yaml", root=REPO).raw
    settings = settings_from_dict({**raw, "bayes": {**raw["bayes"], "mcmc": []}}, REPO)
    effects = effects_table(settings)
    return settings, effects, pooled_table(effects, settings)


def _fit(input_id: str, method: str, test: str) -> dict:
    return next(
        f
        for f in fixture("rma.json")["fits"]
        if f["input"] == input_id and f["method"] == method and f["test"] == test
    )


@pytest.mark.parametrize(
    ("analysis", "input_id"),
    [
        ("response_24h", "ketamine_24h:OR"),
        ("response_rate_24h", "ketamine_24h:PLO:treatment"),
        ("response_d28", "ketamine_d28:OR"),
        ("response_rate_d28", "ketamine_d28:PLO:treatment"),
    ],
)
@pytest.mark.parametrize("method", ["REML", "DL", "PM", "FE"])
@pytest.mark.parametrize("test", ["z", "knha"])
def test_real_data_pipeline_matches_metafor(ketamine_tables, analysis, input_id, method, test):
    """data/raw -> effects (Daly 2018 and TRANSFORM-1 dose arms combined) -> pooled, as metafor
    computes from the same counts (tests/reference/make_fixtures.R)."""
    _, _, pooled = ketamine_tables
    row = pooled[
        (pooled["analysis"] == analysis)
        & (pooled["subgroup"] == "")
        & (pooled["method"] == method)
        & (pooled["test"] == test)
    ].iloc[0]
    ref = _fit(input_id, method, test)
    assert row["k"] == ref["k"]
    for col in ("estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2", "q"):
        assert close(row[col], ref[col]), (col, row[col], ref[col])


def _diag(section: str, dataset: str, measure: str) -> dict:
    return next(
        r
        for r in fixture("diagnostics.json")[section]
        if r["dataset"] == dataset and r["measure"] == measure
    )


@pytest.mark.parametrize(
    ("analysis", "model", "section", "dataset", "measure", "tol"),
    [
        ("response_24h", "mh", "rma_mh", "ketamine_24h", "OR", 1e-8),
        ("response_d28", "mh", "rma_mh", "ketamine_d28", "OR", 1e-8),
        ("response_24h", "peto", "rma_peto", "ketamine_24h", "PETO", 1e-8),
        ("response_d28", "peto", "rma_peto", "ketamine_d28", "PETO", 1e-8),
        ("response_24h", "glmm", "rma_glmm", "ketamine_24h", "OR", 1e-4),
        ("response_rate_24h", "glmm", "rma_glmm", "ketamine_24h", "PLO", 1e-4),
    ],
)
def test_pooled_raw_count_models_match_metafor(
    ketamine_tables, analysis, model, section, dataset, measure, tol
):
    """pooled.csv rows model = mh | peto | glmm (frequentist.binary), from data/raw through the
    workflow's tables, against rma.mh / rma.peto / rma.glmm on the same counts."""
    _, _, pooled = ketamine_tables
    row = pooled[
        (pooled["analysis"] == analysis) & (pooled["subgroup"] == "") & (pooled["model"] == model)
    ]
    assert len(row) == 1
    row, ref = row.iloc[0], _diag(section, dataset, measure)
    assert row["k"] == ref["k"] and row["converged"]
    cols = ["estimate", "se", "ci_low", "ci_high", "tau2", "i2"]
    cols += ["pi_low", "pi_high"] if model == "glmm" else ["q", "q_p"]
    for col in cols:
        scale = 100 if col == "i2" else 1  # a percentage: compared as a proportion
        assert close(row[col] / scale, ref[col] / scale, tol), (col, row[col], ref[col])
    if model != "glmm":  # a fixed-effect model's prediction interval is its CI, as metafor's
        assert (row["pi_low"], row["pi_high"]) == (row["ci_low"], row["ci_high"])


def test_raw_count_models_flag_what_they_cannot_fit(ketamine_tables):
    """A GLMM on one study is a flagged row, not a crash and not a silent number (an MH OR
    without informative tables, which the real data no longer have, is tested end to end in
    test_degenerate.py)."""
    _, _, pooled = ketamine_tables
    glmm = pooled[(pooled["model"] == "glmm") & (pooled["k"] < 2)]
    assert len(glmm) and not glmm["converged"].any()
    assert glmm["estimate"].isna().all() and (glmm["note"] == "k < 2: cannot fit the GLMM").all()
    failed = pooled[(pooled["model"] == "mh") & ~pooled["converged"].astype(bool)]
    assert failed["estimate"].isna().all() and failed["note"].str.contains("undefined").all()


@pytest.fixture(scope="module")
def ketamine_diagnostics(ketamine_tables):
    from ketameta.pooling import diagnostics_tables
    from ketameta.workflow import load_data

    settings, effects, _ = ketamine_tables
    return diagnostics_tables(effects, settings, load_data(settings).studies)


@pytest.mark.parametrize("test", ["z", "knha"])
@pytest.mark.parametrize("moderator", ["route", "year"])
def test_metareg_table_matches_metafor(ketamine_diagnostics, moderator, test):
    """metareg.csv rows (response_24h, moderators joined from studies.csv) against
    rma(yi, vi, mods = ~moderator, method = "REML") on the same data
    (tests/reference/make_metareg_fixtures.R)."""
    table = ketamine_diagnostics["metareg"]
    rows = table[
        (table["analysis"] == "response_24h")
        & (table["moderator"] == moderator)
        & (table["test"] == test)
    ]
    ref = next(
        r
        for r in fixture("metareg.json")["metareg"]
        if r["id"] == f"ketamine_24h:OR|~{moderator}|REML|{test}"
    )
    assert list(rows["term"]) == ref["coef_names"]
    for col, key in (("estimate", "coef"), ("se", "se"), ("ci_low", "ci_low"), ("pval", "pval")):
        for ours, theirs in zip(rows[col], ref[key], strict=True):
            assert close(ours, theirs, 1e-5), (col, ours, theirs)
    first = rows.iloc[0]
    for col in ("qm", "qm_p", "qe", "qe_p", "tau2"):
        assert close(first[col], ref[col], 1e-5), (col, first[col], ref[col])
    assert close(first["r2"] / 100, ref["r2"] / 100, 1e-5)


@pytest.mark.parametrize("test", ["z", "knha"])
def test_subgroup_differences_match_metafor(ketamine_diagnostics, test):
    """subgroups.csv: Q-between by drug for response_24h, three ways, against metafor."""
    table = ketamine_diagnostics["subgroups"]
    rows = table[(table["analysis"] == "response_24h") & (table["test"] == test)]
    ref = next(
        r
        for r in fixture("metareg.json")["subgroup"]
        if r["id"] == f"ketamine_24h:OR|drug|REML|{test}"
    )
    assert sorted(rows["q_test"]) == sorted(ref["tests"])
    for _, row in rows.iterrows():
        theirs = ref["tests"][row["q_test"]]
        assert close(row["stat"], theirs["qm"], 1e-5), row["q_test"]
        assert close(row["pval"], theirs["qm_p"], 1e-5), row["q_test"]
        assert row["df1"] == theirs["qm_df1"] == 1


def test_unknown_moderator_column_is_a_config_error():
    from ketameta.errors import InputError

    raw = load_settings(REPO / "config/config.yaml", root=REPO).raw
    analyses = {**raw["analyses"]}
    analyses["response_24h"] = {**analyses["response_24h"], "moderators": ["dose_mg"]}
    with pytest.raises(InputError) as err:
        prepare({**raw, "analyses": analyses}, REPO, "my.yaml")
    assert str(err.value) == (
        "my.yaml, key 'analyses.response_24h.moderators': study column 'dose_mg' (a moderator "
        "of analysis 'response_24h') is not in data/raw/studies.csv"
    )


def test_analysis_without_studies_gets_tables_figures_and_report(tmp_path):
    """k = 0 (no trial reports the outcome at that timepoint) is not an error: every promised
    file is written and says so, nothing crashes."""
    from ketameta.verify import svg_data
    from ketameta.workflow import figure_paths, step_figures, step_report, step_tables

    raw = load_settings(REPO / "config/config.yaml", root=REPO).raw
    # harms, time course and multiverse have tests of their own
    raw = {k: v for k, v in raw.items() if k not in ("safety", "multiverse", "timecourse")}
    analyses = {"none": {"outcome": "response", "timepoint": "y9", "measure": "OR"}}
    report = {k: v for k, v in raw["report"].items() if k != "claims"}
    settings = settings_from_dict({**raw, "analyses": analyses, "report": report}, REPO)
    tables = tmp_path / "tables"
    step_tables(settings, tables / "effects.csv", tables / "pooled.csv", tables)
    step_figures(settings, tables / "effects.csv", tables / "pooled.csv", tmp_path / "figures")
    for path in figure_paths(settings, tmp_path / "figures"):
        assert path.stat().st_size > 0
        if path.suffix == ".svg":
            assert svg_data(path) == {"figure": "empty", "message": NO_STUDIES}
    step_report(settings, tables / "effects.csv", tables / "pooled.csv", tmp_path / "report.md")
    assert "No study has data for this analysis." in (tmp_path / "report.md").read_text()
    page = (tmp_path / "report.html").read_text()
    assert "No study has data for this analysis." in page and page.count("<figure>") == 1
    sof = pd.read_csv(tables / "summary_of_findings.csv")
    assert sof["k"].tolist() == [0] and sof["certainty"].tolist() == ["no evidence"]


def test_bayes_rows_of_the_committed_results():
    """The Bayesian rows: the exact posterior in pooled.csv (checked against R double
    integration in test_bayes_exact.py) for every analysis, and each normal-normal MCMC fit of
    mcmc.csv within 3 MCSE of it -- recomputed here from the committed draws' summaries, not
    read from the note."""
    from ketameta.bayes_exact import MuPrior, TauPrior, exact_posterior

    pooled = pd.concat(
        [pd.read_csv(REPO / f"results/tables/{name}.csv") for name in ("pooled", "mcmc")],
        ignore_index=True,
    )
    assert set(pd.read_csv(REPO / "results/tables/pooled.csv")["method"]) & {"mcmc"} == set()
    effects = pd.read_csv(REPO / "results/tables/effects.csv")
    settings = load_settings(REPO / "config/config.yaml", root=REPO)
    for spec in settings.analyses:
        rows = pooled[(pooled["analysis"] == spec.name) & pooled["model"].str.startswith("bayes")]
        eff = effects[(effects["analysis"] == spec.name) & effects["included"]]
        # the binomial-normal model needs counts: OR (arm based) and PLO (single arm) only;
        # MCMC runs for two trials or more (one trial: the exact posterior is the answer)
        binomial = {("bayes_binomial", "mcmc")} if spec.measure in ("OR", "PLO") else set()
        sampled = ({("bayes_nn", "mcmc")} | binomial) if len(eff) >= 2 else set()
        assert set(zip(rows["model"], rows["method"], strict=True)) == (
            {("bayes_nn", "exact")} | sampled
        )
        tau = spec.tau_prior or {"kind": "halfnormal", "scale": 0.5}
        post = exact_posterior(
            eff["yi"], eff["vi"], MuPrior.normal(0, 10), TauPrior.halfnormal(tau["scale"])
        )
        exact = rows[rows["method"] == "exact"].iloc[0]
        assert close(exact["estimate"], post.mu_mean, 1e-9)
        assert close(exact["ci_low"], post.mu_low, 1e-9)
        if not sampled:
            continue
        mcmc = rows[(rows["model"] == "bayes_nn") & (rows["method"] == "mcmc")].iloc[0]
        for col, ref in (
            ("estimate", post.mu_mean),
            ("ci_low", post.mu_low),
            ("ci_high", post.mu_high),
            ("pi_low", post.pred_low),
            ("pi_high", post.pred_high),
            ("tau_mean", post.tau_mean),
        ):
            assert abs(mcmc[col] - ref) <= 3 * mcmc[f"{col}_mcse"], (spec.name, col)


def test_effects_carry_counts_and_combined_arms(ketamine_tables):
    _, effects, _ = ketamine_tables
    daly = effects[(effects["analysis"] == "response_24h") & (effects["study_id"] == "daly2018")]
    assert len(daly) == 1
    assert daly[["events_treat", "n_treat", "events_ctrl", "n_ctrl"]].iloc[0].tolist() == [
        12,
        34,
        1,
        33,
    ]
    assert daly["arms"].iloc[0] == "esk28+esk56+esk84+pbo"


def test_split_multiarm_divides_the_shared_control():
    raw = load_settings(REPO / "config/config.yaml", root=REPO).raw
    raw = {**raw, "effects": {**raw["effects"], "multiarm": "split"}}
    effects = effects_table(settings_from_dict(raw, REPO))
    daly = effects[(effects["analysis"] == "response_24h") & (effects["study_id"] == "daly2018")]
    assert daly["comparison"].tolist() == ["daly2018:esk28", "daly2018:esk56", "daly2018:esk84"]
    assert daly["n_ctrl"].tolist() == [11.0, 11.0, 11.0]
    assert np.allclose(daly["events_ctrl"], 1 / 3)


def test_subgroups_by_drug_have_their_own_tau2(ketamine_tables):
    _, _, pooled = ketamine_tables
    sub = pooled[
        (pooled["analysis"] == "response_24h")
        & (pooled["method"] == "REML")
        & (pooled["test"] == "z")
    ]
    assert set(sub["subgroup"]) == {"", "drug=esketamine", "drug=ketamine"}
    ket = sub[sub["subgroup"] == "drug=ketamine"].iloc[0]
    assert ket["k"] == 3 and ket["tau2"] >= 0


def _pinned(name: str) -> str:
    return read_yaml(REPO / "config/config.yaml")["data"]["sha256"][name]


def _copy_workflow(dest: Path) -> None:
    for rel in WORKFLOW_FILES:
        src = REPO / rel
        if src.is_dir():
            shutil.copytree(src, dest / rel, symlinks=True)
        else:
            shutil.copy(src, dest / rel)
    # config/schema.yaml is a link into the package; point it at the installed source
    link = dest / "config" / "schema.yaml"
    link.unlink()
    link.symlink_to(REPO / "src" / "ketameta" / "schema.yaml")


def _snakemake(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    return subprocess.run(
        [SNAKEMAKE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def test_workflow_runs_on_a_second_dataset(tmp_path):
    """`snakemake --configfile other.yaml` runs the same pipeline on the BCG trials."""
    _copy_workflow(tmp_path)
    proc = _snakemake(tmp_path, "--cores", "2", "--configfile", "tests/data/bcg/config.yaml")
    assert proc.returncode == 0, proc.stderr[-3000:]
    for rel in (
        "results/tables/effects.csv",
        "results/tables/pooled.csv",
        "results/report.md",
        "results/report.html",
        "results/tables/summary_of_findings.csv",
        "results/figures/flow_tb_rr.svg",
        "results/figures/forest_tb_rr.svg",
        "results/figures/forest_tb_rr.png",
    ):
        assert (tmp_path / rel).stat().st_size > 0, rel
    pooled = pd.read_csv(tmp_path / "results/tables/pooled.csv").fillna({"subgroup": ""})
    row = pooled[(pooled["subgroup"] == "") & (pooled["method"] == "REML")].iloc[0]
    ref = _fit("bcg:RR", "REML", "z")
    for col in ("estimate", "se", "ci_low", "ci_high", "tau2", "tau2_ci_low", "tau2_ci_high"):
        assert close(row[col], ref[col]), col
    assert not (tmp_path / "results/figures/forest_response_24h.svg").exists()
    assert set(pooled["subgroup"]) == {
        "",
        "allocation=alternate",
        "allocation=random",
        "allocation=systematic",
    }


def test_bad_data_stops_workflow_with_one_line_and_no_results(tmp_path):
    _copy_workflow(tmp_path)
    arms = tmp_path / "data/raw/arms.csv"
    lines = arms.read_text().splitlines(keepends=True)
    header = lines[0].split(",")
    fields = lines[1].split(",")
    fields[header.index("n")] = "-5"
    lines[1] = ",".join(fields)
    arms.write_text("".join(lines))
    proc = _snakemake(tmp_path, "--cores", "2")
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [
        "ketameta: error: config/config.yaml, key 'data.sha256.arms': data/raw/arms.csv has "
        f"changed since it was pinned (sha256 {sha256_file(arms)[:12]}..., pinned "
        f"{_pinned('arms')[:12]}...); if the change is intended, run `ketameta pin --config "
        "config/config.yaml` and commit the new pins"
    ]
    assert not (tmp_path / "results").exists()
    # Re-pinned, the broken row itself is reported.
    pin = subprocess.run(
        [str(BIN / "ketameta"), "pin"], cwd=tmp_path, capture_output=True, text=True
    )
    assert pin.returncode == 0, pin.stderr
    proc = _snakemake(tmp_path, "--cores", "2")
    assert proc.returncode != 0
    err_lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert err_lines == [
        "ketameta: error: data/raw/arms.csv, line 2, column 'n': -5 is not a positive count"
    ]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()


def test_unknown_config_key_stops_workflow(tmp_path):
    _copy_workflow(tmp_path)
    cfg = tmp_path / "other.yaml"
    cfg.write_text((REPO / "config/config.yaml").read_text() + "\nsed: 3\n")
    proc = _snakemake(tmp_path, "--cores", "1", "--configfile", "other.yaml")
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1] == (
        f"ketameta: error: {cfg}, key 'sed': unknown key; allowed keys: analyses, bayes, data, "
        "effects, frequentist, multiverse, plots, report, safety, timecourse"
    )
    assert not (tmp_path / "results").exists()


def test_snakemake_lint_is_clean():
    proc = _snakemake(REPO, "--lint")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def default_runs(tmp_path_factory):
    """The default workflow run twice from scratch, in two fresh copies."""
    runs = []
    for i in range(2):
        dest = tmp_path_factory.mktemp(f"run{i}")
        _copy_workflow(dest)
        proc = _snakemake(dest, "--cores", "2")
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs.append(dest)
    return runs


@pytest.mark.slow
def test_committed_results_regenerate(default_runs):
    """The default workflow from scratch reproduces the committed results by `ketameta verify`'s
    rules (tables at 1e-9 relative, figures by their plotted numbers, report text exactly) and
    writes every promised output."""
    from ketameta.verify import compare_results, format_differences
    from ketameta.workflow import figure_paths

    run = default_runs[0]
    settings = load_settings(REPO / "config/config.yaml", root=REPO)
    for path in figure_paths(settings, run / "results/figures"):
        assert path.stat().st_size > 0, path
    diffs = compare_results(REPO / "results", run / "results")
    assert not diffs, format_differences(diffs)


@pytest.mark.slow
def test_snakemake_report_collects_the_annotated_outputs(default_runs):
    """`snakemake --report results/snakemake_report.html` works after a run (no plugin), holds
    the captions of the report() annotations, and is not taken for a workflow output."""
    from ketameta.verify import _files

    run = default_runs[1]
    out = run / "results/snakemake_report.html"
    try:
        proc = _snakemake(run, "--report", "results/snakemake_report.html")
        assert proc.returncode == 0, proc.stderr[-3000:]
        page = out.read_text(errors="replace")
        for caption in ("summary.rst", "flow.rst", "report_html.rst", "forest.rst"):
            first_words = (REPO / "report" / caption).read_text().split(".")[0][:40]
            assert first_words in page, caption
        assert "snakemake_report.html" not in " ".join(_files(run / "results"))
    finally:  # the other tests compare this run's results/ file by file
        out.unlink(missing_ok=True)


@pytest.mark.slow
def test_two_runs_are_byte_identical(default_runs):
    first, second = (
        sorted(p.relative_to(r) for p in (r / "results").rglob("*") if p.is_file())
        for r in default_runs
    )
    assert first == second and first
    for rel in first:
        assert (default_runs[0] / rel).read_bytes() == (default_runs[1] / rel).read_bytes(), rel


def test_diagnostics_tables_match_metafor_for_ketamine(ketamine_tables):
    """leave1out.csv / small_study.csv rows for response_24h agree with metafor's leave1out()
    and regtest() on the same data (fixture fitted at metafor's default 1e-5 threshold)."""
    from ketameta.pooling import diagnostics_tables

    settings, effects, _ = ketamine_tables
    tables = diagnostics_tables(effects, settings)
    loo = tables["leave1out"]
    loo = loo[loo["analysis"] == "response_24h"]
    ref = next(
        r for r in fixture("diagnostics.json")["leave1out"] if r["input"] == "ketamine_24h:OR"
    )
    k = int(effects[effects["analysis"] == "response_24h"]["included"].sum())
    assert len(loo) == len(ref["estimate"]) == k == 5
    ours = dict(zip(loo["study"], loo["estimate"], strict=True))
    for study, theirs in zip(ref["left_out"], ref["estimate"], strict=True):
        assert close(ours[study], theirs, 1e-5), study
    small = tables["small_study"]
    egger = small[(small["analysis"] == "response_24h") & (small["test"] == "egger_lm")].iloc[0]
    ref = next(
        r
        for r in fixture("diagnostics.json")["regtest"]
        if r["input"] == "ketamine_24h:OR" and r["model"] == "lm"
    )
    assert close(egger["stat"], ref["zval"], 1e-8) and close(egger["pval"], ref["pval"], 1e-8)
    assert int(effects[effects["analysis"] == "remission_w4"]["included"].sum()) == 2
    tiny = small[small["analysis"] == "remission_w4"]
    assert tiny["note"].tolist() == ["k < 3: small-study tests not run"]


def test_flagged_mcmc_fit_stops_the_run_when_configured(tmp_path, monkeypatch):
    """bayes.fail_on_flags: a fit that fails a diagnostic threshold stops the step with one
    line naming it, and mcmc.csv is not written; without the switch it is only logged."""
    import ketameta.pooling
    from ketameta.workflow import step_mcmc

    def fake_table(effects, settings, draws_dir=None):
        return pd.DataFrame(
            [
                {"analysis": "a", "subgroup": "", "model": "random", "method": "REML",
                 "test": "z", "converged": True, "note": "", "flags": float("nan")},
                {"analysis": "a", "subgroup": "", "model": "bayes_nn", "method": "mcmc",
                 "test": "", "converged": False, "note": "", "flags": "rhat;divergences"},
            ]
        )  # fmt: skip

    monkeypatch.setattr(ketameta.pooling, "mcmc_table", fake_table)
    effects = tmp_path / "effects.csv"
    pd.DataFrame({"analysis": ["a"], "subgroup": [""], "note": [""]}).to_csv(effects)
    raw = load_settings(REPO / "config/config.yaml", root=REPO).raw
    strict = settings_from_dict({**raw, "bayes": {**raw["bayes"], "fail_on_flags": True}}, REPO)
    with pytest.raises(SystemExit) as stop:
        step_mcmc(strict, effects, tmp_path / "mcmc.csv", tmp_path / "draws")
    assert str(stop.value) == (
        "ketameta: error: MCMC diagnostics failed (bayes.fail_on_flags): "
        "a/bayes_nn (rhat;divergences)"
    )
    assert not (tmp_path / "mcmc.csv").exists()
    lenient = settings_from_dict(raw, REPO)
    step_mcmc(lenient, effects, tmp_path / "mcmc.csv", tmp_path / "draws")
    assert (tmp_path / "mcmc.csv").exists()
