"""``results/manifest.json``: what a run read, what it wrote, and with which software.

A reviewer holding the manifest can tell whether their rerun used the same inputs (SHA-256 of
every data file and of the config), the same software (Python and package versions from the lock
file) and the same seed, and whether every output they hold is the one the run wrote.

The manifest has no timestamps, host names or absolute paths, so two runs of the same config and
data on the same machine write the same bytes. The git commit is recorded when the workflow
directory is a git checkout (``null`` otherwise); it names the commit the run started from, so
it is informational and ``ketameta verify`` does not compare it.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path

MANIFEST_VERSION = 1
# The packages whose versions can change a number or a figure.
PACKAGES = (
    "ketameta",
    "numpy",
    "scipy",
    "pandas",
    "statsmodels",
    "matplotlib",
    "pymc",
    "pytensor",
    "arviz",
    "nutpie",
    "snakemake",
    "jsonschema",
    "pyyaml",
    "jinja2",
)
# Keys that describe the environment rather than the result: reported, never compared.
INFORMATIONAL = ("git", "python", "packages", "machine")


def machine_fingerprint() -> dict[str, str]:
    """The processor a run computed on: architecture, model name, a hash of its instruction
    set flags (from /proc/cpuinfo where there is one) and the OpenBLAS kernel choice.
    Floating-point results of optimisers and MCMC trajectories depend on the vector
    instructions the libraries pick, so ``ketameta verify`` compares MCMC draws and iterative
    fits exactly only between runs with equal fingerprints. No host name or serial number."""
    model, flags = "", ""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key in ("model name", "Processor", "cpu model") and not model:
            model = value.strip()
        elif key in ("flags", "Features") and not flags:
            flags = " ".join(sorted(value.split()))
    import os

    return {
        "arch": platform.machine(),
        "cpu": model or platform.processor(),
        "cpu_flags_sha256": sha256_bytes(flags.encode()),
        # OpenBLAS picks its kernels by CPU unless told (OPENBLAS_CORETYPE): the same processor
        # then rounds differently, and iterative fits end 1e-7 apart
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", ""),
    }


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def canonical_config_sha256(config: dict) -> str:
    """SHA-256 of the validated config (defaults filled) as canonical JSON: two configs that
    differ only in comments, key order or spelled-out defaults have the same hash."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return sha256_bytes(text.encode())


def package_versions(names=PACKAGES) -> dict[str, str | None]:
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_state(root: str | Path, paths: list[str]) -> dict[str, object] | None:
    """Commit, and whether the tracked ``paths`` (inputs and code, not results) differ from it;
    ``None`` outside a git checkout."""
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--", *paths],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": head, "dirty": bool(status.strip())}


def _rel(path: str | Path, root: Path) -> str:
    p = Path(path)
    try:
        return p.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return p.as_posix()


def build_manifest(
    settings,
    config_path: str | Path | None,
    outputs: list[str | Path],
    root: str | Path | None = None,
) -> dict:
    """The manifest of one run: inputs, config, outputs (sorted by path) and environment."""
    root = Path(root if root is not None else settings.root)
    inputs = {
        name: {"path": _rel(path, root), "sha256": sha256_file(path)}
        for name, path in settings.data_paths.items()
    }
    # files the report reads beside the data: the claims and the published results recomputed
    for name in ("claims", "replications", "replication_counts"):
        path = getattr(settings, f"{name}_path", None)
        if path is not None and Path(path).is_file():
            inputs[name] = {"path": _rel(path, root), "sha256": sha256_file(path)}
    config = {"sha256_canonical": canonical_config_sha256(settings.raw)}
    if config_path is not None and Path(config_path).is_file():
        config["path"] = _rel(config_path, root)
        config["sha256_file"] = sha256_file(config_path)
    paths = []
    for p in map(Path, outputs):  # a directory output stands for the files in it
        paths += sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    files = sorted((_rel(p, root), sha256_file(p)) for p in paths)
    seed = settings.raw.get("bayes", {}).get("seed")
    return {
        "manifest_version": MANIFEST_VERSION,
        "inputs": inputs,
        "config": config,
        "seed": seed,
        "outputs": {path: digest for path, digest in files},
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
        },
        "packages": package_versions(),
        "machine": machine_fingerprint(),
        "git": git_state(
            root,
            [v["path"] for v in inputs.values()]
            + ([config["path"]] if "path" in config else [])
            + [p for p in ("Snakefile", "src") if (root / p).exists()],
        ),
    }


def manifest_text(manifest: dict) -> str:
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"
