"""Time course against metafor and clubSandwich, computed in R from the raw data on its own path
(tests/reference/make_timecourse_fixtures.R): per-timepoint REML fits and pooled proportions,
the multilevel model with one coefficient per timepoint, and the log-time trend with CR2."""

from __future__ import annotations

import math

import pytest
from conftest import REPO, close, fixture

from ketameta.config import load_settings
from ketameta.timecourse import timecourse_tables
from ketameta.workflow import load_data

TOL = 1e-5  # the bar for rma.mv; the references are optima of three optimisers
CFG = {
    "outcomes": ["response", "remission"],
    "min_k": 2,
    "phi": 0.9,
    "phi_sensitivity": [0.5, 0.99],
}


@pytest.fixture(scope="module")
def tables():
    settings = load_settings(REPO / "config/config.yaml", root=REPO)
    return timecourse_tables(load_data(settings), CFG, settings.effect_options)


@pytest.mark.parametrize("outcome", ["response", "remission"])
def test_per_timepoint_fits_match_metafor(tables, outcome):
    table, _ = tables
    ref = fixture("timecourse.json")["outcomes"][outcome]["per_timepoint"]
    rows = table[(table["outcome"] == outcome) & (table["model"] == "REML")]
    assert sorted(set(rows["timepoint"])) == sorted(ref)  # exactly the timepoints with k >= 2
    for tp, r in ref.items():
        at = rows[rows["timepoint"] == tp]
        odds = at[at["measure"] == "OR"].iloc[0]
        assert odds["k"] == r["k"]
        for col in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2"):
            assert close(odds[col], r[col], TOL), (tp, col)
        for arm in ("treatment", "control"):
            p = at[(at["measure"] == "PLO") & (at["arm"] == arm)].iloc[0]
            for col in ("estimate", "ci_low", "ci_high"):
                assert close(p[col], r[f"plo_{arm}"][col], TOL), (tp, arm, col)


@pytest.mark.parametrize("outcome", ["response", "remission"])
@pytest.mark.parametrize("phi", [0.9, 0.5, 0.99])
def test_multilevel_model_matches_rma_mv(tables, outcome, phi):
    table, _ = tables
    ref = fixture("timecourse.json")["outcomes"][outcome]["multilevel"][str(phi)]
    rows = table[
        (table["outcome"] == outcome) & (table["model"] == "multilevel") & (table["phi"] == phi)
    ].set_index("timepoint")
    assert list(rows.index) == ref["coef"]  # one coefficient per timepoint, in time order
    for i, tp in enumerate(ref["coef"]):
        for col in ("estimate", "ci_low", "ci_high"):
            assert close(rows.loc[tp, col], ref[col][i], TOL), (tp, col)
    assert close(rows["tau2"].iloc[0], sum(ref["sigma2"]), TOL)


@pytest.mark.parametrize("outcome", ["response", "remission"])
@pytest.mark.parametrize("phi", [0.9, 0.5, 0.99])
def test_trend_and_cr2_match_metafor_and_clubsandwich(tables, outcome, phi):
    _, trend = tables
    ref = fixture("timecourse.json")["outcomes"][outcome]["multilevel"][str(phi)]["trend"]
    rows = trend[(trend["outcome"] == outcome) & (trend["phi"] == phi)]
    assert list(rows["term"]) == ["intercept", "log_time"]
    for i, (_, r) in enumerate(rows.iterrows()):
        for col in ("estimate", "se", "ci_low", "ci_high"):
            assert close(r[col], ref[col][i], TOL), (r["term"], col)
        for ours, theirs in (
            ("se_cr2", "cr2_se"),
            ("df_cr2", "cr2_df"),
            ("ci_low_cr2", "cr2_ci_low"),
            ("ci_high_cr2", "cr2_ci_high"),
        ):
            assert close(r[ours], ref[theirs][i], TOL), (r["term"], ours)
    assert close(rows["sigma2_trial"].iloc[0], ref["sigma2"][0], TOL)
    assert close(rows["sigma2_timepoint"].iloc[0], ref["sigma2"][1], TOL)


def test_phases_are_not_timepoints(tables):
    table, _ = tables
    assert not set(table["timepoint"]) & {"maintenance", "treatment_phase"}
    assert (table["hours"] > 0).all() and table["hours"].map(math.isfinite).all()


