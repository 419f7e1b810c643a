"""``ketameta verify``: regenerate the results in a temporary directory and compare them with the
committed ones.

Comparison rules (one :class:`Difference` per mismatch, nothing is skipped silently):

- file sets: every committed file must be regenerated and nothing new may appear;
- CSV tables: same columns and rows; numbers agree to ``rtol`` relative (1e-9: frequentist and
  exact Bayesian results are deterministic up to floating-point noise) plus ``ATOL`` (1e-12)
  absolute, for values at the numerical floor (an ML tau^2 of 3e-13); a column ``c`` that has a
  companion ``c_mcse`` (Monte Carlo standard error of an MCMC summary) agrees within
  ``MCSE_FACTOR`` (4) standard errors of the difference of two independent MCMC estimates,
  ``sqrt(mcse_a^2 + mcse_b^2)``, instead (two-sided 6e-5 per number, so about 1% that one of
  the ~150 MCMC summaries of the default results is flagged by chance); text agrees exactly;
- SVG figures: by the plotted numbers embedded in the file (see ``plots._save``), at ``rtol``;
  PNG copies of a figure are checked for presence only (their pixels carry the same data), and
  so are MCMC draws (``.nc``: another machine draws other numbers; their summaries, with MCSE,
  are compared in ``pooled.csv``);
- ``manifest.json``: inputs, config hashes, seed and the list of outputs must agree; output hashes,
  Python and package versions, the machine and the git commit are reported, not compared (they
  change with the machine and the commit, not with the science);
- results computed on another processor (the manifests' ``machine`` fingerprints differ, or the
  committed manifest has none): MCMC trajectories and optimiser end points follow the vector
  instructions the libraries pick, so numbers agree to ``OTHER_MACHINE_RTOL`` (1e-5, the
  tolerance of our metafor fixtures; p-values amplify an optimiser's 1e-7 to 1e-6) instead of
  ``rtol``, an MCMC row (``method = mcmc``) is compared by its summaries that have an MCSE, not
  by its sampler diagnostics (R-hat, ESS, flags, notes), and the report's MCMC table rows are
  compared by their model and method only; ``ketameta verify`` says when it applied these rules;
- any other file (the report): exact text, first differing lines shown; the report's
  Reproducibility section (git commit, versions: marked volatile) is left out, and the HTML
  page's inlined figures are compared as the SVG files they were copied from.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

RTOL = 1e-9
# Below this, numbers are zero at the precision of the iterative estimators (an ML tau^2 of 3e-13,
# an influence Q of 1e-31): their digits follow the order of floating-point operations, not the
# science, so only an absolute difference larger than this counts.
ATOL = 1e-12
MCSE_FACTOR = 4.0
# Between processors: the GLMM's optimiser (tolerance 1e-8 on its own scale) and the quantile
# searches stop at points that differ by ~1e-7 relative when BLAS picks other vector paths.
OTHER_MACHINE_RTOL = 1e-5
KEY_COLUMNS = (
    "analysis",
    "subgroup",
    "moderator",
    "term",
    "measure",
    "model",
    "method",
    "test",
    "study",
    "comparison",
    "level",
)


@dataclass(frozen=True)
class Difference:
    """One mismatch between a committed and a regenerated result."""

    file: str
    where: str
    committed: str
    regenerated: str
    rule: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def _fmt(x) -> str:
    if isinstance(x, float):
        return repr(x)
    return str(x)


def _numbers_close(a: float, b: float, rtol: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= rtol * max(abs(a), abs(b)) + ATOL


def _row_key(frame, i: int) -> str:
    parts = [f"row {i + 2}"]
    for col in KEY_COLUMNS:
        if col in frame.columns:
            val = frame[col].iloc[i]
            if isinstance(val, str) and val:
                parts.append(f"{col}={val}")
    return ", ".join(parts)


def compare_csv(
    name: str, old_path: Path, new_path: Path, rtol: float = RTOL, other_machine: bool = False
) -> list[Difference]:
    """Differences of two CSV tables by the rules of the module docstring; with
    ``other_machine``, an MCMC row's columns without an MCSE companion are not compared."""
    import numpy as np
    import pandas as pd

    def read(p):
        return pd.read_csv(p, keep_default_na=False, dtype=str)

    old, new = read(old_path), read(new_path)
    out: list[Difference] = []
    if list(old.columns) != list(new.columns):
        return [Difference(name, "columns", ",".join(old.columns), ",".join(new.columns), "exact")]
    if len(old) != len(new):
        return [Difference(name, "number of rows", str(len(old)), str(len(new)), "exact")]

    def as_float(col):
        try:
            return np.array([float(x) if x != "" else math.nan for x in col], dtype=float)
        except ValueError:
            return None

    numeric = {c: (as_float(old[c]), as_float(new[c])) for c in old.columns}
    mcmc_rows = (
        (old["method"] == "mcmc").to_numpy()
        if other_machine and "method" in old.columns
        else np.zeros(len(old), dtype=bool)
    )
    for i in range(len(old)):
        for col in old.columns:
            a, b = numeric[col]
            mcse = numeric.get(f"{col}_mcse")
            va, vb = old[col].iloc[i], new[col].iloc[i]
            if va == vb:
                continue
            if mcmc_rows[i] and col not in KEY_COLUMNS and mcse is None:
                continue  # a draw-dependent field of another machine's MCMC run
            if a is not None and b is not None:
                tol = math.nan
                if mcse is not None and mcse[0] is not None and mcse[1] is not None:
                    tol = MCSE_FACTOR * math.hypot(mcse[0][i], mcse[1][i])
                if math.isfinite(tol):  # an MCMC summary of this row
                    if abs(a[i] - b[i]) <= tol:
                        continue
                    rule = f"within {MCSE_FACTOR:g} MCSE ({tol:.3g})"
                else:
                    if _numbers_close(a[i], b[i], rtol):
                        continue
                    rule = f"relative {rtol:g} + {ATOL:g}"
            else:
                rule = "exact"
            out.append(Difference(name, f"{_row_key(old, i)}, column '{col}'", va, vb, rule))
    return out


