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


@pytest.mark.slow
def test_run_prints_the_run_directory_last(tmp_path, tiny_labels_dir):
    result = run_cli("run", "experiments/tfidf-loo.yaml", "--set", f"data.labels_dir={tiny_labels_dir}",
                     "--set", "evaluation.bootstrap_samples=20", "--output-dir", str(tmp_path / "runs"), "--quiet")
    assert result.returncode == 0, result.stderr
    last = Path(result.stdout.strip().splitlines()[-1])
    assert (last / "metrics.json").exists()
    compared = run_cli("compare", str(tmp_path / "runs" / "*"))
    assert compared.returncode == 0 and "tfidf-loo" in compared.stdout
    predicted = run_cli("predict", str(last), "labels/letters/kst-28676-307.txt")
    assert predicted.returncode == 0, predicted.stderr
    assert len(predicted.stdout.splitlines()) == 96


def test_run_with_an_unknown_config_key_fails_cleanly(tmp_path):
    result = run_cli("run", "experiments/tfidf-loo.yaml", "--set", "model.colour=red", "--output-dir", str(tmp_path))
    assert result.returncode == 2 and "unknown config key 'model.colour'" in result.stderr
    assert not any(tmp_path.iterdir())


def test_ingest_writes_a_corpus(tmp_path, seed_letter_path):
    result = run_cli("ingest", str(seed_letter_path), "--out", str(tmp_path / "corpus"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "corpus" / "sentences.jsonl").exists()
    assert "96 body" in result.stdout


@pytest.mark.slow
def test_main_job_runs_on_the_default_data(tmp_path):
    result = run_cli("main", "--out", str(tmp_path / "runs"), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "corpus: 66 letters" in result.stdout
    for task in ("stance", "actor", "topic"):
        assert any(line.startswith(task) for line in result.stdout.splitlines())
    assert (tmp_path / "runs" / "corpus" / "corpus.json").exists()
    # The notebooks reuse the main job's runs from the project's runs/ (as after `make run`);
    # handing them these saves the slow notebook tests from training the same three models again.
    import shutil

    project_runs = Path(__file__).resolve().parent.parent / "runs"
    for run in (tmp_path / "runs").glob("tfidf-loo-*"):
        if not (project_runs / run.name).exists():
            shutil.copytree(run, project_runs / run.name)


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


@pytest.mark.bert
def test_pretrain_builds_a_checkpoint_that_leaves_the_seed_letter_out(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "bert-tiny"
    result = run_cli("pretrain", "--out", str(out), "--epochs", "1", "--hidden-size", "32", "--layers", "1",
                     "--heads", "2", "--vocab-size", "300", "--quiet")
    assert result.returncode == 0, result.stderr
    assert (out / "model.safetensors").exists() and (out / "pretraining.json").exists()
    assert "letters excluded: kst-28676-307" in result.stderr
    again = run_cli("pretrain", "--out", str(out), "--skip-if-exists")
    assert again.returncode == 0 and "not pretraining again" in again.stdout
