"""Forest plots as meta-analysts expect them (Lewis & Clarke 2001; metafor's ``forest.rma``).

Study rows with the counts behind each estimate, squares sized by weight, the pooled diamond of the
primary random-effects model, its prediction interval, a log-scaled axis for ratio measures, a
reference line at no effect and direction labels. Output is deterministic: no dates, fixed ids.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ketameta.effects import RATIO_MEASURES, back_transform

# Okabe & Ito (2008) colour-blind-safe palette.
BLUE, ORANGE, GREY = "#0072B2", "#D55E00", "#555555"
MEASURE_NAMES = {
    "OR": "Odds ratio",
    "RR": "Risk ratio",
    "RD": "Risk difference",
    "MD": "Mean difference",
    "SMD": "Standardised mean difference (Hedges' g)",
    "PLO": "Response proportion",
    "HR": "Hazard ratio",
}
CONTRAST_MARK = "†"  # a study given as a between-group estimate (contrasts.csv), not arm counts


def _setup_matplotlib():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            # stable element ids, so SVGs are byte-identical across runs
            "svg.hashsalt": "ketameta",
            "svg.fonttype": "none",
            "font.family": "DejaVu Sans",
            "font.size": 9,
        }
    )
    return plt


def _fmt(x: float, measure: str) -> str:
    return f"{x:.2f}" if math.isfinite(x) else "NA"


def _counts(row: pd.Series, measure: str) -> tuple[str, str]:
    def cell(events, n, mean, sd):
        if not np.isfinite(n):
            return ""
        n_txt = f"{n:g}" if float(n).is_integer() else f"{n:.1f}"
        if np.isfinite(events):
            e_txt = f"{events:g}" if float(events).is_integer() else f"{events:.1f}"
            return f"{e_txt}/{n_txt}"
        return f"{mean:.1f} ({sd:.1f}), {n_txt}"

    return (
        cell(row.events_treat, row.n_treat, row.mean_treat, row.sd_treat),
        cell(row.events_ctrl, row.n_ctrl, row.mean_ctrl, row.sd_ctrl),
    )


def forest_plot(
    effects: pd.DataFrame,
    pooled: pd.DataFrame,
    *,
    outputs: list[tuple[str, Path]],
    dpi: int = 150,
    **options,
) -> None:
    """Draw one forest plot (``options``: those of :func:`forest_figure`) and save it as each
    ``(format, path)`` of ``outputs``."""
    plt = _setup_matplotlib()
    fig, drawn = forest_figure(effects, pooled, **options)
    data = {"figure": "forest", "measure": options["measure"], "rows": drawn}
    _save(plt, fig, outputs, dpi, data)


def forest_figure(
    effects: pd.DataFrame,
    pooled: pd.DataFrame,
    *,
    title: str,
    measure: str,
    method: str,
    test: str,
    favourable: str = "higher",
    treatment_label: str = "treatment",
    subgroup_name: str = "",
):
    """The forest plot's figure and the plotted numbers: study rows with counts, squares sized by
    weight, subgroup and overall diamonds, prediction interval (see the module docstring)."""
    plt = _setup_matplotlib()
    from matplotlib.patches import Polygon
    from matplotlib.transforms import blended_transform_factory

    eff = effects.copy()
    main = pooled[(pooled["method"] == method) & (pooled["test"] == test)]
    overall = main[main["subgroup"] == ""]
    sub_fits = main[main["subgroup"] != ""]
    used = eff[eff["included"].astype(bool)]
    w = 1.0 / (used["vi"] + (overall["tau2"].iloc[0] if len(overall) else 0.0))
    eff["weight"] = np.nan
    eff.loc[used.index, "weight"] = 100 * w / w.sum()
    if sub_fits.empty:
        blocks = [("", eff)]
    else:
        blocks = [
            (lvl, eff[eff["subgroup"].astype(str) == lvl])
            for lvl in sorted(eff["subgroup"].astype(str).unique())
        ]

    # Build the list of rows top to bottom: ("study", row) | ("header", text) | ("diamond", fit)
    lines: list[tuple[str, object]] = []
    for level, part in blocks:
        if level:
            lines.append(("header", level))
        for _, r in part.sort_values(["label", "comparison"]).iterrows():
            lines.append(("study", r))
        if level:
            fit = sub_fits[sub_fits["subgroup"].str.endswith(f"={level}")]
            if len(fit) and int(fit["k"].iloc[0]) >= 2:
                lines.append(("diamond", (f"Subtotal ({level})", fit.iloc[0], False)))
            lines.append(("gap", None))
    if len(overall):
        lines.append(("diamond", ("Random effects", overall.iloc[0], True)))
        if np.isfinite(overall["pi_low"].iloc[0]) and int(overall["k"].iloc[0]) >= 2:
            lines.append(("het", overall.iloc[0]))
    n_lines = len(lines)
    top_in, bottom_in, row_in = 0.75, 0.95, 0.26
    height = top_in + bottom_in + row_in * (n_lines + 1)
    fig = plt.figure(figsize=(10.0, height))
    single = measure == "PLO"
    col = _forest_columns(
        fig, lines, measure, method, test, title, treatment_label, single, subgroup_name
    )
    width = col["width"]
    fig.set_size_inches(width, height)
    ax = fig.add_axes(
        (
            col["plot"] / width,
            bottom_in / height,
            col["plot_w"] / width,
            row_in * (n_lines + 1) / height,
        )
    )
    ax.set_ylim(n_lines - 0.5, -1.5)
    tr = blended_transform_factory(fig.transFigure, ax.transData)
    x_label, x_treat = col["label"] / width, col["treat"] / width
    x_ctrl, x_est, x_weight = col["ctrl"] / width, col["est"] / width, col["weight"] / width
    heads = [(x_label, "Study", "left"), (x_treat, f"{treatment_label.capitalize()}", "center")]
    if not single:
        heads.append((x_ctrl, "Control", "center"))
    heads += [
        (x_est, f"{MEASURE_NAMES[measure]} [95% CI]", "right"),
        (x_weight, "Weight", "right"),
    ]
    for x, text, ha in heads:
        ax.text(x, -1, text, transform=tr, ha=ha, va="center", fontweight="bold")
    lows, highs = [], []
    drawn: list[dict] = []  # what is plotted, embedded in the SVG for `ketameta verify`
    for i, (kind, item) in enumerate(lines):
        if kind == "header":
            label = str(item) if not subgroup_name else f"{subgroup_name}: {item}"
            ax.text(x_label, i, label, transform=tr, ha="left", va="center", fontstyle="italic")
        elif kind == "study":
            r = item
            t_txt, c_txt = _counts(r, measure)
            contrast = str(r.get("input", "arms")) == "contrast"
            label = f"{r['label']} {CONTRAST_MARK}" if contrast else str(r["label"])
            ax.text(x_label, i, label, transform=tr, ha="left", va="center")
            ax.text(x_treat, i, t_txt, transform=tr, ha="center", va="center")
            if not single:
                ax.text(x_ctrl, i, c_txt, transform=tr, ha="center", va="center")
            if bool(r["included"]):
                y, se = r["yi"], math.sqrt(r["vi"])
                lo, hi = y - 1.959963984540054 * se, y + 1.959963984540054 * se
                lows.append(lo)
                highs.append(hi)
                size = 4 + 10 * math.sqrt(r["weight"] / 100)
                ax.plot([lo, hi], [i, i], color=GREY, lw=1)
                ax.plot([y], [i], marker="s", ms=size, color=BLUE, mec=BLUE)
                drawn.append(
                    {
                        "row": "study",
                        "label": str(r["label"]),
                        **({"input": "contrast"} if contrast else {}),
                        "estimate": y,
                        "ci_low": lo,
                        "ci_high": hi,
                        "weight": float(r["weight"]),
                    }
                )
                est = back_transform(measure, [y, lo, hi])
                ax.text(
                    x_est,
                    i,
                    f"{_fmt(est[0], measure)} [{_fmt(est[1], measure)}, {_fmt(est[2], measure)}]",
                    transform=tr,
                    ha="right",
                    va="center",
                )
                ax.text(x_weight, i, f"{r['weight']:.1f}%", transform=tr, ha="right", va="center")
            else:
                ax.text(
                    x_est, i, "not estimable", transform=tr, ha="right", va="center", color=GREY
                )
        elif kind == "diamond":
            label, fit, is_total = item
            est, lo, hi = fit["estimate"], fit["ci_low"], fit["ci_high"]
            colour = ORANGE if is_total else BLUE
            ax.add_patch(
                Polygon(
                    [(lo, i), (est, i - 0.32), (hi, i), (est, i + 0.32)], closed=True, color=colour
                )
            )
            lows.append(lo)
            highs.append(hi)
            drawn.append(
                {"row": "pooled", "label": label, "estimate": est, "ci_low": lo, "ci_high": hi}
            )
            k_txt = f"{label} (k = {int(fit['k'])}; {method}, {test})"
            ax.text(x_label, i, k_txt, transform=tr, ha="left", va="center", fontweight="bold")
            bt = back_transform(measure, [est, lo, hi])
            ax.text(
                x_est,
                i,
                f"{_fmt(bt[0], measure)} [{_fmt(bt[1], measure)}, {_fmt(bt[2], measure)}]",
                transform=tr,
                ha="right",
                va="center",
                fontweight="bold",
            )
            if is_total:
                ax.text(x_weight, i, "100%", transform=tr, ha="right", va="center")
        elif kind == "het":
            fit = item
            ax.plot([fit["pi_low"], fit["pi_high"]], [i, i], color=ORANGE, lw=1.4, ls=(0, (3, 2)))
            lows.append(fit["pi_low"])
            highs.append(fit["pi_high"])
            drawn.append({"row": "prediction", "pi_low": fit["pi_low"], "pi_high": fit["pi_high"]})
            pi = back_transform(measure, [fit["pi_low"], fit["pi_high"]])
            ax.text(x_label, i, "Prediction interval", transform=tr, ha="left", va="center")
            ax.text(
                x_est,
                i,
                f"[{_fmt(pi[0], measure)}, {_fmt(pi[1], measure)}]",
                transform=tr,
                ha="right",
                va="center",
            )
            het = (
                f"Heterogeneity: tau² = {fit['tau2']:.3f}, I² = {fit['i2']:.0f}%, "
                f"Q = {fit['q']:.2f} (df = {int(fit['q_df'])}, p = {fit['q_p']:.3f})"
            )
            ax.text(
                x_label,
                i + 0.9,
                het,
                transform=tr,
                ha="left",
                va="center",
                fontsize=8,
                color=GREY,
            )
    null = None if single else 0.0
    lo_lim = min(lows + ([null] if null is not None else [])) if lows else -1.0
    hi_lim = max(highs + ([null] if null is not None else [])) if highs else 1.0
    pad = 0.05 * (hi_lim - lo_lim or 1.0)
    ax.set_xlim(lo_lim - pad, hi_lim + pad)
    if null is not None:
        ax.axvline(null, color="black", lw=0.8)
    if measure in RATIO_MEASURES or measure == "PLO":
        ticks = _nice_ticks(measure, lo_lim - pad, hi_lim + pad)
        ax.set_xticks([t for _, t in ticks])
        ax.set_xticklabels([lab for lab, _ in ticks])
    ax.set_xlabel(MEASURE_NAMES[measure] + (" (log scale)" if measure in RATIO_MEASURES else ""))
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_yticks([])
    if not single and null is not None:
        better_right = favourable == "higher"
        left = "Favours control" if better_right else f"Favours {treatment_label}"
        right = f"Favours {treatment_label}" if better_right else "Favours control"
        ax.annotate(
            f"← {left}",
            xy=(null, 0),
            xycoords=("data", "axes fraction"),
            xytext=(-4, -30),
            textcoords="offset points",
            ha="right",
            va="top",
            fontsize=8,
        )
        ax.annotate(
            f"{right} →",
            xy=(null, 0),
            xycoords=("data", "axes fraction"),
            xytext=(4, -30),
            textcoords="offset points",
            ha="left",
            va="top",
            fontsize=8,
        )
    fig.text(
        x_label, 1 - 0.3 / height, title, ha="left", va="center", fontsize=11, fontweight="bold"
    )
    if "input" in eff.columns and (eff["input"].astype(str) == "contrast").any():
        fig.text(
            x_label,
            0.12 / height,
            f"{CONTRAST_MARK} between-group estimate as reported (contrasts.csv; generic inverse "
            "variance, Cochrane Handbook 6.3), no arm counts",
            ha="left",
            va="center",
            fontsize=8,
            color=GREY,
        )
    return fig, drawn


def _forest_columns(
    fig, lines, measure, method, test, title, treatment_label, single, subgroup_name
) -> dict:
    """Column positions in inches, sized to the widest text of each column (measured with the
    figure's renderer), so long study names or labels are never cut or overlapped."""
    renderer = fig.canvas.get_renderer()
    het_w = 0.0

    def width(text: str, **kw) -> float:
        t = fig.text(0, 0, text, **kw)
        w = t.get_window_extent(renderer).width / fig.dpi
        t.remove()
        return w

    left = [width("Study", fontweight="bold"), width("Prediction interval")]
    counts = [width(treatment_label.capitalize(), fontweight="bold"), width("Control")]
    est = [width(f"{MEASURE_NAMES[measure]} [95% CI]", fontweight="bold"), width("not estimable")]
    for kind, item in lines:
        if kind in ("header", "study"):
            text = str(item["label"]) if kind == "study" else str(item)
            if kind == "header" and subgroup_name:
                text = f"{subgroup_name}: {item}"
            left.append(width(text, fontstyle="italic" if kind == "header" else "normal"))
            if kind == "study":
                counts += [width(t) for t in _counts(item, measure)]
                est.append(width("000.00 [000.00, 000.00]"))
        elif kind == "diamond":
            label, fit, _ = item
            text = f"{label} (k = {int(fit['k'])}; {method}, {test})"
            left.append(width(text, fontweight="bold"))
            est.append(width("000.00 [000.00, 000.00]", fontweight="bold"))
        elif kind == "het":
            # the heterogeneity line sits below the rows, left of the axis: it may span the
            # label and count columns, not the plot
            het_w = width(
                "Heterogeneity: tau² = 0.000, I² = 100%, Q = 000.00 (df = 00, p = 0.000)",
                fontsize=8,
            )
    pad = 0.15
    c = {"label": 0.1}
    c["label_w"] = max(left) + pad
    c["count_w"] = max(counts) + pad
    c["treat"] = c["label"] + c["label_w"] + c["count_w"] / 2
    c["ctrl"] = c["treat"] + (c["count_w"] if not single else 0.0)
    c["plot"] = max(c["ctrl"] + c["count_w"] / 2 + 0.1, c["label"] + het_w + 0.15)
    c["plot_w"] = 2.5
    c["est"] = c["plot"] + c["plot_w"] + 0.2 + max(est)
    c["weight"] = c["est"] + 0.15 + width("Weight", fontweight="bold") + 0.05
    c["width"] = max(
        c["weight"] + 0.1, c["label"] + width(title, fontsize=11, fontweight="bold") + 0.2
    )
    return c


FIGURE_DATA_PREFIX = "ketameta-figure-data:"


def _save(plt, fig, outputs: list[tuple[str, Path]], dpi: int, data: dict) -> None:
    """Save every format; the SVG carries the plotted numbers as JSON in its description
    (``ketameta verify`` compares figures by these numbers, not by pixels). No dates or software
    versions in the files, so reruns are byte-identical."""
    import json

    def clean(x):
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [clean(v) for v in x]
        if isinstance(x, float | np.floating):
            return float(x) if math.isfinite(x) else None
        if isinstance(x, np.integer | np.bool_):
            return x.item()
        return x

    description = FIGURE_DATA_PREFIX + json.dumps(clean(data), sort_keys=True, allow_nan=False)
    for fmt, path in outputs:
        if fmt == "svg":
            meta = {"Date": None, "Creator": None, "Description": description}
            fig.savefig(path, format="svg", metadata=meta)
        else:
            fig.savefig(path, format=fmt, dpi=dpi, metadata={"Software": None})
    plt.close(fig)


def posterior_plot(
    post,
    tau_prior,
    labels: list[str],
    yi,
    vi,
    *,
    title: str,
    measure: str,
    level: float = 0.95,
    outputs: list[tuple[str, Path]],
    dpi: int = 150,
) -> None:
    """Exact Bayesian normal-normal posterior of one analysis (:mod:`ketameta.bayes_exact`).

    Left: prior and posterior density of tau. Middle: posterior density of mu and the posterior
    predictive density of a new study's effect, with the ``level`` credible interval. Right: a
    Bayesian forest plot, observed study estimates (``yi`` with ``level`` CIs) next to their
    shrunken posterior estimates (Spiegelhalter et al. 2004, ch. 5.4).
    """
    from scipy.stats import norm

    plt = _setup_matplotlib()
    grid = post.grid(201)
    fig, axes = plt.subplots(1, 3, figsize=(11.0, 3.8), gridspec_kw={"width_ratios": [1, 1, 1.3]})
    tau = grid[grid["parameter"] == "tau"]
    prior = np.exp(tau_prior.logpdf(tau["x"].to_numpy()))
    ax = axes[0]
    ax.plot(tau["x"], prior, color=GREY, ls=(0, (4, 2)), label=f"prior {post.tau_prior}")
    ax.plot(tau["x"], tau["pdf"], color=BLUE, label="posterior")
    ax.axvspan(post.tau_low, post.tau_high, color=BLUE, alpha=0.12, lw=0)
    ax.set_xlabel("tau (between-study sd)")
    ax.set_ylabel("density")
    ax.legend(fontsize=7, frameon=False)
    ax = axes[1]
    mu = grid[grid["parameter"] == "mu"]
    new = grid[grid["parameter"] == "theta_new"]
    ax.plot(new["x"], new["pdf"], color=ORANGE, ls=(0, (4, 2)), label="new study (predictive)")
    ax.plot(mu["x"], mu["pdf"], color=BLUE, label="pooled effect mu")
    ax.axvspan(post.mu_low, post.mu_high, color=BLUE, alpha=0.12, lw=0)
    if measure != "PLO":
        ax.axvline(0.0, color="black", lw=0.8)
    lo, hi = float(new["x"].min()), float(new["x"].max())
    if measure in RATIO_MEASURES or measure == "PLO":
        ticks = _nice_ticks(measure, lo, hi)
        ax.set_xticks([t for _, t in ticks])
        ax.set_xticklabels([lab for lab, _ in ticks])
    ax.set_xlabel(MEASURE_NAMES[measure] + (" (log scale)" if measure in RATIO_MEASURES else ""))
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    ax = axes[2]
    studies = post.studies(labels)
    y, se = np.asarray(yi, float), np.sqrt(np.asarray(vi, float))
    z = float(norm.isf((1 - level) / 2))
    rows = range(len(y))
    for i in rows:
        ax.plot([y[i] - z * se[i], y[i] + z * se[i]], [i - 0.15] * 2, color=GREY, lw=1)
        ax.plot([studies["low"][i], studies["high"][i]], [i + 0.15] * 2, color=BLUE, lw=1.4)
    ax.plot(y, [i - 0.15 for i in rows], "s", color=GREY, ms=4, label="observed")
    ax.plot(studies["mean"], [i + 0.15 for i in rows], "o", color=BLUE, ms=4, label="shrunken")
    n = len(y)
    ax.plot([post.mu_low, post.mu_high], [n + 0.2] * 2, color=ORANGE, lw=2)
    ax.plot([post.mu_mean], [n + 0.2], "D", color=ORANGE, ms=5, label="pooled mu")
    ax.set_yticks(list(rows) + [n + 0.2])
    ax.set_yticklabels(list(labels) + ["Pooled"], fontsize=7)
    ax.set_ylim(n + 0.8, -0.8)
    if measure != "PLO":
        ax.axvline(0.0, color="black", lw=0.8)
    xs = list(y - z * se) + list(y + z * se) + [post.mu_low, post.mu_high]
    if measure in RATIO_MEASURES or measure == "PLO":
        ticks = _nice_ticks(measure, min(xs), max(xs))
        ax.set_xticks([t for _, t in ticks])
        ax.set_xticklabels([lab for lab, _ in ticks])
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    fig.suptitle(
        f"{title}\nBayesian normal-normal model, exact posterior", fontsize=9, x=0.01, ha="left"
    )
    fig.tight_layout()
    data = {
        "figure": "posterior",
        "measure": measure,
        "mu": [post.mu_mean, post.mu_low, post.mu_high],
        "tau": [post.tau_median, post.tau_low, post.tau_high],
        "predictive": [post.pred_low, post.pred_high],
        "shrunken": [list(studies["mean"]), list(studies["low"]), list(studies["high"])],
    }
    _save(plt, fig, outputs, dpi, data)


def empty_plot(*, title: str, message: str, outputs: list[tuple[str, Path]], dpi: int = 150):
    """A figure that says why there is nothing to draw (the file still exists, as the workflow
    promises every figure of every configured analysis)."""
    plt = _setup_matplotlib()
    fig = plt.figure(figsize=(6.0, 1.6))
    fig.text(0.02, 0.75, title, ha="left", va="center", fontsize=11, fontweight="bold")
    fig.text(0.02, 0.35, message, ha="left", va="center", color=GREY)
    _save(plt, fig, outputs, dpi, {"figure": "empty", "message": message})


def funnel_plot(
    yi,
    vi,
    *,
    estimate: float,
    title: str,
    measure: str,
    model_label: str,
    filled_yi=(),
    filled_vi=(),
    level: float = 0.95,
    outputs: list[tuple[str, Path]],
    dpi: int = 150,
) -> None:
    """Funnel plot (Light & Pillemer 1984; Sterne & Egger 2001), as metafor's ``funnel.rma``.

    Effects against their standard errors (0 at the top), a vertical line at the pooled
    ``estimate`` and the pseudo confidence region ``estimate +/- z se`` (Sterne & Egger 2001).
    For comparative measures the plot is contour-enhanced (Peters et al. 2008, J Clin Epidemiol
    61:991-996): shaded where a study would be significant at p < 0.10, 0.05 and 0.01 against no
    effect (0 on the log/difference scale). Studies imputed by trim-and-fill (``filled_yi``,
    ``filled_vi``) are drawn as open circles.
    """
    from scipy.stats import norm

    plt = _setup_matplotlib()
    y, se = np.asarray(yi, float), np.sqrt(np.asarray(vi, float))
    fy, fse = np.asarray(filled_yi, float), np.sqrt(np.asarray(filled_vi, float))
    se_max = 1.08 * float(max(np.max(se, initial=0.0), np.max(fse, initial=0.0)) or 1.0)
    s = np.array([0.0, se_max])
    fig, ax = plt.subplots(figsize=(7.2, 4.6))
    z_ci = float(norm.isf((1 - level) / 2))
    xs = list(y) + list(fy) + [estimate - z_ci * se_max, estimate + z_ci * se_max]
    null = None if measure == "PLO" else 0.0
    shades = [(0.10, "#E6E6E6"), (0.05, "#C4C4C4"), (0.01, "#9E9E9E")]
    if null is not None:
        xs += [null + sign * float(norm.isf(0.01 / 2)) * se_max for sign in (-1, 1)]
    lo_lim, hi_lim = min(xs), max(xs)
    pad = 0.05 * (hi_lim - lo_lim or 1.0)
    lo_lim, hi_lim = lo_lim - pad, hi_lim + pad
    handles, labels = [], []
    if null is not None:
        from matplotlib.patches import Patch

        for p, colour in shades:
            z = float(norm.isf(p / 2))
            ax.fill_betweenx(s, np.full(2, lo_lim), null - z * s, color=colour, lw=0, zorder=1)
            ax.fill_betweenx(s, null + z * s, np.full(2, hi_lim), color=colour, lw=0, zorder=1)
            handles.append(Patch(facecolor=colour, edgecolor=GREY, lw=0.5))
            labels.append(f"p < {p:g}")
        ax.axvline(null, color="black", lw=0.8, zorder=2)
    ax.plot(estimate - z_ci * s, s, color=GREY, lw=0.9, ls=(0, (4, 2)), zorder=3)
    ci_line = ax.plot(estimate + z_ci * s, s, color=GREY, lw=0.9, ls=(0, (4, 2)), zorder=3)
    est_line = ax.plot([estimate, estimate], [0, se_max], color=ORANGE, lw=1.2, zorder=3)
    points = ax.plot(y, se, "o", color=BLUE, ms=5, zorder=4)
    handles = [points[0], est_line[0], ci_line[0]] + handles
    labels = ["studies", "pooled estimate", f"pseudo {level:.0%} CI"] + labels
    if fy.size:
        filled = ax.plot(fy, fse, "o", mfc="white", mec=BLUE, ms=5, zorder=4)
        handles.insert(1, filled[0])
        labels.insert(1, "filled (trim-and-fill)")
    ax.set_xlim(lo_lim, hi_lim)
    ax.set_ylim(se_max, 0)
    if measure in RATIO_MEASURES or measure == "PLO":
        ticks = _nice_ticks(measure, lo_lim, hi_lim)
        ax.set_xticks([t for _, t in ticks])
        ax.set_xticklabels([lab for lab, _ in ticks])
    ax.set_xlabel(MEASURE_NAMES[measure] + (" (log scale)" if measure in RATIO_MEASURES else ""))
    ax.set_ylabel("Standard error")
    ax.legend(
        handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7, frameon=False
    )
    ax.set_title(f"{title}\n{model_label}", fontsize=9, loc="left")
    fig.tight_layout()
    data = {
        "figure": "funnel",
        "measure": measure,
        "estimate": estimate,
        "level": level,
        "yi": list(y),
        "se": list(se),
        "filled_yi": list(fy),
        "filled_se": list(fse),
    }
    _save(plt, fig, outputs, dpi, data)


def _nice_ticks(measure: str, lo: float, hi: float) -> list[tuple[str, float]]:
    """Tick labels on the reading scale for an axis drawn on the log / logit scale."""
    if measure == "PLO":
        cands = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99]
        pos = [(f"{c:g}", math.log(c / (1 - c))) for c in cands]
    else:
        cands = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500]
        pos = [(f"{c:g}", math.log(c)) for c in cands]
    inside = [(lab, x) for lab, x in pos if lo <= x <= hi]
    if len(inside) > 7:
        inside = inside[:: math.ceil(len(inside) / 7)]
    return inside


