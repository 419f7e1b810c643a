"""The report: Markdown and a self-contained HTML page, both from Jinja2 templates.

Every number is read from the tables in ``results/tables/`` (the templates only format them).
The HTML is the Markdown rendered by markdown-it-py (CommonMark with tables) inside a page
template, with each figure's SVG inlined (ids prefixed per figure, so they cannot clash) and no
external resource: it opens offline, and can be mailed or archived as one file.
The Reproducibility section (git commit, versions) is the only part that may change between
identical runs; it is marked ``volatile`` and ``ketameta verify`` leaves it out.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from ketameta import __version__
from ketameta.effects import back_transform
from ketameta.spec import filter_text


def _num(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}" if isinstance(x, int | float) and math.isfinite(x) else "NA"


def _interval(lo: float, hi: float, digits: int = 2) -> str:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "NA"
    return f"[{_num(lo, digits)}, {_num(hi, digits)}]"


def _fmt_row(r: pd.Series) -> dict:
    return {
        "subgroup": r["subgroup"],
        "model": r["model"],
        "method": r["method"],
        "test": r["test"],
        "k": int(r["k"]),
        "n": int(r["n_participants"]),
        "est": f"{_num(r['estimate_bt'])} {_interval(r['ci_low_bt'], r['ci_high_bt'])}",
        "pi": _interval(r["pi_low_bt"], r["pi_high_bt"]),
        "tau2": (
            f"{_num(r['tau2'], 3)} {_interval(r['tau2_ci_low'], r['tau2_ci_high'])}"
            if r["model"] == "random"
            else _num(r["tau2"], 3)
            if r["model"] == "glmm"
            else "—"
        ),
        "i2": f"{_num(r['i2'], 0)}%" if math.isfinite(r["i2"]) else "NA",
        "q": f"{_num(r['q'])} ({_num(r['q_p'], 3)})" if math.isfinite(r["q"]) else "NA",
        "note": r["note"],
    }


SMALL_STUDY_NAMES = {
    "egger_lm": "Egger regression (classical, t)",
    "egger_rma": "Egger regression (random effects, z)",
    "begg": "Begg rank correlation (Kendall's tau)",
    "trimfill_L0": "Trim-and-fill, L0",
    "trimfill_R0": "Trim-and-fill, R0",
}


def _small_study(rows: pd.DataFrame, measure: str) -> list[dict]:
    out = []
    for _, r in rows.iterrows():
        name = SMALL_STUDY_NAMES.get(r["test"], r["test"])
        adjusted = ""
        if str(r["test"]).startswith("trimfill") and math.isfinite(r["estimate"]):
            bt = back_transform(measure, [r["estimate"], r["ci_low"], r["ci_high"]])
            side = r["side"] if isinstance(r["side"], str) else ""
            adjusted = f"{_num(bt[0])} {_interval(bt[1], bt[2])}; {int(r['k0'])} added ({side})"
        elif str(r["test"]).startswith("egger") and math.isfinite(r["estimate"]):
            bt = back_transform(measure, [r["estimate"], r["ci_low"], r["ci_high"]])
            adjusted = f"limit estimate {_num(bt[0])} {_interval(bt[1], bt[2])}"
        out.append(
            {
                "test": name,
                "k": int(r["k"]),
                "stat": _num(r["stat"]),
                "p": _num(r["pval"], 3),
                "adjusted": adjusted,
                "note": r["note"] if isinstance(r["note"], str) else "",
            }
        )
    return out


Q_TESTS = {
    "separate": "separate tau² per subgroup (Q on the subgroup estimates)",
    "fixed": "fixed effect (QM of the fixed-effect model with the subgroup)",
    "common_tau2": "common tau² (QM of the mixed-effects model)",
}


def _subgroup_tests(rows: pd.DataFrame, test: str) -> list[dict]:
    if rows.empty:
        return []
    out = []
    for _, r in rows[rows["test"] == test].iterrows():
        df = f"{int(r['df1'])}" + (f", {_num(r['df2'], 0)}" if math.isfinite(r["df2"]) else "")
        out.append(
            {
                "name": Q_TESTS.get(r["q_test"], r["q_test"]),
                "stat": f"{'F' if r['dist'] == 'F' else 'Q'} = {_num(r['stat'])}",
                "df": df,
                "p": _num(r["pval"], 3),
                "note": r["note"] if isinstance(r["note"], str) else "",
            }
        )
    return out


def _metareg(rows: pd.DataFrame, test: str) -> list[dict]:
    if rows.empty:
        return []
    out = []
    for _, r in rows[rows["test"] == test].iterrows():
        ok = bool(r["converged"])
        out.append(
            {
                "moderator": r["moderator"],
                "term": r["term"],
                "est": f"{_num(r['estimate'], 3)} {_interval(r['ci_low'], r['ci_high'])}"
                if ok
                else "NA",
                "p": _num(r["pval"], 3),
                "qm_p": _num(r["qm_p"], 3),
                "r2": f"{_num(r['r2'], 0)}%" if math.isfinite(r["r2"]) else "NA",
                "tau2": _num(r["tau2"], 3),
                "k": int(r["k"]),
                "note": r["note"] if isinstance(r["note"], str) else "",
            }
        )
    return out


def _bayes(rows: pd.DataFrame) -> list[dict]:
    out = []
    for _, r in rows.iterrows():
        flags = r.get("flags")
        diag = ""
        if r["method"] == "mcmc" and math.isfinite(r.get("rhat_max", math.nan)):
            diag = (
                f"R-hat {_num(r['rhat_max'], 3)}, ESS {_num(r['ess_bulk_min'], 0)}, "
                f"divergences {int(r['divergences'])}"
            )
            if isinstance(flags, str) and flags:
                diag += f"; **flagged: {flags}**"
        out.append(
            {
                "model": r["model"],
                "method": r["method"],
                "est": f"{_num(r['estimate_bt'])} {_interval(r['ci_low_bt'], r['ci_high_bt'])}",
                "pi": _interval(r["pi_low_bt"], r["pi_high_bt"]),
                "tau": f"{_num(r['tau_mean'])} {_interval(r['tau_ci_low'], r['tau_ci_high'])}",
                "p": _num(r["p_benefit"], 3),
                "diag": diag,
                "note": r["note"] if isinstance(r["note"], str) else "",
                "prior": r["prior"] if isinstance(r["prior"], str) else "",
            }
        )
    return out


def _sensitivity(rows: pd.DataFrame) -> list[dict]:
    return [
        {
            "prior": r["prior"],
            "primary": "yes" if bool(r["primary"]) else "",
            "est": f"{_num(r['estimate_bt'])} {_interval(r['ci_low_bt'], r['ci_high_bt'])}",
            "pi": _interval(r["pi_low_bt"], r["pi_high_bt"]),
            "tau": f"{_num(r['tau_median'])} {_interval(r['tau_ci_low'], r['tau_ci_high'])}",
            "p": _num(r["p_benefit"], 3),
        }
        for _, r in rows.iterrows()
    ]


def _influence_summary(loo: pd.DataFrame, infl: pd.DataFrame, measure: str, labels) -> dict:
    if loo.empty:
        return {}
    est = loo["estimate"].to_numpy(float)
    lo, hi = int(est.argmin()), int(est.argmax())
    flagged = [labels.get(s, s) for s in infl.loc[infl["is_infl"].astype(bool), "study"]]
    return {
        "min": _num(back_transform(measure, [est[lo]])[0]),
        "min_study": labels.get(loo["study"].iloc[lo], loo["study"].iloc[lo]),
        "max": _num(back_transform(measure, [est[hi]])[0]),
        "max_study": labels.get(loo["study"].iloc[hi], loo["study"].iloc[hi]),
        "flagged": flagged,
        "method": loo["method"].iloc[0],
    }


VOLATILE_MARK = "<!-- ketameta:volatile: the section below is not compared by ketameta verify -->"


def slug(text: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    import re

    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def cell(value) -> str:
    """Text for a Markdown table cell (pipes escaped, no line breaks)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def _env():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("ketameta", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=select_autoescape(enabled_extensions=("html", "svg"), default=False),
    )
    env.filters["cell"] = cell
    return env


