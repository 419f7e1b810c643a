"""The report (issue 6): summary of findings against metafor and R's power.prop.test, claims
verdicts, study flow counted independently from the CSV, every section and figure present in
report.md and the self-contained report.html, and (slow tier) the page in headless Chromium."""

from __future__ import annotations

import csv
import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, close, fixture

from ketameta.config import load_settings, read_claims, settings_from_dict
from ketameta.errors import InputError
from ketameta.summary import ois_per_arm, optimal_information_size, risk_from_or
from ketameta.workflow import DIAGNOSTIC_TABLES, REPORT_TABLES, read_table, step_report

SECTIONS = [
    "Summary of findings",
    "Claims check",
    "Pooled estimates",
    "Study flow",
    "Included studies",
    "Methods",
    "Reproducibility",
]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The report of the real data, rendered from the committed tables and figures."""
    out = tmp_path_factory.mktemp("report")
    shutil.copytree(REPO / "results/tables", out / "tables")
    shutil.copytree(REPO / "results/figures", out / "figures")
    for name in REPORT_TABLES:  # written by the step under test, not copied
        (out / "tables" / f"{name}.csv").unlink()
    for flow in (out / "figures").glob("flow_*.svg"):
        flow.unlink()
    settings = load_settings(REPO / "config/config.yaml", root=REPO)
    step_report(
        settings,
        out / "tables/effects.csv",
        out / "tables/pooled.csv",
        out / "report.md",
        [out / "tables" / f"{n}.csv" for n in DIAGNOSTIC_TABLES],
    )
    return settings, out


def _headings(md: str) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(r"(?m)^#{1,3} (.+)$", md)]


def test_every_section_and_figure_of_the_report(rendered):
    settings, out = rendered
    md = (out / "report.md").read_text()
    heads = _headings(md)
    for section in SECTIONS + [settings.title(a.name) for a in settings.analyses]:
        assert section in heads, section
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    # forest, funnel, posterior and study flow for each analysis with data
    assert len(images) >= 4 * len(settings.analyses) - 2
    for rel in images:
        assert (out / rel).is_file(), rel
    assert {f"figures/flow_{a.name}.svg" for a in settings.analyses} <= set(images)


def test_html_is_self_contained_and_inlines_every_figure(rendered):
    _, out = rendered
    md = (out / "report.md").read_text()
    page = (out / "report.html").read_text()
    n_images = len(re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md))
    assert page.count("<figure>") == n_images
    assert page.count("<svg") == n_images
    # nothing for a browser to fetch: no images, scripts, stylesheets or frames by reference
    for pattern in (r"<img\b", r"<script\b", r"<link\b", r"<iframe\b", r"\bsrc="):
        assert not re.search(pattern, page), pattern
    assert "@import" not in page and "url(http" not in page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), [i for i in set(ids) if ids.count(i) > 1][:5]
    # every in-page link has its target
    for target in re.findall(r'href="#([^"]+)"', page):
        assert target in ids, target
    for section in SECTIONS:
        assert f">{section}</h2>" in page, section
    # the Markdown and the page carry the same text (spot check: every claim's verdict)
    claims = pd.read_csv(out / "tables/claims.csv")
    for verdict in claims["verdict"]:
        assert f"<strong>{verdict}</strong>" in page and f"**{verdict}**" in md


def _md_table(md: str, heading: str) -> list[list[str]]:
    part = md.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    rows = [ln for ln in part.splitlines() if ln.startswith("| ")]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", r)[1:-1]] for r in rows[2:]]


def test_summary_table_prints_the_csv(rendered):
    """Every number of the summary-of-findings table is the CSV's, formatted (no recomputation
    in the template), and the CSV's OR is the primary model's row of pooled.csv."""
    settings, out = rendered
    sof = pd.read_csv(out / "tables/summary_of_findings.csv")
    rows = _md_table((out / "report.md").read_text(), "Summary of findings")
    comparative = [a for a in settings.analyses if a.measure in ("OR", "RR", "RD")]
    assert len(rows) == len(sof) == len(comparative) == 9

    def fmt(x, lo, hi):
        return f"{x:.2f} [{lo:.2f}, {hi:.2f}]"

    for cells, (_, r) in zip(rows, sof.iterrows(), strict=True):
        assert cells[0] == r["title"]
        assert cells[1] == f"{r['k']} ({r['n_participants']:.0f})"
        assert cells[2] == fmt(r["or"], r["or_ci_low"], r["or_ci_high"])
        assert cells[3] == fmt(r["rr"], r["rr_ci_low"], r["rr_ci_high"])
        assert cells[4] == f"{r['control_per1000']:.0f}"
        assert cells[5] == (
            f"{r['treat_per1000']:.0f} [{r['treat_per1000_ci_low']:.0f}, "
            f"{r['treat_per1000_ci_high']:.0f}]"
        )
        assert cells[11] == r["certainty"]
    pooled = pd.read_csv(out / "tables/pooled.csv").fillna({"subgroup": ""})
    for _, r in sof.iterrows():
        p = pooled[
            (pooled["analysis"] == r["analysis"])
            & (pooled["subgroup"] == "")
            & (pooled["model"] == "random")
            & (pooled["method"] == "REML")
            & (pooled["test"] == "z")
        ].iloc[0]
        own = r["measure"].lower()  # the analysis's own measure is its primary model's row
        assert r[own] == p["estimate_bt"] and r[f"{own}_pi_high"] == p["pi_high_bt"]


def test_summary_of_findings_matches_metafor(rendered):
    """OR, RR and the treatment-arm proportion by metafor's rma (REML) with predict(), the
    corresponding risk per 1000 and the optimal information size by R's power.prop.test
    (tests/reference/make_summary_fixtures.R)."""
    _, out = rendered
    sof = pd.read_csv(out / "tables/summary_of_findings.csv").set_index("analysis")
    effects = pd.read_csv(out / "tables/effects.csv")
    ref_all = fixture("summary.json")["analyses"]
    assert set(ref_all) == set(sof.index)
    for name, ref in ref_all.items():
        # the fixture's counts are the ones the package analyses
        eff = effects[effects["analysis"] == name]
        assert list(eff["study_id"]) == ref["inputs"]["study_id"]
        assert list(eff["events_treat"]) == ref["inputs"]["events_treat"]
        assert list(eff["n_ctrl"]) == ref["inputs"]["n_ctrl"]
        r = sof.loc[name]
        for ours, theirs in (("or", "or"), ("rr", "rr"), ("treat_rate", "plo")):
            for col in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
                key = ours if col == "estimate" else f"{ours}_{col}"
                assert close(r[key], ref[theirs][col]), (name, key, r[key], ref[theirs][col])
        assert close(r["control_rate"], ref["acr"], 1e-12)
        for col, value in zip(
            ("treat_per1000", "treat_per1000_ci_low", "treat_per1000_ci_high"),
            ref["treat_risk"],
            strict=True,
        ):
            assert close(r[col] / 1000, value), (name, col)
        assert r["ois"] == 2 * math.ceil(ref["ois_per_arm"] - 1e-9)


@pytest.mark.parametrize("case", fixture("summary.json")["ois_grid"], ids=str)
def test_optimal_information_size_is_power_prop_test(case):
    higher = case["change"] > 0
    ours = ois_per_arm(case["p1"], abs(case["change"]), 0.05, 0.8, higher)
    assert close(ours, case["n"], 1e-8), (ours, case["n"])
    assert optimal_information_size(case["p1"], abs(case["change"]), 0.05, 0.8, higher) == (
        2 * math.ceil(ours)
    )


def test_optimal_information_size_undefined_when_the_change_leaves_0_1():
    assert math.isnan(optimal_information_size(0.7, 0.5, 0.05, 0.8, higher=True))
    assert math.isnan(optimal_information_size(0.0, 0.25, 0.05, 0.8))


def test_risk_from_odds_ratio():
    # OR 1 leaves the control rate; the odds of the result are OR x the control odds
    assert risk_from_or(0.2, 1.0) == pytest.approx(0.2, abs=1e-15)
    r = risk_from_or(0.2, 3.0)
    assert r / (1 - r) == pytest.approx(3.0 * 0.2 / 0.8, rel=1e-12)
    assert math.isnan(risk_from_or(float("nan"), 2.0))


def test_study_flow_counts_from_the_csv(rendered):
    """The flow table's counts, recounted here from data/raw with the csv module."""
    settings, out = rendered
    flow = pd.read_csv(out / "tables/study_flow.csv")
    with open(REPO / "data/raw/arms.csv", newline="", encoding="utf-8") as fh:
        arms = list(csv.DictReader(fh))
    with open(REPO / "data/raw/contrasts.csv", newline="", encoding="utf-8") as fh:
        arms += list(csv.DictReader(fh))  # a trial counts with arm or contrast rows
    with open(REPO / "data/raw/studies.csv", newline="", encoding="utf-8") as fh:
        n_studies = sum(1 for _ in csv.DictReader(fh))
    for spec in settings.analyses:
        f = flow[flow["analysis"] == spec.name].set_index("step")["n_trials"]
        outcome = {a["study_id"] for a in arms if a["outcome"] == spec.outcome}
        at_tp = {
            a["study_id"]
            for a in arms
            if a["outcome"] == spec.outcome and a["timepoint"] == spec.timepoint
        }
        assert f["data"] == n_studies
        assert f["outcome"] == len(outcome)
        assert f["timepoint"] == len(at_tp)
        assert f["included"] <= f["eligible"] <= f["timepoint"]
    # Remission at 24 h: one trial has no remitter in either arm, and is said so
    rem = flow[(flow["analysis"] == "remission_24h")]
    excluded = rem[rem["step"] == "excluded"]
    effects = pd.read_csv(out / "tables/effects.csv")
    dropped = effects[(effects["analysis"] == "remission_24h") & ~effects["included"]]
    assert int(excluded["n_trials"].sum()) == len(dropped)


