# ketameta workflow: raw trial data -> effect sizes and pooled models -> figures -> report.
# Each rule is a thin call into the ketameta package (src/ketameta/workflow.py). Rules are few on
# purpose: every job pays a Python start-up and the scientific imports.
import sys
from pathlib import Path

from ketameta.workflow import (
    DIAGNOSTIC_TABLES,
    MULTIVERSE_TABLES,
    SAFETY_TABLES,
    TIMECOURSE_TABLES,
    figure_paths,
    multiverse_batches,
    recover_after_kill,
    report_outputs,
    settings_or_exit,
)

# A --configfile on the command line replaces the default config instead of merging into it,
# so another data set's analyses are not mixed with ours.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


CONFIG_LABEL = str(
    workflow.overwrite_configfiles[-1]
    if workflow.overwrite_configfiles
    else "config/config.yaml"
)
# The main process validates config, data and every analysis before any job runs, so a user
# mistake stops the run here with one line and nothing under results/ is written. Job processes
# re-read the Snakefile and only need the (cheap) validated config.
SETTINGS = settings_or_exit(
    config, workflow.basedir, CONFIG_LABEL, check_data=workflow.is_main_process
)
if workflow.is_main_process:
    # A run killed with SIGKILL leaves Snakemake's lock and half-written temporaries behind;
    # clear them when no other run of this workflow is alive (see ketameta.workflow).
    for stale in recover_after_kill(workflow.workdir_init):
        print(f"ketameta: removed {stale} left by an interrupted run", file=sys.stderr)
FIGURES = [str(p) for p in figure_paths(SETTINGS, "results/figures")]
EXTRA_TABLES = (list(SAFETY_TABLES) if "safety" in SETTINGS.raw else []) + (
    list(TIMECOURSE_TABLES) if "timecourse" in SETTINGS.raw else []
)
DIAGNOSTICS = list(DIAGNOSTIC_TABLES) + EXTRA_TABLES
REPORT_FILES = {k: [str(p) for p in v] for k, v in report_outputs("results/report.md", SETTINGS).items()}
CLAIMS = [config["report"]["claims"]] if config.get("report", {}).get("claims") else []
REPLICATIONS = [
    str(p.relative_to(Path(workflow.basedir).resolve()))
    for p in (SETTINGS.replications_path, SETTINGS.replication_counts_path)
    if p is not None
]
BATCHES = multiverse_batches(SETTINGS)
MULTIVERSE = (
    {
        "tables": expand("results/tables/{name}.csv", name=MULTIVERSE_TABLES),
        "figures": expand("results/figures/specification_curve.{ext}", ext=["svg", "png"]),
    }
    if BATCHES
    else {"tables": [], "figures": []}
)

# On a cluster these run on the submitting node: `all` is only a target, `verify` reruns the
# whole workflow itself.
localrules:
    all,
    verify,


RESULTS = [
    "results/tables/effects.csv",
    "results/tables/pooled.csv",
    "results/tables/mcmc.csv",
    *expand("results/tables/{name}.csv", name=DIAGNOSTICS),
    *FIGURES,
    "results/report.md",
    *REPORT_FILES["html"],
    *REPORT_FILES["tables"],
    *REPORT_FILES["flows"],
    "results/posteriors",
    *MULTIVERSE["tables"],
    *MULTIVERSE["figures"],
]


rule all:
    input:
        RESULTS,
        "results/manifest.json",


rule tables:
    input:
        studies=config["data"]["studies"],
        arms=config["data"]["arms"],
        contrasts=config["data"].get("contrasts", []),
    output:
        effects=report(
            "results/tables/effects.csv",
            caption="report/effects.rst",
            category="Tables",
        ),
        pooled=report(
            "results/tables/pooled.csv",
            caption="report/pooled.rst",
            category="Tables",
        ),
        diagnostics=[
            report(
                f"results/tables/{name}.csv",
                caption=f"report/{name.split('_')[0]}.rst"
                if name in EXTRA_TABLES
                else "report/diagnostics.rst",
                category=name.split("_")[0].capitalize()
                if name in EXTRA_TABLES
                else "Diagnostics",
            )
            for name in DIAGNOSTICS
        ],
    log:
        "logs/tables.log",
    benchmark:
        "benchmarks/rules/tables.tsv"
    run:
        from ketameta.workflow import logging_to, step_tables

        with logging_to(log[0]):
            step_tables(SETTINGS, output.effects, output.pooled, "results/tables")