def _per1000(x: float) -> str:
    return f"{x:.0f}" if math.isfinite(x) else "NA"


def _est(x: float, lo: float, hi: float, digits: int = 2) -> str:
    return f"{_num(x, digits)} {_interval(lo, hi, digits)}" if math.isfinite(x) else "NA"


def _sof_rows(sof: pd.DataFrame) -> list[dict]:
    out = []
    for _, r in sof.iterrows():
        flags = []
        if bool(r["imprecision"]):
            flags.append(f"imprecision: {r['imprecision_reason']}")
        if bool(r["inconsistency"]):
            flags.append(f"inconsistency: {r['inconsistency_reason']}")
        flags.append(f"small-study effects {r['small_study']}: {r['small_study_reason']}")
        flags.append(f"risk of bias {r['rob']}: {r['rob_reason']}")
        out.append(
            {
                "title": r["title"],
                "k": int(r["k"]),
                "n": f"{r['n_participants']:.0f}",
                "or": _est(r["or"], r["or_ci_low"], r["or_ci_high"]),
                "rr": _est(r["rr"], r["rr_ci_low"], r["rr_ci_high"]),
                "control": _per1000(r["control_per1000"]),
                "treat": f"{_per1000(r['treat_per1000'])} [{_per1000(r['treat_per1000_ci_low'])}"
                f", {_per1000(r['treat_per1000_ci_high'])}]",
                "diff": f"{_per1000(r['diff_per1000'])} [{_per1000(r['diff_per1000_ci_low'])}"
                f", {_per1000(r['diff_per1000_ci_high'])}]",
                "rate": _est(r["treat_rate"], r["treat_rate_ci_low"], r["treat_rate_ci_high"]),
                "pi": _interval(r["or_pi_low"], r["or_pi_high"]),
                "i2": f"{_num(r['i2'], 0)}%" if math.isfinite(r["i2"]) else "NA",
                "flags": " · ".join(flags),
                "certainty": r["certainty"],
            }
        )
    return out


