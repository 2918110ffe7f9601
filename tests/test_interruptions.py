"""A run killed with SIGKILL at any point leaves nothing behind that a later run trusts.

The toolkit is killed at the places a run can die (``TOOLKIT_CRASH_AT``, see
``toolkit.run_dir.crash_point``): after its staging directory is made (while it trains), after
every file is written, and during ``--force`` after the old run was moved aside. The next run must
succeed, leave no hidden work directory, and write metrics equal byte for byte to an
uninterrupted run's.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import REPO, write_tiny_labels_dir

pytestmark = pytest.mark.slow


def _run(labels: Path, out: Path, *extra: str, crash_at: str | None = None) -> subprocess.CompletedProcess:
    """The toolkit in a process group of its own; killed at ``crash_at``, with its workers after it
    (as ``kill -9 -PGID`` would), so nothing keeps running on the test's pipes."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("TOOLKIT_CRASH_AT", None)
    if crash_at:
        env["TOOLKIT_CRASH_AT"] = crash_at
    command = [sys.executable, "-m", "toolkit.cli", "run", "experiments/tfidf-loo.yaml", "--quiet", "--set", "task=stance",
               "--set", f"data.labels_dir={labels}", "--set", "evaluation.bootstrap_samples=30", "--output-dir", str(out), *extra]
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, text=True, cwd=REPO, env=env, start_new_session=True)
        try:
            returncode = process.wait(timeout=600)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # the joblib workers of a killed run
        stdout.seek(0)
        stderr.seek(0)
        return subprocess.CompletedProcess(command, returncode, stdout.read(), stderr.read())


def _finished(out: Path) -> list[Path]:
    return [path for path in out.iterdir() if not path.name.startswith(".")]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("interrupt")
    labels = write_tiny_labels_dir(root)
    reference = _run(labels, root / "reference")
    assert reference.returncode == 0, reference.stderr
    (run,) = _finished(root / "reference")
    return labels, (run / "metrics.json").read_bytes()


@pytest.mark.parametrize("point", ["staging-created", "files-written"])
def test_a_killed_run_leaves_nothing_and_the_next_run_is_whole(setup, tmp_path, point):
    labels, reference_metrics = setup
    killed = _run(labels, tmp_path / "runs", crash_at=point)
    assert killed.returncode == -signal.SIGKILL
    assert _finished(tmp_path / "runs") == []  # nothing that looks finished
    again = _run(labels, tmp_path / "runs")
    assert again.returncode == 0, again.stderr
    assert "reused" not in again.stdout
    assert sorted(p.name for p in (tmp_path / "runs").iterdir() if p.name.startswith(".")) == []
    (run,) = _finished(tmp_path / "runs")
    assert (run / "metrics.json").read_bytes() == reference_metrics


def test_a_force_rerun_killed_midway_keeps_or_restores_a_whole_run(setup, tmp_path):
    labels, reference_metrics = setup
    assert _run(labels, tmp_path / "runs").returncode == 0
    killed = _run(labels, tmp_path / "runs", "--force", crash_at="old-moved-aside")
    assert killed.returncode == -signal.SIGKILL
    assert _finished(tmp_path / "runs") == []  # the old run is aside, the new one not yet in place
    again = _run(labels, tmp_path / "runs")
    assert again.returncode == 0, again.stderr
    assert [p for p in (tmp_path / "runs").iterdir() if p.name.startswith(".")] == []
    (run,) = _finished(tmp_path / "runs")
    assert (run / "metrics.json").read_bytes() == reference_metrics


def test_no_memory_mapped_files_are_left_in_shared_memory(setup, tmp_path):
    labels, _ = setup
    shm = Path("/dev/shm")
    before = set(shm.iterdir()) if shm.is_dir() else set()
    killed = _run(labels, tmp_path / "runs", crash_at="files-written")
    assert killed.returncode == -signal.SIGKILL
    after = set(shm.iterdir()) if shm.is_dir() else set()
    assert not {path for path in after - before if "joblib" in path.name}