# The MCMC fits need PyMC and a compiler (seconds per model structure): a job of its own that
# starts with the run (it computes the effect sizes itself, in milliseconds, instead of waiting
# for the tables job) and runs beside the tables and figures. It is counted as one core: most of
# it is compiling, on one core (nutpie's parallel chains are brief). Splitting it per model
# family was measured: on 2 cores the compiles then compete with the figures and the run is no
# faster (benchmarks/run.py).
rule mcmc:
    input:
        studies=config["data"]["studies"],
        arms=config["data"]["arms"],
        contrasts=config["data"].get("contrasts", []),
    output:
        table=report(
            "results/tables/mcmc.csv",
            caption="report/mcmc.rst",
            category="Tables",
        ),
        posteriors=directory("results/posteriors"),
    log:
        "logs/mcmc.log",
    benchmark:
        "benchmarks/rules/mcmc.tsv"
    run:
        from ketameta.workflow import logging_to, step_mcmc

        with logging_to(log[0]):
            step_mcmc(SETTINGS, None, output.table, output.posteriors)


# The multiverse (config `multiverse:`): specifications in batches of multiverse.batch_size, one
# job each (on a cluster, one job per node slot; see profiles/), then one job that gathers them,
# summarises which choices matter and draws the specification curve.
rule multiverse_batch:
    input:
        studies=config["data"]["studies"],
        arms=config["data"]["arms"],
        contrasts=config["data"].get("contrasts", []),
    output:
        temp("results/multiverse/batch_{batch}.csv"),
    wildcard_constraints:
        batch=r"\d{4}",
    log:
        "logs/multiverse_batch_{batch}.log",
    benchmark:
        "benchmarks/rules/multiverse_batch_{batch}.tsv"
    run:
        from ketameta.workflow import logging_to, step_multiverse_batch

        with logging_to(log[0]):
            step_multiverse_batch(SETTINGS, wildcards.batch, output[0])


rule multiverse:
    input:
        expand("results/multiverse/batch_{batch}.csv", batch=BATCHES),
    output:
        table=report(
            "results/tables/multiverse.csv",
            caption="report/multiverse.rst",
            category="Multiverse",
        ),
        choices=report(
            "results/tables/multiverse_choices.csv",
            caption="report/multiverse.rst",
            category="Multiverse",
        ),
        figures=[
            report(p, caption="report/specification_curve.rst", category="Multiverse")
            for p in expand("results/figures/specification_curve.{ext}", ext=["svg", "png"])
        ],
    log:
        "logs/multiverse.log",
    benchmark:
        "benchmarks/rules/multiverse.tsv"
    run:
        from ketameta.workflow import logging_to, step_multiverse

        with logging_to(log[0]):
            step_multiverse(
                SETTINGS, input, output.table, output.choices, "results/figures"
            )


rule figures:
    input:
        effects="results/tables/effects.csv",
        pooled="results/tables/pooled.csv",
        extra=expand("results/tables/{name}.csv", name=EXTRA_TABLES),
    output:
        [
            report(
                p,
                caption=f"report/{Path(p).stem.split('_')[0]}.rst",
                category="Figures",
                subcategory=Path(p).stem.split("_")[0].capitalize() + " plots",
            )
            for p in FIGURES
        ],
    log:
        "logs/figures.log",
    benchmark:
        "benchmarks/rules/figures.tsv"
    run:
        from ketameta.workflow import logging_to, step_figures

        with logging_to(log[0]):
            step_figures(SETTINGS, input.effects, input.pooled, "results/figures")


rule report:
    input:
        effects="results/tables/effects.csv",
        pooled="results/tables/pooled.csv",
        tables=expand("results/tables/{name}.csv", name=DIAGNOSTICS),
        mcmc="results/tables/mcmc.csv",
        figures=FIGURES,
        posteriors="results/posteriors",
        claims=CLAIMS,
        replications=REPLICATIONS,
        multiverse=MULTIVERSE["tables"],
        multiverse_figures=MULTIVERSE["figures"],
        studies=config["data"]["studies"],
        arms=config["data"]["arms"],
        contrasts=config["data"].get("contrasts", []),
        config=CONFIG_LABEL,
    output:
        md=report("results/report.md", caption="report/report.rst", category="Report"),
        # written last, over every other output (one job fewer than a rule of its own)
        manifest=report(
            "results/manifest.json", caption="report/manifest.rst", category="Report"
        ),
        html=report(
            REPORT_FILES["html"][0], caption="report/report_html.rst", category="Report"
        ),
        tables=[
            report(p, caption="report/summary.rst", category="Summary")
            for p in REPORT_FILES["tables"]
        ],
        flows=[
            report(
                p,
                caption="report/flow.rst",
                category="Figures",
                subcategory="Study flow diagrams",
            )
            for p in REPORT_FILES["flows"]
        ],
    log:
        "logs/report.log",
    benchmark:
        "benchmarks/rules/report.tsv"
    run:
        from ketameta.workflow import rule_report

        rule_report(SETTINGS, input, output, log[0], input.config, RESULTS)


# `snakemake verify`: rerun everything in a temporary directory and compare with results/
# (tables to 1e-9 relative, figures by their plotted numbers); never part of `all`.
rule verify:
    params:
        config=CONFIG_LABEL,
    log:
        "logs/verify.log",
    run:
        from ketameta.workflow import run_verify

        run_verify(params.config, log[0])