def specification_curve(
    table: pd.DataFrame,
    *,
    title: str,
    outputs: list[tuple[str, Path]],
    dpi: int = 150,
) -> None:
    """Specification curve (Simonsohn, Simmons & Nelson 2020) of ``multiverse.csv``.

    One column per measure: above, the estimated specifications sorted by their estimate, with
    the CI (or credible interval) as a band and a dot per specification (blue where the interval
    shows benefit); below, the choice matrix: one row per choice, a mark where the specification
    above made it. Axes with a single choice are left out of the matrix; specifications not
    estimated (too few studies) are left out of both and counted in the title.
    """
    plt = _setup_matplotlib()
    done = table[table["estimate"].notna()]
    measures = list(dict.fromkeys(done["measure"]))
    if not measures:
        empty_plot(title=title, message="No specification could be estimated.", outputs=outputs)
        return
    axes_cols = [
        c
        for c in table.columns[1 : table.columns.get_loc("k")]
        if c != "measure" and done[c].nunique() > 1
    ]
    choice_rows = [(a, lv) for a in axes_cols for lv in dict.fromkeys(done[a]) if lv != ""]
    n_rows = len(choice_rows)
    fig_h = 2.8 + 0.16 * n_rows
    fig, grid = plt.subplots(
        2,
        len(measures),
        figsize=(2.2 + 3.4 * len(measures), fig_h),
        gridspec_kw={"height_ratios": [2.4, 0.16 * n_rows], "hspace": 0.05, "wspace": 0.18},
        squeeze=False,
    )
    data: dict = {"figure": "specification_curve", "measures": {}}
    for j, measure in enumerate(measures):
        # estimates equal but for floating-point noise (DL and REML at tau2 = 0, ...) keep the
        # order of their spec_id on every machine
        part = done[done["measure"] == measure]
        part = part.assign(_key=part["estimate"].round(10)).sort_values(
            ["_key", "spec_id"], kind="stable"
        )
        x = np.arange(len(part))
        top, bottom = grid[0, j], grid[1, j]
        est, lo, hi = (part[c].to_numpy(float) for c in ("estimate", "ci_low", "ci_high"))
        band_lo, band_hi = np.where(np.isfinite(lo), lo, est), np.where(np.isfinite(hi), hi, est)
        top.fill_between(x, band_lo, band_hi, color="#BBBBBB", linewidth=0, step="mid")
        benefit = part["benefit"].astype("boolean").fillna(False).to_numpy(bool)
        top.scatter(x[~benefit], est[~benefit], s=3, color=GREY, linewidths=0, zorder=3)
        top.scatter(x[benefit], est[benefit], s=3, color=BLUE, linewidths=0, zorder=3)
        top.axhline(0.0, color="black", linewidth=0.8)
        top.set_xlim(-0.5, len(part) - 0.5)
        top.set_xticks([])
        # Hartung-Knapp intervals of k = 2 span orders of magnitude: the axis is set by the
        # estimates and the null, and wider intervals are clipped (and counted), so the curve
        # stays readable
        e_lo, e_hi = min(float(np.nanmin(est)), 0.0), max(float(np.nanmax(est)), 0.0)
        span = e_hi - e_lo or 1.0
        ylo = max(e_lo - 0.6 * span, float(np.nanmin(band_lo)))
        yhi = min(e_hi + 0.6 * span, float(np.nanmax(band_hi)))
        pad = 0.05 * (yhi - ylo or 1.0)
        clipped = int(np.sum((band_lo < ylo - pad) | (band_hi > yhi + pad)))
        top.set_ylim(ylo - pad, yhi + pad)
        if measure in RATIO_MEASURES:
            ticks = _nice_ticks(measure, ylo - pad, yhi + pad)
            top.set_yticks([t for _, t in ticks], [lab for lab, _ in ticks])
        share = float(benefit.mean())
        top.set_title(
            f"{MEASURE_NAMES.get(measure, measure)}: {len(part)} specifications,\n"
            f"{share:.0%} with an interval showing benefit",
            fontsize=9,
        )
        if clipped:
            top.text(
                0.02,
                0.97,
                f"{clipped} intervals clipped at the axis",
                transform=top.transAxes,
                va="top",
                fontsize=7,
                color=GREY,
            )
        mat = np.zeros((n_rows, len(part)))
        for i, (axis, lv) in enumerate(choice_rows):
            mat[i] = (part[axis] == lv).to_numpy()
        bottom.imshow(
            mat,
            aspect="auto",
            interpolation="nearest",
            cmap="Greys",
            vmin=0,
            vmax=1.4,
            extent=(-0.5, len(part) - 0.5, n_rows - 0.5, -0.5),
        )
        bottom.set_yticks(range(n_rows))
        bottom.set_yticklabels(
            [f"{a}: {lv}" for a, lv in choice_rows] if j == 0 else [], fontsize=7
        )
        bottom.tick_params(axis="y", length=0)
        for i in range(1, len(axes_cols)):
            edge = sum(1 for a, _ in choice_rows if a in axes_cols[:i]) - 0.5
            bottom.axhline(edge, color="white", linewidth=1.2)
        bottom.set_xlabel("specifications, sorted by estimate", fontsize=8)
        bottom.set_xticks([])
        data["measures"][measure] = {
            "spec_id": part["spec_id"].tolist(),
            "estimate": est.tolist(),
            "ci_low": lo.tolist(),
            "ci_high": hi.tolist(),
            "clipped": clipped,
        }
    n_not = len(table) - len(done)
    fig.suptitle(
        f"{title}\n{len(table)} specifications, {len(done)} estimated "
        f"({n_not} with too few trials not shown)",
        fontsize=10,
        fontweight="bold",
        y=0.995,
    )
    fig.subplots_adjust(
        left=0.2 if len(measures) < 3 else 0.16,
        right=0.98,
        top=1 - 0.9 / fig_h,
        bottom=0.35 / fig_h,
    )
    _save(plt, fig, outputs, dpi, data)


