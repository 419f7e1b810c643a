"""The code stays ruff-clean (lint and format), as the contributing rules ask."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import REPO

RUFF = str(Path(sys.executable).parent / "ruff")


def test_ruff_lint_clean():
    proc = subprocess.run([RUFF, "check", "src", "tests"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def test_ruff_format_clean():
    proc = subprocess.run(
        [RUFF, "format", "--check", "src", "tests"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout
