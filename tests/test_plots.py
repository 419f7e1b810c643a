"""Figures readable at any size of data: no text outside the figure, no two texts of one row
overlapping, with long study names and 40 studies (issue 6). Synthetic effects (not trial data):
the layout is under test, not the numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ketameta.frequentist import rma
from ketameta.plots import forest_figure
from ketameta.pooling import _row


def _effects(k: int, label_len: int, subgroups: bool) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    for i in range(k):
        base = f"Investigator{i:02d} and the Very Long Named Collaborative Group "
        label = (base * 3)[:label_len] + f" {2000 + i}"
        n1, n2 = int(rng.integers(20, 400)), int(rng.integers(20, 400))
        e1, e2 = int(rng.integers(1, n1)), int(rng.integers(1, n2))
        yi = np.log((e1 + 0.5) / (n1 - e1 + 0.5)) - np.log((e2 + 0.5) / (n2 - e2 + 0.5))
        vi = 1 / (e1 + 0.5) + 1 / (n1 - e1 + 0.5) + 1 / (e2 + 0.5) + 1 / (n2 - e2 + 0.5)
        rows.append(
            {
                "analysis": "a",
                "study_id": f"s{i}",
                "comparison": f"s{i}",
                "label": label,
                "subgroup": ("esketamine", "ketamine")[i % 2] if subgroups else "",
                "n_treat": float(n1),
                "events_treat": float(e1),
                "mean_treat": np.nan,
                "sd_treat": np.nan,
                "n_ctrl": float(n2),
                "events_ctrl": float(e2),
                "mean_ctrl": np.nan,
                "sd_ctrl": np.nan,
                "yi": yi,
                "vi": vi,
                "included": True,
                "note": "",
            }
        )
    return pd.DataFrame(rows)


def _pooled(effects: pd.DataFrame, subgroups: bool) -> pd.DataFrame:
    fits = [_row("a", "", "OR", 1.0, rma(effects["yi"], effects["vi"], "REML", "z"))]
    if subgroups:
        for level, part in effects.groupby("subgroup"):
            res = rma(part["yi"], part["vi"], "REML", "z")
            fits.append(_row("a", f"drug={level}", "OR", 1.0, res))
    return pd.DataFrame(fits)


def _text_boxes(fig):
    renderer = fig.canvas.get_renderer()
    boxes = []
    for t in fig.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "get_window_extent")):
        if not t.get_visible() or not str(t.get_text()).strip():
            continue
        boxes.append((str(t.get_text()), t.get_window_extent(renderer)))
    return boxes


@pytest.mark.parametrize(
    ("k", "label_len", "subgroups"),
    [(4, 12, False), (40, 20, False), (40, 90, True), (12, 140, True)],
)
def test_forest_texts_stay_inside_the_figure_and_do_not_overlap(k, label_len, subgroups):
    effects = _effects(k, label_len, subgroups)
    fig, drawn = forest_figure(
        effects,
        _pooled(effects, subgroups),
        title="Response at 24 hours: ketamine vs control (odds ratio)",
        measure="OR",
        method="REML",
        test="z",
        treatment_label="esketamine",
        subgroup_name="drug" if subgroups else "",
    )
    fig.canvas.draw()
    width, height = fig.bbox.width, fig.bbox.height
    boxes = _text_boxes(fig)
    labels = [text for text, _ in boxes]
    for i in range(k):  # every study is labelled in full
        assert any(text == effects["label"].iloc[i] for text in labels), effects["label"].iloc[i]
    assert len([d for d in drawn if d["row"] == "study"]) == k
    for text, bb in boxes:
        assert bb.x0 >= -0.5 and bb.y0 >= -0.5, (text, bb)
        assert bb.x1 <= width + 0.5 and bb.y1 <= height + 0.5, (text, bb, width, height)
    # texts that share a row (same vertical band) must not overlap horizontally
    for a in range(len(boxes)):
        for b in range(a + 1, len(boxes)):
            ta, ba = boxes[a]
            tb, bb = boxes[b]
            if ba.overlaps(bb):
                inter_w = min(ba.x1, bb.x1) - max(ba.x0, bb.x0)
                inter_h = min(ba.y1, bb.y1) - max(ba.y0, bb.y0)
                assert inter_w <= 1.0 or inter_h <= 1.0, (ta, tb)
    # readable on A4: printed across the page's 7.27 in (A4 less 1 cm margins) the 9 pt study
    # rows stay at 6.2 pt or more when study names are of the usual length
    if label_len <= 20:
        assert fig.get_size_inches()[0] <= 10.5
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_forest_palette_is_colour_blind_safe():
    """Okabe & Ito (2008) colours only (plus black and greys) in what the forest plot draws."""
    from matplotlib.colors import to_hex

    effects = _effects(6, 20, True)
    fig, _ = forest_figure(
        effects,
        _pooled(effects, True),
        title="t",
        measure="OR",
        method="REML",
        test="z",
        subgroup_name="drug",
    )
    okabe_ito = {"#0072b2", "#d55e00", "#e69f00", "#56b4e9", "#009e73", "#f0e442", "#cc79a7"}
    used = set()
    for artist in fig.findobj():
        for getter in ("get_color", "get_facecolor", "get_edgecolor"):
            if hasattr(artist, getter):
                try:
                    c = getattr(artist, getter)()
                except (TypeError, ValueError):
                    continue
                arr = np.atleast_2d(np.asarray(c, dtype=object))
                for rgba in arr:
                    try:
                        used.add(to_hex(tuple(float(x) for x in rgba), keep_alpha=False))
                    except (TypeError, ValueError):
                        continue
    greys = {h for h in used if len({h[1:3], h[3:5], h[5:7]}) == 1}
    assert used - greys <= okabe_ito, used - greys - okabe_ito
    assert "#0072b2" in used and "#d55e00" in used
    import matplotlib.pyplot as plt

    plt.close(fig)
