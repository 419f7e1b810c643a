"""Bayesian rows of ``pooled.csv``, ``prior_sensitivity.csv`` and the saved posterior draws.

For every analysis (overall, not per subgroup) and the configured priors (``bayes:`` in the
config):

- ``model = bayes_nn, method = exact``: the normal-normal model on ``yi``/``vi`` by quadrature
  over tau (:mod:`ketameta.bayes_exact`, Röver 2020's approach), always, since it costs
  milliseconds;
- ``model = bayes_nn, method = mcmc``: the same model sampled with NUTS (nutpie; analyses with at
  least two trials: for one trial the exact posterior is the whole answer), checked
  against the exact posterior: a summary more than 3 Monte Carlo standard errors away is flagged
  in ``note`` (``flags`` holds failed sampler diagnostics);
- ``model = bayes_binomial, method = mcmc``: the binomial-normal model on the raw counts (arm
  based for the OR, single-arm logit for PLO; Smith et al. 1995, Günhan et al. 2020), without
  continuity correction.

Columns: ``estimate`` is the posterior mean of mu, ``se`` its sd, ``median``, ``ci_low/ci_high``
the equal-tailed credible interval, ``pi_low/pi_high`` the predictive interval of a new study's
effect, ``tau_mean``, ``tau_ci_low``/``tau_ci_high``, ``p_benefit`` (posterior probability that
the pooled effect favours the treatment; NaN for single-arm proportions) and, for MCMC,
``*_mcse`` Monte Carlo standard errors (``ketameta verify`` compares MCMC numbers by them),
``rhat_max``, ``ess_bulk_min``, ``ess_tail_min``, ``divergences``, ``bfmi_min``, ``flags``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ketameta.bayes_exact import MuPrior, TauPrior
from ketameta.effects import back_transform
from ketameta.errors import InputError

BAYES_COLUMNS = [
    "median",
    "p_benefit",
    "tau_mean",
    "tau_ci_low",
    "tau_ci_high",
    "prior",
    "estimate_mcse",
    "median_mcse",
    "ci_low_mcse",
    "ci_high_mcse",
    "pi_low_mcse",
    "pi_high_mcse",
    "tau_mean_mcse",
    "rhat_max",
    "ess_bulk_min",
    "ess_tail_min",
    "divergences",
    "bfmi_min",
    "flags",
]
SENSITIVITY_COLUMNS = [
    "analysis",
    "measure",
    "prior",
    "primary",
    "k",
    "estimate",
    "se",
    "median",
    "ci_low",
    "ci_high",
    "pi_low",
    "pi_high",
    "tau_mean",
    "tau_median",
    "tau_ci_low",
    "tau_ci_high",
    "p_benefit",
    "estimate_bt",
    "ci_low_bt",
    "ci_high_bt",
    "pi_low_bt",
    "pi_high_bt",
    "note",
]


def tau_prior(cfg: dict, key: str) -> TauPrior:
    """A :class:`TauPrior` from a config mapping ``{kind, scale | upper | meanlog, sdlog}``."""
    kind = cfg["kind"]
    try:
        if kind == "turner2015":
            return TauPrior.turner2015()
        if kind in ("halfnormal", "halfcauchy"):
            return TauPrior(kind, scale=float(cfg.get("scale", math.nan)))
        if kind == "uniform":
            return TauPrior(kind, upper=float(cfg.get("upper", math.nan)))
        return TauPrior(
            kind, meanlog=float(cfg.get("meanlog", math.nan)), sdlog=float(cfg.get("sdlog", 0))
        )
    except ValueError as exc:
        raise InputError(str(exc), key=key) from None


def mu_prior(cfg: dict) -> MuPrior:
    sd = cfg.get("sd")
    return MuPrior.flat() if sd is None else MuPrior.normal(float(cfg.get("mean", 0.0)), sd)


def _benefit(measure: str, favourable: str) -> str | None:
    if measure == "PLO":
        return None
    return "positive" if favourable == "higher" else "negative"


def _base(analysis, measure, k, n, model, method, prior) -> dict:
    return {
        "analysis": analysis,
        "subgroup": "",
        "measure": measure,
        "model": model,
        "method": method,
        "test": "",
        "k": k,
        "n_participants": n,
        "prior": prior,
    }


def _bt(row: dict, measure: str) -> dict:
    for col in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
        val = row.get(col, math.nan)
        row[f"{col}_bt"] = float(back_transform(measure, val)) if val is not None else math.nan
    return row


def exact_row(y, v, measure, benefit, mu_p, tau_p, level):
    """Summary fields of the exact posterior (the ``bayes_nn``/``exact`` row)."""
    from ketameta.bayes_exact import exact_posterior

    post = exact_posterior(y, v, mu_p, tau_p, level=level, benefit=benefit or "positive")
    return post, {
        "estimate": post.mu_mean,
        "se": post.mu_sd,
        "median": post.mu_median,
        "ci_low": post.mu_low,
        "ci_high": post.mu_high,
        "pi_low": post.pred_low,
        "pi_high": post.pred_high,
        "tau_mean": post.tau_mean,
        "tau_ci_low": post.tau_low,
        "tau_ci_high": post.tau_high,
        "p_benefit": post.p_benefit if benefit else math.nan,
        "level": level,
        "converged": post.converged,
        "note": post.note,
    }


def _mcmc_fields(res, benefit: str | None) -> dict:
    mu, tau, new = res.summary("mu"), res.summary("tau"), res.summary("theta_new")
    draws = res.draws_of("mu").ravel()
    p = math.nan
    if benefit:
        p = float(np.mean(draws > 0) if benefit == "positive" else np.mean(draws < 0))
    return {
        "estimate": mu.mean,
        "se": mu.sd,
        "median": mu.median,
        "ci_low": mu.low,
        "ci_high": mu.high,
        "pi_low": new.low,
        "pi_high": new.high,
        "tau_mean": tau.mean,
        "tau_ci_low": tau.low,
        "tau_ci_high": tau.high,
        "p_benefit": p,
        "estimate_mcse": mu.mcse_mean,
        "median_mcse": mu.mcse_median,
        "ci_low_mcse": mu.mcse_low,
        "ci_high_mcse": mu.mcse_high,
        "pi_low_mcse": new.mcse_low,
        "pi_high_mcse": new.mcse_high,
        "tau_mean_mcse": tau.mcse_mean,
        "rhat_max": res.max_rhat,
        "ess_bulk_min": res.min_ess_bulk,
        "ess_tail_min": res.min_ess_tail,
        "divergences": res.divergences,
        "bfmi_min": res.min_bfmi,
        "flags": res.flags,
        "level": res.level,
        "converged": res.ok,
        "note": res.notes,
    }


def _thresholds(cfg: dict):
    from ketameta.bayes import Thresholds

    t = cfg["thresholds"]
    return Thresholds(
        rhat_max=t["rhat_max"],
        ess_min=t["ess_min"],
        divergences_max=t["divergences_max"],
        bfmi_min=t["bfmi_min"],
    )


def bayes_rows(
    part, spec, favourable: str, cfg: dict, level: float, draws_dir=None, which: str = "all"
) -> list:
    """The Bayesian rows of one analysis (see the module docstring); MCMC draws are written to
    ``draws_dir/<analysis>_<model>.nc`` when ``draws_dir`` is given. ``which``: ``"exact"``
    (the quadrature rows), ``"mcmc"`` (the sampled rows; the exact posterior is still computed
    to check them) or ``"all"``."""
    used = part[part["included"].astype(bool)]
    y, v = used["yi"].to_numpy(float), used["vi"].to_numpy(float)
    n = float(np.nansum(used["n_treat"]) + np.nansum(used["n_ctrl"]))
    k = len(y)
    benefit = _benefit(spec.measure, favourable)
    mu_p = mu_prior(cfg["mu_prior"])
    tau_cfg = spec_tau_prior(spec, cfg)
    tau_p = tau_prior(tau_cfg, "bayes.tau_prior")
    label = f"mu~{mu_p.label}; tau~{tau_p.label}"
    rows = []
    if k == 0:
        if which == "mcmc":
            return []
        row = _base(spec.name, spec.measure, 0, n, "bayes_nn", "exact", label)
        return [
            _bt({**row, "converged": False, "note": "no studies", "level": level}, spec.measure)
        ]
    post = None
    if cfg["exact"] or (which != "exact" and "normal" in cfg["mcmc"]):
        post, fields = exact_row(y, v, spec.measure, benefit, mu_p, tau_p, level)
        if cfg["exact"] and which != "mcmc":
            row = _base(spec.name, spec.measure, k, n, "bayes_nn", "exact", label)
            rows.append(_bt({**row, **fields}, spec.measure))
    if not cfg["mcmc"] or which == "exact":
        return rows
    if k < 2:
        # one trial: nothing between trials to learn, tau is its prior; the exact posterior is
        # the answer, and NUTS in that funnel (one theta, tau free) diverges and misses it
        return rows
    from ketameta.bayes import compare_to_exact, default_sampler

    sampler = default_sampler()
    opts = {
        "seed": cfg["seed"],
        "chains": cfg["chains"],
        "draws": cfg["draws"],
        "tune": cfg["tune"],
        "target_accept": cfg["target_accept"],
        "level": level,
        "thresholds": _thresholds(cfg),
        "study": list(used["comparison"]),
    }
    fits = []
    if "normal" in cfg["mcmc"]:
        fits.append(("bayes_nn", lambda: sampler.fit_normal(y, v, mu_p, tau_p, **opts)))
    if "binomial" in cfg["mcmc"] and spec.measure == "OR":
        a, n1 = used["events_treat"].to_numpy(float), used["n_treat"].to_numpy(float)
        c, n2 = used["events_ctrl"].to_numpy(float), used["n_ctrl"].to_numpy(float)
        fits.append(
            (
                "bayes_binomial",
                lambda: sampler.fit_binomial(
                    a, n1, c, n2, mu_p, tau_p, alpha_sd=cfg["alpha_sd"], **opts
                ),
            )
        )
    if "binomial" in cfg["mcmc"] and spec.measure == "PLO":
        x, nx = used["events_treat"].to_numpy(float), used["n_treat"].to_numpy(float)
        fits.append(("bayes_binomial", lambda: sampler.fit_proportion(x, nx, mu_p, tau_p, **opts)))
    for model, fit in fits:
        row = _base(spec.name, spec.measure, k, n, model, "mcmc", label)
        try:
            res = fit()
        except ValueError as exc:  # data the model cannot take (e.g. no events at all)
            rows.append(
                _bt({**row, "converged": False, "note": str(exc), "level": level}, spec.measure)
            )
            continue
        fields = _mcmc_fields(res, benefit)
        notes = [fields["note"]] if fields["note"] else []
        if model == "bayes_nn" and post is not None:
            check = compare_to_exact(res, post)
            if check.flags:
                notes.append(f"more than 3 MCSE from the exact posterior: {check.flags}")
                fields["converged"] = False
            else:
                z = check.max_abs_z
                notes.append(f"within 3 MCSE of the exact posterior (largest {z:.2f} MCSE)")
        fields["note"] = "; ".join(notes)
        rows.append(_bt({**row, **fields}, spec.measure))
        if draws_dir is not None:
            Path(draws_dir).mkdir(parents=True, exist_ok=True)
            _write_draws(res, Path(draws_dir) / f"{spec.name}_{model}.nc")
    return rows


# Wall-clock timings differ between runs; they stay in the log, not in the draws file, so the
# same config and seed give byte-identical files.
_VOLATILE_ATTRS = ("compile_seconds", "sample_seconds", "created_at")


def _write_draws(res, path: Path) -> None:
    from ketameta.bayes import write_draws
    from ketameta.io import atomic_path

    tree = res.idata.copy()
    for node in tree.subtree:
        node.attrs = {k: v for k, v in node.attrs.items() if k not in _VOLATILE_ATTRS}
    with atomic_path(path) as tmp:
        write_draws(tree, tmp)


def spec_tau_prior(spec, cfg: dict) -> dict:
    return spec.tau_prior or cfg["tau_prior"]


def sensitivity_rows(part, spec, favourable: str, cfg: dict, level: float) -> list[dict]:
    """Exact posteriors of one analysis under the primary and every alternative tau prior."""
    used = part[part["included"].astype(bool)]
    y, v = used["yi"].to_numpy(float), used["vi"].to_numpy(float)
    if len(y) == 0:
        return []
    benefit = _benefit(spec.measure, favourable)
    mu_p = mu_prior(cfg["mu_prior"])
    priors = [(True, spec_tau_prior(spec, cfg))] + [(False, p) for p in cfg["sensitivity"]]
    rows, seen = [], set()
    for primary, tau_cfg in priors:
        tau_p = tau_prior(tau_cfg, "bayes.sensitivity")
        if tau_p.label in seen:
            continue
        seen.add(tau_p.label)
        post, fields = exact_row(y, v, spec.measure, benefit, mu_p, tau_p, level)
        row = {
            "analysis": spec.name,
            "measure": spec.measure,
            "prior": f"mu~{mu_p.label}; tau~{tau_p.label}",
            "primary": primary,
            "k": len(y),
            **{c: fields[c] for c in ("estimate", "se", "median", "ci_low", "ci_high")},
            **{c: fields[c] for c in ("pi_low", "pi_high", "tau_mean", "p_benefit")},
            "tau_median": post.tau_median,
            "tau_ci_low": post.tau_low,
            "tau_ci_high": post.tau_high,
            "note": post.note,
        }
        rows.append(_bt(row, spec.measure))
    return rows
