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
            else "—"
        ),
        "i2": f"{_num(r['i2'], 0)}%" if math.isfinite(r["i2"]) else "NA",
        "q": f"{_num(r['q'])} ({_num(r['q_p'], 3)})" if math.isfinite(r["q"]) else "NA",
        "note": r["note"],
    }


def render_markdown(settings, data, effects: pd.DataFrame, pooled: pd.DataFrame) -> str:
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
        main = fits[(fits["method"] == primary["method"]) & (fits["test"] == primary["test"])]
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
                "rows": [_fmt_row(r) for _, r in fits.iterrows()],
                "studies": studies,
                "excluded": excluded,
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
    )