def _claim_rows(claims: pd.DataFrame, settings) -> list[dict]:
    return [
        {
            "text": c["text"],
            "made_by": c["made_by"] if isinstance(c["made_by"], str) else "",
            "title": settings.title(c["analysis"]),
            "anchor": slug(settings.title(c["analysis"])),
            "k": int(c["k"]),
            "n": f"{c['n_participants']:.0f}",
            "target": c["target"],
            "est": _est(c["estimate"], c["ci_low"], c["ci_high"]),
            "pi": _interval(c["pi_low"], c["pi_high"]),
            "bayes": _est(c["bayes_estimate"], c["bayes_ci_low"], c["bayes_ci_high"]),
            "verdict": c["verdict"],
            "reason": c["reason"],
            "agree": f"{int(c['agreeing_models'])}/{int(c['models'])}",
        }
        for _, c in claims.iterrows()
    ]


def _flow_rows(flow: pd.DataFrame, settings) -> list[dict]:
    out = []
    for spec in settings.analyses:
        f = flow[flow["analysis"] == spec.name]
        count = dict(zip(f["step"], f["n_trials"], strict=False))
        dropped = f[f["step"].isin(["excluded", "not_eligible"])]
        out.append(
            {
                "title": settings.title(spec.name),
                "anchor": slug(settings.title(spec.name)),
                **{s: int(count.get(s, 0)) for s in ("data", "outcome", "timepoint")},
                **{s: int(count.get(s, 0)) for s in ("eligible", "included")},
                "excluded": "; ".join(f"{r['label']}: {r['trials']}" for _, r in dropped.iterrows())
                or "none",
            }
        )
    return out


def _study_rows(studies: pd.DataFrame) -> list[dict]:
    out = []
    for _, s in studies.iterrows():

        def text(col, s=s):
            v = s[col]
            return v if isinstance(v, str) else ""

        ident = text("identifier")
        if text("url"):
            ident = f"[{ident}]({text('url')})"
        sources = [x for x in [text("source"), *text("data_sources").split(" | ")] if x]
        out.append(
            {
                "label": text("label"),
                "design": text("design"),
                "population": text("population"),
                "drug": text("drug"),
                "route": text("route"),
                "dose": text("dose"),
                "comparator": text("comparator"),
                "n": _num(s["n_max"], 0),
                "analyses": text("analyses").replace("; ", ", "),
                "sources": "; ".join(dict.fromkeys(sources)),
                "ident": ident,
            }
        )
    return out


