"""Effect sizes against metafor's escalc (tests/reference/fixtures/escalc.json)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import TOL, close, fixture

from ketameta.effects import binary_effects, continuous_effects, proportion_effects

# Raw proportions (PR) are in the fixture for completeness; ketameta pools proportions as PLO.
RECORDS = [r for r in fixture("escalc.json")["results"] if r["measure"] != "PR"]


def _inputs(rec: dict) -> dict:
    return fixture("escalc.json")["datasets"][rec["dataset"]]


def _ours(rec: dict):
    d = _inputs(rec)
    m = rec["measure"]
    if m in ("OR", "RR", "RD"):
        return binary_effects(
            m,
            d["ai"],
            d["n1i"],
            d["ci"],
            d["n2i"],
            add=rec["add"],
            to=rec["to"],
            drop00=bool(rec["drop00"]),
        )
    if m in ("MD", "SMD"):
        return continuous_effects(m, d["m1i"], d["sd1i"], d["n1i"], d["m2i"], d["sd2i"], d["n2i"])
    if m == "PLO":
        if rec.get("arm") == "treatment":
            xi, ni = d["ai"], d["n1i"]
        else:
            xi, ni = d["xi"], d["ni"]
        return proportion_effects(m, xi, ni, add=rec["add"], to=rec["to"])
    raise AssertionError(f"fixture has a measure the test does not know: {m}")


@pytest.mark.parametrize("rec", RECORDS, ids=[r["id"] for r in RECORDS])
def test_escalc_matches_metafor(rec):
    yi, vi = _ours(rec)
    assert len(yi) == len(rec["yi"])
    for i, (y_ref, v_ref) in enumerate(zip(rec["yi"], rec["vi"], strict=True)):
        assert close(float(yi[i]), y_ref, TOL["closed_form"]), (rec["study"][i], yi[i], y_ref)
        assert close(float(vi[i]), v_ref, TOL["closed_form"]), (rec["study"][i], vi[i], v_ref)


def test_fixture_covers_every_measure():
    measures = {r["measure"] for r in RECORDS}
    assert {"OR", "RR", "RD", "MD", "SMD", "PLO"} <= measures


def test_zero_cell_rule_adds_half_only_to_studies_with_a_zero():
    # 0/10 vs 5/10 gets 0.5 in every cell; 2/10 vs 5/10 is untouched.
    yi, vi = binary_effects("OR", [0, 2], [10, 10], [5, 5], [10, 10])
    assert yi[0] == pytest.approx(math.log((0.5 * 5.5) / (10.5 * 5.5)))
    assert vi[0] == pytest.approx(1 / 0.5 + 1 / 10.5 + 1 / 5.5 + 1 / 5.5)
    assert yi[1] == pytest.approx(math.log((2 * 5) / (8 * 5)))


def test_double_zero_dropped_for_ratios_kept_for_rd():
    yi, vi = binary_effects("OR", [0], [10], [0], [12], drop00=True)
    assert np.isnan(yi[0]) and np.isnan(vi[0])
    yi, vi = binary_effects("RR", [10], [10], [12], [12], drop00=True)  # only events: also dropped
    assert np.isnan(yi[0])
    yi, vi = binary_effects("RD", [0], [10], [0], [12], drop00=False)
    assert yi[0] == pytest.approx(0.5 / 11 - 0.5 / 13)
    assert vi[0] > 0


def test_no_correction_leaves_zero_cells_infinite():
    yi, _ = binary_effects("OR", [0], [10], [5], [10], to="none")
    assert np.isneginf(yi[0])
