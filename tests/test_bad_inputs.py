"""Bad input stops the run with ONE line naming file, line and column (or config key).

The corpus is data, not code: ``tests/bad_inputs/<case>/`` holds only the files that differ from
the valid baseline ``tests/bad_inputs/_baseline/`` (a five-trial extract of ``data/raw/`` plus a
small config) and an ``expected.yaml`` (``what``, ``file``, ``line``, ``column`` or ``key``,
``message``; ``xfail`` when the code is known to get the case wrong; ``subprocess`` / ``workflow``
to also run it end to end). ``tests/good_variants/<case>/`` holds inputs that look unusual but are
accepted (CRLF, padded cells, extra columns, ...); ``expected.yaml`` lists lines that
``ketameta validate`` must print.

Every case runs ``ketameta validate`` in-process (``ketameta.cli.main``, fast); the cases flagged
``subprocess`` also run as a real ``ketameta validate`` process (exit code, stderr, no traceback)
and those flagged ``workflow`` as ``snakemake --cores 2`` (nothing may be written). These
processes all start with the module and run while the in-process cases are checked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO

from ketameta.cli import main

HERE = Path(__file__).resolve().parent
BAD = HERE / "bad_inputs"
GOOD = HERE / "good_variants"
BASELINE = BAD / "_baseline"
BIN = Path(sys.executable).parent
# case file name -> where it goes in the work directory (the layout of the real workflow)
TARGETS = {
    "studies.csv": "data/raw/studies.csv",
    "arms.csv": "data/raw/arms.csv",
    "config.yaml": "config/config.yaml",
}
OK_LINE = "ok: config and data are valid"
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def case_names(root: Path) -> list[str]:
    return sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("_"))


def expected(root: Path, name: str) -> dict:
    return yaml.safe_load((root / name / "expected.yaml").read_text(encoding="utf-8"))


def params(root: Path, flag: str | None = None) -> list:
    out = []
    for name in case_names(root):
        exp = expected(root, name)
        if flag and not exp.get(flag):
            continue
        marks = [pytest.mark.xfail(strict=True, reason=exp["xfail"])] if exp.get("xfail") else []
        out.append(pytest.param(name, marks=marks, id=name))
    return out


def make_workdir(dest: Path, case_dir: Path | None, workflow: bool = False) -> Path:
    """Baseline files with the case's files overlaid, laid out as the real workflow."""
    for name, rel in TARGETS.items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        source = case_dir / name if case_dir and (case_dir / name).exists() else BASELINE / name
        shutil.copyfile(source, target)
    if workflow:
        shutil.copy(REPO / "Snakefile", dest / "Snakefile")
        shutil.copytree(REPO / "report", dest / "report")
        (dest / "config" / "schema.yaml").symlink_to(REPO / "src" / "ketameta" / "schema.yaml")
        (dest / "results").mkdir()
    return dest


def error_prefix(exp: dict) -> str:
    """``ketameta: error: <file>[, line N][, column 'c'][, key 'k']: `` as errors.InputError."""
    where = [exp["file"]]
    if exp.get("line") is not None:
        where.append(f"line {exp['line']}")
    if exp.get("column"):
        where.append(f"column '{exp['column']}'")
    if exp.get("key"):
        where.append(f"key '{exp['key']}'")
    return "ketameta: error: " + ", ".join(where) + ": "


def assert_one_clear_line(stderr: str, exp: dict) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    assert lines[0].startswith(error_prefix(exp)), (lines[0], error_prefix(exp))
    assert exp["message"] in lines[0], (lines[0], exp["message"])


def tree(root: Path) -> list[str]:
    """Every path under ``root`` except Snakemake's own bookkeeping."""
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if ".snakemake" not in p.relative_to(root).parts
    )


# --- the corpus itself -------------------------------------------------------------------------


def test_corpus_is_well_formed():
    bad, good = case_names(BAD), case_names(GOOD)
    assert len(bad) >= 35
    assert sorted(p.name for p in BASELINE.iterdir()) == sorted(TARGETS)
    for root, names in ((BAD, bad), (GOOD, good)):
        for name in names:
            files = {p.name for p in (root / name).iterdir()}
            assert "expected.yaml" in files, name
            assert files - {"expected.yaml"} <= set(TARGETS), name
            assert files - {"expected.yaml"}, f"{name}: no input file differs from the baseline"
            for f in files - {"expected.yaml"}:
                assert (root / name / f).read_bytes() != (BASELINE / f).read_bytes(), (name, f)
            exp = expected(root, name)
            assert exp["what"].strip(), name
            if root is BAD:
                assert {"file", "line", "message"} <= set(exp), name
                assert exp["file"].endswith((".csv", ".yaml")), name
            else:
                assert exp["stdout"], name


