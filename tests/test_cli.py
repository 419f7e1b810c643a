"""The ``ketameta`` command: help, errors as one line, and printing pooled estimates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
from conftest import REPO

KETAMETA = str(Path(sys.executable).parent / "ketameta")


def run(*args, cwd=REPO):
    return subprocess.run([KETAMETA, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_help_lists_commands():
    proc = run("--help")
    assert proc.returncode == 0
    for cmd in ("validate", "effects", "pool", "figures", "report", "show"):
        assert cmd in proc.stdout


def test_validate_real_data():
    proc = run("validate")
    assert proc.returncode == 0, proc.stderr
    arms = pd.read_csv(REPO / "data/raw/arms.csv")
    k = arms[(arms["outcome"] == "response") & (arms["timepoint"] == "24h")]["study_id"].nunique()
    assert f"response_24h: k = {k}" in proc.stdout
    # the arms whose n differs from the randomised n without a stated reason, as warnings
    warnings = [ln for ln in proc.stdout.splitlines() if ln.startswith("warning: ")]
    assert warnings and all("randomised" in ln for ln in warnings)
    assert proc.stdout.strip().endswith(f"ok: config and data are valid ({len(warnings)} warnings)")


def test_missing_config_is_one_line(tmp_path):
    proc = run("validate", "--config", "nope.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == "ketameta: error: nope.yaml: config file not found\n"


def test_show_prints_reading_scale_estimates():
    proc = run("show", "response_24h")
    assert proc.returncode == 0, proc.stderr
    assert "response_24h" in proc.stdout and "REML" in proc.stdout
