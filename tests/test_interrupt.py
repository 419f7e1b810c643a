"""A workflow run killed half-way (SIGKILL to the whole process group) and run again.

What a user sees after a crash, a power loss or ``kill -9``:

- no file under ``results/`` is a truncated version of the real output (every output is written
  to a temporary file and renamed, ``ketameta.io``);
- the rerun ends byte-identical to an uninterrupted run.

The reference is an uninterrupted run in a fresh copy made by this test, not the ``results/``
in the repository: ``results/manifest.json`` records the git commit, which a copy outside the
repository does not have, and the committed files may lag behind the code being edited.

Snakemake cannot clean up after SIGKILL: it leaves its lock and "incomplete" markers. The plain
rerun still works because the Snakefile clears the stale lock, markers and temporaries when no
other run is alive (``ketameta.workflow.recover_after_kill``).
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
SNAKEMAKE = str(BIN / "snakemake")
WORKFLOW_FILES = ["Snakefile", "config", "report", "data/raw"]
# Kill once a figure is finished and the next one is being written (its temporary file exists):
# the tables are done, the figures job is mid-way (some plots renamed into place, one half-written,
# others not started) and the report job may be running beside it.
KILL_WHEN = "results/figures"
KILL_DELAYS = (0.0, 1.0, 3.0)  # seconds after that moment; the first mid-way kill is kept
TMP_NAME = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]+\.tmp$")  # ketameta.io.atomic_path


def _copy_workflow(dest: Path) -> Path:
    for rel in WORKFLOW_FILES:
        src = REPO / rel
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dest / rel, symlinks=True)
        else:
            shutil.copy(src, dest / rel)
    link = dest / "config" / "schema.yaml"
    link.unlink(missing_ok=True)
    link.symlink_to(REPO / "src" / "ketameta" / "schema.yaml")
    # MCMC off and only the analyses the claims file tests: a shorter run, the same jobs; the
    # kill lands in the figures job either way
    import yaml

    cfg = dest / "config" / "config.yaml"
    config = yaml.safe_load(cfg.read_text())
    config["bayes"]["mcmc"] = []
    claims = yaml.safe_load((dest / config["report"]["claims"]).read_text())["claims"]
    keep = {c["analysis"] for c in claims}
    config["analyses"] = {n: a for n, a in config["analyses"].items() if n in keep}
    # no multiverse: its batch files are temp() intermediates that an uninterrupted run deletes,
    # and its jobs (a gather of plain CSV writes) add 20 s without touching what is tested here
    config.pop("multiverse", None)
    cfg.write_text(yaml.safe_dump(config, sort_keys=False))
    (dest / "results").mkdir()
    return dest


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def _snakemake(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SNAKEMAKE, *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=900
    )


def _files(root: Path) -> dict[str, bytes]:
    """Every file under ``root/results``, by path relative to ``root``, with its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted((root / "results").rglob("*"))
        if p.is_file()
    }


def _final(files: dict[str, bytes]) -> dict[str, bytes]:
    return {k: v for k, v in files.items() if not Path(k).name.startswith(".")}


def _files_and_markers(files: dict[str, bytes]) -> set[str]:
    """Final files plus Snakemake's own marker in directory outputs (not a temporary)."""
    return set(_final(files)) | {k for k in files if Path(k).name == ".snakemake_timestamp"}


def _incomplete(root: Path) -> set[str]:
    """Outputs Snakemake has marked incomplete (``.snakemake/incomplete/<urlsafe b64 of path>``;
    long names are split into ``@``-prefixed directories)."""
    base = root / ".snakemake" / "incomplete"
    marked = set()
    for p in base.rglob("*") if base.exists() else []:
        if p.is_file() and p.name != "migration_underway":
            encoded = "".join(part.lstrip("@") for part in p.relative_to(base).parts)
            marked.add(base64.urlsafe_b64decode(encoded).decode())
    return marked