def test_included_studies_carry_sources_and_identifiers(rendered):
    _, out = rendered
    studies = pd.read_csv(out / "tables/included_studies.csv", keep_default_na=False)
    effects = pd.read_csv(out / "tables/effects.csv")
    assert set(studies["study_id"]) == set(effects.loc[effects["included"], "study_id"])
    assert (studies["data_sources"] != "").all()
    assert (studies["identifier"] != "").all()
    md = (out / "report.md").read_text()
    for _, s in studies[studies["url"] != ""].iterrows():
        assert f"]({s['url']})" in md


# --- claims ---------------------------------------------------------------------------------


def _settings_with_claims(tmp_path: Path, text: str):
    (tmp_path / "claims.yaml").write_text(text)
    raw = load_settings(REPO / "config/config.yaml", root=REPO).raw
    for name in ("studies", "arms"):
        dest = tmp_path / "data" / f"{name}.csv"
        dest.parent.mkdir(exist_ok=True)
        shutil.copy(REPO / "data/raw" / f"{name}.csv", dest)
    cfg = {
        **raw,
        "data": {"studies": "data/studies.csv", "arms": "data/arms.csv"},
        "report": {
            **{k: v for k, v in raw["report"].items() if k != "replications"},
            "claims": "claims.yaml",
        },
    }
    return settings_from_dict(cfg, tmp_path, "cfg.yaml")