def safety_plot(
    safety: pd.DataFrame,
    studies: pd.DataFrame,
    *,
    primary: str = "MH",
    treatment_label: str = "treatment",
    outputs: list[tuple[str, Path]],
    dpi: int = 150,
) -> None:
    """Harms forest plot: one row per adverse-event outcome, its pooled risk ratio (log axis) and
    risk difference with their CIs (the ``primary`` method: a diamond), each trial's estimate as
    a small grey mark, and per row k, events/n in both arms and the NNH interval."""
    from ketameta.safety import OUTCOME_LABELS

    plt = _setup_matplotlib()
    main = safety[safety["method"] == primary]
    outcomes = list(dict.fromkeys(main["outcome"]))
    if not outcomes:
        empty_plot(title="Harms", message="No adverse-event data.", outputs=outputs, dpi=dpi)
        return
    n = len(outcomes)
    fig_h = 1.3 + 0.42 * n
    fig = plt.figure(figsize=(13.0, fig_h))
    top, bottom = 1 - 0.75 / fig_h, 0.55 / fig_h
    ax_text = fig.add_axes((0.01, bottom, 0.49, top - bottom))
    ax_rr = fig.add_axes((0.52, bottom, 0.22, top - bottom))
    ax_rd = fig.add_axes((0.77, bottom, 0.22, top - bottom))
    ys = np.arange(n)[::-1]
    data: dict = {"figure": "safety", "primary": primary, "rows": []}
    heads = ["Harm", "k", treatment_label, "control", "NNH (95% CI)"]
    xs = [0.0, 0.4, 0.46, 0.6, 0.74]
    for x, h in zip(xs, heads, strict=True):
        ax_text.text(x, n - 0.2, h, fontweight="bold", va="bottom", fontsize=8)
    for y, outcome in zip(ys, outcomes, strict=True):
        rows = main[main["outcome"] == outcome].set_index("measure")
        rr, rd = rows.loc["RR"], rows.loc["RD"]
        cells = [
            OUTCOME_LABELS.get(outcome, outcome),
            f"{int(rr['k'])}",
            f"{int(rr['events_treat'])}/{int(rr['n_treat'])}",
            f"{int(rr['events_ctrl'])}/{int(rr['n_ctrl'])}",
            str(rd["nnh_ci"]).replace(" to infinity to ", " to ∞ to "),
        ]
        for x, c in zip(xs, cells, strict=True):
            ax_text.text(x, y, c, va="center", fontsize=8)
        per = studies[studies["outcome"] == outcome]
        for ax, measure, r in ((ax_rr, "RR", rr), (ax_rd, "RD", rd)):
            pts = per[(per["measure"] == measure) & np.isfinite(per["yi"])]
            ax.scatter(pts["yi"], np.full(len(pts), y), s=8, color="#999999", zorder=2)
            est, lo, hi = r["estimate"], r["ci_low"], r["ci_high"]
            if np.isfinite(est):
                ax.plot([lo, hi], [y, y], color=BLUE, linewidth=1.4, zorder=3)
                ax.fill([lo, est, hi, est], [y, y + 0.22, y, y - 0.22], color=BLUE, zorder=4)
        data["rows"].append(
            {
                "outcome": outcome,
                "k": int(rr["k"]),
                "rr": [rr["estimate"], rr["ci_low"], rr["ci_high"]],
                "rd": [rd["estimate"], rd["ci_low"], rd["ci_high"]],
            }
        )
    ax_text.set_xlim(0, 1)
    ax_text.set_ylim(-0.6, n + 0.4)
    ax_text.axis("off")
    for ax, null, label in (
        (ax_rr, 0.0, "Risk ratio (log scale)"),
        (ax_rd, 0.0, "Risk difference"),
    ):
        ax.axvline(null, color="black", linewidth=0.8)
        ax.set_ylim(-0.6, n + 0.4)
        ax.set_yticks([])
        ax.set_xlabel(label, fontsize=8)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    lo, hi = ax_rr.get_xlim()
    ticks = _nice_ticks("RR", lo, hi)
    ax_rr.set_xticks([t for _, t in ticks], [lab for lab, _ in ticks])
    ax_rr.set_title(f"more on control ← → more on {treatment_label}", fontsize=7, color=GREY)
    ax_rd.set_title(f"more on control ← → more on {treatment_label}", fontsize=7, color=GREY)
    method = "Mantel-Haenszel, no continuity correction" if primary == "MH" else "REML"
    fig.suptitle(
        f"Harms: {treatment_label} vs control ({method}; grey: single trials)",
        fontsize=10,
        fontweight="bold",
        y=1 - 0.2 / fig_h,
    )
    _save(plt, fig, outputs, dpi, data)