def _multiverse(table: pd.DataFrame, choices: pd.DataFrame, settings) -> dict | None:
    """The report's multiverse section: headline shares per measure and the choices that move
    the estimate most (largest spread of their choices' medians first)."""
    if table is None or table.empty:
        return None
    from ketameta.multiverse import axes, summary

    head = summary(table)
    measures = []
    for m in head["per_measure"]:
        top = choices[choices["measure"] == m["measure"]] if choices is not None else choices
        movers = []
        if top is not None and len(top):
            axes_ = top.groupby("axis", sort=False).first()
            by_estimate = list(axes_.sort_values("spread", ascending=False, kind="stable").index)
            by_benefit = list(
                axes_.sort_values("benefit_spread", ascending=False, kind="stable").index
            )
            shown = set(by_estimate[:3]) | set(by_benefit[:3])
            for axis, grp in top.groupby("axis", sort=False):
                if axis not in shown:
                    continue
                parts = ", ".join(
                    f"{r.choice} {_num(r.median_estimate_bt)} ({r.share_benefit:.0%})"
                    for r in grp.itertuples()
                )
                movers.append(
                    {
                        "axis": axis,
                        "spread": _num(grp["spread"].iloc[0], 3),
                        "benefit_spread": f"{grp['benefit_spread'].iloc[0]:.0%}",
                        "by": parts,
                    }
                )
        measures.append(
            {
                **m,
                "name": m["measure"],
                "median": _num(m["median_bt"]),
                "range": _interval(m["min_bt"], m["max_bt"]),
                "share_benefit": f"{m['share_benefit']:.0%}",
                "share_favourable": f"{m['share_favourable']:.0%}",
                "movers": movers,
            }
        )
    mv = settings.raw["multiverse"]
    return {
        **head,
        "share_benefit": f"{head['share_benefit']:.0%}" if head["estimated"] else "NA",
        "measures": measures,
        "min_k": mv["min_k"],
        "axes": [(a, len(levels)) for a, levels in axes(mv) if a != "framework" and levels],
    }


def _timecourse(table: pd.DataFrame, trend: pd.DataFrame, settings) -> list[dict]:
    """The report's time course: per outcome, each timepoint's REML OR, the arms' pooled
    proportions and the multilevel model's OR (primary phi), then the log-time trend."""
    if table is None or table.empty:
        return []
    cfg = settings.raw["timecourse"]
    out = []
    for outcome in cfg["outcomes"]:
        part = table[table["outcome"] == outcome]
        if part.empty:
            continue
        multi = part[(part["model"] == "multilevel") & (part["phi"] == cfg["phi"])]
        bayes_rows = {
            r.timepoint: r for r in part[part["model"] == "bayes multilevel"].itertuples()
        }
        rows = []
        for tp, grp in multi.groupby("timepoint", sort=False):
            m = grp.iloc[0]
            reml = part[(part["model"] == "REML") & (part["timepoint"] == tp)]
            odds = reml[reml["measure"] == "OR"]
            arms = {
                r.arm: f"{r.estimate_bt:.0%} [{r.ci_low_bt:.0%}, {r.ci_high_bt:.0%}]"
                for r in reml[reml["measure"] == "PLO"].itertuples()
            }
            o = odds.iloc[0] if len(odds) else None
            rows.append(
                {
                    "timepoint": tp,
                    "k": int(m["k"]),
                    "n": f"{m['n']:.0f}",
                    "reml": _est(o["estimate_bt"], o["ci_low_bt"], o["ci_high_bt"])
                    if o is not None
                    else "(one trial)",
                    "pi": _interval(o["pi_low_bt"], o["pi_high_bt"]) if o is not None else "",
                    "treat": arms.get("treatment", ""),
                    "ctrl": arms.get("control", ""),
                    "multi": _est(m["estimate_bt"], m["ci_low_bt"], m["ci_high_bt"]),
                    "bayes": _est(b.estimate_bt, b.ci_low_bt, b.ci_high_bt)
                    if (b := bayes_rows.get(tp)) is not None
                    else "",
                }
            )
        sens = []
        for phi in cfg["phi_sensitivity"]:
            multi_phi = part[(part["model"] == "multilevel") & (part["phi"] == phi)]
            at24 = multi_phi[multi_phi["timepoint"] == "24h"]
            if len(at24):
                r = at24.iloc[0]
                sens.append(f"phi {phi:g}: {_est(r.estimate_bt, r.ci_low_bt, r.ci_high_bt)}")
        tr = (
            trend[(trend["outcome"] == outcome) & (trend["phi"] == cfg["phi"])]
            if trend is not None and len(trend)
            else pd.DataFrame()
        )
        model = tr["model"] if "model" in tr.columns else pd.Series("REML", index=tr.index)
        bayes_trend = {r.term: r for r in tr[model == "bayes"].itertuples()}
        trend_rows = []
        for r in tr[model == "REML"].itertuples():
            bt = r.term == "intercept"
            f = math.exp if bt else (lambda x: x)
            b = bayes_trend.get(r.term)
            trend_rows.append(
                {
                    "term": "OR at 24 h" if bt else "change in log OR per log-unit of time",
                    "est": _est(f(r.estimate), f(r.ci_low), f(r.ci_high)),
                    "cr2": f"{_interval(f(r.ci_low_cr2), f(r.ci_high_cr2))} (df {r.df_cr2:.1f})",
                    "bayes": _est(f(b.estimate), f(b.ci_low), f(b.ci_high)) if b else "",
                }
            )
        out.append({"outcome": outcome, "rows": rows, "sens": sens, "trend": trend_rows})
    return out


