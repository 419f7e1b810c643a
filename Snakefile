# ketameta workflow: raw trial data -> effect sizes and pooled models -> forest plots -> report.
# Each rule is a thin call into the ketameta package (src/ketameta/workflow.py). Rules are few on
# purpose: every job pays a Python start-up and the scientific imports.
from ketameta.workflow import forest_paths, settings_or_exit

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
FOREST = [str(p) for p in forest_paths(SETTINGS, "results/figures")]
DIAGNOSTICS = ["leave1out", "influence", "small_study"]


rule all:
    input:
        "results/tables/effects.csv",
        "results/tables/pooled.csv",
        expand("results/tables/{name}.csv", name=DIAGNOSTICS),
        FOREST,
        "results/report.md",


rule tables:
    input:
        studies=config["data"]["studies"],
        arms=config["data"]["arms"],
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
                caption="report/diagnostics.rst",
                category="Diagnostics",
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


rule forest:
    input:
        effects="results/tables/effects.csv",
        pooled="results/tables/pooled.csv",
    output:
        [
            report(p, caption="report/forest.rst", category="Forest plots")
            for p in FOREST
        ],
    log:
        "logs/forest.log",
    benchmark:
        "benchmarks/rules/forest.tsv"
    run:
        from ketameta.workflow import logging_to, step_forest

        with logging_to(log[0]):
            step_forest(SETTINGS, input.effects, input.pooled, "results/figures")


rule report:
    input:
        effects="results/tables/effects.csv",
        pooled="results/tables/pooled.csv",
    output:
        report("results/report.md", caption="report/report.rst", category="Report"),
    log:
        "logs/report.log",
    benchmark:
        "benchmarks/rules/report.tsv"
    run:
        from ketameta.workflow import logging_to, step_report

        with logging_to(log[0]):
            step_report(SETTINGS, input.effects, input.pooled, output[0])