CLAIM = "claims:\n  - {id: a, text: t, analysis: response_24h, test: greater, threshold: 1}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            CLAIM.replace("threshold: 1", "threshold: 1, colour: red"),
            "claims.yaml, key 'claims[0].colour': unknown key",
        ),
        (
            CLAIM.replace(", threshold: 1", ""),
            "claims.yaml, key 'claims[0]': 'threshold' is a required property",
        ),
        (
            CLAIM.replace("response_24h", "nope"),
            "claims.yaml, key 'claims[0].analysis': analysis 'nope' is not in the config",
        ),
        (CLAIM + CLAIM[len("claims:\n") :], "claims.yaml, key 'claims[1].id': duplicate claim id"),
        (CLAIM.replace("greater", "bigger"), "'bigger' is not one of: greater, less, about"),
        ("claims: []\n", "claims.yaml, key 'claims'"),
    ],
)
def test_bad_claims_file_is_a_clear_error(tmp_path, text, message):
    with pytest.raises(InputError) as err:
        _settings_with_claims(tmp_path, text)
    assert message in str(err.value), str(err.value)


def test_missing_claims_file_is_a_clear_error(tmp_path):
    raw = load_settings(REPO / "config/config.yaml", root=REPO).raw
    cfg = {**raw, "report": {**raw["report"], "claims": "config/absent.yaml"}}
    with pytest.raises(InputError, match="claims file 'config/absent.yaml' not found"):
        settings_from_dict(cfg, REPO, "cfg.yaml")