def _replications(table: pd.DataFrame, settings) -> list[dict]:
    """Per published result: its steps (published, recomputed from the review's numbers, with
    ours, ...) and the review's own words from the replications file."""
    if table is None or table.empty:
        return []
    from ketameta.replication import read_replications

    doc = read_replications(settings.replications_path, settings.raw)
    targets = {t["id"]: t for t in doc["replications"]}
    out = []
    for rep, part in table.groupby("replication", sort=False):
        t = targets.get(rep, {})
        ratio = part["measure"].iloc[0] in ("OR", "RR")
        steps = []
        for r in part.itertuples():
            vs = ""
            if pd.notna(r.vs_published):
                vs = f"x{r.vs_published:.2f}" if ratio else f"{r.vs_published:+.2f}"
            steps.append(
                {
                    "step": r.step,
                    "model": r.model if isinstance(r.model, str) else "",
                    "k": r.k,
                    "est": _est(r.estimate, r.ci_low, r.ci_high)
                    if pd.notna(r.estimate)
                    else "not computed",
                    "vs": vs,
                    "note": r.note if isinstance(r.note, str) else "",
                    "trials": r.trials if isinstance(r.trials, str) else "",
                }
            )
        out.append(
            {
                "id": rep,
                "review": t.get("review", ""),
                "comparison": t.get("comparison", ""),
                "what": f"{t.get('outcome', '')} at {t.get('timepoint', '')}, "
                f"{part['measure'].iloc[0]}",
                "source": t.get("source", ""),
                "explanation": t.get("explanation", ""),
                "steps": steps,
            }
        )
    return out


def _safety(safety: pd.DataFrame, settings) -> list[dict]:
    """The report's harms table: per outcome the primary RR and RD, NNH and the REML RR."""
    if safety is None or safety.empty:
        return []
    from ketameta.safety import OUTCOME_LABELS

    primary = settings.raw["safety"]["primary"]
    out = []
    for outcome, part in safety.groupby("outcome", sort=False):
        rows = {(r.method, r.measure): r for r in part.itertuples()}
        rr, rd = rows[(primary, "RR")], rows[(primary, "RD")]
        re = rows.get(("REML", "RR"))
        out.append(
            {
                "label": OUTCOME_LABELS.get(outcome, outcome),
                "outcome": outcome,
                "k": int(rr.k),
                "treat": f"{int(rr.events_treat)}/{int(rr.n_treat)} ({rr.risk_treat:.1%})",
                "ctrl": f"{int(rr.events_ctrl)}/{int(rr.n_ctrl)} ({rr.risk_ctrl:.1%})",
                "rr": _est(rr.estimate_bt, rr.ci_low_bt, rr.ci_high_bt),
                "rd": _est(rd.estimate_bt, rd.ci_low_bt, rd.ci_high_bt, 3),
                "nnh": rd.nnh_ci if isinstance(rd.nnh_ci, str) and rd.nnh_ci else "NA",
                "re": (
                    f"{_est(re.estimate_bt, re.ci_low_bt, re.ci_high_bt)}, I² {_num(re.i2, 0)}%"
                    if re is not None and math.isfinite(re.estimate_bt)
                    else "NA"
                ),
                "studies": str(rr.studies).replace(";", ", "),
            }
        )
    return out


