"""Published pooled results, recomputed: what a review reported beside what our code and data give.

A replications file (``report.replications``, schema ``replications_schema.yaml``) lists
published results: the review, the published estimate and CI, the model the review states, and
the trials it pooled, each mapped to our ``study_id`` when our data hold it. An optional counts
file gives the per-trial numbers *as the review used them*, each with its source.

``replication_table`` recomputes every target in steps, so each difference has one cause:

1. ``published``: as printed.
2. ``review data``: the review's own per-trial numbers and its stated model. A difference here is
   the model (or the review's description of it), not the data.
3. ``our data, review trials``: our numbers for the trials we hold, the review's for the others;
   the stated model. A difference from step 2 is the extraction (listed trial by trial).
4. ``our data, trials we hold``: only the trials our data hold; the stated model. A difference
   from step 3 is the trials we do not hold (named).
5. ``our model``: step 4's trials with the workflow's primary model (``frequentist.primary``).

Steps that need numbers nobody gave are left out, and the table says why. Models: fixed effect
by inverse variance (``FE``) or Mantel-Haenszel (``MH``, Greenland & Robins 1985; Robins,
Breslow & Greenland 1986), random effects by inverse variance with any of ``rma``'s tau²
estimators (RevMan's random-effects model is DerSimonian-Laird: ``DL``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ketameta.errors import InputError

STEPS = (
    "published",
    "review data",
    "our data, review trials",
    "our data, trials we hold",
    "our model",
)
COLUMNS = [
    "replication",
    "step",
    "measure",
    "model",
    "k",
    "trials",
    "estimate",
    "ci_low",
    "ci_high",
    "vs_published",
    "note",
]
COUNT_COLUMNS = ("replication", "trial", "role", "n", "source", "quote")
RATIO = ("OR", "RR")


def read_replications(path: str | Path, cfg: dict, label: str | None = None) -> dict:
    """Read and check a replications file: schema, unique ids, and the counts file it names
    (resolved against ``root``: the file's ``counts`` path is relative to the repository)."""
    import yaml

    from ketameta.config import SCHEMA_PATH, read_yaml, validate_against

    label = label or str(path)
    schema = yaml.safe_load(SCHEMA_PATH.with_name("replications_schema.yaml").read_text("utf-8"))
    doc = validate_against(read_yaml(path, label), schema, label, "a replications file")
    seen: set[str] = set()
    for i, target in enumerate(doc["replications"]):
        if target["id"] in seen:
            raise InputError(
                f"duplicate replication id '{target['id']}'",
                file=label,
                key=f"replications[{i}].id",
            )
        seen.add(target["id"])
        names = [t["name"] for t in target["trials"]]
        if len(set(names)) != len(names):
            raise InputError("a trial is named twice", file=label, key=f"replications[{i}].trials")
    return doc


def read_counts(path: str | Path, doc: dict, label: str | None = None) -> pd.DataFrame:
    """The per-trial numbers as the reviews used them: one row per replication x trial x role
    (``treatment`` / ``control``) with ``events`` (binary) or ``mean`` and ``sd``."""
    from ketameta.data import LINE, _Checker, read_csv_strict

    label = label or str(path)
    frame = read_csv_strict(path, label)
    for col in ("events", "mean", "sd"):
        if col not in frame.columns:
            frame = frame.assign(**{col: ""})
    chk = _Checker(frame, label)
    chk.require_columns(COUNT_COLUMNS)
    chk.choice("role", ("treatment", "control"))
    chk.nonempty("source")
    chk.nonempty("quote")
    chk.unique(["replication", "trial", "role"])
    trials = {t["id"]: {x["name"] for x in t["trials"]} for t in doc["replications"]}
    for idx in frame.index:
        rep, trial = frame.at[idx, "replication"], frame.at[idx, "trial"]
        if rep not in trials:
            chk.fail(idx, "replication", f"'{rep}' is not a replication of the replications file")
        if trial not in trials[rep]:
            chk.fail(idx, "trial", f"'{trial}' is not a trial of replication '{rep}'")
    out = frame.copy()
    numbers = chk.arm_numbers()
    for col in numbers.columns:
        out[col] = numbers[col]
    return out.drop(columns=[LINE])


def _review_rows(counts: pd.DataFrame, rep: str, names: list[str]) -> pd.DataFrame:
    """One row per trial (treatment and control side by side) of the review's numbers."""
    part = counts[counts["replication"] == rep]
    rows = []
    for name in names:
        t = part[(part["trial"] == name) & (part["role"] == "treatment")]
        c = part[(part["trial"] == name) & (part["role"] == "control")]
        if len(t) != 1 or len(c) != 1:
            continue
        rows.append(
            {
                "trial": name,
                "events_treat": t["events"].iloc[0],
                "n_treat": t["n"].iloc[0],
                "mean_treat": t["mean"].iloc[0],
                "sd_treat": t["sd"].iloc[0],
                "events_ctrl": c["events"].iloc[0],
                "n_ctrl": c["n"].iloc[0],
                "mean_ctrl": c["mean"].iloc[0],
                "sd_ctrl": c["sd"].iloc[0],
            }
        )
    return pd.DataFrame(rows)


def _our_rows(data, target: dict, held: dict[str, str], settings) -> pd.DataFrame:
    """Our numbers for the held trials, as the workflow computes them (dose arms combined)."""
    from ketameta.effects import compute_effects
    from ketameta.spec import AnalysisSpec

    if not held:
        return pd.DataFrame()
    spec = AnalysisSpec(
        name=f"replication_{target['id']}",
        outcome=target["outcome"],
        timepoint=target["timepoint"],
        measure=target["measure"],
        filters={**target.get("filters", {}), "study_id": sorted(set(held.values()))},
    )
    eff = compute_effects(data, spec, settings.effect_options)
    if eff.empty:
        return eff
    by_study = {v: k for k, v in held.items()}
    eff = eff.assign(trial=eff["study_id"].map(by_study))
    return eff


def revman_smd(m1, sd1, n1, m2, sd2, n2) -> tuple[np.ndarray, np.ndarray]:
    """Hedges' g as RevMan 5 and R's meta compute it (Deeks & Higgins 2010, "Statistical
    algorithms in Review Manager 5"): ``g = (m1 - m2) / s_pooled * (1 - 3 / (4N - 9))`` and
    ``var = N / (n1 n2) + g^2 / (2 (N - 3.94))``, with ``N = n1 + n2``. Reviews made with those
    tools report it; metafor's ``escalc`` uses the exact correction and ``g^2 / (2N)``."""
    m1, sd1, n1, m2, sd2, n2 = (np.asarray(x, dtype=float) for x in (m1, sd1, n1, m2, sd2, n2))
    big_n = n1 + n2
    sp = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (big_n - 2))
    g = (m1 - m2) / sp * (1 - 3 / (4 * big_n - 9))
    return g, big_n / (n1 * n2) + g**2 / (2 * (big_n - 3.94))