def _pooled_row(lo: float, hi: float, est: float) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "analysis": "response_24h",
                "subgroup": "",
                "model": "random",
                "method": "REML",
                "test": "z",
                "k": 3,
                "n_participants": 100.0,
                "estimate_bt": est,
                "ci_low_bt": lo,
                "ci_high_bt": hi,
                "pi_low_bt": lo / 2,
                "pi_high_bt": hi * 2,
            }
        ]
    )


@pytest.mark.parametrize(
    ("test", "lo", "hi", "verdict"),
    [
        ("greater", 1.2, 3.0, "supported"),
        ("greater", 0.8, 3.0, "uncertain"),
        ("greater", 0.3, 0.9, "not supported"),
        ("less", 0.3, 0.9, "supported"),
        ("less", 1.1, 2.0, "not supported"),
        ("about", 0.62, 0.78, "supported"),
        ("about", 0.37, 0.65, "uncertain"),
        ("about", 0.30, 0.55, "not supported"),
        ("about", 0.85, 0.95, "not supported"),
    ],
)
def test_claim_verdicts(test, lo, hi, verdict):
    from ketameta.summary import claims_table

    settings = load_settings(REPO / "config/config.yaml", root=REPO)
    claim = {"id": "x", "text": "t", "analysis": "response_24h", "test": test}
    claim.update({"value": 0.7, "margin": 0.1} if test == "about" else {"threshold": 1.0})
    table = claims_table([claim], settings, _pooled_row(lo, hi, (lo + hi) / 2))
    assert table["verdict"].tolist() == [verdict]
    assert table["agreeing_models"].tolist() == [1] and table["models"].tolist() == [1]


def test_committed_claims_cover_the_popular_claims(rendered):
    """The three claims of the issue are checked, each against data (k >= 2); a claim tested
    by a single trial (relapse prevention: one randomised-withdrawal trial) says so."""
    settings, out = rendered
    claims = {c["id"]: c for c in read_claims(settings.claims_path, settings.raw)}
    assert {"relief_24h", "response_70pct", "sustained_d28"} <= set(claims)
    table = pd.read_csv(out / "tables/claims.csv").set_index("id")
    assert (table["k"] >= 1).all()
    assert (table.loc[["relief_24h", "response_70pct", "sustained_d28"], "k"] >= 2).all()
    single = table[table["k"] == 1]
    assert single["reason"].str.contains("one trial only").all()
    assert set(table["verdict"]) <= {"supported", "not supported", "uncertain"}
    # the 70% claim is tested against the pooled response proportion in the ketamine arms
    assert table.loc["response_70pct", "measure"] == "PLO"


# --- headless browser (slow tier) -----------------------------------------------------------


def _chromium() -> str:
    """Debian's chromium, installed when missing (the test set-up; needs root and apt)."""
    found = shutil.which("chromium")
    if found is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, timeout=900)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"], check=False, env=env, timeout=1800
        )
        found = shutil.which("chromium")
    if found is None:
        pytest.fail("chromium is not installed and could not be installed with apt-get")
    return found


def _console_messages(chromium: str, page: Path, tmp_path: Path) -> tuple[list[str], str]:
    proc = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    return [ln for ln in proc.stderr.splitlines() if ":CONSOLE" in ln], proc.stdout


