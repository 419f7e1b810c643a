"""The report's evidence tables: summary of findings, claims check, study flow, included studies.

Each is computed once by the report step and written to ``results/tables/`` (so every number the
report prints can be found, and checked, in a CSV); the templates only format them.

- Summary of findings as in GRADE (Guyatt et al. 2011, J Clin Epidemiol 64:383-394; Cochrane
  Handbook ch. 14): relative effects (OR and RR) by the primary model, the assumed control rate
  (median of the control arms) and the corresponding treatment rate per 1000 computed from the
  pooled OR (Handbook 14.1.5.1; Higgins et al. 2008), with data-derived flags for imprecision
  (CI includes no effect, or fewer participants than the optimal information size; Guyatt et al.
  2011, J Clin Epidemiol 64:1283-1293), inconsistency (I^2, prediction interval; IntHout et al.
  2016), small-study effects (Egger's test with at least 10 studies; Sterne et al. 2011) and risk
  of bias (share of participants in high-risk trials, when studies.csv has ``rob_overall``).
- Claims check: each claim of ``report.claims`` against the pooled estimate of its analysis.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd

from ketameta.effects import back_transform

SOF_COLUMNS = [
    "analysis",
    "title",
    "outcome",
    "timepoint",
    "measure",
    "method",
    "test",
    "k",
    "n_participants",
    "or",
    "or_ci_low",
    "or_ci_high",
    "or_pi_low",
    "or_pi_high",
    "rr",
    "rr_ci_low",
    "rr_ci_high",
    "rr_pi_low",
    "rr_pi_high",
    "control_rate",
    "control_per1000",
    "treat_per1000",
    "treat_per1000_ci_low",
    "treat_per1000_ci_high",
    "diff_per1000",
    "diff_per1000_ci_low",
    "diff_per1000_ci_high",
    "treat_rate",
    "treat_rate_ci_low",
    "treat_rate_ci_high",
    "treat_rate_pi_low",
    "treat_rate_pi_high",
    "i2",
    "tau2",
    "ois",
    "imprecision",
    "imprecision_reason",
    "inconsistency",
    "inconsistency_reason",
    "small_study",
    "small_study_reason",
    "rob",
    "rob_reason",
    "flags",
    "certainty",
]
CLAIM_COLUMNS = [
    "id",
    "text",
    "made_by",
    "analysis",
    "test",
    "target",
    "measure",
    "k",
    "n_participants",
    "estimate",
    "ci_low",
    "ci_high",
    "pi_low",
    "pi_high",
    "bayes_estimate",
    "bayes_ci_low",
    "bayes_ci_high",
    "verdict",
    "reason",
    "agreeing_models",
    "models",
]
FLOW_COLUMNS = ["analysis", "step", "label", "n_trials", "trials"]
STUDY_COLUMNS = [
    "study_id",
    "label",
    "design",
    "population",
    "drug",
    "route",
    "dose",
    "comparator",
    "comparator_type",
    "n_max",
    "analyses",
    "identifier",
    "url",
    "source",
    "data_sources",
    "rob_overall",
]
CERTAINTY = ["high", "moderate", "low", "very low"]
# Measures the summary of findings reports for binary comparisons.
SOF_MEASURES = ("OR", "RR", "RD")


def optimal_information_size(
    control_rate: float, relative_change: float, alpha: float, power: float, higher: bool = True
) -> float:
    """Total participants (two equal arms, each rounded up) to detect a relative change of the
    control rate with a two-sided test of two proportions (GRADE's optimal information size:
    Guyatt et al. 2011, J Clin Epidemiol 64:1283). Per arm, as R's ``power.prop.test``
    (Fleiss 1981, no continuity correction): ``n = (z_a sqrt(2 pbar qbar) + z_b sqrt(p1 q1 +
    p2 q2))^2 / (p1 - p2)^2``."""
    n = ois_per_arm(control_rate, relative_change, alpha, power, higher)
    return 2 * math.ceil(n) if math.isfinite(n) else math.nan


def ois_per_arm(
    control_rate: float, relative_change: float, alpha: float, power: float, higher: bool = True
) -> float:
    """Unrounded participants per arm (see :func:`optimal_information_size`)."""
    from scipy.stats import norm

    p1 = control_rate
    p2 = p1 * (1 + relative_change) if higher else p1 * (1 - relative_change)
    if not (0 < p1 < 1 and 0 < p2 < 1) or p1 == p2:
        return math.nan
    pbar = (p1 + p2) / 2
    za, zb = norm.ppf(1 - alpha / 2), norm.ppf(power)
    root = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return root**2 / (p1 - p2) ** 2


def risk_from_or(control_rate: float, odds_ratio: float) -> float:
    """Treatment rate implied by an odds ratio at an assumed control rate (Handbook 14.1.5.1)."""
    if not (math.isfinite(control_rate) and math.isfinite(odds_ratio)):
        return math.nan
    return control_rate * odds_ratio / (1 - control_rate + control_rate * odds_ratio)


def _primary(pooled: pd.DataFrame, analysis: str, primary: dict) -> pd.Series | None:
    rows = pooled[
        (pooled["analysis"] == analysis)
        & (pooled["subgroup"].fillna("") == "")
        & (pooled["method"] == primary["method"])
        & (pooled["test"] == primary["test"])
        & (~pooled["model"].astype(str).str.startswith("bayes"))
        & (pooled["model"].isin(["random", "fixed"]))
    ]
    return rows.iloc[0] if len(rows) else None


def _fit(data, spec, measure: str, settings, primary: dict) -> dict[str, float]:
    """Primary model of ``spec`` with another measure (for the columns the analysis lacks)."""
    from ketameta.effects import compute_effects
    from ketameta.frequentist import rma

    eff = compute_effects(data, replace(spec, measure=measure), settings.effect_options)
    used = eff[eff["included"].astype(bool)] if len(eff) else eff
    level = settings.raw["frequentist"]["level"]
    res = rma(used["yi"], used["vi"], primary["method"], primary["test"], level)
    out = {}
    for col in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
        out[col] = float(back_transform(measure, getattr(res, col)))
    return out


def _bt(row: pd.Series | None) -> dict[str, float]:
    if row is None:
        return dict.fromkeys(("estimate", "ci_low", "ci_high", "pi_low", "pi_high"), math.nan)
    return {
        c: float(row[f"{c}_bt"]) for c in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")
    }


def _prefixed(prefix: str, fit: dict[str, float]) -> dict[str, float]:
    """``estimate, ci_low, ...`` as ``<prefix>, <prefix>_ci_low, ...`` (the table's columns)."""
    return {prefix if c == "estimate" else f"{prefix}_{c}": x for c, x in fit.items()}


def _includes(lo: float, hi: float, value: float) -> bool:
    return math.isfinite(lo) and math.isfinite(hi) and lo <= value <= hi


def summary_of_findings(
    settings,
    data,
    effects: pd.DataFrame,
    pooled: pd.DataFrame,
    small_study: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per comparative binary analysis (OR, RR or RD): see the module docstring."""
    primary = settings.raw["frequentist"]["primary"]
    opts = settings.raw["report"]["summary"]
    rows = []
    for spec in settings.analyses:
        if spec.measure not in SOF_MEASURES:
            continue
        a_cfg = settings.raw["analyses"][spec.name]
        higher = a_cfg.get("favourable", "higher") == "higher"
        eff = effects[(effects["analysis"] == spec.name) & effects["included"].astype(bool)]
        own = _primary(pooled, spec.name, primary)
        fits = {
            m: (_bt(own) if m == spec.measure else _fit(data, spec, m, settings, primary))
            for m in ("OR", "RR")
        }
        plo = _fit(data, spec, "PLO", settings, primary)
        k = int(own["k"]) if own is not None else 0
        n = float(own["n_participants"]) if own is not None else 0.0
        ctrl = (eff["events_ctrl"] / eff["n_ctrl"]).to_numpy(float)
        acr = float(np.median(ctrl)) if len(ctrl) else math.nan
        orf = fits["OR"]
        treat = [risk_from_or(acr, orf[c]) for c in ("estimate", "ci_low", "ci_high")]
        row = {
            "analysis": spec.name,
            "title": settings.title(spec.name),
            "outcome": spec.outcome,
            "timepoint": spec.timepoint,
            "measure": spec.measure,
            "method": primary["method"],
            "test": primary["test"],
            "k": k,
            "n_participants": n,
            **_prefixed("or", orf),
            **_prefixed("rr", fits["RR"]),
            "control_rate": acr,
            "control_per1000": 1000 * acr,
            "treat_per1000": 1000 * treat[0],
            "treat_per1000_ci_low": 1000 * treat[1],
            "treat_per1000_ci_high": 1000 * treat[2],
            "diff_per1000": 1000 * (treat[0] - acr),
            "diff_per1000_ci_low": 1000 * (treat[1] - acr),
            "diff_per1000_ci_high": 1000 * (treat[2] - acr),
            **_prefixed("treat_rate", plo),
            "i2": float(own["i2"]) if own is not None else math.nan,
            "tau2": float(own["tau2"]) if own is not None else math.nan,
        }
        null = 0.0 if spec.measure == "RD" else 1.0
        row.update(_flags(row, _bt(own), null, k, n, higher, opts, spec, data, eff, small_study))
        rows.append(row)
    return pd.DataFrame(rows, columns=SOF_COLUMNS)


def _flags(row, own, null, k, n, higher, opts, spec, data, eff, small_study) -> dict:
    out: dict[str, object] = {}
    lo, hi = own["ci_low"], own["ci_high"]
    ois = optimal_information_size(
        row["control_rate"],
        opts["ois_relative_change"],
        opts["ois_alpha"],
        opts["ois_power"],
        higher,
    )
    out["ois"] = ois
    reasons = []
    if k == 0:
        reasons.append("no studies")
    elif _includes(lo, hi, null):
        reasons.append("95% CI includes no effect")
    if math.isfinite(ois) and n < ois:
        reasons.append(f"{n:.0f} participants, below the optimal information size of {ois:.0f}")
    out["imprecision"] = bool(reasons)
    out["imprecision_reason"] = "; ".join(reasons)

    reasons = []
    if math.isfinite(row["i2"]) and row["i2"] >= opts["i2_threshold"]:
        reasons.append(f"I² = {row['i2']:.0f}% (≥ {opts['i2_threshold']:g}%)")
    if k >= 2 and not _includes(lo, hi, null) and _includes(own["pi_low"], own["pi_high"], null):
        reasons.append("prediction interval includes no effect")
    out["inconsistency"] = bool(reasons)
    out["inconsistency_reason"] = "; ".join(reasons)

    ss = small_study if small_study is not None else pd.DataFrame(columns=["analysis", "test"])
    egger = ss[(ss["analysis"] == spec.name) & (ss["test"] == "egger_lm")]
    min_k = opts["small_study_min_k"]
    if k < min_k:
        out["small_study"] = "not assessable"
        out["small_study_reason"] = f"k = {k}, fewer than {min_k} studies (Sterne et al. 2011)"
    elif egger.empty or not math.isfinite(float(egger["pval"].iloc[0])):
        out["small_study"] = "not assessable"
        out["small_study_reason"] = "Egger's test not available"
    else:
        p = float(egger["pval"].iloc[0])
        out["small_study"] = "yes" if p < opts["small_study_p"] else "no"
        out["small_study_reason"] = f"Egger's test p = {p:.3f}"

    if "rob_overall" in data.studies.columns and len(eff):
        rob = data.studies.set_index("study_id")["rob_overall"].astype(str).str.lower()
        n_arm = eff["n_treat"].fillna(0) + eff["n_ctrl"].fillna(0)
        judged = eff["study_id"].map(rob).fillna("")
        high = float(n_arm[judged == "high"].sum()) / float(n_arm.sum())
        unknown = int((~judged.isin(["low", "some concerns", "high"])).sum())
        out["rob"] = "yes" if high > opts["rob_high_share"] else "no"
        out["rob_reason"] = f"{100 * high:.0f}% of participants in high-risk trials" + (
            f"; {unknown} trial(s) without a judgement" if unknown else ""
        )
    else:
        out["rob"] = "not recorded"
        out["rob_reason"] = "studies.csv has no rob_overall column"
    flagged = [
        out["imprecision"],
        out["inconsistency"],
        out["small_study"] == "yes",
        out["rob"] == "yes",
    ]
    out["flags"] = int(sum(flagged))
    out["certainty"] = CERTAINTY[min(out["flags"], 3)] if k else "no evidence"
    return out


def _verdict(claim: dict, lo: float, hi: float) -> tuple[str, str]:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "uncertain", "no pooled estimate"
    if claim["test"] == "about":
        a, b = claim["value"] - claim["margin"], claim["value"] + claim["margin"]
        if a <= lo and hi <= b:
            return "supported", f"the CI lies inside [{a:.2f}, {b:.2f}]"
        if hi < a or lo > b:
            return "not supported", f"the CI lies outside [{a:.2f}, {b:.2f}]"
        return "uncertain", f"the CI overlaps the edge of [{a:.2f}, {b:.2f}]"
    t = claim["threshold"]
    above = claim["test"] == "greater"
    if (lo > t) if above else (hi < t):
        return "supported", f"the CI lies {'above' if above else 'below'} {t:g}"
    if (hi <= t) if above else (lo >= t):
        return "not supported", f"the CI lies {'at or below' if above else 'at or above'} {t:g}"
    return "uncertain", f"the CI includes {t:g}"


def claims_table(claims: list[dict], settings, pooled: pd.DataFrame) -> pd.DataFrame:
    """Each claim against the primary model of its analysis, with the share of the other
    configured frequentist models (estimator x test) that reach the same verdict."""
    primary = settings.raw["frequentist"]["primary"]
    rows = []
    for claim in claims:
        name = claim["analysis"]
        own = _primary(pooled, name, primary)
        bt = _bt(own)
        verdict, reason = _verdict(claim, bt["ci_low"], bt["ci_high"])
        if own is not None and int(own["k"]) == 1:
            reason += "; one trial only: the verdict is that trial's"
        fits = pooled[
            (pooled["analysis"] == name)
            & (pooled["subgroup"].fillna("") == "")
            & (pooled["model"] == "random")
        ]
        agree = sum(
            _verdict(claim, float(r["ci_low_bt"]), float(r["ci_high_bt"]))[0] == verdict
            for _, r in fits.iterrows()
        )
        bayes = pooled[
            (pooled["analysis"] == name)
            & (pooled["model"] == "bayes_nn")
            & (pooled["method"] == "exact")
            & (pooled["subgroup"].fillna("") == "")
        ]
        b = bayes.iloc[0] if len(bayes) else None
        target = (
            f"{claim['value']:g} ± {claim['margin']:g}"
            if claim["test"] == "about"
            else f"{'>' if claim['test'] == 'greater' else '<'} {claim['threshold']:g}"
        )
        rows.append(
            {
                "id": claim["id"],
                "text": claim["text"],
                "made_by": claim.get("made_by", ""),
                "analysis": name,
                "test": claim["test"],
                "target": target,
                "measure": settings.raw["analyses"][name]["measure"],
                "k": int(own["k"]) if own is not None else 0,
                "n_participants": float(own["n_participants"]) if own is not None else 0.0,
                **bt,
                "bayes_estimate": float(b["estimate_bt"]) if b is not None else math.nan,
                "bayes_ci_low": float(b["ci_low_bt"]) if b is not None else math.nan,
                "bayes_ci_high": float(b["ci_high_bt"]) if b is not None else math.nan,
                "verdict": verdict,
                "reason": reason,
                "agreeing_models": int(agree),
                "models": len(fits),
            }
        )
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


def _ids(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["study_id"].astype(str).unique())


def study_flow(settings, data, effects: pd.DataFrame) -> pd.DataFrame:
    """PRISMA-style counts per analysis, from the data: trials in the data set, with the outcome,
    at the timepoint, eligible (confidence and filters), included, and each exclusion reason."""
    from ketameta.effects import contrast_effects, select_rows

    # a trial counts with its arm rows or its contrast rows (contrasts.csv)
    arms = pd.concat(
        [data.arms[["study_id", "outcome", "timepoint"]]]
        + (
            [data.contrasts[["study_id", "outcome", "timepoint"]]]
            if data.contrasts is not None
            else []
        ),
        ignore_index=True,
    )
    all_ids = sorted(data.studies["study_id"].astype(str))
    rows = []
    for spec in settings.analyses:
        with_outcome = arms[arms["outcome"] == spec.outcome]
        at_time = with_outcome[with_outcome["timepoint"] == spec.timepoint]
        eligible = pd.concat(
            [
                select_rows(data, spec, settings.effect_options)[["study_id"]],
                contrast_effects(data, spec, settings.effect_options)[["study_id"]],
            ],
            ignore_index=True,
        )
        eff = effects[effects["analysis"] == spec.name]
        included = eff[eff["included"].astype(bool)]
        steps = [
            ("data", f"Trials in {data.studies_path}", all_ids),
            ("outcome", f"Report {spec.outcome} (any timepoint)", _ids(with_outcome)),
            ("timepoint", f"Report {spec.outcome} at {spec.timepoint}", _ids(at_time)),
            ("eligible", "Eligible (confidence, filters)", _ids(eligible)),
            ("included", "Included in the analysis", _ids(included)),
        ]
        for step, label, ids in steps:
            rows.append(
                {
                    "analysis": spec.name,
                    "step": step,
                    "label": label,
                    "n_trials": len(ids),
                    "trials": "; ".join(ids),
                }
            )
        dropped = eff[~eff["included"].astype(bool)]
        for note, part in dropped.groupby("note", sort=True):
            ids = _ids(part)
            rows.append(
                {
                    "analysis": spec.name,
                    "step": "excluded",
                    "label": str(note),
                    "n_trials": len(ids),
                    "trials": "; ".join(ids),
                }
            )
        lost = sorted(set(_ids(at_time)) - set(_ids(eligible)))
        if lost:
            rows.append(
                {
                    "analysis": spec.name,
                    "step": "not_eligible",
                    "label": "Low confidence or outside the analysis filters",
                    "n_trials": len(lost),
                    "trials": "; ".join(lost),
                }
            )
    return pd.DataFrame(rows, columns=FLOW_COLUMNS)


def _identifier(s: pd.Series) -> tuple[str, str]:
    def get(col):
        v = s.get(col)
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)

    if get("doi"):
        return f"doi:{get('doi')}", f"https://doi.org/{get('doi')}"
    if get("pmid"):
        return f"PMID {get('pmid')}", f"https://pubmed.ncbi.nlm.nih.gov/{get('pmid')}/"
    reg = get("registration")
    return reg, (f"https://clinicaltrials.gov/study/{reg}" if reg.startswith("NCT") else "")


def included_studies(data, effects: pd.DataFrame) -> pd.DataFrame:
    """One row per trial that enters at least one analysis, with where its numbers come from."""
    used = effects[effects["included"].astype(bool)]
    arms = data.arms
    rows = []
    for _, s in data.studies.sort_values(["author", "year", "study_id"]).iterrows():
        sid = s["study_id"]
        if sid not in set(used["study_id"]):
            continue
        a = arms[arms["study_id"] == sid]
        treat = a[a["role"] == "treatment"]
        sizes = a.groupby(["outcome", "timepoint"])["n"].sum()
        sources = {str(x) for x in a["source"].dropna() if str(x)}
        if data.contrasts is not None:  # a trial given as between-group estimates
            c = data.contrasts[data.contrasts["study_id"] == sid]
            sources |= {str(x) for x in c["source"] if str(x)}
        sources = sorted(sources)
        ident, url = _identifier(s)

        def text(col, s=s):
            v = s.get(col)
            return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)

        design = text("design") + (f" ({text('design_detail')})" if text("design_detail") else "")
        rows.append(
            {
                "study_id": sid,
                "label": f"{s['author']} {s['year']}",
                "design": design,
                "population": text("population"),
                "drug": text("drug"),
                "route": text("route"),
                "dose": "; ".join(dict.fromkeys(str(d) for d in treat["dose"])),
                "comparator": text("comparator"),
                "comparator_type": text("comparator_type"),
                "n_max": float(sizes.max()) if len(sizes) else math.nan,
                "analyses": "; ".join(sorted(used.loc[used["study_id"] == sid, "analysis"])),
                "identifier": ident,
                "url": url,
                "source": text("source"),
                "data_sources": " | ".join(sources),
                "rob_overall": text("rob_overall"),
            }
        )
    return pd.DataFrame(rows, columns=STUDY_COLUMNS)