def _effects(
    rows: pd.DataFrame, measure: str, options, smd: str = "exact"
) -> tuple[np.ndarray, np.ndarray]:
    from ketameta.effects import two_group_effects

    if measure == "SMD" and smd == "revman":
        return revman_smd(
            rows["mean_treat"],
            rows["sd_treat"],
            rows["n_treat"],
            rows["mean_ctrl"],
            rows["sd_ctrl"],
            rows["n_ctrl"],
        )
    return two_group_effects(rows, measure, options)


def _fit(rows: pd.DataFrame, measure: str, model: dict, options, level: float) -> dict:
    """Pool ``rows`` with ``model`` ({pooling: IV|MH, method, test}); analysis scale."""
    from ketameta.binary import mantel_haenszel
    from ketameta.frequentist import rma

    if model.get("pooling", "IV") == "MH":
        res = mantel_haenszel(
            rows["events_treat"],
            rows["n_treat"],
            rows["events_ctrl"],
            rows["n_ctrl"],
            measure=measure,
            level=level,
        )
        return {
            "estimate": res.estimate,
            "ci_low": res.ci_low,
            "ci_high": res.ci_high,
            "k": int(res.k),
            "note": res.note,
        }
    if "yi" in rows.columns and rows["yi"].notna().all() and model.get("smd", "exact") == "exact":
        yi, vi = rows["yi"].to_numpy(float), rows["vi"].to_numpy(float)
    else:
        yi, vi = _effects(rows, measure, options, model.get("smd", "exact"))
    keep = np.isfinite(yi) & np.isfinite(vi)
    res = rma(yi[keep], vi[keep], method=model["method"], test=model.get("test", "z"), level=level)
    note = res.note
    if (~keep).any():
        note = "; ".join(filter(None, [note, f"{int((~keep).sum())} trial(s) without an estimate"]))
    return {
        "estimate": res.estimate,
        "ci_low": res.ci_low,
        "ci_high": res.ci_high,
        "k": int(keep.sum()),
        "note": note,
    }


def _model_label(model: dict) -> str:
    if model.get("pooling") == "MH":
        return "MH fixed effect"
    smd = ", RevMan SMD" if model.get("smd") == "revman" else ""
    if model["method"] == "FE":
        return "inverse-variance fixed effect" + smd
    return f"{model['method']} random effects, {model.get('test', 'z')} test{smd}"


def _back(measure: str, x: float) -> float:
    return math.exp(x) if measure in RATIO else x


def _compare(measure: str, est: float, published: float) -> float:
    """Ratio to the published estimate (ratio measures) or the difference (others)."""
    if not (math.isfinite(est) and math.isfinite(published)):
        return math.nan
    return est / published if measure in RATIO else est - published


def _count_differences(review: pd.DataFrame, ours: pd.DataFrame, binary: bool) -> list[str]:
    """Trials whose numbers differ between the review and our data, in words."""
    cols = (
        ("events_treat", "n_treat", "events_ctrl", "n_ctrl")
        if binary
        else ("mean_treat", "sd_treat", "n_treat", "mean_ctrl", "sd_ctrl", "n_ctrl")
    )
    out = []
    for r in review.itertuples():
        mine = ours[ours["trial"] == r.trial]
        if mine.empty:
            continue
        theirs = [float(getattr(r, c)) for c in cols]
        own = [float(mine.iloc[0][c]) for c in cols]
        if not np.allclose(theirs, own, rtol=0, atol=0, equal_nan=True):
            out.append(f"{r.trial}: review {_fmt(theirs, binary)}, ours {_fmt(own, binary)}")
    return out


