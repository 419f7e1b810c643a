"""Load and validate the workflow configuration against ``schema.yaml``.

The schema (JSON Schema, shipped in the package and linked as ``config/schema.yaml``) rejects
unknown keys, unknown method names and out-of-range values; defaults are filled from it. Config
values are data: nothing from a config is passed to eval, exec or a shell.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ketameta.errors import InputError

SCHEMA_PATH = Path(__file__).with_name("schema.yaml")


def _yaml_loader():
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        """SafeLoader that refuses duplicated mapping keys (YAML silently keeps the last one)."""

    def construct_mapping(loader, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key '{key}'", key_node.start_mark
                )
            seen.add(key)
        return loader.construct_mapping(node, deep=deep)

    UniqueKeyLoader.add_constructor(
        yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping
    )
    return UniqueKeyLoader


def read_yaml(path: str | Path, label: str | None = None) -> Any:
    """Parse a YAML file safely; syntax errors become :class:`InputError` with the line, naming
    the file as ``label`` (default: ``path``)."""
    import yaml

    label = str(path) if label is None else label
    p = Path(path)
    if not p.is_file():
        raise InputError("config file not found", file=label)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError("not valid UTF-8", file=label) from None
    try:
        return yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise InputError(
            f"invalid YAML: {exc.problem or exc.context}", file=label, line=line
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", file=label) from None


def load_schema() -> dict:
    import yaml

    return yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))


def _key_path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _fill_defaults(instance: Any, schema: dict) -> Any:
    if not isinstance(instance, dict) or schema.get("type") != "object":
        return instance
    for name, sub in schema.get("properties", {}).items():
        if name not in instance and "default" in sub:
            instance[name] = copy.deepcopy(sub["default"])
        if name in instance:
            _fill_defaults(instance[name], sub)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for name, value in instance.items():
            if name not in schema.get("properties", {}):
                _fill_defaults(value, extra)
    return instance


def validate_config(config: Any, label: str = "config") -> dict:
    """Validate a parsed config against the schema and return a copy with defaults filled."""
    return validate_against(config, load_schema(), label, "the config")


def validate_against(config: Any, schema: dict, label: str, what: str) -> dict:
    """Validate a parsed YAML document against ``schema``; the first error, if any, becomes an
    :class:`InputError` naming ``label`` and the key. Returns a copy with defaults filled."""
    import jsonschema

    if not isinstance(config, dict):
        raise InputError(f"{what} must be a mapping of keys to values", file=label)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (list(e.absolute_path), e.message))
    if errors:
        err = errors[0]
        path = list(err.absolute_path)
        if err.validator == "additionalProperties":
            allowed = sorted(err.schema.get("properties", {}))
            unknown = sorted(set(err.instance) - set(allowed))
            where = _key_path(path + [unknown[0]]) if unknown else _key_path(path)
            hint = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
            raise InputError(f"unknown key{hint}", file=label, key=where)
        if err.validator == "enum":
            choices = ", ".join(str(c) for c in err.validator_value)
            raise InputError(
                f"{err.instance!r} is not one of: {choices}", file=label, key=_key_path(path)
            )
        if err.validator == "required":
            raise InputError(
                err.message.replace("'", "", 0), file=label, key=_key_path(path) or None
            )
        if err.validator == "pattern":
            raise InputError(
                f"{err.instance!r} contains characters that are not allowed",
                file=label,
                key=_key_path(path),
            )
        if err.validator == "propertyNames":
            raise InputError(
                f"{err.instance!r} is not an allowed name (letters, digits, _ and -)",
                file=label,
                key=_key_path(path),
            )
        raise InputError(err.message, file=label, key=_key_path(path) or None)
    return _fill_defaults(copy.deepcopy(config), schema)


def check_data_path(value: str, root: Path, label: str, key: str) -> Path:
    """Resolve a data path and refuse one that leaves the workflow directory."""
    path = Path(value)
    if path.is_absolute():
        raise InputError("must be a path relative to the workflow directory", file=label, key=key)
    resolved = (root / path).resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise InputError(f"'{value}' points outside the workflow directory", file=label, key=key)
    return resolved


@dataclass(frozen=True)
class Settings:
    """A validated configuration, ready for the package (paths resolved, defaults filled)."""

    raw: dict
    root: Path
    studies_path: Path
    arms_path: Path
    claims_path: Path | None = None
    contrasts_path: Path | None = None
    replications_path: Path | None = None
    replication_counts_path: Path | None = None

    @property
    def data_paths(self) -> dict[str, Path]:
        """The data files by config name (``studies``, ``arms`` and, when configured,
        ``contrasts``): what is pinned, hashed into the manifest and copied by verify."""
        paths = {"studies": self.studies_path, "arms": self.arms_path}
        if self.contrasts_path is not None:
            paths["contrasts"] = self.contrasts_path
        return paths

    @property
    def analyses(self):
        from ketameta.spec import AnalysisSpec

        return [
            AnalysisSpec(
                name=name,
                outcome=a["outcome"],
                timepoint=a["timepoint"],
                measure=a["measure"],
                filters={
                    k: {"not": list(v["not"])} if isinstance(v, dict) else list(v)
                    for k, v in a.get("filters", {}).items()
                },
                subgroup=a.get("subgroup"),
                moderators=tuple(a.get("moderators", [])),
                tau_prior=a.get("tau_prior"),
            )
            for name, a in self.raw["analyses"].items()
        ]

    @property
    def effect_options(self):
        from ketameta.spec import EffectOptions

        return EffectOptions(**self.raw["effects"])

    def title(self, name: str) -> str:
        a = self.raw["analyses"][name]
        return a.get("title") or f"{a['outcome']} at {a['timepoint']} ({a['measure']})"


def sha256_file(path: str | Path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def check_pins(cfg: dict, paths: dict[str, Path], label: str) -> None:
    """Stop when a data file no longer matches the SHA-256 pinned in the config."""
    for name, pinned in cfg["data"].get("sha256", {}).items():
        path = paths[name]
        if not path.is_file():
            continue  # reported as "file not found" when the data are read
        actual = sha256_file(path)
        if actual != pinned:
            raise InputError(
                f"{cfg['data'][name]} has changed since it was pinned (sha256 {actual[:12]}..., "
                f"pinned {pinned[:12]}...); if the change is intended, run `ketameta pin "
                f"--config {label}` and commit the new pins",
                file=label,
                key=f"data.sha256.{name}",
            )


def settings_from_dict(config: Any, root: str | Path = ".", label: str = "config") -> Settings:
    """Validate a config mapping (e.g. Snakemake's merged ``config``) into :class:`Settings`."""
    cfg = validate_config(config, label)
    root = Path(root)
    studies = check_data_path(cfg["data"]["studies"], root, label, "data.studies")
    arms = check_data_path(cfg["data"]["arms"], root, label, "data.arms")
    contrasts = None
    if cfg["data"].get("contrasts"):
        contrasts = check_data_path(cfg["data"]["contrasts"], root, label, "data.contrasts")
    paths = {"studies": studies, "arms": arms}
    if contrasts is not None:
        paths["contrasts"] = contrasts
    for name in cfg["data"].get("sha256", {}):
        if name not in paths:
            raise InputError(
                f"a pin for '{name}', but data.{name} is not set",
                file=label,
                key=f"data.sha256.{name}",
            )
    check_pins(cfg, paths, label)
    if "multiverse" in cfg:
        from ketameta.multiverse import check

        check(cfg["multiverse"], label)
    claims = None
    if cfg["report"].get("claims"):
        claims = check_data_path(cfg["report"]["claims"], root, label, "report.claims")
        if not claims.is_file():
            raise InputError(
                f"claims file '{cfg['report']['claims']}' not found",
                file=label,
                key="report.claims",
            )
        read_claims(claims, cfg, cfg["report"]["claims"])
    replications, replication_counts = None, None
    if cfg["report"].get("replications"):
        from ketameta.replication import read_counts, read_replications

        key = "report.replications"
        replications = check_data_path(cfg["report"]["replications"], root, label, key)
        if not replications.is_file():
            raise InputError(
                f"replications file '{cfg['report']['replications']}' not found",
                file=label,
                key=key,
            )
        doc = read_replications(replications, cfg, cfg["report"]["replications"])
        if doc.get("counts"):
            rlabel = cfg["report"]["replications"]
            replication_counts = check_data_path(doc["counts"], root, rlabel, "counts")
            read_counts(replication_counts, doc, doc["counts"])
    return Settings(
        raw=cfg,
        root=root,
        studies_path=studies,
        arms_path=arms,
        claims_path=claims,
        contrasts_path=contrasts,
        replications_path=replications,
        replication_counts_path=replication_counts,
    )


def read_claims(path: str | Path, cfg: dict, label: str | None = None) -> list[dict]:
    """Read and check a claims file (``report.claims``): schema, unique ids, known analyses."""
    import yaml

    label = label or str(path)
    schema = yaml.safe_load(SCHEMA_PATH.with_name("claims_schema.yaml").read_text("utf-8"))
    doc = validate_against(read_yaml(path, label), schema, label, "a claims file")
    seen: set[str] = set()
    for i, claim in enumerate(doc["claims"]):
        if claim["id"] in seen:
            raise InputError(
                f"duplicate claim id '{claim['id']}'", file=label, key=f"claims[{i}].id"
            )
        seen.add(claim["id"])
        if claim["analysis"] not in cfg["analyses"]:
            raise InputError(
                f"analysis '{claim['analysis']}' is not in the config's analyses "
                f"({', '.join(cfg['analyses'])})",
                file=label,
                key=f"claims[{i}].analysis",
            )
    return doc["claims"]


def pin_config(path: str | Path, root: str | Path = ".") -> dict[str, str]:
    """Write the current SHA-256 of the data files into the config file's ``data.sha256``.

    Only the pin lines are touched, so comments and layout of the file are kept.
    """
    import re

    from ketameta.io import write_text

    text = Path(path).read_text(encoding="utf-8")
    cfg = validate_config(read_yaml(path), str(path))
    root = Path(root)
    pins = {
        name: sha256_file(check_data_path(cfg["data"][name], root, str(path), f"data.{name}"))
        for name in ("studies", "arms", "contrasts")
        if cfg["data"].get(name)
    }
    block = "  sha256:\n" + "".join(f"    {n}: {h}\n" for n, h in pins.items())
    if re.search(r"(?m)^  sha256:\n", text):
        text = re.sub(r"(?m)^  sha256:\n(?:    \w+: [0-9a-f]*\n)*", block, text, count=1)
    else:
        text = re.sub(r"(?m)^(data:\n(?:  .*\n)*)", lambda m: m.group(1) + block, text, count=1)
    if validate_config(_parse(text, str(path)), str(path))["data"].get("sha256") != pins:
        raise InputError("could not place the pins under 'data:'; add them by hand", file=str(path))
    write_text(path, text)
    return pins


def _parse(text: str, label: str) -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", file=label) from None


def load_settings(path: str | Path, root: str | Path = ".") -> Settings:
    """Read, validate and resolve a config file."""
    return settings_from_dict(read_yaml(path), root, str(path))
