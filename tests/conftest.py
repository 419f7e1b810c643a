"""Shared test helpers: fixture loading and one tolerance table (as metafor's own tests keep)."""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "reference" / "fixtures"

# One place for tolerances. Fixtures were generated with metafor 3.8.1 at convergence threshold
# 1e-12 (tests/reference/make_fixtures.R), so closed-form and iterative quantities alike are
# checked at 1e-6, relative to max(1, |reference|).
TOL = {"default": 1e-6, "closed_form": 1e-8}


@cache
def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def close(ours: float, ref: float | None, tol: float = TOL["default"]) -> bool:
    """Equal within ``tol * max(1, |ref|)``; a null reference must be NaN on our side."""
    if ref is None:
        return ours is None or (isinstance(ours, float) and math.isnan(ours))
    if ours is None or math.isnan(ours):
        return False
    return abs(ours - ref) <= tol * max(1.0, abs(ref))