def test_baseline_validates(tmp_path, monkeypatch, capsys):
    make_workdir(tmp_path, None)
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and out.strip().endswith(OK_LINE)


# --- every bad case, in-process ----------------------------------------------------------------


@pytest.mark.parametrize("case", params(BAD))
def test_bad_input_gives_one_clear_line(case, tmp_path, monkeypatch, capsys):
    exp = expected(BAD, case)
    make_workdir(tmp_path, BAD / case)
    monkeypatch.chdir(tmp_path)
    code = main(["validate"])
    out, err = capsys.readouterr()
    assert code != 0, f"bad input accepted:\n{out}"
    assert out == ""
    assert_one_clear_line(err, exp)


@pytest.mark.parametrize("case", params(GOOD))
def test_good_variant_validates(case, tmp_path, monkeypatch, capsys):
    exp = expected(GOOD, case)
    make_workdir(tmp_path, GOOD / case)
    monkeypatch.chdir(tmp_path)
    code = main(["validate"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err == ""
    lines = out.splitlines()
    assert lines[-1] == OK_LINE
    for line in exp["stdout"]:
        assert line in lines, (line, out)


# --- a handful end to end: real processes, run concurrently ------------------------------------

CLI_CASES = params(BAD, "subprocess")
WORKFLOW_CASES = params(BAD, "workflow")
# Snakemake reads the config file itself (its YAML loader keeps the last of two equal keys) and
# hands ketameta the parsed dict. A dry run is enough to see whether the run would start, and
# keeps this file fast if the duplicate is (wrongly) accepted.
DRY_RUN_CASE = "config_duplicate_key"


@pytest.fixture(scope="module", autouse=True)
def end_to_end(tmp_path_factory):
    """Start every end-to-end process when the module starts (the in-process cases run in the
    meantime); return a function (kind, case) -> (CompletedProcess, tree before, tree after)."""
    logs = tmp_path_factory.mktemp("logs")  # outside the work directories, which are compared
    jobs = {}
    for kind, flagged, cmd in (
        ("cli", CLI_CASES, ["ketameta", "validate"]),
        ("snakemake", WORKFLOW_CASES, ["snakemake", "--cores", "2"]),
        ("dry-run", [pytest.param(DRY_RUN_CASE)], ["snakemake", "--cores", "2", "--dry-run"]),
    ):
        for p in flagged:
            (case,) = p.values
            d = tmp_path_factory.mktemp(f"{kind}_{case}")
            make_workdir(d, BAD / case, workflow=kind != "cli")
            out, err = logs / f"{kind}_{case}.out", logs / f"{kind}_{case}.err"
            with out.open("w") as fo, err.open("w") as fe:
                proc = subprocess.Popen(
                    [str(BIN / cmd[0]), *cmd[1:]], cwd=d, env=ENV, stdout=fo, stderr=fe
                )
            jobs[kind, case] = (d, tree(d), proc, out, err)
    results = {}

    def result(kind: str, case: str):
        if (kind, case) not in results:
            d, before, proc, out, err = jobs[kind, case]
            proc.wait(timeout=300)
            done = subprocess.CompletedProcess(
                proc.args, proc.returncode, out.read_text(), err.read_text()
            )
            results[kind, case] = (done, before, tree(d))
        return results[kind, case]

    yield result
    for *_, proc, _, _ in jobs.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("case", CLI_CASES)
def test_bad_input_cli_process_exits_nonzero_without_traceback(case, end_to_end):
    proc, before, after = end_to_end("cli", case)
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert_one_clear_line(proc.stderr, expected(BAD, case))
    assert after == before


@pytest.mark.parametrize("case", WORKFLOW_CASES)
def test_bad_input_stops_workflow_before_any_job(case, end_to_end):
    proc, before, after = end_to_end("snakemake", case)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stdout + proc.stderr
    assert_one_clear_line(proc.stderr, expected(BAD, case))
    assert after == before, "the failed run created files"
    assert "results" in after and not [p for p in after if p.startswith("results/")]


def test_duplicate_config_key_stops_workflow(end_to_end):
    proc, before, after = end_to_end("dry-run", DRY_RUN_CASE)
    assert proc.returncode != 0
    assert_one_clear_line(proc.stderr, expected(BAD, DRY_RUN_CASE))
    assert after == before
