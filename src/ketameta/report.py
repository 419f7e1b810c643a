"""The Markdown report, rendered from a Jinja2 template; every number is read from the tables."""

from __future__ import annotations

import math

import pandas as pd

from ketameta import __version__
from ketameta.effects import back_transform


def _num(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}" if isinstance(x, int | float) and math.isfinite(x) else "NA"


def _interval(lo: float, hi: float) -> str:
    return f"[{_num(lo)}, {_num(hi)}]" if math.isfinite(lo) and math.isfinite(hi) else "NA"


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


def render_markdown(
    settings,
    data,
    effects: pd.DataFrame,
    pooled: pd.DataFrame,
    tables: dict[str, pd.DataFrame] | None = None,
) -> str:
    """The report; ``tables`` holds the diagnostics tables by name (``leave1out``,
    ``influence``, ``small_study``, ...), each optional."""
    tables = tables or {}

    def table(name: str, analysis: str) -> pd.DataFrame:
        t = tables.get(name)
        if t is None or t.empty:
            return pd.DataFrame(columns=["analysis"])
        return t[t["analysis"] == analysis]

    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("ketameta", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=False,
        autoescape=False,
    )
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
                "outcome": spec.outcome,
                "timepoint": spec.timepoint,
                "measure": spec.measure,
                "filters": ", ".join(f"{k} in {v}" for k, v in spec.filters.items()),
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
    used_ids = set(effects["study_id"])
    studies = []
    for _, s in data.studies.sort_values(["author", "year"]).iterrows():
        if s["study_id"] not in used_ids:
            continue
        if s.get("doi"):
            ident = f"[doi:{s['doi']}](https://doi.org/{s['doi']})"
        elif s.get("pmid"):
            ident = f"[PMID {s['pmid']}](https://pubmed.ncbi.nlm.nih.gov/{s['pmid']}/)"
        else:
            ident = s.get("registration", "")
        studies.append(
            {
                "label": f"{s['author']} {s['year']}",
                "design": s["design"],
                "drug": s["drug"],
                "route": s["route"],
                "comparator": s["comparator"],
                "ident": ident,
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
    return env.get_template("report.md.j2").render(
        title="ketameta: ketamine and esketamine for depression",
        version=__version__,
        studies_path=data.studies_path,
        arms_path=data.arms_path,
        primary=primary,
        level=freq["level"],
        summary=summary,
        analyses=analyses,
        studies=studies,
        zero_cell=zero,
        multiarm=eff_opts["multiarm"],
        exclude_low=eff_opts["exclude_low_confidence"],
        methods=freq["methods"],
        tests=freq["tests"],
        binary=freq.get("binary", []),
    )
