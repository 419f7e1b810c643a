"""`ketameta verify`: the comparison rules on altered copies of the committed results, and the
command end to end (it must fail when one committed number is altered)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from ketameta.manifest import build_manifest, canonical_config_sha256
from ketameta.verify import compare_results, format_differences, svg_data

BIN = Path(sys.executable).parent


@pytest.fixture
def twin(tmp_path):
    """Two copies of the committed results/: (committed, regenerated)."""
    a, b = tmp_path / "committed", tmp_path / "regenerated"
    shutil.copytree(REPO / "results", a)
    shutil.copytree(REPO / "results", b)
    return a, b


def _edit_cell(path: Path, row: int, col: str, new: str) -> str:
    lines = path.read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    fields = lines[row].rstrip("\n").split(",")
    old = fields[header.index(col)]
    fields[header.index(col)] = new
    lines[row] = ",".join(fields) + "\n"
    path.write_text("".join(lines))
    return old


def test_identical_trees_have_no_difference(twin):
    assert compare_results(*twin) == []
    assert format_differences([]) == "no differences"


def test_one_altered_number_is_reported_with_file_row_and_column(twin):
    committed, regenerated = twin
    pooled = regenerated / "tables/pooled.csv"
    old = _edit_cell(pooled, 1, "estimate", "")  # placeholder to read the value
    _edit_cell(pooled, 1, "estimate", repr(float(old) * (1 + 1e-6)))
    diffs = compare_results(committed, regenerated)
    assert len(diffs) == 1
    d = diffs[0]
    assert d.file == "tables/pooled.csv"
    assert d.where.startswith("row 2, analysis=response_24h") and d.where.endswith("'estimate'")
    assert d.committed == old and d.rule == "relative 1e-09 + 1e-12"
    table = format_differences(diffs)
    assert "tables/pooled.csv" in table and "estimate" in table


def test_floating_point_noise_is_not_a_difference(twin):
    committed, regenerated = twin
    pooled = regenerated / "tables/pooled.csv"
    old = _edit_cell(pooled, 1, "estimate", "")
    _edit_cell(pooled, 1, "estimate", repr(float(old) * (1 + 1e-13)))
    assert compare_results(committed, regenerated) == []


def test_text_cell_nan_and_row_count_changes_are_differences(twin):
    committed, regenerated = twin
    pooled = regenerated / "tables/pooled.csv"
    _edit_cell(pooled, 2, "note", "something")
    _edit_cell(pooled, 3, "se", "")
    diffs = compare_results(committed, regenerated)
    assert [(d.where.split(", ")[0], d.where.split("'")[-2]) for d in diffs] == [
        ("row 3", "note"),
        ("row 4", "se"),
    ]
    lines = pooled.read_text().splitlines(keepends=True)
    pooled.write_text("".join(lines[:-1]))
    diffs = compare_results(committed, regenerated)
    assert [(d.where, d.rule) for d in diffs] == [("number of rows", "exact")]


def test_mcse_columns_set_the_tolerance(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for root, value in ((a, "0.500"), (b, "0.520")):
        (root / "tables").mkdir(parents=True)
        (root / "tables/bayes.csv").write_text(
            f"analysis,method,estimate,estimate_mcse\nx,mcmc,{value},0.01\n"
        )
    assert compare_results(a, b) == []  # 0.02 <= 4 x sqrt(0.01^2 + 0.01^2) = 0.057
    (b / "tables/bayes.csv").write_text(
        "analysis,method,estimate,estimate_mcse\nx,mcmc,0.56,0.01\n"
    )
    diffs = compare_results(a, b)
    assert len(diffs) == 1 and diffs[0].rule == "within 4 MCSE (0.0566)"


def _other_machine(root: Path) -> None:
    path = root / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["machine"] = {"arch": "x86_64", "cpu": "another", "cpu_flags_sha256": "0" * 64}
    path.write_text(json.dumps(manifest))


def test_another_processor_relaxes_only_what_depends_on_it(twin):
    """Results from another processor: numbers agree to 1e-5, an MCMC row's diagnostics and the
    report's MCMC rows are not compared; the same edits on the same machine are differences."""
    committed, regenerated = twin
    import pandas as pd

    mcmc = regenerated / "tables/mcmc.csv"
    table = pd.read_csv(mcmc, dtype=str, keep_default_na=False)  # notes hold quoted commas
    assert table.loc[0, "method"] == "mcmc"
    table.loc[0, "rhat_max"] = "1.5"
    table.to_csv(mcmc, index=False, lineterminator="\n")
    pooled = regenerated / "tables/pooled.csv"
    old = _edit_cell(pooled, 1, "estimate", "")
    _edit_cell(pooled, 1, "estimate", repr(float(old) * (1 + 1e-6)))
    report = regenerated / "report.md"
    lines = report.read_text().splitlines(keepends=True)
    i = next(n for n, ln in enumerate(lines) if "| bayes_nn | mcmc |" in ln)
    lines[i] = lines[i].replace("R-hat", "R-hat 9.99, was")
    report.write_text("".join(lines))
    same = compare_results(committed, regenerated)
    assert {(d.file, d.where.split("'")[-2] if "'" in d.where else "") for d in same} == {
        ("tables/mcmc.csv", "rhat_max"),
        ("tables/pooled.csv", "estimate"),
        ("report.md", ""),
    }
    _other_machine(regenerated)
    assert compare_results(committed, regenerated) == []
    # a real change is still one on another machine
    _edit_cell(pooled, 1, "estimate", repr(float(old) * (1 + 1e-4)))
    diffs = compare_results(committed, regenerated)
    assert [(d.file, d.rule) for d in diffs] == [("tables/pooled.csv", "relative 1e-05 + 1e-12")]


