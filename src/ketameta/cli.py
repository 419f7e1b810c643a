"""``ketameta``: command-line entry point (used by the Snakemake rules and by people).

Heavy libraries are imported inside the commands so that ``ketameta --help`` stays fast.
A user mistake prints one line, ``ketameta: error: <file>, line N, column 'x': <rule>``, and exits
with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import sys

DEFAULT_CONFIG = "config/config.yaml"


def _settings(args):
    from ketameta.config import load_settings

    return load_settings(args.config, root=".")


def cmd_validate(args) -> int:
    from ketameta.datacheck import check_beside
    from ketameta.workflow import checked_effects_table, load_data

    settings = _settings(args)
    data = load_data(settings)
    table = checked_effects_table(settings, args.config, data)
    for spec in settings.analyses:
        part = table[table["analysis"] == spec.name] if len(table) else table
        print(f"{spec.name}: k = {int(part['included'].sum()) if len(part) else 0}")
    if "multiverse" in settings.raw:
        from ketameta.multiverse import batch_ids, expand

        mv = settings.raw["multiverse"]
        print(f"multiverse: {len(expand(mv))} specifications in {len(batch_ids(mv))} batches")
    flags = check_beside(settings.arms_path, data)
    for line in flags:
        print(f"warning: {line}")
    print("ok: config and data are valid" + (f" ({len(flags)} warnings)" if flags else ""))
    return 0


def cmd_effects(args) -> int:
    from ketameta.workflow import step_effects

    step_effects(_settings(args), args.out)
    return 0


def cmd_pool(args) -> int:
    from ketameta.workflow import step_pooled

    step_pooled(_settings(args), args.effects, args.out)
    return 0


def cmd_figures(args) -> int:
    from ketameta.workflow import step_figures

    step_figures(_settings(args), args.effects, args.pooled, args.outdir)
    return 0


def cmd_report(args) -> int:
    from pathlib import Path

    from ketameta.workflow import DIAGNOSTIC_TABLES, step_report

    tables = [
        Path(args.effects).with_name(f"{name}.csv")
        for name in (*DIAGNOSTIC_TABLES, "mcmc")
        if Path(args.effects).with_name(f"{name}.csv").exists()
    ]
    step_report(_settings(args), args.effects, args.pooled, args.out, tables, args.config)
    return 0


def cmd_show(args) -> int:
    """Print pooled estimates from ``pooled.csv`` on the reading scale."""
    import pandas as pd

    from ketameta.errors import InputError

    try:
        table = pd.read_csv(args.pooled, keep_default_na=True).fillna({"subgroup": ""})
    except FileNotFoundError:
        raise InputError(
            "not found; run the workflow first (snakemake --cores 4)", file=args.pooled
        ) from None
    sel = table
    if args.analysis:
        sel = sel[sel["analysis"].isin(args.analysis)]
        if sel.empty:
            raise InputError(f"no analysis named {', '.join(args.analysis)}", file=args.pooled)
    if args.method:
        sel = sel[sel["method"] == args.method]
    if args.test:
        sel = sel[sel["test"] == args.test]
    if not args.subgroups:
        sel = sel[sel["subgroup"] == ""]
    cols = [
        "analysis",
        "subgroup",
        "measure",
        "method",
        "test",
        "k",
        "n_participants",
        "estimate_bt",
        "ci_low_bt",
        "ci_high_bt",
        "pi_low_bt",
        "pi_high_bt",
        "tau2",
        "i2",
    ]
    with pd.option_context(
        "display.width", 200, "display.max_columns", 30, "display.float_format", "{:.4f}".format
    ):
        print(sel[cols].to_string(index=False))
    return 0


def cmd_pin(args) -> int:
    from ketameta.config import pin_config

    for name, digest in pin_config(args.config, root=".").items():
        print(f"pinned {name}: {digest}")
    return 0


def cmd_verify(args) -> int:
    from ketameta.verify import format_differences, verify

    diffs, failure = verify(".", args.config, args.results, cores=args.cores, keep=args.keep)
    if failure:
        print(f"ketameta: error: verify: {failure}", file=sys.stderr)
        return 1
    print(format_differences(diffs))
    if diffs:
        print(
            f"ketameta: error: verify: {len(diffs)} difference(s) between {args.results}/ and a "
            "fresh run",
            file=sys.stderr,
        )
        return 1
    from ketameta.verify import machines_differ

    if machines_differ(args.results):
        print(
            f"note: {args.results}/ was computed on another processor (or OpenBLAS kernel), so "
            "MCMC rows were compared by their MCSE-backed summaries and numbers to 1e-5 (see "
            "ketameta.verify)"
        )
    print(f"ok: a fresh run reproduces {args.results}/")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ketameta",
        description="Reproducible meta-analysis of ketamine trials. The full workflow runs with "
        "`snakemake --cores 4`; these commands run its steps one at a time.",
    )
    parser.add_argument("--version", action="version", version="%(prog)s 0.1.0")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name, func, help_text):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument(
            "--config", default=DEFAULT_CONFIG, help="config file (default: %(default)s)"
        )
        p.set_defaults(func=func)
        return p

    add("validate", cmd_validate, "check the config and data; print k per analysis")
    add("pin", cmd_pin, "write the data files' SHA-256 into the config (data.sha256)")
    p = add(
        "verify",
        cmd_verify,
        "rerun the workflow in a temporary directory and compare with the committed results",
    )
    p.add_argument("--results", default="results", help="results to check (default: %(default)s)")
    p.add_argument("--cores", type=int, default=2, help="cores for the rerun (default: 2)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    p = add("effects", cmd_effects, "write study-level effect sizes")
    p.add_argument("--out", default="results/tables/effects.csv")
    p = add("pool", cmd_pool, "fit the configured models; write pooled.csv")
    p.add_argument("--effects", default="results/tables/effects.csv")
    p.add_argument("--out", default="results/tables/pooled.csv")
    p = add("figures", cmd_figures, "draw forest and funnel plots")
    p.add_argument("--effects", default="results/tables/effects.csv")
    p.add_argument("--pooled", default="results/tables/pooled.csv")
    p.add_argument("--outdir", default="results/figures")
    p = add("report", cmd_report, "write the Markdown report")
    p.add_argument("--effects", default="results/tables/effects.csv")
    p.add_argument("--pooled", default="results/tables/pooled.csv")
    p.add_argument("--out", default="results/report.md")
    p = sub.add_parser("show", help="print pooled estimates (reading scale) from pooled.csv")
    p.add_argument("analysis", nargs="*", help="analysis names (default: all)")
    p.add_argument("--pooled", default="results/tables/pooled.csv")
    p.add_argument("--method", default="REML", help="tau2 method or FE (default: %(default)s)")
    p.add_argument("--test", default="z", help="z or knha (default: %(default)s)")
    p.add_argument("--subgroups", action="store_true", help="also show subgroup rows")
    p.set_defaults(func=cmd_show)
    return parser


def main(argv: list[str] | None = None) -> int:
    from ketameta.errors import InputError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except InputError as exc:
        print(f"ketameta: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