def _prior_text(p: dict) -> str:
    """The prior's label as in the Bayesian tables, with the source of Turner et al.'s prior."""
    from ketameta.bayes_tables import tau_prior

    label = tau_prior(p, "bayes.tau_prior").label
    return f"{label} (Turner et al. 2015)" if p["kind"] == "turner2015" else label


def render_markdown(
    settings,
    data,
    effects: pd.DataFrame,
    pooled: pd.DataFrame,
    tables: dict[str, pd.DataFrame] | None = None,
) -> str:
    """The report's body (everything but the Reproducibility section); ``tables`` holds the
    tables by name (``summary_of_findings``, ``claims``, ``study_flow``, ``included_studies``,
    ``leave1out``, ``influence``, ``small_study``, ...), each optional."""
    tables = tables or {}

    def table(name: str, analysis: str) -> pd.DataFrame:
        t = tables.get(name)
        if t is None or t.empty:
            return pd.DataFrame(columns=["analysis"])
        return t[t["analysis"] == analysis]

    def whole(name: str) -> pd.DataFrame:
        t = tables.get(name)
        return t if t is not None else pd.DataFrame()

    freq = settings.raw["frequentist"]
    primary = freq["primary"]
    summary, analyses = [], []
    for spec in settings.analyses:
        fits = pooled[pooled["analysis"] == spec.name]
        main = fits[
            (fits["model"] == "random")
            & (fits["method"] == primary["method"])
            & (fits["test"] == primary["test"])
        ]
        for _, r in main.iterrows():
            summary.append({**_fmt_row(r), "title": settings.title(spec.name)})
        eff = effects[effects["analysis"] == spec.name]
        used = eff[eff["included"].astype(bool)]
        studies = []
        for _, e in used.iterrows():
            y = back_transform(spec.measure, [e["yi"]])[0]
            studies.append(f"{e['label']} ({_num(y)})")
        excluded = [
            f"{e['label']}: {e['note']}" for _, e in eff.iterrows() if not bool(e["included"])
        ]
        labels = dict(zip(eff["comparison"], eff["label"], strict=True))
        loo, infl = table("leave1out", spec.name), table("influence", spec.name)
        analyses.append(
            {
                "name": spec.name,
                "title": settings.title(spec.name),
                "anchor": slug(settings.title(spec.name)),
                "outcome": spec.outcome,
                "timepoint": spec.timepoint,
                "measure": spec.measure,
                "filters": filter_text(spec.filters),
                "subgroup": spec.subgroup,
                "k": len(used),
                "rows": [
                    _fmt_row(r) for _, r in fits.iterrows() if not r["model"].startswith("bayes")
                ],
                "bayes": _bayes(fits[fits["model"].str.startswith("bayes")]),
                "sensitivity": _sensitivity(table("prior_sensitivity", spec.name)),
                "studies": studies,
                "excluded": excluded,
                "small_study": _small_study(table("small_study", spec.name), spec.measure),
                "influence": _influence_summary(loo, infl, spec.measure, labels),
                "subgroup_tests": _subgroup_tests(table("subgroups", spec.name), primary["test"]),
                "metareg": _metareg(table("metareg", spec.name), primary["test"]),
            }
        )
    eff_opts = settings.raw["effects"]
    zero = (
        f"{eff_opts['zero_cell_add']:g} added to every cell of studies with a zero cell"
        if eff_opts["zero_cell_to"] == "only0"
        else f"{eff_opts['zero_cell_add']:g} added to every cell of every study"
        if eff_opts["zero_cell_to"] == "all"
        else "no zero-cell correction"
    )
    if eff_opts["drop_double_zero"]:
        zero += "; studies without events (or with only events) in both arms left out of OR/RR"
    from ketameta.bayes_tables import mu_prior

    bayes = settings.raw["bayes"]
    rep = settings.raw["report"]
    root = settings.root.resolve()
    claims_path = (
        str(settings.claims_path.resolve().relative_to(root)) if settings.claims_path else ""
    )
    return (
        _env()
        .get_template("report.md.j2")
        .render(
            title=rep["title"],
            treatment=rep["treatment_label"],
            version=__version__,
            studies_path=data.studies_path,
            arms_path=data.arms_path,
            primary=primary,
            level=freq["level"],
            summary=summary,
            sof=_sof_rows(whole("summary_of_findings")),
            claims=_claim_rows(whole("claims"), settings) if len(whole("claims")) else [],
            claims_path=claims_path,
            flow=_flow_rows(whole("study_flow"), settings) if len(whole("study_flow")) else [],
            analyses=analyses,
            studies=_study_rows(whole("included_studies"))
            if len(whole("included_studies"))
            else [],
            zero_cell=zero,
            multiarm=eff_opts["multiarm"],
            exclude_low=eff_opts["exclude_low_confidence"],
            methods=freq["methods"],
            tests=freq["tests"],
            binary=freq.get("binary", []),
            bayes={
                "exact": bayes["exact"],
                "mcmc": bayes["mcmc"],
                "mu": mu_prior(bayes["mu_prior"]).label,
                "tau": _prior_text(bayes["tau_prior"]),
                "sensitivity": [_prior_text(p) for p in bayes["sensitivity"]],
                "chains": bayes["chains"],
                "draws": bayes["draws"],
                "tune": bayes["tune"],
                "seed": bayes["seed"],
                "thresholds": bayes["thresholds"],
            },
            sof_opts=rep["summary"],
            safety=_safety(whole("safety"), settings) if "safety" in settings.raw else None,
            replications=_replications(whole("replications"), settings)
            if settings.replications_path
            else [],
            timecourse=_timecourse(whole("timecourse"), whole("timecourse_trend"), settings)
            if "timecourse" in settings.raw
            else None,
            timecourse_cfg=settings.raw.get("timecourse"),
            safety_cfg=settings.raw.get("safety"),
            safety_filters=filter_text(settings.raw.get("safety", {}).get("filters", {})),
            multiverse=_multiverse(whole("multiverse"), whole("multiverse_choices"), settings)
            if "multiverse" in settings.raw
            else None,
        )
    )