def svg_data(path: Path) -> object | None:
    """The plotted numbers embedded in an SVG written by ketameta (None if absent)."""
    import xml.etree.ElementTree as ET

    from ketameta.plots import FIGURE_DATA_PREFIX

    for el in ET.parse(path).iter():
        if el.tag.endswith("description") and el.text and el.text.startswith(FIGURE_DATA_PREFIX):
            return json.loads(el.text[len(FIGURE_DATA_PREFIX) :])
    return None


def _compare_tree(name: str, where: str, a, b, rtol: float, out: list[Difference]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        if sorted(a) != sorted(b):
            out.append(Difference(name, where or "keys", str(sorted(a)), str(sorted(b)), "exact"))
            return
        for k in sorted(a):
            _compare_tree(name, f"{where}.{k}" if where else k, a[k], b[k], rtol, out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(Difference(name, f"{where} (length)", str(len(a)), str(len(b)), "exact"))
            return
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _compare_tree(name, f"{where}[{i}]", x, y, rtol, out)
    elif (
        isinstance(a, int | float)
        and isinstance(b, int | float)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        if not _numbers_close(float(a), float(b), rtol):
            out.append(Difference(name, where, _fmt(a), _fmt(b), f"relative {rtol:g} + {ATOL:g}"))
    elif a != b:
        out.append(Difference(name, where, _fmt(a), _fmt(b), "exact"))


def compare_svg(name: str, old_path: Path, new_path: Path, rtol: float = RTOL) -> list[Difference]:
    a, b = svg_data(old_path), svg_data(new_path)
    if a is None or b is None:
        if old_path.read_bytes() == new_path.read_bytes():
            return []
        return [
            Difference(
                name,
                "figure data",
                "absent" if a is None else "present",
                "absent" if b is None else "present",
                "embedded data or bytes",
            )
        ]
    out: list[Difference] = []
    _compare_tree(name, "", a, b, rtol, out)
    return out


def compare_manifest(name: str, old_path: Path, new_path: Path) -> list[Difference]:
    from ketameta.manifest import INFORMATIONAL

    a, b = json.loads(old_path.read_text()), json.loads(new_path.read_text())
    for m in (a, b):
        for key in INFORMATIONAL:
            m.pop(key, None)
        m["outputs"] = sorted(m.get("outputs", {}))
    out: list[Difference] = []
    _compare_tree(name, "", a, b, 0.0, out)
    return out


def comparable_text(path: Path, other_machine: bool = False) -> str:
    """A text output without the parts that are not compared (see the module docstring)."""
    import re

    from ketameta.report import VOLATILE_MARK

    text = path.read_text(encoding="utf-8")
    if path.suffix == ".md" and VOLATILE_MARK in text:
        text = text[: text.index(VOLATILE_MARK)]
    if path.suffix == ".html":
        text = re.sub(r'<section class="volatile">.*?</section>', "", text, flags=re.S)
        text = re.sub(r"<svg\b.*?</svg>", "<svg/>", text, flags=re.S)
    if other_machine:  # MCMC table rows: same rows (model, method), the rest not compared
        if path.suffix == ".html":
            text = re.sub(
                r"(<tr>(?:(?!</tr>).)*?<td>mcmc</td>).*?</tr>",
                lambda m: m.group(1) + "...</tr>",
                text,
                flags=re.S,
            )
        else:
            text = "\n".join(
                ln[: ln.index("| mcmc |") + 8] + " ..." if "| mcmc |" in ln else ln
                for ln in text.splitlines()
            )
    return text


def compare_text(
    name: str, old_path: Path, new_path: Path, context: int = 3, other_machine: bool = False
) -> list[Difference]:
    old = comparable_text(old_path, other_machine).splitlines()
    new = comparable_text(new_path, other_machine).splitlines()
    out = []
    for i in range(max(len(old), len(new))):
        a = old[i] if i < len(old) else "<end of file>"
        b = new[i] if i < len(new) else "<end of file>"
        if a != b:
            # show where the lines part, not their (often shared) beginning
            j = next(
                (n for n, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                min(len(a), len(b)),
            )
            start = max(0, j - 15)
            cut = "..." if start else ""
            where = f"line {i + 1}, column {j + 1}"
            out.append(Difference(name, where, cut + a[start:], cut + b[start:], "exact"))
            if len(out) >= context:
                break
    return out


# Written into results/ by `snakemake --report results/snakemake_report.html`, on demand: not a
# workflow output, so neither compared nor missed.
NOT_OUTPUTS = ("snakemake_report.html",)


def _files(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".") and p.name not in NOT_OUTPUTS
    }


def _machine(root: Path):
    try:
        return json.loads((Path(root) / "manifest.json").read_text()).get("machine")
    except (OSError, ValueError):
        return None


def machines_differ(committed: Path, regenerated: Path | None = None) -> bool:
    """Whether two ``results/`` trees were computed on different processors (by their
    manifests' ``machine`` fingerprints; a manifest without one counts as another machine);
    without ``regenerated``, whether ``committed`` was computed on another one than this."""
    from ketameta.manifest import machine_fingerprint

    a = _machine(committed)
    b = _machine(regenerated) if regenerated is not None else machine_fingerprint()
    return a is None or b is None or a != b


def compare_results(committed: str | Path, regenerated: str | Path, rtol: float = RTOL):
    """Every difference between two ``results/`` trees (empty list: they agree)."""
    committed, regenerated = Path(committed), Path(regenerated)
    other = machines_differ(committed, regenerated)
    if other:
        rtol = max(rtol, OTHER_MACHINE_RTOL)
    old, new = _files(committed), _files(regenerated)
    out = [Difference(f, "file", "present", "missing", "exact") for f in sorted(old - new)]
    out += [Difference(f, "file", "missing", "present", "exact") for f in sorted(new - old)]
    for rel in sorted(old & new):
        a, b = committed / rel, regenerated / rel
        if a.read_bytes() == b.read_bytes():
            continue
        suffix = Path(rel).suffix
        if suffix == ".csv":
            out += compare_csv(rel, a, b, rtol, other)
        elif suffix == ".svg":
            out += compare_svg(rel, a, b, rtol)
        elif suffix == ".png" and (committed / rel).with_suffix(".svg").exists():
            continue  # the SVG twin carries the data
        elif suffix == ".nc":
            continue  # MCMC draws: their summaries (with MCSE) are compared in pooled.csv
        elif Path(rel).name == "manifest.json":
            out += compare_manifest(rel, a, b)
        elif suffix in (".md", ".html", ".txt", ".json", ".yaml"):
            out += compare_text(rel, a, b, other_machine=other)
        else:
            out.append(Difference(rel, "bytes", "differ", "differ", "exact"))
    return out


def format_differences(diffs: list[Difference], limit: int = 200) -> str:
    if not diffs:
        return "no differences"
    rows = [("file", "where", "committed", "regenerated", "rule")] + [
        (d.file, d.where, d.committed, d.regenerated, d.rule) for d in diffs[:limit]
    ]
    # values can be long report lines; file and location are never cut
    rows = [
        tuple(c if j in (0, 1) or len(c) <= 60 else c[:57] + "..." for j, c in enumerate(r))
        for r in rows
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if len(diffs) > limit:
        lines.append(f"... and {len(diffs) - limit} more")
    return "\n".join(lines)


def copy_workflow(root: Path, dest: Path, settings, config_path: Path) -> Path:
    """Copy what a run reads (Snakefile, report captions, config, schema, data, claims) into
    ``dest``;
    return the config's path relative to ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(root / "Snakefile", dest / "Snakefile")
    for folder in ("report",):
        if (root / folder).is_dir():
            shutil.copytree(root / folder, dest / folder)
    schema = root / "config" / "schema.yaml"
    if schema.exists():
        (dest / "config").mkdir(exist_ok=True)
        shutil.copy(schema.resolve(), dest / "config" / "schema.yaml")
    cfg_rel = Path(os.path.relpath(config_path.resolve(), root.resolve()))
    if cfg_rel.parts and cfg_rel.parts[0] == "..":
        cfg_rel = Path("config") / ("verify_" + config_path.name)
    (dest / cfg_rel).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(config_path, dest / cfg_rel)
    extra = [
        p
        for p in (
            settings.claims_path,
            settings.replications_path,
            settings.replication_counts_path,
        )
        if p
    ]
    for path in (*settings.data_paths.values(), *extra):
        rel = Path(path).resolve().relative_to(root.resolve())
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest / rel)
    return cfg_rel


def regenerate(root: Path, settings, config_path: Path, workdir: Path, cores: int = 2):
    """Run the workflow from scratch in ``workdir``; return (exit code, combined output)."""
    cfg_rel = copy_workflow(root, workdir, settings, config_path)
    cmd = [sys.executable, "-m", "snakemake", "--cores", str(cores), "--configfile", str(cfg_rel)]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def verify(
    root: str | Path,
    config_path: str | Path,
    results: str | Path = "results",
    cores: int = 2,
    keep: bool = False,
):
    """Regenerate into a temporary directory and compare with ``results``.

    Returns ``(differences, message)``; ``message`` is non-empty when the run itself failed.
    """
    from ketameta.config import load_settings

    root = Path(root)
    config_path = Path(config_path)
    settings = load_settings(config_path, root=root)
    tmp = Path(tempfile.mkdtemp(prefix="ketameta-verify-"))
    try:
        code, output = regenerate(root, settings, config_path, tmp, cores)
        if code != 0:
            tail = "\n".join(output.strip().splitlines()[-15:])
            return [], f"the workflow failed in {tmp} (exit {code}):\n{tail}"
        return compare_results(root / results, tmp / "results"), ""
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