@pytest.mark.slow
def test_report_opens_in_headless_chromium_without_console_errors(rendered, tmp_path):
    chromium = _chromium()
    # the check can fail: a page with a script error and a missing image is caught
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><head><title>t</title></head><body>"
        '<img src="missing.png"><script>undefinedFunction();</script></body></html>'
    )
    messages, _ = _console_messages(chromium, bad, tmp_path)
    assert any("undefinedFunction" in m for m in messages), messages
    _, out = rendered
    messages, dom = _console_messages(chromium, out / "report.html", tmp_path)
    assert messages == []
    assert "Summary of findings</h2>" in dom and dom.count("<svg") >= 30


def test_report_of_a_second_dataset(tmp_path):
    """The BCG trials (risk ratio, lower is better, no claims file): every section but the
    claims check, a summary-of-findings row, flows and the inlined figures."""
    from ketameta.pooling import diagnostics_tables, pooled_table
    from ketameta.workflow import effects_table, step_figures

    settings = load_settings(REPO / "tests/data/bcg/config.yaml", root=REPO)
    tables = tmp_path / "tables"
    tables.mkdir()
    effects = effects_table(settings)
    effects.to_csv(tables / "effects.csv", index=False)
    pooled_table(effects, settings).to_csv(tables / "pooled.csv", index=False)
    paths = []
    for name, frame in diagnostics_tables(effects, settings).items():
        frame.to_csv(tables / f"{name}.csv", index=False)
        paths.append(tables / f"{name}.csv")
    step_figures(settings, tables / "effects.csv", tables / "pooled.csv", tmp_path / "figures")
    step_report(
        settings,
        tables / "effects.csv",
        tables / "pooled.csv",
        tmp_path / "report.md",
        paths,
        "tests/data/bcg/config.yaml",
    )
    md = (tmp_path / "report.md").read_text()
    heads = _headings(md)
    for section in [s for s in SECTIONS if s != "Claims check"]:
        assert section in heads, section
    assert "Claims check" not in heads
    assert "BCG vaccine and tuberculosis (risk ratio)" in heads
    sof = read_table(tables / "summary_of_findings.csv")
    assert len(sof) == 1 and sof["k"].iloc[0] == 13
    # fewer events with the vaccine: RR below 1, and the implied vaccinated risk below control
    assert sof["rr"].iloc[0] < 1 and sof["treat_per1000"].iloc[0] < sof["control_per1000"].iloc[0]
    assert "snakemake --cores 4 --configfile tests/data/bcg/config.yaml" in md
    page = (tmp_path / "report.html").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert images and page.count("<figure>") == len(images)


def test_risk_of_bias_flag_counts_participants_in_high_risk_trials(tmp_path):
    """With an (illustrative, not extracted) rob_overall column: the share of participants of
    response at 24 h in trials marked high, against the 50% threshold."""
    from ketameta.summary import summary_of_findings
    from ketameta.workflow import effects_table, load_data

    settings = _settings_with_claims(tmp_path, CLAIM)
    studies = pd.read_csv(tmp_path / "data/studies.csv", dtype=str, keep_default_na=False)
    effects = effects_table(settings)
    counts = effects[effects["analysis"] == "response_24h"].set_index("study_id")
    n = counts["n_treat"] + counts["n_ctrl"]
    for high, flagged in (
        (["daly2018"], "no"),
        (["daly2018", "murrough2013", "canuso2018"], "yes"),
    ):
        studies["rob_overall"] = ["high" if s in high else "low" for s in studies["study_id"]]
        studies.loc[studies["study_id"] == "lii2023", "rob_overall"] = ""
        studies.to_csv(tmp_path / "data/studies.csv", index=False)
        data = load_data(settings)
        pooled = read_table(REPO / "results/tables/pooled.csv").fillna({"subgroup": ""})
        sof = summary_of_findings(settings, data, effects, pooled, None)
        row = sof[sof["analysis"] == "response_24h"].iloc[0]
        share = n[high].sum() / n.sum()
        assert row["rob"] == flagged
        assert row["rob_reason"] == (
            f"{100 * share:.0f}% of participants in high-risk trials; 1 trial(s) without a "
            "judgement"
        )
