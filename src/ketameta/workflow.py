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
# Tables written by the `tables` rule beside effects.csv and pooled.csv.
DIAGNOSTIC_TABLES = (
    "leave1out",
    "influence",
    "small_study",
    "subgroups",
    "metareg",
    "prior_sensitivity",
)


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
    contrasts = settings.contrasts_path
    return load_dataset(
        settings.studies_path,
        settings.arms_path,
        labels=(
            str(settings.studies_path.relative_to(root)),
            str(settings.arms_path.relative_to(root)),
        ),
        contrasts_path=contrasts,
        contrasts_label=str(contrasts.relative_to(root)) if contrasts is not None else None,
    )


def effects_table(settings: Settings, data=None):
    """Study-level effects of every configured analysis, in config order (``data``: the loaded
    data set, read from the settings' files when None)."""
    import pandas as pd

    from ketameta.effects import EFFECT_COLUMNS, compute_effects

    data = load_data(settings) if data is None else data
    parts = [compute_effects(data, spec, settings.effect_options) for spec in settings.analyses]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=EFFECT_COLUMNS)
    return pd.concat(parts, ignore_index=True)


def prepare(config: dict, root: str | Path, label: str) -> Settings:
    """Validate config, data and every analysis up front, so a user mistake stops the run before
    any job starts (and so before any file under ``results/`` is written)."""
    settings = settings_from_dict(config, root, label)
    checked_effects_table(settings, label)
    return settings


def checked_effects_table(settings: Settings, label: str, data=None):
    """:func:`effects_table`, after checking the multiverse and the time course against the
    data (read once, unless given); an error about a config key that the data contradict (a
    column the data lack) names the config file ``label``."""
    try:
        data = load_data(settings) if data is None else data
        if "multiverse" in settings.raw:
            from ketameta.multiverse import check_data

            check_data(settings.raw["multiverse"], data, label)
        if "timecourse" in settings.raw:
            from ketameta.timecourse import check_data

            check_data(settings.raw["timecourse"], data, label)
        return effects_table(settings, data)
    except InputError as exc:
        if exc.key and not exc.file:
            raise InputError(exc.message, file=label, key=exc.key) from None
        raise


