"""Load and validate the raw data files (``studies.csv`` and ``arms.csv``).

The contract is documented column by column in ``data/raw/README.md``. Every check here raises
:class:`~ketameta.errors.InputError` naming the file, the line (header = line 1) and the
column, so a user can fix the file without reading Python. Only the required columns must be
present; any other column is carried along untouched.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ketameta.errors import InputError

SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
DESIGNS = ("parallel", "crossover")
ROUTES = ("IV", "IN", "oral", "IM", "SC", "ID")
ROLES = ("treatment", "control")
# Overall risk-of-bias judgements (RoB 2, Sterne et al. 2019).
ROB_JUDGEMENTS = ("low", "some concerns", "high")
COMPARATOR_TYPES = ("placebo", "active_placebo", "active")
CONDITIONS = ("unipolar", "bipolar", "mixed")
CONFIDENCE = ("high", "medium", "low")

STUDY_COLUMNS = (
    "study_id",
    "author",
    "year",
    "design",
    "population",
    "drug",
    "route",
    "comparator",
)
ARM_COLUMNS = (
    "study_id",
    "arm_id",
    "role",
    "dose",
    "outcome",
    "timepoint",
    "n",
    "source",
    "derived",
)
CONTRAST_COLUMNS = ("study_id", "outcome", "timepoint", "measure", "source")
# Measures a between-group estimate can be given in; ratio measures on their natural scale.
CONTRAST_MEASURES = ("OR", "RR", "HR", "RD", "MD", "SMD")
RATIO_CONTRASTS = ("OR", "RR", "HR")
ID_COLUMNS = ("doi", "pmid", "registration")  # at least one filled per study
LINE = "_line"  # 1-based line number of each row in its file, kept for error messages


@dataclass(frozen=True)
class Dataset:
    """Validated trial data: one row per study and one row per arm x outcome x timepoint."""

    studies: pd.DataFrame
    arms: pd.DataFrame
    studies_path: str
    arms_path: str
    # contrast-level rows (contrasts.csv, optional) with their yi/vi on the analysis scale
    contrasts: pd.DataFrame | None = None
    contrasts_path: str | None = None

    def contrasts_with_studies(self) -> pd.DataFrame:
        """Contrast rows joined with their study-level columns (empty without contrasts)."""
        if self.contrasts is None:
            return pd.DataFrame(columns=[*CONTRAST_COLUMNS, "yi", "vi"])
        study_cols = [c for c in self.studies.columns if c != LINE]
        own = [c for c in self.contrasts.columns if c not in study_cols or c == "study_id"]
        return self.contrasts[own].merge(self.studies[study_cols], on="study_id", how="left")

    def arms_with_studies(self) -> pd.DataFrame:
        """Arms joined with their study-level columns (study columns win on a name clash)."""
        study_cols = [c for c in self.studies.columns if c != LINE]
        arm_cols = [c for c in self.arms.columns if c not in study_cols or c == "study_id"]
        return self.arms[arm_cols].merge(self.studies[study_cols], on="study_id", how="left")


def read_csv_strict(path: str | Path, label: str | None = None) -> pd.DataFrame:
    """Read a comma-separated UTF-8 file into a frame of strings, one line number per row.

    Rejects what spreadsheets silently produce: a byte-order mark, another encoding, another
    delimiter, ragged rows and duplicated column names.
    """
    label = label or str(path)
    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", file=label)
    raw = p.read_bytes()
    if not raw.strip():
        raise InputError("file is empty (a header row is required)", file=label)
    if raw.startswith(b"\xef\xbb\xbf"):
        raise InputError(
            "file starts with a UTF-8 byte-order mark (BOM); save it as plain UTF-8", file=label
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
            file=label,
            line=bad_line,
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:  # pragma: no cover - empty handled above
        raise InputError(f"cannot read the header: {exc}", file=label, line=1) from None
    header = [h.strip() for h in header]
    if len(header) == 1:
        for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
            if sep in header[0]:
                raise InputError(
                    f"the header is separated by {name}; columns must be separated by commas",
                    file=label,
                    line=1,
                )
    seen: set[str] = set()
    for name in header:
        if not name:
            raise InputError("empty column name in the header", file=label, line=1)
        if name in seen:
            raise InputError(f"column '{name}' appears twice in the header", file=label, line=1)
        seen.add(name)
    rows: list[list[str]] = []
    lines: list[int] = []
    start = reader.line_num + 1  # line where the next record starts (a quoted field can span lines)
    try:
        for row in reader:
            if not row or all(not c.strip() for c in row):
                start = reader.line_num + 1
                continue
            if len(row) != len(header):
                raise InputError(
                    f"has {len(row)} fields but the header has {len(header)}",
                    file=label,
                    line=start,
                )
            rows.append([c.strip() for c in row])
            lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        where = f" (the record starting on line {start} runs to line {reader.line_num})"
        if reader.line_num <= start:
            where = ""
        raise InputError(
            f"malformed CSV: {exc}{where}; check for an unclosed quote", file=label, line=start
        ) from None
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame[LINE] = lines
    return frame


class _Checker:
    """Column checks that raise one :class:`InputError` naming file, line and column."""

    def __init__(self, frame: pd.DataFrame, label: str) -> None:
        self.frame = frame
        self.label = label

    def fail(self, idx: int, column: str | None, message: str) -> None:
        raise InputError(
            message, file=self.label, line=int(self.frame.at[idx, LINE]), column=column
        )

    def require_columns(self, columns: Sequence[str]) -> None:
        missing = [c for c in columns if c not in self.frame.columns]
        if missing:
            raise InputError(
                "missing required column(s): " + ", ".join(missing), file=self.label, line=1
            )

    def nonempty(self, column: str) -> None:
        for idx, value in self.frame[column].items():
            if value == "":
                self.fail(idx, column, "is empty but required")

    def pattern(self, column: str, regex: re.Pattern[str], what: str, allow_empty=False) -> None:
        for idx, value in self.frame[column].items():
            if value == "" and allow_empty:
                continue
            if not regex.match(value):
                self.fail(idx, column, f"{value!r} is not {what}")

    def choice(self, column: str, allowed: Sequence[str], allow_empty: bool = False) -> None:
        for idx, value in self.frame[column].items():
            if value == "" and allow_empty:
                continue
            if value not in allowed:
                self.fail(idx, column, f"{value!r} is not one of: {', '.join(allowed)}")

    def number(
        self,
        column: str,
        *,
        integer: bool,
        allow_empty: bool,
        rule: Callable[[float], bool] | None = None,
        rule_text: str = "",
    ) -> pd.Series:
        out = []
        for idx, value in self.frame[column].items():
            if value == "":
                if not allow_empty:
                    self.fail(idx, column, "is empty but required")
                out.append(math.nan)
                continue
            try:
                number = float(value)
            except ValueError:
                kind = "an integer" if integer else "a number"
                self.fail(idx, column, f"{value!r} is not {kind}")
            if not math.isfinite(number):
                self.fail(idx, column, f"{value!r} is not a finite number")
            if integer and number != int(number):
                self.fail(idx, column, f"{value!r} is not an integer")
            if rule is not None and not rule(number):
                self.fail(idx, column, f"{value} {rule_text}")
            out.append(number)
        return pd.Series(out, index=self.frame.index, dtype=float)

    def arm_numbers(self) -> pd.DataFrame:
        """The numbers of arm rows, as floats: ``n`` (a positive integer), ``events`` (an
        integer from 0 to n), ``mean`` and ``sd`` (> 0); all but ``n`` may be empty."""
        n = self.number(
            "n",
            integer=True,
            allow_empty=False,
            rule=lambda v: v > 0,
            rule_text="is not a positive count",
        )
        events = self.number(
            "events",
            integer=True,
            allow_empty=True,
            rule=lambda v: v >= 0,
            rule_text="is negative",
        )
        for idx in self.frame.index[events > n]:
            self.fail(idx, "events", f"{int(events[idx])} events is more than n = {int(n[idx])}")
        mean = self.number("mean", integer=False, allow_empty=True)
        sd = self.number(
            "sd",
            integer=False,
            allow_empty=True,
            rule=lambda v: v > 0,
            rule_text="is not a positive standard deviation",
        )
        return pd.DataFrame({"n": n, "events": events, "mean": mean, "sd": sd})

    def known_studies(self, study_ids: set[str]) -> None:
        for idx, sid in self.frame["study_id"].items():
            if sid not in study_ids:
                self.fail(idx, "study_id", f"study '{sid}' is not in the studies file")

    def unique(self, columns: Sequence[str]) -> None:
        dup = self.frame.duplicated(subset=list(columns), keep="first")
        if dup.any():
            idx = dup[dup].index[0]
            key = ", ".join(f"{c}={self.frame.at[idx, c]}" for c in columns)
            first = self.frame[
                (self.frame[list(columns)] == self.frame.loc[idx, list(columns)]).all(axis=1)
            ].index[0]
            self.fail(
                idx,
                columns[-1],
                f"duplicate row ({key}); first seen on line {int(self.frame.at[first, LINE])}",
            )


def validate_studies(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """Check ``studies.csv``; return it with ``year`` as an integer column."""
    chk = _Checker(frame, label)
    chk.require_columns(STUDY_COLUMNS)
    id_cols = [c for c in ID_COLUMNS if c in frame.columns]
    if "doi" not in frame.columns and "pmid" not in frame.columns:
        raise InputError("missing required column: doi or pmid (one of them)", file=label, line=1)
    if frame.empty:
        raise InputError("has a header but no study rows", file=label)
    chk.pattern("study_id", SLUG, "a valid id (letters, digits, '_', '.', '-')")
    chk.unique(["study_id"])
    for col in ("author", "population", "drug", "comparator"):
        chk.nonempty(col)
    years = chk.number(
        "year",
        integer=True,
        allow_empty=False,
        rule=lambda y: 1900 <= y <= 2100,
        rule_text="is not a plausible year (1900-2100)",
    )
    chk.choice("design", DESIGNS)
    chk.choice("route", ROUTES)
    if "comparator_type" in frame.columns:
        chk.choice("comparator_type", COMPARATOR_TYPES, allow_empty=True)
    if "condition" in frame.columns:
        chk.choice("condition", CONDITIONS, allow_empty=True)
    if "rob_overall" in frame.columns:
        chk.choice("rob_overall", ROB_JUDGEMENTS, allow_empty=True)
    for idx in frame.index:
        if not any(frame.at[idx, c] for c in id_cols):
            chk.fail(idx, "doi", "no doi, pmid or registration id; every study needs a source id")
    if "pmid" in frame.columns:
        chk.pattern("pmid", re.compile(r"^\d+$"), "a PubMed id (digits only)", allow_empty=True)
    if "registration" in frame.columns:
        chk.pattern(
            "registration",
            re.compile(r"^[A-Za-z]+[A-Za-z0-9-]*\d+$"),
            "a trial registration id like NCT01234567",
            allow_empty=True,
        )
    if "doi" in frame.columns:
        chk.pattern(
            "doi", re.compile(r"^10\.\d{4,9}/\S+$"), "a DOI like 10.1000/xyz", allow_empty=True
        )
    out = frame.copy()
    out["year"] = years.astype(int)
    return out


def validate_arms(frame: pd.DataFrame, label: str, study_ids: set[str]) -> pd.DataFrame:
    """Check ``arms.csv`` against the contract and against the known study ids."""
    chk = _Checker(frame, label)
    chk.require_columns(ARM_COLUMNS)
    has_events = "events" in frame.columns
    has_cont = "mean" in frame.columns and "sd" in frame.columns
    if not has_events and not has_cont:
        raise InputError(
            "needs an 'events' column (binary outcomes) or 'mean' and 'sd' (continuous)",
            file=label,
            line=1,
        )
    if frame.empty:
        raise InputError("has a header but no arm rows", file=label)
    chk.pattern("study_id", SLUG, "a valid id (letters, digits, '_', '.', '-')")
    chk.known_studies(study_ids)
    chk.pattern("arm_id", SLUG, "a valid id (letters, digits, '_', '.', '-')")
    chk.choice("role", ROLES)
    chk.pattern("outcome", SLUG, "a valid outcome name (letters, digits, '_', '.', '-')")
    chk.pattern("timepoint", SLUG, "a valid timepoint label (letters, digits, '_', '.', '-')")
    chk.nonempty("source")
    if "confidence" in frame.columns:
        chk.choice("confidence", CONFIDENCE, allow_empty=True)
        if "derived" in frame.columns:
            # codebook: a medium-confidence number was computed, so its derivation is required
            for idx in frame.index[(frame["confidence"] == "medium") & (frame["derived"] == "")]:
                chk.fail(
                    idx,
                    "derived",
                    "is empty, but a medium-confidence row must say how its numbers were derived",
                )
    out = frame.copy()
    # without an events column (or without mean and sd both) those numbers are empty: the row
    # check below says which numbers a row needs
    unused = ([] if has_events else ["events"]) + ([] if has_cont else ["mean", "sd"])
    numbers = _Checker(frame.assign(**dict.fromkeys(unused, "")), label).arm_numbers()
    for col in numbers.columns:
        out[col] = numbers[col]
    for idx in frame.index:
        binary = not math.isnan(out.at[idx, "events"])
        m_ok, s_ok = (not math.isnan(out.at[idx, c]) for c in ("mean", "sd"))
        if binary and (m_ok or s_ok):
            chk.fail(idx, "events", "a row holds either events (binary) or mean and sd, not both")
        if not binary and not (m_ok and s_ok):
            column = "events" if not (m_ok or s_ok) else ("sd" if m_ok else "mean")
            chk.fail(idx, column, "needs events (binary outcome) or both mean and sd (continuous)")
    out["n"] = out["n"].astype(int)
    chk.unique(["study_id", "arm_id", "outcome", "timepoint"])
    # An outcome must be one kind throughout, otherwise pooling would mix scales.
    kind = out["events"].notna().map({True: "binary", False: "continuous"})
    for outcome, kinds in kind.groupby(out["outcome"]):
        if kinds.nunique() > 1:
            idx = kinds[kinds != kinds.iloc[0]].index[0]
            chk.fail(
                idx,
                "outcome",
                f"outcome '{outcome}' is binary in some rows and continuous in others",
            )
    # One control arm per study x outcome x timepoint: several would make the comparison ambiguous.
    controls = out[out["role"] == "control"]
    dup = controls.duplicated(subset=["study_id", "outcome", "timepoint"])
    if dup.any():
        idx = dup[dup].index[0]
        chk.fail(
            idx,
            "role",
            f"study '{out.at[idx, 'study_id']}' has more than one control arm "
            f"for {out.at[idx, 'outcome']} at {out.at[idx, 'timepoint']}",
        )
    return out


def _normal_quantile(p: float) -> float:
    from scipy.special import ndtri

    return float(ndtri(p))


def validate_contrasts(frame: pd.DataFrame, label: str, study_ids: set[str]) -> pd.DataFrame:
    """Check ``contrasts.csv`` (between-group estimates, generic inverse variance: Cochrane
    Handbook 6.3) and add ``yi``/``vi`` on the analysis scale (log for OR, RR, HR).

    A row gives its estimate one of three ways: ``yi`` and ``vi`` (already on the analysis
    scale); ``estimate`` with ``ci_low`` and ``ci_high`` (confidence ``level``, default 0.95):
    ``se = (hi - lo) / (2 z)`` on the analysis scale (Handbook 6.3.1 and 6.3.2); or ``estimate``
    with ``se`` (of the analysis-scale estimate, e.g. of the log OR). ``how`` records which.
    """
    chk = _Checker(frame, label)
    chk.require_columns(CONTRAST_COLUMNS)
    if frame.empty:
        raise InputError("has a header but no contrast rows", file=label)
    chk.pattern("study_id", SLUG, "a valid id (letters, digits, '_', '.', '-')")
    chk.known_studies(study_ids)
    chk.pattern("outcome", SLUG, "a valid outcome name (letters, digits, '_', '.', '-')")
    chk.pattern("timepoint", SLUG, "a valid timepoint label (letters, digits, '_', '.', '-')")
    chk.choice("measure", CONTRAST_MEASURES)
    chk.nonempty("source")
    if "confidence" in frame.columns:
        chk.choice("confidence", CONFIDENCE, allow_empty=True)
    chk.unique(["study_id", "outcome", "timepoint", "measure"])
    present = set(frame.columns)
    for col in ("yi", "vi", "estimate", "ci_low", "ci_high", "se"):
        if col not in present:
            frame = frame.assign(**{col: ""})
    if "level" not in present:
        frame = frame.assign(level="")
    chk = _Checker(frame, label)
    num = {
        c: chk.number(c, integer=False, allow_empty=True)
        for c in ("yi", "vi", "estimate", "ci_low", "ci_high", "se", "level")
    }
    out = frame.copy()
    rows: list[tuple[float, float, str]] = []  # yi, vi, how
    for idx in frame.index:
        v = {c: num[c][idx] for c in num}
        given = {c for c, x in v.items() if not math.isnan(x)}
        ratio = frame.at[idx, "measure"] in RATIO_CONTRASTS
        if {"yi", "vi"} <= given:
            if given & {"estimate", "ci_low", "ci_high", "se"}:
                chk.fail(idx, "estimate", "give yi and vi, or an estimate with its CI or SE")
            if v["vi"] <= 0:
                chk.fail(idx, "vi", f"{v['vi']} is not a positive variance")
            rows.append((v["yi"], v["vi"], "yi/vi"))
            continue
        if "yi" in given or "vi" in given:
            chk.fail(idx, "vi" if "yi" in given else "yi", "yi and vi come together")
        if "estimate" not in given:
            chk.fail(idx, "estimate", "needs yi and vi, or estimate with ci_low/ci_high or se")
        est = v["estimate"]
        if ratio and est <= 0:
            chk.fail(idx, "estimate", f"{est:g} is not a positive ratio (give ratios unlogged)")
        y = math.log(est) if ratio else est
        if {"ci_low", "ci_high"} <= given:
            if "se" in given:
                chk.fail(idx, "se", "give the CI or the SE, not both")
            lo, hi = v["ci_low"], v["ci_high"]
            if ratio and lo <= 0:
                chk.fail(idx, "ci_low", f"{lo:g} is not a positive ratio")
            if not lo <= est <= hi or lo == hi:
                chk.fail(idx, "ci_low", f"the CI [{lo:g}, {hi:g}] does not contain {est:g}")
            level = v["level"] if "level" in given else 0.95
            if not 0.5 < level < 1:
                chk.fail(idx, "level", f"{level:g} is not a confidence level between 0.5 and 1")
            z = _normal_quantile((1 + level) / 2)
            a, b = (math.log(lo), math.log(hi)) if ratio else (lo, hi)
            rows.append((y, ((b - a) / (2 * z)) ** 2, "estimate/CI"))
        elif "se" in given:
            if v["se"] <= 0:
                chk.fail(idx, "se", f"{v['se']} is not a positive standard error")
            rows.append((y, v["se"] ** 2, "estimate/SE"))
        else:
            missing = "ci_high" if "ci_low" in given else "ci_low"
            chk.fail(idx, missing, "needs both ci_low and ci_high (or se)")
    out["yi"] = [r[0] for r in rows]
    out["vi"] = [r[1] for r in rows]
    out["how"] = [r[2] for r in rows]
    return out


def load_dataset(
    studies_path: str | Path,
    arms_path: str | Path,
    labels: tuple[str, str] | None = None,
    contrasts_path: str | Path | None = None,
    contrasts_label: str | None = None,
) -> Dataset:
    """Read and validate the files; raise :class:`InputError` on the first problem.

    ``labels`` are the names used in messages (default: the paths as given).
    """
    s_label, a_label = labels or (str(studies_path), str(arms_path))
    studies = validate_studies(read_csv_strict(studies_path, s_label), s_label)
    ids = set(studies["study_id"])
    arms = validate_arms(read_csv_strict(arms_path, a_label), a_label, ids)
    contrasts, c_label = None, None
    if contrasts_path is not None:
        c_label = contrasts_label or str(contrasts_path)
        contrasts = validate_contrasts(read_csv_strict(contrasts_path, c_label), c_label, ids)
    return Dataset(
        studies=studies,
        arms=arms,
        studies_path=s_label,
        arms_path=a_label,
        contrasts=contrasts,
        contrasts_path=c_label,
    )