def test_figures_are_compared_by_their_plotted_numbers(twin):
    committed, regenerated = twin
    svg = regenerated / "figures/forest_response_24h.svg"
    data = svg_data(svg)
    assert data["figure"] == "forest" and data["rows"][0]["row"] == "study"
    first = data["rows"][0]["estimate"]
    text = svg.read_text()
    assert text.count(repr(first)) == 1
    svg.write_text(text.replace(repr(first), repr(first + 0.01)))
    diffs = compare_results(committed, regenerated)
    assert [(d.file, d.where) for d in diffs] == [
        ("figures/forest_response_24h.svg", "rows[0].estimate")
    ]
    # PNG twins are checked for presence, not pixels
    png = regenerated / "figures/funnel_response_24h.png"
    png.write_bytes(png.read_bytes() + b"\0")
    assert len(compare_results(committed, regenerated)) == 1
    png.unlink()
    diffs = compare_results(committed, regenerated)
    assert ("figures/funnel_response_24h.png", "file", "missing") in [
        (d.file, d.where, d.regenerated) for d in diffs
    ]


def test_report_differences_show_where_lines_part(twin):
    committed, regenerated = twin
    report = regenerated / "report.md"
    lines = report.read_text().splitlines(keepends=True)
    i, old = next(
        (n, m.group(0))
        for n, line in enumerate(lines)
        if (m := re.search(r"\d+\.\d\d \[\d+\.\d\d, \d+\.\d\d\]", line))
    )
    new = f"{float(old.split()[0]) + 0.01:.2f} {old.split(' ', 1)[1]}"
    lines[i] = lines[i].replace(old, new, 1)
    report.write_text("".join(lines))
    diffs = compare_results(committed, regenerated)
    assert len(diffs) == 1 and diffs[0].where.startswith(f"line {i + 1}, column ")
    assert old in diffs[0].committed and new in diffs[0].regenerated


def test_manifest_compares_inputs_not_environment(twin):
    committed, regenerated = twin
    path = regenerated / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["packages"]["numpy"] = "0.0.0"
    manifest["git"] = None
    manifest["outputs"] = {k: "0" * 64 for k in manifest["outputs"]}
    path.write_text(json.dumps(manifest))
    assert compare_results(committed, regenerated) == []
    manifest["inputs"]["arms"]["sha256"] = "f" * 64
    path.write_text(json.dumps(manifest))
    diffs = compare_results(committed, regenerated)
    assert [d.where for d in diffs] == ["inputs.arms.sha256"]


def test_committed_manifest_describes_the_committed_inputs_and_outputs():
    """The manifest's hashes are those of the files in the repository (not of our own output)."""
    from ketameta.config import load_settings
    from ketameta.manifest import sha256_file

    manifest = json.loads((REPO / "results/manifest.json").read_text())
    settings = load_settings(REPO / "config/config.yaml", root=REPO)
    for name in ("studies", "arms"):
        assert manifest["inputs"][name]["sha256"] == sha256_file(REPO / f"data/raw/{name}.csv")
    assert manifest["config"]["sha256_file"] == sha256_file(REPO / "config/config.yaml")
    assert manifest["config"]["sha256_canonical"] == canonical_config_sha256(settings.raw)
    files = sorted(
        p.relative_to(REPO).as_posix()
        for p in (REPO / "results").rglob("*")
        if p.is_file() and p.name != "manifest.json"
    )
    assert sorted(manifest["outputs"]) == files
    rebuilt = build_manifest(settings, REPO / "config/config.yaml", files, root=REPO)
    assert {k: v for k, v in rebuilt["outputs"].items()} == manifest["outputs"]


def _copy_repo_workflow(dest: Path) -> None:
    for rel in ("Snakefile", "config", "report", "data/raw", "results"):
        src = REPO / rel
        if src.is_dir():
            shutil.copytree(src, dest / rel, symlinks=False)
        else:
            shutil.copy(src, dest / rel)


@pytest.mark.slow
def test_verify_command_fails_when_a_committed_number_is_altered(tmp_path):
    """End to end: `ketameta verify` reruns the workflow and exits 1, naming the altered cell."""
    _copy_repo_workflow(tmp_path)
    _edit_cell(tmp_path / "results/tables/pooled.csv", 5, "ci_low", "0.123")
    proc = subprocess.run(
        [str(BIN / "ketameta"), "verify"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
        # a bare PATH (only the venv and the system), the user's HOME: its compiler caches
        # (pytensor, matplotlib) are what a user's rerun has too
        # and OpenBLAS's kernel choice (OPENBLAS_CORETYPE), which the numbers depend on
        env={
            "PATH": f"{BIN}:/usr/bin:/bin",
            "HOME": os.environ.get("HOME", str(tmp_path)),
            **{k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")},
        },
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("tables/")]
    assert len(rows) == 1 and "row 6" in rows[0] and "'ci_low'" in rows[0] and "0.123" in rows[0]
    assert proc.stderr.strip() == (
        "ketameta: error: verify: 1 difference(s) between results/ and a fresh run"
    )


def test_numbers_at_the_floor_compare_absolutely(twin):
    """An ML tau^2 of 3.36e-13 against 3.37e-13 (operation order, not science) is no difference;
    1e-11 against 0 is one."""
    committed, regenerated = twin
    pooled = regenerated / "tables/pooled.csv"
    _edit_cell(committed / "tables/pooled.csv", 1, "tau2", "3.361604786152346e-13")
    _edit_cell(pooled, 1, "tau2", "3.362298436909334e-13")
    assert compare_results(committed, regenerated) == []
    _edit_cell(pooled, 1, "tau2", "1e-11")
    diffs = compare_results(committed, regenerated)
    assert [d.where.split("'")[-2] for d in diffs] == ["tau2"]
