"""The steps the Snakemake rules call: each reads its inputs and writes its outputs atomically.

Kept free of Snakemake imports so every step can be run and tested on its own.
"""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from pathlib import Path

from ketameta.config import Settings, settings_from_dict
from ketameta.errors import InputError
from ketameta.io import write_csv, write_text

log = logging.getLogger("ketameta")


@contextmanager
def logging_to(path: str | Path | None):
    """Send the package's log records to a rule's log file for the duration of a step."""
    if path is None:
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        yield
    finally:
        log.removeHandler(handler)
        handler.close()


def load_data(settings: Settings):
    from ketameta.data import load_dataset

    root = settings.root.resolve()
    return load_dataset(
        settings.studies_path,
        settings.arms_path,
        labels=(
            str(settings.studies_path.relative_to(root)),
            str(settings.arms_path.relative_to(root)),
        ),
    )


def effects_table(settings: Settings):
    """Study-level effects of every configured analysis, in config order."""
    import pandas as pd

    from ketameta.effects import EFFECT_COLUMNS, compute_effects

    data = load_data(settings)
    parts = [compute_effects(data, spec, settings.effect_options) for spec in settings.analyses]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=EFFECT_COLUMNS)
    return pd.concat(parts, ignore_index=True)


def prepare(config: dict, root: str | Path, label: str) -> Settings:
    """Validate config, data and every analysis up front, so a user mistake stops the run before
    any job starts (and so before any file under ``results/`` is written)."""
    settings = settings_from_dict(config, root, label)
    effects_table(settings)
    return settings


def settings_or_exit(
    config: dict, root: str | Path, label: str, check_data: bool = True
) -> Settings:
    """Validated settings (and, with ``check_data``, validated data and analyses); on a user
    mistake print one line and exit with status 1 (used by the Snakefile)."""
    try:
        if check_data:
            return prepare(config, root, label)
        return settings_from_dict(config, root, label)
    except InputError as exc:
        print(f"ketameta: error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def read_table(path: str | Path):
    import pandas as pd

    return pd.read_csv(
        path, keep_default_na=True, na_values=[""], dtype={"subgroup": str, "note": str}
    )


def step_effects(settings: Settings, out: str | Path) -> None:
    table = effects_table(settings)
    for name, part in table.groupby("analysis", sort=False):
        log.info("%s: %d comparisons, %d pooled", name, len(part), int(part["included"].sum()))
    write_csv(out, table)


def step_tables(settings: Settings, effects_out, pooled_out, outdir) -> None:
    """Effects, pooled models and diagnostics: one job, so the imports are paid once."""
    step_effects(settings, effects_out)
    step_pooled(settings, effects_out, pooled_out)
    step_diagnostics(settings, effects_out, outdir)


def step_diagnostics(settings: Settings, effects_path: str | Path, outdir: str | Path) -> None:
    from ketameta.pooling import diagnostics_tables

    effects = read_table(effects_path).fillna({"subgroup": "", "note": ""})
    for name, table in diagnostics_tables(effects, settings).items():
        write_csv(Path(outdir) / f"{name}.csv", table)


def step_pooled(settings: Settings, effects_path: str | Path, out: str | Path) -> None:
    from ketameta.pooling import pooled_table

    effects = read_table(effects_path).fillna({"subgroup": "", "note": ""})
    table = pooled_table(effects, settings)
    for r in table[(table["subgroup"] == "") & (table["model"] == "random")].itertuples():
        if not r.converged:
            log.warning("%s %s/%s did not converge: %s", r.analysis, r.method, r.test, r.note)
    write_csv(out, table)


def forest_paths(settings: Settings, outdir: str | Path) -> list[Path]:
    return [
        Path(outdir) / f"forest_{spec.name}.{ext}"
        for spec in settings.analyses
        for ext in ("svg", "png")
    ]


def step_forest(settings: Settings, effects_path, pooled_path, outdir) -> None:
    from contextlib import ExitStack

    from ketameta.io import atomic_path
    from ketameta.plots import forest_plot

    effects = read_table(effects_path).fillna({"subgroup": "", "note": ""})
    pooled = read_table(pooled_path).fillna({"subgroup": "", "note": ""})
    primary = settings.raw["frequentist"]["primary"]
    for spec in settings.analyses:
        eff = effects[effects["analysis"] == spec.name]
        fits = pooled[(pooled["analysis"] == spec.name) & (pooled["model"] == "random")]
        with ExitStack() as stack:
            outputs = [
                (ext, stack.enter_context(atomic_path(Path(outdir) / f"forest_{spec.name}.{ext}")))
                for ext in ("svg", "png")
            ]
            forest_plot(
                eff,
                fits,
                title=settings.title(spec.name),
                measure=spec.measure,
                method=primary["method"],
                test=primary["test"],
                favourable=settings.raw["analyses"][spec.name].get("favourable", "higher"),
                subgroup_name=spec.subgroup or "",
                outputs=outputs,
                dpi=settings.raw["plots"]["dpi"],
            )
        log.info("forest plot for %s: k = %d", spec.name, int(eff["included"].sum()))


def step_report(settings: Settings, effects_path, pooled_path, out) -> None:
    from ketameta.report import render_markdown

    effects = read_table(effects_path).fillna({"subgroup": "", "note": ""})
    pooled = read_table(pooled_path).fillna({"subgroup": "", "note": ""})
    data = load_data(settings)
    write_text(out, render_markdown(settings, data, effects, pooled))