def settings_or_exit(
    config: dict, root: str | Path, label: str, check_data: bool = True
) -> Settings:
    """Validated settings (and, with ``check_data``, validated data and analyses); on a user
    mistake print one line and exit with status 1 (used by the Snakefile)."""
    try:
        if check_data:
            # Snakemake's YAML loader keeps the last of two equal keys; ours refuses them, so the
            # file is read again to catch what Snakemake silently dropped.
            path = Path(label) if Path(label).is_file() else Path(root) / label
            if path.is_file():
                from ketameta.config import read_yaml

                read_yaml(path, label)
            settings = settings_from_dict(config, root, label)
            stamp = Path(root) / ".snakemake" / "ketameta-validated"
            fingerprint = _validation_fingerprint(settings)
            if stamp.is_file() and stamp.read_text(encoding="utf-8") == fingerprint:
                return settings  # same config, data and code as the last successful check
            settings = prepare(config, root, label)
            try:
                write_text(stamp, fingerprint)
            except OSError:
                pass  # a read-only checkout validates every time
            return settings
        return settings_from_dict(config, root, label)
    except InputError as exc:
        print(f"ketameta: error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def _validation_fingerprint(settings: Settings) -> str:
    """What a full data check depends on: the validated config, the bytes of the data (and
    claims) files, and the package's own files (a new version may check more)."""
    import hashlib
    import json

    h = hashlib.sha256(json.dumps(settings.raw, sort_keys=True, default=str).encode())
    extra = (settings.claims_path, settings.replications_path, settings.replication_counts_path)
    for path in (*settings.data_paths.values(), *extra):
        if path is not None and Path(path).is_file():
            h.update(Path(path).read_bytes())
    for path in sorted(Path(__file__).parent.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".yaml", ".j2"):
            st = path.stat()
            h.update(f"{path.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


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
    """Effects, pooled models (frequentist and exact Bayesian) and diagnostics: one job, so the
    imports are paid once. No PyMC here: the MCMC fits are :func:`step_mcmc`'s job, which runs
    beside this one and the figures."""
    step_effects(settings, effects_out)
    step_pooled(settings, effects_out, pooled_out)
    step_diagnostics(settings, effects_out, outdir)
    data = load_data(settings) if {"safety", "timecourse"} & set(settings.raw) else None
    if "safety" in settings.raw:
        step_safety(settings, outdir, data)
    if "timecourse" in settings.raw:
        step_timecourse(settings, outdir, data)


SAFETY_TABLES = ("safety", "safety_studies")
TIMECOURSE_TABLES = ("timecourse", "timecourse_trend")


def step_timecourse(settings: Settings, outdir, data=None) -> None:
    """``timecourse.csv`` and ``timecourse_trend.csv`` (see :mod:`ketameta.timecourse`)."""
    from ketameta.timecourse import timecourse_tables

    table, trend = timecourse_tables(
        load_data(settings) if data is None else data,
        settings.raw["timecourse"],
        settings.effect_options,
        settings.raw["frequentist"]["level"],
        bayes_cfg=settings.raw["bayes"],
    )
    write_csv(Path(outdir) / "timecourse.csv", table)
    write_csv(Path(outdir) / "timecourse_trend.csv", trend)
    log.info("time course: %d rows, trend: %d rows", len(table), len(trend))


def step_timecourse_figures(settings: Settings, tables_dir, outdir) -> None:
    from ketameta.plots import timecourse_plot

    table = read_table(Path(tables_dir) / "timecourse.csv").fillna({"arm": "", "note": ""})
    cfg = settings.raw["timecourse"]
    for outcome in cfg["outcomes"]:
        with _figure_outputs(outdir, f"timecourse_{outcome}") as outputs:
            timecourse_plot(
                table,
                outcome=outcome,
                phi=cfg["phi"],
                treatment_label=settings.raw["report"]["treatment_label"],
                outputs=outputs,
                dpi=settings.raw["plots"]["dpi"],
            )


def step_safety(settings: Settings, outdir, data=None) -> None:
    """``safety.csv`` (pooled harms: MH and REML, RR and RD, NNH) and ``safety_studies.csv``
    (each trial's counts, RR and RD per harm outcome)."""
    import pandas as pd

    from ketameta.safety import per_study_effects, safety_counts, safety_table

    cfg = settings.raw["safety"]
    data = load_data(settings) if data is None else data
    counts = safety_counts(data, cfg, settings.effect_options)
    table = safety_table(counts, cfg, settings.raw["frequentist"]["level"])
    write_csv(Path(outdir) / "safety.csv", table)
    studies = pd.concat(
        [per_study_effects(counts, m).assign(measure=m) for m in ("RR", "RD")], ignore_index=True
    )
    write_csv(Path(outdir) / "safety_studies.csv", studies)
    for r in table[table["method"] == cfg["primary"]].itertuples():
        log.info(
            "safety %s %s: k = %d, %.3g [%.3g, %.3g]",
            r.outcome,
            r.measure,
            r.k,
            r.estimate_bt,
            r.ci_low_bt,
            r.ci_high_bt,
        )


def step_safety_figure(settings: Settings, tables_dir, outdir) -> None:
    from ketameta.plots import safety_plot

    safety = read_table(Path(tables_dir) / "safety.csv").fillna({"note": "", "nnh_ci": ""})
    studies = read_table(Path(tables_dir) / "safety_studies.csv")
    with _figure_outputs(outdir, "safety") as outputs:
        safety_plot(
            safety,
            studies,
            primary=settings.raw["safety"]["primary"],
            treatment_label=settings.raw["report"]["treatment_label"],
            outputs=outputs,
            dpi=settings.raw["plots"]["dpi"],
        )


def step_diagnostics(settings: Settings, effects_path: str | Path, outdir: str | Path) -> None:
    from ketameta.pooling import diagnostics_tables

    effects = read_table(effects_path).fillna({"subgroup": "", "note": ""})
    studies = load_data(settings).studies
    for name, table in diagnostics_tables(effects, settings, studies).items():
        write_csv(Path(outdir) / f"{name}.csv", table)


def step_pooled(settings: Settings, effects_path, out) -> None:
    from ketameta.pooling import pooled_table

    effects = read_table(effects_path).fillna({"subgroup": "", "note": ""})
    table = pooled_table(effects, settings)
    for r in table[(table["subgroup"] == "") & (table["model"] == "random")].itertuples():
        if not r.converged:
            log.warning("%s %s/%s did not converge: %s", r.analysis, r.method, r.test, r.note)
    write_csv(out, table)


def step_mcmc(settings: Settings, effects_path, out, draws_dir) -> None:
    """``mcmc.csv`` (the MCMC rows, same columns as ``pooled.csv``) and the draws; every model
    structure is compiled once and reused across analyses (:mod:`ketameta.bayes`). The effect
    sizes are read from ``effects_path``, or computed from the data when it is None."""
    from ketameta.pooling import mcmc_table

    if effects_path is None:
        effects = effects_table(settings).fillna({"subgroup": "", "note": ""})
    else:
        effects = read_table(effects_path).fillna({"subgroup": "", "note": ""})
    Path(draws_dir).mkdir(parents=True, exist_ok=True)
    table = mcmc_table(effects, settings, draws_dir)
    flagged = table["flags"].map(lambda f: isinstance(f, str) and f != "")
    for r in table[flagged].itertuples():
        log.warning("%s %s: MCMC diagnostics flagged: %s", r.analysis, r.model, r.flags)
    if flagged.any() and settings.raw["bayes"]["fail_on_flags"]:
        failed = ", ".join(
            f"{r.analysis}/{r.model} ({r.flags})" for r in table[flagged].itertuples()
        )
        raise SystemExit(
            f"ketameta: error: MCMC diagnostics failed (bayes.fail_on_flags): {failed}"
        )
    write_csv(out, table)


FIGURE_KINDS = ("forest", "funnel")
NO_STUDIES = "No study in the data has this outcome at this timepoint (k = 0)."


def figure_paths(settings: Settings, outdir: str | Path, kinds=None) -> list[Path]:
    """Every figure of the configured analyses (known from the config alone, before any data)."""
    extra = []
    if kinds is None:
        kinds = FIGURE_KINDS + (("posterior",) if settings.raw["bayes"]["exact"] else ())
        if "safety" in settings.raw:
            extra = [Path(outdir) / f"safety.{ext}" for ext in ("svg", "png")]
        for outcome in settings.raw.get("timecourse", {}).get("outcomes", []):
            extra += [Path(outdir) / f"timecourse_{outcome}.{ext}" for ext in ("svg", "png")]
    return [
        Path(outdir) / f"{kind}_{spec.name}.{ext}"
        for kind in kinds
        for spec in settings.analyses
        for ext in ("svg", "png")
    ] + extra


def forest_paths(settings: Settings, outdir: str | Path) -> list[Path]:
    return figure_paths(settings, outdir, ("forest",))


@contextmanager
def _figure_outputs(outdir, stem: str):
    from contextlib import ExitStack

    from ketameta.io import atomic_path

    with ExitStack() as stack:
        yield [
            (ext, stack.enter_context(atomic_path(Path(outdir) / f"{stem}.{ext}")))
            for ext in ("svg", "png")
        ]


def step_figures(settings: Settings, effects_path, pooled_path, outdir) -> None:
    """Forest, funnel and posterior plots of every analysis, and the harms figure (one job:
    matplotlib once)."""
    step_forest(settings, effects_path, pooled_path, outdir)
    step_funnel(settings, effects_path, pooled_path, outdir)
    if settings.raw["bayes"]["exact"]:
        step_posterior(settings, effects_path, outdir)
    if "safety" in settings.raw:
        step_safety_figure(settings, Path(effects_path).parent, outdir)
    if "timecourse" in settings.raw:
        step_timecourse_figures(settings, Path(effects_path).parent, outdir)


def step_posterior(settings: Settings, effects_path, outdir) -> None:
    """Exact posterior figure per analysis (recomputed: quadrature costs milliseconds)."""
    from ketameta.bayes_tables import exact_row, mu_prior, spec_tau_prior, tau_prior
    from ketameta.plots import empty_plot, posterior_plot

    effects = read_table(effects_path).fillna({"subgroup": "", "note": ""})
    cfg, level = settings.raw["bayes"], settings.raw["frequentist"]["level"]
    for spec in settings.analyses:
        eff = effects[(effects["analysis"] == spec.name) & effects["included"].astype(bool)]
        with _figure_outputs(outdir, f"posterior_{spec.name}") as outputs:
            if eff.empty:
                empty_plot(title=settings.title(spec.name), message=NO_STUDIES, outputs=outputs)
                continue
            y, v = eff["yi"].to_numpy(float), eff["vi"].to_numpy(float)
            tau_p = tau_prior(spec_tau_prior(spec, cfg), "bayes.tau_prior")
            post, _ = exact_row(
                y, v, spec.measure, "positive", mu_prior(cfg["mu_prior"]), tau_p, level
            )
            posterior_plot(
                post,
                tau_p,
                list(eff["label"]),
                y,
                v,
                title=settings.title(spec.name),
                measure=spec.measure,
                level=level,
                outputs=outputs,
                dpi=settings.raw["plots"]["dpi"],
            )


def step_funnel(settings: Settings, effects_path, pooled_path, outdir) -> None:
    import numpy as np

    from ketameta.diagnostics import trim_and_fill
    from ketameta.plots import empty_plot, funnel_plot

    effects = read_table(effects_path).fillna({"subgroup": "", "note": ""})
    pooled = read_table(pooled_path).fillna({"subgroup": "", "note": ""})
    freq = settings.raw["frequentist"]
    primary = freq["primary"]
    for spec in settings.analyses:
        eff = effects[(effects["analysis"] == spec.name) & effects["included"].astype(bool)]
        y, v = eff["yi"].to_numpy(float), eff["vi"].to_numpy(float)
        fit = pooled[
            (pooled["analysis"] == spec.name)
            & (pooled["subgroup"] == "")
            & (pooled["model"] == "random")
            & (pooled["method"] == primary["method"])
            & (pooled["test"] == primary["test"])
        ]
        estimate = float(fit["estimate"].iloc[0]) if len(fit) else float("nan")
        label = f"random effects ({primary['method']}), k = {len(y)}"
        fy, fv = [], []
        if len(y) >= 3:
            tf = trim_and_fill(y, v, estimator="L0", method=primary["method"])
            fy = [yi for yi, f in zip(tf.yi, tf.filled, strict=True) if f]
            fv = [vi for vi, f in zip(tf.vi, tf.filled, strict=True) if f]
            label += f"; trim-and-fill (L0) adds {tf.k0} on the {tf.side}"
        else:
            label += "; too few studies to judge asymmetry"
        if not np.isfinite(estimate):
            estimate = float(np.mean(y)) if len(y) else 0.0
            label += "; no pooled estimate"
        if len(y) == 0:
            with _figure_outputs(outdir, f"funnel_{spec.name}") as outputs:
                empty_plot(title=settings.title(spec.name), message=NO_STUDIES, outputs=outputs)
            continue
        with _figure_outputs(outdir, f"funnel_{spec.name}") as outputs:
            funnel_plot(
                y,
                v,
                estimate=estimate,
                title=settings.title(spec.name),
                measure=spec.measure,
                model_label=label,
                filled_yi=fy,
                filled_vi=fv,
                level=freq["level"],
                outputs=outputs,
                dpi=settings.raw["plots"]["dpi"],
            )
        log.info("funnel plot for %s: k = %d, filled %d", spec.name, len(y), len(fy))


def step_forest(settings: Settings, effects_path, pooled_path, outdir) -> None:
    from ketameta.plots import empty_plot, forest_plot

    effects = read_table(effects_path).fillna({"subgroup": "", "note": ""})
    pooled = read_table(pooled_path).fillna({"subgroup": "", "note": ""})
    primary = settings.raw["frequentist"]["primary"]
    for spec in settings.analyses:
        eff = effects[effects["analysis"] == spec.name]
        fits = pooled[(pooled["analysis"] == spec.name) & (pooled["model"] == "random")]
        if eff.empty:
            with _figure_outputs(outdir, f"forest_{spec.name}") as outputs:
                empty_plot(title=settings.title(spec.name), message=NO_STUDIES, outputs=outputs)
            continue
        with _figure_outputs(outdir, f"forest_{spec.name}") as outputs:
            forest_plot(
                eff,
                fits,
                title=settings.title(spec.name),
                measure=spec.measure,
                method=primary["method"],
                test=primary["test"],
                favourable=settings.raw["analyses"][spec.name].get("favourable", "higher"),
                treatment_label=settings.raw["report"]["treatment_label"],
                subgroup_name=spec.subgroup or "",
                outputs=outputs,
                dpi=settings.raw["plots"]["dpi"],
            )
        log.info("forest plot for %s: k = %d", spec.name, int(eff["included"].sum()))


REPORT_TABLES = ("summary_of_findings", "claims", "study_flow", "included_studies")


def report_outputs(out_md: str | Path, settings: Settings) -> dict[str, list[Path]]:
    """Files the report step writes beside ``report.md``: the HTML page, its evidence tables
    (``tables/``) and one study-flow diagram per analysis (``figures/flow_<name>.svg``)."""
    out_md = Path(out_md)
    return {
        "html": [out_md.with_suffix(".html")],
        "tables": [
            out_md.parent / "tables" / f"{t}.csv"
            for t in (*REPORT_TABLES, *(("replications",) if settings.replications_path else ()))
        ],
        "flows": [out_md.parent / "figures" / f"flow_{a.name}.svg" for a in settings.analyses],
    }


def step_report(
    settings: Settings,
    effects_path,
    pooled_path,
    out,
    tables=None,
    config_label: str = "config/config.yaml",
) -> None:
    """The report: the evidence tables (summary of findings, claims, study flow, included
    studies) are computed and written first, then ``report.md`` and ``report.html`` are rendered
    from the tables as written; ``tables``: paths of the diagnostics tables (``<name>.csv``).
    The HTML inlines the figures under ``figures/`` beside ``out``, which must exist."""
    from ketameta.config import read_claims
    from ketameta.report import (
        VOLATILE_MARK,
        flow_svg,
        render_html,
        render_markdown,
        render_reproducibility,
        reproducibility,
    )
    from ketameta.summary import (
        claims_table,
        included_studies,
        study_flow,
        summary_of_findings,
    )

    out = Path(out)
    paths = report_outputs(out, settings)
    effects = read_table(effects_path).fillna({"subgroup": "", "note": ""})
    pooled = read_table(pooled_path).fillna({"subgroup": "", "note": ""})
    from ketameta.multiverse import read_multiverse

    extra = {
        Path(path).stem: (read_multiverse if Path(path).stem == "multiverse" else read_table)(path)
        for path in (tables or [])
    }
    mcmc = extra.pop("mcmc", None)
    if mcmc is not None and len(mcmc):  # the report shows them beside the exact rows
        mcmc = mcmc.fillna({"subgroup": "", "note": ""})
        pooled = _with_mcmc_rows(pooled, mcmc)
    data = load_data(settings)
    claims = read_claims(settings.claims_path, settings.raw) if settings.claims_path else []
    computed = {
        "summary_of_findings": summary_of_findings(
            settings, data, effects, pooled, extra.get("small_study")
        ),
        "claims": claims_table(claims, settings, pooled),
        "study_flow": study_flow(settings, data, effects),
        "included_studies": included_studies(data, effects),
    }
    if settings.replications_path:
        from ketameta.replication import read_counts, read_replications, replication_table

        doc = read_replications(settings.replications_path, settings.raw)
        counts = (
            read_counts(settings.replication_counts_path, doc)
            if settings.replication_counts_path
            else None
        )
        computed["replications"] = replication_table(doc, counts, data, settings)
    for path in paths["tables"]:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_csv(path, computed[path.stem])
        extra[path.stem] = read_table(path)  # the report prints what the CSV holds
    flow = extra["study_flow"]
    for spec, path in zip(settings.analyses, paths["flows"], strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, flow_svg(flow[flow["analysis"] == spec.name], settings.title(spec.name)))
    body = render_markdown(settings, data, effects, pooled, extra)
    command = "snakemake --cores 4" + (
        "" if config_label == "config/config.yaml" else f" --configfile {config_label}"
    )
    repro = render_reproducibility(reproducibility(settings, config_label, command))
    write_text(out, body.rstrip("\n") + "\n\n" + VOLATILE_MARK + "\n\n" + repro)
    title = settings.raw["report"]["title"]
    write_text(paths["html"][0], render_html(body, repro, title, out.parent))
    log.info("report: %s and %s", out, paths["html"][0])


MULTIVERSE_TABLES = ("multiverse", "multiverse_choices")


def multiverse_batches(settings: Settings) -> list[str]:
    """Batch names of the configured multiverse (``[]`` without one); known from the config
    alone, so the Snakefile plans the jobs without numerical imports."""
    from ketameta.multiverse import batch_ids

    return batch_ids(settings.raw.get("multiverse"))


def step_multiverse_batch(settings: Settings, batch: str, out) -> None:
    """One batch of specifications (``multiverse.batch_size`` of them) to ``out``."""
    from ketameta.multiverse import write_batch

    write_batch(settings, batch, out)
    log.info("multiverse batch %s: %s", batch, out)


def step_multiverse(settings: Settings, batches, table_out, choices_out, figure_dir) -> None:
    """Concatenate the batches into ``multiverse.csv``; which choices move the estimate
    (``multiverse_choices.csv``); the specification curve (``specification_curve.svg/.png``)."""
    import pandas as pd

    from ketameta.multiverse import choice_summary, read_multiverse
    from ketameta.plots import specification_curve

    table = pd.concat([read_multiverse(b) for b in batches], ignore_index=True)
    expected = list(range(1, len(table) + 1))
    if table["spec_id"].tolist() != expected:
        raise RuntimeError("multiverse batches do not add up to the specifications in order")
    write_csv(table_out, table)
    table = read_multiverse(table_out)  # the figure shows what the CSV holds
    write_csv(choices_out, choice_summary(table))
    with _figure_outputs(figure_dir, "specification_curve") as outputs:
        specification_curve(
            table,
            title=f"Multiverse: {settings.raw['report']['treatment_label']} vs control",
            outputs=outputs,
            dpi=settings.raw["plots"]["dpi"],
        )
    log.info("multiverse: %d specifications to %s", len(table), table_out)


def _with_mcmc_rows(pooled, mcmc):
    """``pooled`` with the MCMC rows placed after each analysis's exact Bayesian row."""
    import pandas as pd

    parts = []
    for name in dict.fromkeys(pooled["analysis"]):
        parts += [pooled[pooled["analysis"] == name], mcmc[mcmc["analysis"] == name]]
    return pd.concat(parts, ignore_index=True)


def rule_report(
    settings: Settings, inputs, outputs, log_path, config_label: str, results: list[str]
) -> None:
    """The Snakemake ``report`` rule (kept out of the Snakefile so its run block stays short):
    the report, then the manifest over ``results`` (every output, the report's included)."""
    with logging_to(log_path):
        tables = [*inputs.tables, inputs.mcmc, *inputs.get("multiverse", [])]
        step_report(settings, inputs.effects, inputs.pooled, outputs.md, tables, config_label)
        step_manifest(settings, inputs.config, results, outputs.manifest)


def step_manifest(settings: Settings, config_path, outputs, out) -> None:
    """``results/manifest.json`` over every other output (see :mod:`ketameta.manifest`)."""
    from ketameta.manifest import build_manifest, manifest_text

    manifest = build_manifest(settings, config_path, list(outputs))
    write_text(out, manifest_text(manifest))
    log.info("manifest: %d outputs, config %s", len(manifest["outputs"]), config_path)


def run_verify(config_path, log_path) -> None:
    """The ``verify`` rule: ``ketameta verify``, its table printed and copied to the log; a
    difference fails the rule (exit status 1)."""
    from ketameta.verify import format_differences, verify

    diffs, failure = verify(".", config_path)
    text = failure or format_differences(diffs)
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    Path(log_path).write_text(text + "\n", encoding="utf-8")
    print(text)
    if failure or diffs:
        raise SystemExit(f"ketameta verify: {len(diffs)} difference(s); see {log_path}")


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_after_kill(workdir: str | Path = ".", results: str = "results") -> list[str]:
    """Make the README's plain command work again after a run was killed (SIGKILL, power loss).

    Snakemake cannot clean up after SIGKILL: its locks stay in ``.snakemake/locks`` and the next
    run stops with a LockException until ``snakemake --unlock``; after SIGKILL or Ctrl-C the
    outputs of the jobs that were running stay marked incomplete (``.snakemake/incomplete``) and
    the next run stops until ``--rerun-incomplete``. The main process of each run records its
    pid in ``.snakemake/ketameta-runs/``; when none of the recorded processes is alive, no other
    run of this workflow is using the directory, so the locks, the incomplete markers and the
    temporary files of interrupted writes (``.<name>.<random>.tmp``) are stale and removed.
    Dropping the markers is safe because every output is written to a temporary file and renamed
    (:mod:`ketameta.io`): an output that exists is whole, and a job whose outputs are not all
    there is rerun as usual. While another run is alive nothing is touched and Snakemake's lock
    does its job.

    Returns what was removed (for the log)."""
    import os

    root = Path(workdir)
    runs = root / ".snakemake" / "ketameta-runs"
    runs.mkdir(parents=True, exist_ok=True)
    live = False
    for entry in runs.iterdir():
        if entry.name.isdigit() and _alive(int(entry.name)) and int(entry.name) != os.getpid():
            live = True
        else:
            entry.unlink(missing_ok=True)
    removed: list[str] = []
    if not live:
        for lock in sorted((root / ".snakemake" / "locks").glob("*.lock")):
            lock.unlink(missing_ok=True)
            removed.append(str(lock.relative_to(root)))
        incomplete = root / ".snakemake" / "incomplete"
        markers = [p for p in incomplete.rglob("*") if p.is_file()] if incomplete.is_dir() else []
        for marker in sorted(markers):
            marker.unlink(missing_ok=True)
        if markers:
            removed.append(f"{len(markers)} incomplete-output marker(s)")
        out = root / results
        for tmp in sorted(out.rglob(".*.tmp")) if out.is_dir() else []:
            tmp.unlink(missing_ok=True)
            removed.append(str(tmp.relative_to(root)))
    (runs / str(os.getpid())).touch()
    return removed