def timecourse_plot(
    table: pd.DataFrame,
    *,
    outcome: str,
    phi: float,
    treatment_label: str = "treatment",
    outputs: list[tuple[str, Path]],
    dpi: int = 150,
) -> None:
    """Time course of one outcome on a log-time axis: above, the odds ratio at each timepoint
    pooled by REML where k >= 2 (filled, with k and n) and the multilevel model's estimate at
    every timepoint (open: one coefficient per timepoint, trials correlated over time); below,
    the pooled proportion responding in the treatment and the control arms (k >= 2)."""
    plt = _setup_matplotlib()
    part = table[table["outcome"] == outcome]
    if part.empty:
        empty_plot(
            title=f"Time course: {outcome}", message="No timepoint data.", outputs=outputs, dpi=dpi
        )
        return
    reml = part[(part["model"] == "REML") & (part["measure"] == "OR")]
    multi = part[(part["model"] == "multilevel") & (part["phi"] == phi)]
    fig, (ax, ax2) = plt.subplots(
        2, 1, figsize=(8.0, 6.4), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    data: dict = {"figure": "timecourse", "outcome": outcome, "reml": [], "multilevel": []}
    for r in multi.itertuples():
        x = r.hours * 1.08  # beside the REML point of the same timepoint
        ax.plot([x, x], [r.ci_low, r.ci_high], color=GREY, lw=1)
        ax.plot([x], [r.estimate], marker="o", mfc="white", mec=GREY, ms=6, ls="none")
        data["multilevel"].append([r.timepoint, r.estimate, r.ci_low, r.ci_high])
    for r in reml.itertuples():
        ax.plot([r.hours, r.hours], [r.ci_low, r.ci_high], color=BLUE, lw=1.6)
        ax.plot([r.hours], [r.estimate], marker="s", color=BLUE, ms=7, ls="none")
        ax.annotate(
            f"k = {r.k}\nn = {r.n:.0f}",
            (r.hours, r.ci_high),
            textcoords="offset points",
            xytext=(0, 4),
            ha="center",
            va="bottom",
            fontsize=7,
        )
        data["reml"].append([r.timepoint, r.estimate, r.ci_low, r.ci_high, int(r.k)])
    ax.axhline(0.0, color="black", lw=0.8)
    lo = min(part.loc[part["measure"] == "OR", "ci_low"].min(), 0.0)
    hi = max(part.loc[part["measure"] == "OR", "ci_high"].max(), 0.0)
    pad = 0.12 * (hi - lo or 1.0)
    ax.set_ylim(lo - pad, hi + 2 * pad)
    ticks = _nice_ticks("OR", lo - pad, hi + 2 * pad)
    ax.set_yticks([t for _, t in ticks], [lab for lab, _ in ticks])
    ax.set_ylabel("Odds ratio (log scale)")
    ax.set_title(
        f"Time course: {outcome}, {treatment_label} vs control\n"
        f"filled: REML per timepoint (k >= 2); open: multilevel model over all timepoints "
        f"(phi = {phi:g} per day)",
        fontsize=9,
    )
    for arm, colour in (("treatment", BLUE), ("control", ORANGE)):
        p = part[(part["measure"] == "PLO") & (part["arm"] == arm)].sort_values("hours")
        if p.empty:
            continue
        label = treatment_label if arm == "treatment" else "control"
        ax2.errorbar(
            p["hours"],
            p["estimate_bt"],
            yerr=[p["estimate_bt"] - p["ci_low_bt"], p["ci_high_bt"] - p["estimate_bt"]],
            marker="o",
            color=colour,
            capsize=3,
            label=f"{label} arms",
        )
        data[f"plo_{arm}"] = p[["timepoint", "estimate_bt"]].values.tolist()
    ax2.set_ylim(0, 1)
    ax2.set_ylabel(f"Proportion ({outcome})")
    ax2.legend(frameon=False, fontsize=8, loc="upper right")
    ax2.set_xscale("log")
    hours_ticks = [(1, "1 h"), (4, "4 h"), (24, "1 d"), (72, "3 d"), (168, "1 w")]
    hours_ticks += [(672, "4 w"), (1344, "8 w")]
    ax2.set_xticks([h for h, _ in hours_ticks], [lab for _, lab in hours_ticks])
    ax2.set_xlabel("Time since the (first) dose, log scale")
    hs = part["hours"]
    ax2.set_xlim(hs.min() / 1.8, hs.max() * 1.8)
    for a in (ax, ax2):
        for side in ("top", "right"):
            a.spines[side].set_visible(False)
    fig.tight_layout()
    _save(plt, fig, outputs, dpi, data)
