"""Contrast-level input (contrasts.csv, generic inverse variance): conversion checked by hand,
validation errors that name file, line and column, pooling with arm-level rows, the forest
plot's marking, and the real Canuso 2018 rows end to end."""

from __future__ import annotations

import math
import shutil

import pytest
from conftest import REPO

from ketameta.config import load_settings
from ketameta.errors import InputError
from ketameta.workflow import effects_table, load_data

HEADER = "study_id,outcome,timepoint,measure,estimate,ci_low,ci_high,se,yi,vi,source\n"


@pytest.fixture
def workdir(tmp_path):
    """The real data and config in a scratch directory, with contrasts.csv replaceable (its
    pin is dropped: the pins would, rightly, refuse an edited file)."""
    for rel in ("data/raw", "config"):
        shutil.copytree(REPO / rel, tmp_path / rel, symlinks=True)
    cfg = tmp_path / "config/config.yaml"
    lines = cfg.read_text().splitlines()
    cfg.write_text("\n".join(ln for ln in lines if not ln.startswith("    contrasts: ")) + "\n")
    return tmp_path


def _settings(workdir, rows: str, header: str = HEADER):
    (workdir / "data/raw/contrasts.csv").write_text(header + rows)
    return load_settings(workdir / "config/config.yaml", root=workdir)


def test_ratio_with_ci_is_logged_and_its_se_read_from_the_ci(workdir):
    """OR 2.0 (95% CI 1.2 to 3.5), a test input: yi = ln 2 = 0.693147...;
    se = (ln 3.5 - ln 1.2) / (2 x 1.959964) = (1.252763 - 0.182322) / 3.919928 = 0.273077."""
    s = _settings(workdir, "fu2020_aspire1,response,24h,OR,2.0,1.2,3.5,,,,test input\n")
    eff = effects_table(s)
    row = eff[(eff["analysis"] == "response_24h") & (eff["study_id"] == "fu2020_aspire1")].iloc[0]
    assert row["input"] == "contrast" and bool(row["included"])
    assert row["yi"] == pytest.approx(0.6931472, abs=1e-7)
    assert math.sqrt(row["vi"]) == pytest.approx(0.273077, abs=1e-6)
    # the arm-level trials of the analysis are still there, computed from their counts
    arms = eff[(eff["analysis"] == "response_24h") & (eff["input"] == "arms")]
    raw = load_data(s).arms
    held = raw[(raw["outcome"] == "response") & (raw["timepoint"] == "24h")]["study_id"]
    assert sorted(arms["study_id"]) == sorted(held.unique())


def test_other_levels_and_difference_measures(workdir):
    """A 90% CI of a mean difference -4 (-6, -2), a test input: se = 4 / (2 x 1.644854)
    = 1.215914."""
    from ketameta.workflow import load_data

    header = "study_id,outcome,timepoint,measure,estimate,ci_low,ci_high,level,source\n"
    s = _settings(workdir, "canuso2018,depression_change,d7,MD,-4,-6,-2,0.90,test\n", header)
    c = load_data(s).contrasts.iloc[0]
    assert c["yi"] == -4 and math.sqrt(c["vi"]) == pytest.approx(1.215914, abs=1e-6)
    assert c["how"] == "estimate/CI"


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("canuso2018,response,24h,OR,2.0,2.5,3.5,,,,s", "ci_low", "does not contain 2"),
        ("canuso2018,response,24h,OR,-2,,,0.3,,,s", "estimate", "not a positive ratio"),
        ("canuso2018,response,24h,OR,2.0,1.2,,,,,s", "ci_high", "needs both ci_low and ci_high"),
        ("canuso2018,response,24h,OR,,,,,0.5,,s", "vi", "yi and vi come together"),
        ("canuso2018,response,24h,OR,2.0,,,,0.5,0.1,s", "estimate", "or an estimate with"),
        ("canuso2018,response,24h,XX,2.0,,,0.2,,,s", "measure", "'XX' is not one of"),
        ("nosuchtrial,response,24h,OR,2.0,,,0.2,,,s", "study_id", "not in the studies file"),
        ("canuso2018,response,24h,OR,2.0,,,0.2,,,", "source", "is empty but required"),
    ],
)
def test_bad_contrast_rows_name_file_line_and_column(workdir, row, column, message):
    with pytest.raises(InputError, match=message) as err:
        effects_table(_settings(workdir, row + "\n"))
    assert err.value.file == "data/raw/contrasts.csv"
    assert err.value.line == 2 and err.value.column == column


def test_a_study_given_both_ways_is_an_error(workdir):
    s = _settings(workdir, "lapidus2014,response,24h,OR,2.0,1.2,3.5,,,,test input\n")
    with pytest.raises(InputError, match="'lapidus2014' has arm-level rows") as err:
        effects_table(s)
    assert err.value.file == "data/raw/contrasts.csv"


def test_canuso_rows_pool_with_the_arm_level_trial_by_hand():
    """madrs_change_24h on the real data: ASPIRE II from its arms (MD -15.7 - (-12.4) = -3.3,
    vi = 11.56^2/115 + 10.43^2/115) and Canuso 2018 as reported (-7.2, SE 2.85); the
    fixed-effect estimate is their inverse-variance mean, computed here by hand."""
    from ketameta.pooling import pooled_table

    s = load_settings(REPO / "config/config.yaml", root=REPO)
    eff = effects_table(s)
    part = eff[eff["analysis"] == "madrs_change_24h"].set_index("study_id")
    v1 = 11.56**2 / 115 + 10.43**2 / 115
    assert part.loc["ionescu2021_aspire2", "yi"] == pytest.approx(-3.3)
    assert part.loc["ionescu2021_aspire2", "vi"] == pytest.approx(v1)
    assert part.loc["canuso2018", "yi"] == -7.2 and part.loc["canuso2018", "vi"] == 2.85**2
    assert part.loc["canuso2018", "input"] == "contrast"
    w1, w2 = 1 / v1, 1 / 2.85**2
    fixed = (w1 * -3.3 + w2 * -7.2) / (w1 + w2)
    pooled = pooled_table(eff[eff["analysis"] == "madrs_change_24h"], s)
    fe = pooled[
        (pooled["analysis"] == "madrs_change_24h")
        & (pooled["model"] == "fixed")
        & (pooled["test"] == "z")
    ].iloc[0]
    assert fe["k"] == 2
    assert fe["estimate"] == pytest.approx(fixed, rel=1e-12)
    assert fe["se"] == pytest.approx(math.sqrt(1 / (w1 + w2)), rel=1e-12)


def test_forest_plot_marks_the_contrast_row(tmp_path):
    from ketameta.plots import forest_figure
    from ketameta.pooling import pooled_table

    s = load_settings(REPO / "config/config.yaml", root=REPO)
    eff = effects_table(s)
    eff = eff[eff["analysis"] == "madrs_change_24h"]
    pooled = pooled_table(eff, s)
    fits = pooled[(pooled["analysis"] == "madrs_change_24h") & (pooled["model"] == "random")]
    fig, drawn = forest_figure(eff, fits, title="t", measure="MD", method="REML", test="z")
    studies = {d["label"]: d for d in drawn if d["row"] == "study"}
    assert studies["Canuso 2018"].get("input") == "contrast"
    assert "input" not in studies["Ionescu DF 2021"]
    texts = [t.get_text() for t in fig.texts]
    assert any(t.startswith("† between-group estimate") for t in texts)
    assert any(t.get_text() == "Canuso 2018 †" for ax in fig.axes for t in ax.texts)
