"""Multiverse (specification-curve) analysis: every defensible analytic choice, pooled.

Steegen et al. (2016) ask for every reasonable combination of analytic choices to be run and
shown together ("multiverse analysis"); Simonsohn, Simmons & Nelson (2020) draw them as a
specification curve: the sorted estimates with their intervals above, the choices that produced
each one below. Here a specification is one choice on each axis of the config's ``multiverse:``
section:

- data choices: ``outcome``, ``timepoint``, ``measure``, each study subset axis (``subsets``:
  e.g. comparator, drug, design, risk of bias) and the ``zero_cell`` rule;
- model choices: a frequentist fit (``estimator`` x ``test``) or a Bayesian one (one per
  ``prior``: the exact normal-normal posterior by quadrature over tau, so thousands of
  specifications cost seconds, not MCMC hours).

Each specification is exactly a single analysis of the workflow (same effect sizes, same
``rma`` fit, same exact posterior; :meth:`Specification.analysis_config` writes it as one), so a
reader can rerun any row on its own. The expansion is pure Python (no numerical imports): the
Snakefile counts the batches at parse time.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

from ketameta.errors import InputError

DATA_AXES = ("outcome", "timepoint", "measure")
MODEL_AXES = ("framework", "estimator", "test", "prior")
# columns of multiverse.csv after the choice columns
RESULT_COLUMNS = [
    "k",
    "n_participants",
    "studies",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "pval",
    "p_benefit",
    "tau2",
    "i2",
    "pi_low",
    "pi_high",
    "estimate_bt",
    "ci_low_bt",
    "ci_high_bt",
    "benefit",
    "note",
]
RESERVED = {"spec_id", "batch", "zero_cell", *DATA_AXES, *MODEL_AXES, *RESULT_COLUMNS}


def prior_label(prior: dict) -> str:
    """A tau prior as a choice label: ``halfnormal(0.5)``, ``uniform(0, 4)``, ``turner2015``."""
    kind = prior["kind"]
    if kind in ("halfnormal", "halfcauchy"):
        return f"{kind}({prior['scale']:g})"
    if kind == "uniform":
        return f"uniform(0, {prior['upper']:g})"
    if kind == "lognormal_tau2":
        return f"lognormal_tau2({prior['meanlog']:g}, {prior['sdlog']:g})"
    return kind


@dataclass(frozen=True)
class Specification:
    """One specification: a choice on every axis, and what it means for the analysis."""

    spec_id: int
    choices: tuple[tuple[str, str], ...]  # (axis, label) in column order
    filters: tuple[tuple[str, object], ...]  # merged study filters of the subset choices
    zero_cell: tuple[float, str]  # (add, to)
    prior: dict | None  # tau prior of a Bayesian specification

    def choice(self, axis: str) -> str:
        return dict(self.choices)[axis]

    @property
    def data_key(self) -> tuple:
        """Specifications with equal keys pool the same effect sizes."""
        return tuple((a, v) for a, v in self.choices if a not in MODEL_AXES)

    def analysis_config(self, name: str = "spec") -> dict:
        """The workflow config (``analyses``, ``effects``, ``frequentist``/``bayes`` entries)
        that runs this specification as a single analysis."""
        c = dict(self.choices)
        analysis: dict = {"outcome": c["outcome"], "timepoint": c["timepoint"]}
        analysis["measure"] = c["measure"]
        if self.filters:
            analysis["filters"] = {k: v for k, v in self.filters}
        out: dict = {
            "analyses": {name: analysis},
            "effects": {"zero_cell_add": self.zero_cell[0], "zero_cell_to": self.zero_cell[1]},
        }
        if c["framework"] == "bayes":
            analysis["tau_prior"] = dict(self.prior or {})
        else:
            out["frequentist"] = {"methods": [c["estimator"]], "tests": [c["test"]]}
        return out


def axes(mv: dict) -> list[tuple[str, list[str]]]:
    """Every axis of the multiverse with its labels, in the column order of multiverse.csv."""
    models = ["frequentist"] * bool(mv["estimator"] and mv["test"]) + ["bayes"] * bool(mv["prior"])
    return [
        ("outcome", list(mv["outcome"])),
        ("timepoint", list(mv["timepoint"])),
        ("measure", list(mv["measure"])),
        *[(name, list(levels)) for name, levels in mv["subsets"].items()],
        ("zero_cell", list(mv["zero_cell"])),
        ("framework", models),
        ("estimator", list(mv["estimator"])),
        ("test", list(mv["test"])),
        ("prior", [prior_label(p) for p in mv["prior"]]),
    ]


def check(mv: dict, label: str = "config") -> None:
    """Checks the schema cannot express: axis names, exclusion keys and labels, prior labels."""
    for name in mv["subsets"]:
        if name in RESERVED:
            raise InputError(
                f"subset axis '{name}' has the name of a column of multiverse.csv; rename it",
                file=label,
                key=f"multiverse.subsets.{name}",
            )
    labels = [prior_label(p) for p in mv["prior"]]
    if len(set(labels)) != len(labels):
        raise InputError("two priors are the same", file=label, key="multiverse.prior")
    if not (mv["estimator"] and mv["test"]) and not mv["prior"]:
        raise InputError(
            "no model: list estimator and test (frequentist) or prior (Bayesian)",
            file=label,
            key="multiverse",
        )
    known = dict(axes(mv))
    for i, rule in enumerate(mv["exclude"]):
        for axis, value in rule.items():
            key = f"multiverse.exclude[{i}].{axis}"
            if axis not in known:
                raise InputError(
                    f"'{axis}' is not an axis of the multiverse ({', '.join(known)})",
                    file=label,
                    key=key,
                )
            for v in [value] if isinstance(value, str) else value:
                if v not in known[axis]:
                    raise InputError(
                        f"'{v}' is not a choice of axis '{axis}' ({', '.join(known[axis])})",
                        file=label,
                        key=key,
                    )


def _excluded(choices: dict[str, str], rules: list[dict]) -> bool:
    for rule in rules:
        if all(
            choices.get(axis) in ([value] if isinstance(value, str) else value)
            for axis, value in rule.items()
        ):
            return True
    return False


def expand(mv: dict) -> list[Specification]:
    """All specifications of a validated ``multiverse:`` section, in a fixed order: data
    choices vary slowest (so a batch reuses its effect sizes), then the frequentist models
    (estimator x test), then the Bayesian ones (prior). ``spec_id`` counts from 1."""
    subset_axes = list(mv["subsets"])
    models = [
        ("frequentist", est, test, None) for est in mv["estimator"] for test in mv["test"]
    ] + [("bayes", "", "", p) for p in mv["prior"]]
    data_levels = [
        list(mv["outcome"]),
        list(mv["timepoint"]),
        list(mv["measure"]),
        *[list(mv["subsets"][a]) for a in subset_axes],
        list(mv["zero_cell"]),
    ]
    out: list[Specification] = []
    for combo in itertools.product(*data_levels):
        outcome, timepoint, measure, *subset_labels, zero = combo
        filters: dict = {}
        for axis, lv in zip(subset_axes, subset_labels, strict=True):
            filters.update(mv["subsets"][axis][lv])
        base = [("outcome", outcome), ("timepoint", timepoint), ("measure", measure)]
        base += list(zip(subset_axes, subset_labels, strict=True)) + [("zero_cell", zero)]
        for framework, est, test, prior in models:
            choices = tuple(
                base
                + [
                    ("framework", framework),
                    ("estimator", est),
                    ("test", test),
                    ("prior", prior_label(prior) if prior else ""),
                ]
            )
            if _excluded(dict(choices), mv["exclude"]):
                continue
            rule = mv["zero_cell"][zero]
            out.append(
                Specification(
                    spec_id=len(out) + 1,
                    choices=choices,
                    filters=tuple(filters.items()),
                    zero_cell=(float(rule["add"]), rule["to"]),
                    prior=prior,
                )
            )
    return out


def batch_ids(mv: dict | None) -> list[str]:
    """Names of the batches (zero-padded, so they sort), ``[]`` without a multiverse."""
    if not mv:
        return []
    n = math.ceil(len(expand(mv)) / mv["batch_size"])
    return [f"{i:04d}" for i in range(1, n + 1)]


def batch_specs(mv: dict, batch: str | int) -> list[Specification]:
    specs = expand(mv)
    i = int(batch) - 1
    size = mv["batch_size"]
    if not 0 <= i * size < len(specs):
        raise ValueError(f"batch {batch} is out of range ({len(specs)} specifications)")
    return specs[i * size : (i + 1) * size]


def check_data(mv: dict, data, label: str) -> None:
    """Before any job: subset filters name study columns, and each outcome has the kind of
    data its measures need (binary for OR/RR/RD, continuous for MD/SMD)."""
    for axis, levels in mv["subsets"].items():
        for lv, filters in levels.items():
            for column in filters:
                if column not in data.studies.columns:
                    raise InputError(
                        f"subset '{lv}' of axis '{axis}' filters on '{column}', which is not a "
                        f"column of {data.studies_path}",
                        file=label,
                        key=f"multiverse.subsets.{axis}.{lv}",
                    )
    pairs = {(s.choice("outcome"), s.choice("measure")) for s in expand(mv)}
    arms = data.arms
    for outcome, measure in sorted(pairs):
        rows = arms[arms["outcome"] == outcome]
        if rows.empty:
            continue
        binary = bool(rows["events"].notna().all())
        if binary != (measure in ("OR", "RR", "RD")):
            kind = "binary" if binary else "continuous"
            raise InputError(
                f"outcome '{outcome}' is {kind}, so measure {measure} does not apply; "
                f"leave the pair out with exclude: [{{outcome: {outcome}, measure: {measure}}}]",
                file=label,
                key="multiverse.exclude",
            )


def _model_row(spec: Specification, eff, settings) -> dict:
    """Fit one specification to its effect sizes (the included studies of ``eff``)."""
    from ketameta.bayes_tables import exact_row, mu_prior, tau_prior
    from ketameta.effects import back_transform
    from ketameta.frequentist import rma

    mv = settings.raw["multiverse"]
    level = settings.raw["frequentist"]["level"]
    c = dict(spec.choices)
    measure = c["measure"]
    used = eff[eff["included"].astype(bool)]
    k = len(used)
    row: dict = {
        "k": k,
        "n_participants": float(used["n_treat"].sum() + used["n_ctrl"].sum()),
        "studies": ";".join(sorted(used["study_id"].astype(str).unique())),
        "note": "",
    }
    if k < mv["min_k"]:
        row["note"] = f"not estimated: k = {k} < {mv['min_k']}"
        return row
    y, v = used["yi"].to_numpy(float), used["vi"].to_numpy(float)
    higher = mv["favourable"] == "higher"
    if c["framework"] == "bayes":
        _, fields = exact_row(
            y,
            v,
            measure,
            "positive" if higher else "negative",
            mu_prior(settings.raw["bayes"]["mu_prior"]),
            tau_prior(spec.prior, "multiverse.prior"),
            level,
        )
        row.update(
            estimate=fields["estimate"],  # posterior mean, as pooled.csv's exact row
            se=fields["se"],
            ci_low=fields["ci_low"],
            ci_high=fields["ci_high"],
            pi_low=fields["pi_low"],
            pi_high=fields["pi_high"],
            p_benefit=fields["p_benefit"],
            note=fields["note"],
        )
    else:
        res = rma(y, v, method=c["estimator"], test=c["test"], level=level)
        row.update(
            {
                f: getattr(res, f)
                for f in ("estimate", "se", "ci_low", "ci_high", "pval", "tau2", "i2")
            }
        )
        row.update(pi_low=res.pi_low, pi_high=res.pi_high, note=res.note)
    for col in ("estimate", "ci_low", "ci_high"):
        row[f"{col}_bt"] = float(back_transform(measure, row[col]))
    lo, hi = row["ci_low"], row["ci_high"]
    if math.isfinite(lo) and math.isfinite(hi):
        row["benefit"] = bool(lo > 0) if higher else bool(hi < 0)
    return row


def run_specs(specs: list[Specification], settings, data=None):
    """multiverse.csv rows of ``specs``: effect sizes once per data choice, then each model."""
    import pandas as pd

    from ketameta.effects import compute_effects
    from ketameta.spec import AnalysisSpec, EffectOptions
    from ketameta.workflow import load_data

    data = data if data is not None else load_data(settings)
    base = settings.raw["effects"]
    cache: dict = {}
    rows = []
    for spec in specs:
        if spec.data_key not in cache:
            c = dict(spec.choices)
            analysis = AnalysisSpec(
                name=f"spec{spec.spec_id}",
                outcome=c["outcome"],
                timepoint=c["timepoint"],
                measure=c["measure"],
                filters=dict(spec.filters),
            )
            options = EffectOptions(
                **{**base, "zero_cell_add": spec.zero_cell[0], "zero_cell_to": spec.zero_cell[1]}
            )
            cache[spec.data_key] = compute_effects(data, analysis, options)
        rows.append(
            {
                "spec_id": spec.spec_id,
                **dict(spec.choices),
                **_model_row(spec, cache[spec.data_key], settings),
            }
        )
    columns = ["spec_id", *(a for a, _ in specs[0].choices)] if specs else ["spec_id"]
    frame = pd.DataFrame(rows, columns=columns + RESULT_COLUMNS)
    frame["benefit"] = frame["benefit"].astype("boolean")
    return frame


def choice_summary(table):
    """Which choices move the estimate most (``multiverse_choices.csv``).

    Per measure, axis and choice: the number of estimated specifications, the median estimate
    (back-transformed), the share whose interval shows benefit, the axis's ``spread``: the
    range of its choices' median estimates on the analysis scale (log OR, log RR, RD), and its
    ``benefit_spread``: the range of its choices' shares showing benefit (a choice can leave the
    estimate alone and still move the conclusion, as Hartung-Knapp does). Axes with
    one choice, and specifications to which an axis does not apply (``""``), are left out.
    Descriptive: choices are crossed with data subsets of different k.
    """
    import pandas as pd

    from ketameta.effects import back_transform

    done = table[table["estimate"].notna()]
    choice_axes = [
        c for c in table.columns[1 : table.columns.get_loc("k")] if table[c].nunique() > 1
    ]
    rows = []
    for measure, part in done.groupby("measure", sort=False):
        for axis in choice_axes:
            # "" is "not applicable" (the estimator of a Bayesian specification, ...)
            levels = part[part[axis] != ""].groupby(axis, sort=False)
            if levels.ngroups < 2:
                continue
            medians = levels["estimate"].median()
            # rounded, so that ties (several axes that do not move the estimate) sort the same
            # whatever the last bits of the floating-point noise
            spread = round(float(medians.max() - medians.min()), 12)
            shares = levels["benefit"].apply(lambda b: float(b.astype(bool).mean()))
            benefit_spread = round(float(shares.max() - shares.min()), 12)
            for lv, grp in levels:
                rows.append(
                    {
                        "measure": measure,
                        "axis": axis,
                        "choice": lv,
                        "n_specs": len(grp),
                        "median_estimate_bt": float(
                            back_transform(measure, float(grp["estimate"].median()))
                        ),
                        "share_benefit": float(grp["benefit"].astype(bool).mean()),
                        "spread": spread,
                        "benefit_spread": benefit_spread,
                    }
                )
    out = pd.DataFrame(
        rows,
        columns=[
            "measure",
            "axis",
            "choice",
            "n_specs",
            "median_estimate_bt",
            "share_benefit",
            "spread",
            "benefit_spread",
        ],
    )
    return out.sort_values(
        ["measure", "spread", "axis"], ascending=[True, False, True], kind="stable"
    )


def summary(table) -> dict:
    """Headline numbers of the multiverse for the report."""
    done = table[table["estimate"].notna()]
    per_measure = []
    for measure, part in done.groupby("measure", sort=False):
        per_measure.append(
            {
                "measure": measure,
                "n": len(part),
                "share_favourable": float((part["estimate"] > 0).mean()),
                "share_benefit": float(part["benefit"].astype(bool).mean()),
                "median_bt": float(part["estimate_bt"].median()),
                "min_bt": float(part["estimate_bt"].min()),
                "max_bt": float(part["estimate_bt"].max()),
            }
        )
    return {
        "total": len(table),
        "estimated": len(done),
        "not_estimated": len(table) - len(done),
        "study_sets": int(done["studies"].nunique()),
        "share_benefit": float(done["benefit"].astype(bool).mean()) if len(done) else math.nan,
        "per_measure": per_measure,
    }


def read_multiverse(path: str | Path):
    """Read multiverse.csv (or a batch) back: choice columns as text ("" = not applicable),
    ``benefit`` as a nullable boolean."""
    import pandas as pd

    frame = pd.read_csv(path, keep_default_na=False, na_values={c: [""] for c in RESULT_COLUMNS})
    frame["studies"] = frame["studies"].fillna("")
    frame["note"] = frame["note"].fillna("")
    frame["benefit"] = frame["benefit"].astype("boolean")
    return frame


def write_batch(settings, batch: str, out: str | Path) -> None:
    from ketameta.io import write_csv

    specs = batch_specs(settings.raw["multiverse"], batch)
    write_csv(out, run_specs(specs, settings))