def _fmt(v: list[float], binary: bool) -> str:
    if binary:
        return f"{v[0]:.0f}/{v[1]:.0f} vs {v[2]:.0f}/{v[3]:.0f}"
    return f"{v[0]:g} (SD {v[1]:g}, n {v[2]:.0f}) vs {v[3]:g} (SD {v[4]:g}, n {v[5]:.0f})"


def replication_table(doc: dict, counts: pd.DataFrame | None, data, settings) -> pd.DataFrame:
    """Every target of a replications file, recomputed in the steps of the module docstring."""
    level = settings.raw["frequentist"]["level"]
    options = settings.effect_options
    primary = settings.raw["frequentist"]["primary"]
    rows: list[dict] = []
    for target in doc["replications"]:
        rep, measure, model = target["id"], target["measure"], target["model"]
        pub = target["published"]
        names = [t["name"] for t in target["trials"]]
        held = {t["name"]: t["study_id"] for t in target["trials"] if t.get("study_id")}
        pub_est = pub["estimate"]

        def add(
            step, k, trials, fit, note="", label=None, _rep=rep, _measure=measure, _pub=pub_est
        ):
            back = (lambda x: x) if step == "published" else (lambda x: _back(_measure, x))
            est = back(fit["estimate"])
            rows.append(
                {
                    "replication": _rep,
                    "step": step,
                    "measure": _measure,
                    "model": label,
                    "k": k,
                    "trials": "; ".join(trials),
                    "estimate": est,
                    "ci_low": back(fit["ci_low"]),
                    "ci_high": back(fit["ci_high"]),
                    "vs_published": _compare(_measure, est, _pub),
                    "note": "; ".join(filter(None, [fit.get("note", ""), note])),
                }
            )

        published_fit = {c: pub[c] for c in ("estimate", "ci_low", "ci_high")}  # as printed
        add(
            "published",
            pub.get("k", len(names)),
            names,
            published_fit,
            label=target.get("model_as_stated", _model_label(model)),
        )
        review = _review_rows(counts, rep, names) if counts is not None else pd.DataFrame()
        ours = _our_rows(data, target, held, settings)
        ours_ok = ours[ours["included"].astype(bool)] if len(ours) else ours
        if len(review) == len(names):
            add(
                "review data",
                len(review),
                names,
                _fit(review, measure, model, options, level),
                label=_model_label(model),
            )
        else:
            missing = [n for n in names if n not in set(review.get("trial", []))]
            add(
                "review data",
                len(review),
                list(review.get("trial", [])),
                {"estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan},
                note="not computed: the review's numbers are not given for " + ", ".join(missing),
                label=_model_label(model),
            )
        used = set(ours_ok.get("trial", []))
        # step 3: ours where held, the review's otherwise
        mixed = []
        for name in names:
            if name in set(ours_ok.get("trial", [])):
                mixed.append(ours_ok[ours_ok["trial"] == name].iloc[0])
            elif len(review) and name in set(review["trial"]):
                mixed.append(review[review["trial"] == name].iloc[0])
        diffs = (
            _count_differences(review, ours_ok, measure in ("OR", "RR", "RD"))
            if len(review) and len(ours_ok)
            else []
        )
        if len(mixed) == len(names):
            frame = pd.DataFrame(mixed)
            add(
                "our data, review trials",
                len(frame),
                names,
                _fit(frame, measure, model, options, level),
                label=_model_label(model),
                note=(("ours: " + ", ".join(sorted(used)) + "; ") if used else "no trial of ours; ")
                + (
                    ("numbers differ: " + "; ".join(diffs))
                    if diffs
                    else "our numbers equal the review's"
                    if len(review) and used
                    else ""
                ),
            )
        not_held = [n for n in names if n not in held]
        lacking = [n for n in names if n in held and n not in used]
        if len(ours_ok):
            what = f"{target['outcome']} at {target['timepoint']}"
            note = "; ".join(
                filter(
                    None,
                    [
                        ("not in our data: " + ", ".join(not_held)) if not_held else "",
                        (f"in our data without {what}: " + ", ".join(lacking)) if lacking else "",
                    ],
                )
            )
            add(
                "our data, trials we hold",
                len(ours_ok),
                list(ours_ok["trial"]),
                _fit(ours_ok, measure, model, options, level),
                label=_model_label(model),
                note=note,
            )
            primary_model = {"pooling": "IV", "method": primary["method"], "test": primary["test"]}
            add(
                "our model",
                len(ours_ok),
                list(ours_ok["trial"]),
                _fit(ours_ok, measure, primary_model, options, level),
                label=_model_label(primary_model),
            )
    return pd.DataFrame(rows, columns=COLUMNS)