def reproducibility(settings, config_label: str, command: str) -> dict:
    """What the Reproducibility section shows (git, hashes, versions, seed)."""
    import platform
    import subprocess

    from ketameta.manifest import (
        canonical_config_sha256,
        git_state,
        package_versions,
        sha256_file,
    )

    root = settings.root.resolve()
    git = git_state(root, ["data", "config", "src", "Snakefile"])
    date = "not recorded (not a git checkout)"
    if git:
        try:
            date = subprocess.run(
                ["git", "-C", str(root), "log", "-1", "--format=%cI"],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            date = "not recorded"
    data = [
        {"path": str(p.resolve().relative_to(root)), "sha": sha256_file(p)}
        for p in settings.data_paths.values()
    ]
    versions = package_versions()
    return {
        "command": command,
        "version": __version__,
        "git": (
            f"{git['commit']}" + (" (inputs or code modified since)" if git["dirty"] else "")
            if git
            else "not recorded (not a git checkout)"
        ),
        "date": date,
        "config_path": config_label,
        "config_sha": canonical_config_sha256(settings.raw),
        "data": data,
        "seed": settings.raw["bayes"]["seed"],
        "python": platform.python_version(),
        "packages": ", ".join(f"{k} {v}" for k, v in versions.items() if v),
    }


def render_reproducibility(info: dict) -> str:
    return _env().get_template("reproducibility.md.j2").render(**info)


def _inline_svg(path: Path, prefix: str) -> str:
    """An SVG file as an inline element: XML prolog dropped, every id (and reference to it)
    prefixed, so several figures in one page cannot clash."""
    import re

    text = path.read_text(encoding="utf-8")
    text = text[text.index("<svg") :]
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}\1)", text)
    return re.sub(r'href="#([^"]+)"', rf'href="#{prefix}\1"', text)


