"""What an analysis is and how its effects are computed: plain dataclasses, no numerical imports
(the Snakefile builds them in every Snakemake process, including a no-op rerun)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EffectOptions:
    """How study-level effects are computed (the ``effects:`` section of the config)."""

    zero_cell_add: float = 0.5
    zero_cell_to: str = "only0"
    drop_double_zero: bool = True
    multiarm: str = "combine"
    exclude_low_confidence: bool = True


@dataclass(frozen=True)
class AnalysisSpec:
    """One analysis: which rows of ``arms.csv`` to pool, on which scale."""

    name: str
    outcome: str
    timepoint: str
    measure: str
    # column -> kept values, or column -> {"not": dropped values} (missing values are kept)
    filters: dict[str, list[str] | dict[str, list[str]]] = field(default_factory=dict)
    subgroup: str | None = None
    moderators: tuple[str, ...] = ()
    tau_prior: dict | None = None  # overrides bayes.tau_prior for this analysis

    def moderator_columns(self) -> list[str]:
        """Study columns used by the meta-regressions (``"a+b"`` is one model on a and b)."""
        return sorted({c.strip() for m in self.moderators for c in m.split("+")})


def filter_text(filters: dict) -> str:
    """A filter mapping as readers see it: ``drug in [ketamine]; rob_overall not in [high]``."""
    parts = []
    for column, value in filters.items():
        if isinstance(value, dict):
            parts.append(f"{column} not in {list(value['not'])}")
        else:
            parts.append(f"{column} in {list(value)}")
    return "; ".join(parts)


def filter_mask(values, rule) -> list[bool]:
    """Which of ``values`` (one column, any type) a filter rule keeps."""
    if isinstance(rule, dict):
        dropped = {str(a) for a in rule["not"]}
        return [str(v) not in dropped for v in values]
    kept = {str(a) for a in rule}
    return [str(v) in kept for v in values]
