"""The real command line, end to end, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "toolkit.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=600,
    )


def test_segment_prints_one_json_object_per_sentence(seed_letter_path):
    result = run_cli("segment", str(seed_letter_path))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"id", "letter_id", "index", "kind", "section", "text"} <= set(records[0])
    assert sum(record["kind"] == "body" for record in records) == 96
    assert [r["index"] for r in records] == list(range(len(records)))


def test_segment_reports_bad_input_without_traceback(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    result = run_cli("segment", str(empty))
    assert result.returncode == 2
    assert result.stderr.startswith("error:") and "empty" in result.stderr
    assert "Traceback" not in result.stderr


def test_ingest_writes_a_corpus(tmp_path, seed_letter_path):
    result = run_cli("ingest", str(seed_letter_path), "--out", str(tmp_path / "corpus"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "corpus" / "sentences.jsonl").exists()
    assert "96 body" in result.stdout


@pytest.mark.slow
def test_main_job_runs_on_the_default_data(tmp_path):
    result = run_cli("main", "--out", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr
    assert "kst-28676-307" in result.stdout
    assert (tmp_path / "runs" / "corpus" / "corpus.json").exists()


def test_fetch_without_network_gives_a_clear_error(tmp_path, httpserver_port_closed):
    result = run_cli(
        "fetch", "kst-28676-307", "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out"),
        "--base-url", f"http://127.0.0.1:{httpserver_port_closed}/sru", "--retries", "0",
    )
    assert result.returncode == 2
    assert "offline" in result.stderr and "Traceback" not in result.stderr


@pytest.fixture
def httpserver_port_closed() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