def render_html(body_md: str, repro_md: str, title: str, base: Path) -> str:
    """The self-contained page: Markdown rendered by markdown-it-py, figures (``figures/*.svg``
    relative to ``base``) inlined, headings given GitHub's anchors."""
    import html
    import re

    from markdown_it import MarkdownIt
    from markupsafe import Markup

    md = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable("table")
    body = md.render(body_md)
    figures = iter(range(1, 10_000))

    def figure(m: re.Match) -> str:
        src, alt = html.unescape(m.group(1)), html.unescape(m.group(2))
        path = base / src
        if not path.is_file():
            raise FileNotFoundError(f"the report refers to {src}, which was not written")
        svg = _inline_svg(path, f"f{next(figures)}-")
        return f"<figure>{svg}<figcaption>{html.escape(alt)}</figcaption></figure>"

    body = re.sub(r'<img src="(figures/[^"]+\.svg)" alt="([^"]*)" ?/?>', figure, body)

    seen: dict[str, int] = {}

    def heading(m: re.Match) -> str:
        inner = m.group(2)
        anchor = slug(html.unescape(re.sub(r"<[^>]+>", "", inner)))
        n = seen.get(anchor, 0)
        seen[anchor] = n + 1
        if n:  # repeated headings get -1, -2, ... as on GitHub
            anchor = f"{anchor}-{n}"
        return f'<{m.group(1)} id="{anchor}">{inner}</{m.group(1)}>'

    body = re.sub(r"<(h[1-3])>(.*?)</\1>", heading, body)
    repro = re.sub(r"<(h[1-3])>(.*?)</\1>", heading, md.render(repro_md))
    return (
        _env()
        .get_template("report.html.j2")
        .render(title=title, version=__version__, body=Markup(body), reproducibility=Markup(repro))
    )


def flow_svg(flow: pd.DataFrame, title: str) -> str:
    """A PRISMA-style diagram of one analysis's study flow (``study_flow.csv`` rows)."""
    import textwrap

    flow = flow.fillna({"trials": "", "label": ""})
    count = {r["step"]: r for _, r in flow.iterrows()}
    main = ["data", "outcome", "timepoint", "eligible", "included"]
    boxes, arrows = [], []
    y, w, x_side, w_side = 10, 330, 380, 330

    def lines(label: str, n: int, ids: str, width: int = 50) -> list[str]:
        out = [f"{label}: {n} trial{'s' if n != 1 else ''}"]
        if ids and n <= 12:
            out += textwrap.wrap(ids, width)[:4]
        return out

    side_steps = {
        "timepoint": [r for s, r in count.items() if s == "not_eligible"],
        "eligible": [r for _, r in flow[flow["step"] == "excluded"].iterrows()],
    }
    prev_bottom = None
    for step in main:
        r = count.get(step)
        n = int(r["n_trials"]) if r is not None else 0
        text = lines(
            r["label"] if r is not None else step,
            n,
            r["trials"] if r is not None and step != "data" else "",
        )
        h = 12 + 15 * len(text)
        if prev_bottom is not None:
            arrows.append({"x1": 10 + w / 2, "y1": prev_bottom, "x2": 10 + w / 2, "y2": y})
        final = step == "included"
        boxes.append(
            {
                "x": 10,
                "y": y,
                "w": w,
                "h": h,
                "lines": text,
                "fill": "#e8f1f8" if final else "#ffffff",
                "stroke": "#0072B2" if final else "#555555",
            }
        )
        side_y = y + h + 4
        for sr in side_steps.get(step, []):
            st = lines(str(sr["label"]), int(sr["n_trials"]), str(sr["trials"]), 48)
            sh = 12 + 15 * len(st)
            boxes.append(
                {
                    "x": x_side,
                    "y": side_y,
                    "w": w_side,
                    "h": sh,
                    "lines": st,
                    "fill": "#fdf0e8",
                    "stroke": "#D55E00",
                }
            )
            arrows.append(
                {"x1": 10 + w / 2, "y1": side_y + sh / 2, "x2": x_side, "y2": side_y + sh / 2}
            )
            side_y += sh + 6
        prev_bottom = y + h
        y = max(y + h + 26, side_y + 10)
    return (
        _env()
        .get_template("flow.svg.j2")
        .render(width=x_side + w_side + 10, height=y, boxes=boxes, arrows=arrows, title=title)
    )