def _group_alive(pgid: int) -> bool:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _kill_midway(dest: Path, delay: float) -> dict | None:
    """Start ``snakemake --cores 2``, SIGKILL its process group ``delay`` s after KILL_WHEN holds
    a finished file and a file being written; return the state left behind, or None if the run
    was not caught mid-way."""
    proc = subprocess.Popen(
        [SNAKEMAKE, "--cores", "2"],
        cwd=dest,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the jobs die with it
    )
    watch = dest / KILL_WHEN
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            names = [p.name for p in watch.iterdir()] if watch.is_dir() else []
            if any(not n.startswith(".") for n in names) and any(TMP_NAME.match(n) for n in names):
                break
            time.sleep(0.02)
        time.sleep(delay)
        running = proc.poll() is None
        if running:
            os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
        for _ in range(100):  # the group's other members are reaped by init, not by us
            if not _group_alive(proc.pid):
                break
            time.sleep(0.05)
    assert not _group_alive(proc.pid), "a job process survived the SIGKILL of its group"
    files, marked = _files(dest), _incomplete(dest)
    if not (running and marked and _final(files)):
        return None  # finished, or killed between jobs, or before any output existed
    return {"delay": delay, "files": files, "incomplete": marked}


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """Reference run, killed run and the plain rerun the README tells a user to type."""
    t0 = time.monotonic()
    # All copies are taken now, so every run sees the same Snakefile, config and data.
    ref_dir = _copy_workflow(tmp_path_factory.mktemp("reference"))
    copies = [_copy_workflow(tmp_path_factory.mktemp(f"killed_{d:g}s")) for d in KILL_DELAYS]
    ref = _snakemake(ref_dir, "--cores", "2")
    assert ref.returncode == 0, ref.stderr[-3000:]
    reference = _files(ref_dir)
    t_ref = time.monotonic() - t0

    killed = None
    for delay, dest in zip(KILL_DELAYS, copies, strict=True):
        killed = _kill_midway(dest, delay)
        if killed:
            break
    assert killed, f"no kill delay in {KILL_DELAYS} caught the run mid-way"
    t_kill = time.monotonic() - t0 - t_ref

    plain = _snakemake(dest, "--cores", "2")  # what the README tells a user to run
    timings = {"reference": t_ref, "killed": t_kill, "total": time.monotonic() - t0}
    print("\ntest_interrupt timings (s):", {k: round(v, 1) for k, v in timings.items()})
    return {
        "reference": reference,
        "killed": killed,
        "plain": plain,
        "final": _files(dest),
    }


def test_kill_caught_the_run_midway(interrupted):
    killed, reference = interrupted["killed"], interrupted["reference"]
    done = set(_final(killed["files"]))
    assert done and done < set(_final(reference)), "some outputs written, not all"
    assert killed["incomplete"], "Snakemake had a job running"


def test_no_truncated_output_after_kill(interrupted):
    """Every output present after the kill is the final file, or Snakemake marked it
    incomplete (so a rerun regenerates it)."""
    killed, reference = interrupted["killed"], interrupted["reference"]
    for rel, data in _final(killed["files"]).items():
        assert data == reference.get(rel) or rel in killed["incomplete"], rel


def test_outputs_of_a_killed_job_are_whole_files(interrupted):
    """Stronger: thanks to write-then-rename (ketameta.io), even the outputs of the job that was
    killed are complete, byte-identical files; only hidden temporaries can be partial."""
    killed, reference = interrupted["killed"], interrupted["reference"]
    for rel, data in _final(killed["files"]).items():
        assert data == reference[rel], rel
    finals = {Path(rel).name for rel in reference}
    for rel in set(killed["files"]) - _files_and_markers(killed["files"]):
        match = TMP_NAME.match(Path(rel).name)
        assert match and match["name"] in finals, f"unexpected file after the kill: {rel}"


def test_plain_rerun_after_kill_completes(interrupted):
    plain = interrupted["plain"]
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert "left by an interrupted run" in plain.stderr  # the stale lock was cleared


def test_rerun_after_kill_is_byte_identical_to_an_uninterrupted_run(interrupted):
    final, reference = _final(interrupted["final"]), _final(interrupted["reference"])
    assert sorted(final) == sorted(reference)
    for rel, data in reference.items():
        assert final[rel] == data, rel


def test_rerun_leaves_no_temporary_files(interrupted):
    assert set(interrupted["final"]) == _files_and_markers(interrupted["final"])