def test_continuous_outcome_is_a_config_error():
    from ketameta.config import settings_from_dict
    from ketameta.errors import InputError
    from ketameta.workflow import checked_effects_table

    raw = load_settings(REPO / "config/config.yaml", root=REPO).raw
    raw = {**raw, "timecourse": {**raw["timecourse"], "outcomes": ["depression_change"]}}
    with pytest.raises(InputError, match="is continuous") as err:
        checked_effects_table(settings_from_dict(raw, REPO), "config/config.yaml")
    assert err.value.key == "timecourse.outcomes[0]"


def test_outcome_without_data_gets_an_empty_figure(tables, tmp_path):
    from ketameta.plots import timecourse_plot
    from ketameta.verify import svg_data

    table, _ = tables
    timecourse_plot(table, outcome="si_response", phi=0.9, outputs=[("svg", tmp_path / "t.svg")])
    assert svg_data(tmp_path / "t.svg")["figure"] == "empty"


@pytest.mark.parametrize("trend", [False, True])
def test_bayesian_multilevel_at_the_reml_variances_is_the_reml_fit(trend):
    """The Bayesian model against the frequentist one (issue 11): with both variances held at
    their REML values (log-normal priors on sigma^2 of sd 1e-4 around them; a boundary 0 held
    at 1e-8) and a vague prior on beta (sd 1e4), the posterior of beta is the generalised least
    squares fit of rma_mv (itself checked against metafor above): same estimates and SEs."""
    import numpy as np
    import pandas as pd

    from ketameta.bayes_exact import TauPrior
    from ketameta.bayes_multilevel import exact_posterior, timecourse_design
    from ketameta.timecourse import _fit, _usable, timepoint_effects

    settings = load_settings(REPO / "config/config.yaml", root=REPO)
    eff = timepoint_effects(load_data(settings), "response", "OR", settings.effect_options)
    used = _usable(eff)
    d = timecourse_design(eff, 0.9, trend=trend)
    X = pd.DataFrame(d.X, columns=list(d.coef_names))
    fit = _fit(used, X, 0.9, 0.95)
    held = [TauPrior.lognormal_tau2(math.log(max(s2, 1e-8)), 1e-4) for s2 in fit.sigma2]
    post = exact_posterior(
        d.y,
        d.V,
        d.X,
        d.Z1,
        d.Z2,
        beta_sd=1e4,
        sigma_trial_prior=held[0],
        sigma_timepoint_prior=held[1],
        coef_names=d.coef_names,
    )
    assert np.allclose(post.beta_mean, fit.beta, rtol=1e-4, atol=1e-6)
    assert np.allclose(post.beta_sd, fit.se, rtol=1e-3)


def test_bayesian_rows_are_the_exact_posterior():
    """timecourse_tables' Bayesian rows: the posterior median and credible interval of each
    coefficient under the config's priors (bayes.mu_prior, bayes.tau_prior)."""
    from ketameta.bayes_exact import TauPrior
    from ketameta.bayes_multilevel import exact_posterior, timecourse_design
    from ketameta.timecourse import timepoint_effects

    settings = load_settings(REPO / "config/config.yaml", root=REPO)
    data = load_data(settings)
    bayes = {"mu_prior": {"mean": 0, "sd": 10}, "tau_prior": {"kind": "halfnormal", "scale": 0.5}}
    table, trend = timecourse_tables(data, CFG, settings.effect_options, bayes_cfg=bayes)
    eff = timepoint_effects(data, "response", "OR", settings.effect_options)
    d = timecourse_design(eff, 0.9, trend=True)
    post = exact_posterior(
        d.y,
        d.V,
        d.X,
        d.Z1,
        d.Z2,
        beta_sd=10.0,
        sigma_trial_prior=TauPrior.halfnormal(0.5),
        sigma_timepoint_prior=TauPrior.halfnormal(0.5),
        coef_names=d.coef_names,
    )
    rows = trend[(trend["outcome"] == "response") & (trend["model"] == "bayes")]
    assert list(rows["term"]) == ["intercept", "log_time"]
    assert list(rows["estimate"]) == list(post.beta_median)
    assert list(rows["ci_low"]) == list(post.beta_low) and list(rows["se"]) == list(post.beta_sd)
    per = table[(table["outcome"] == "response") & (table["model"] == "bayes multilevel")]
    reml = table[(table["outcome"] == "response") & (table["model"] == "multilevel")]
    assert list(per["timepoint"]) == list(reml[reml["phi"] == 0.9]["timepoint"])
    assert per["note"].str.startswith("Bayesian, exact posterior").all()
