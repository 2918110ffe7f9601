"""The path a user with internet takes: a model named by its hub id is downloaded, cached,
fine-tuned and exported. The hub is a local server (tests/hub_server.py) reached through
``HF_ENDPOINT``, in a fresh process, so huggingface_hub reads it as it would in real use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytestmark = pytest.mark.bert

from tests.hub_server import FakeHub  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REPO_ID = "test-org/tiny-dutch-bert"
TINY = ["training.seeds=[0]", "training.epochs=1", "training.early_stopping_patience=null", "training.num_threads=1",
        "training.batch_size=8", "model.max_length=48", "evaluation.bootstrap_samples=20", "task=stance",
        "data.split.test_letters=[rec-2015-01-tiny-5]", f"model.name_or_path={REPO_ID}"]


def _toolkit(args, env) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", "import sys; from toolkit.cli import main; sys.exit(main(sys.argv[1:]))", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture
def tiny_hub_model(tmp_path) -> Path:
    from tests.conftest import build_tiny_bert

    return build_tiny_bert(tmp_path / "served")


def test_a_hub_id_is_downloaded_cached_fine_tuned_and_exported(httpserver, tiny_hub_model, tiny_labels_dir, tmp_path):
    hub = FakeHub()
    hub.add_repo(REPO_ID, tiny_hub_model)
    hub.install(httpserver)
    env = {key: value for key, value in os.environ.items() if key not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_ENDPOINT=httpserver.url_for("").rstrip("/"), HF_HOME=str(tmp_path / "hf-home"), HF_HUB_DISABLE_TELEMETRY="1")
    overrides = [arg for value in [*TINY, f"data.labels_dir={tiny_labels_dir}"] for arg in ("--set", value)]

    first = _toolkit(["run", "experiments/bert-small-seed.yaml", *overrides, "--output-dir", str(tmp_path / "runs"), "--quiet"], env)
    assert first.returncode == 0, first.stderr
    run = Path(first.stdout.strip().splitlines()[-1])
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(hub.downloads(REPO_ID))
    cached = tmp_path / "hf-home" / "hub" / "models--test-org--tiny-dutch-bert" / "snapshots"
    assert any(cached.rglob("model.safetensors"))

    # The cache serves the model with the hub offline: nothing more is fetched.
    served = len(hub.requests)
    offline = {**env, "HF_HUB_OFFLINE": "1"}
    again = _toolkit(["run", "experiments/bert-small-seed.yaml", *overrides, "--output-dir", str(tmp_path / "again"), "--quiet"], offline)
    assert again.returncode == 0, again.stderr
    assert len(hub.requests) == served

    exported = _toolkit(["export", str(run), "--out", str(tmp_path / "export")], offline)
    assert exported.returncode == 0, exported.stderr
    card = (tmp_path / "export" / "README.md").read_text(encoding="utf-8")
    assert f"base_model: {REPO_ID}" in card


def test_an_unknown_hub_id_is_a_clear_error(httpserver, tiny_labels_dir, tmp_path):
    hub = FakeHub()  # serves no repositories
    hub.install(httpserver)
    env = {key: value for key, value in os.environ.items() if key not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_ENDPOINT=httpserver.url_for("").rstrip("/"), HF_HOME=str(tmp_path / "hf-home"))
    overrides = [arg for value in [*TINY, f"data.labels_dir={tiny_labels_dir}"] for arg in ("--set", value)]
    result = _toolkit(["run", "experiments/bert-small-seed.yaml", *overrides, "--output-dir", str(tmp_path / "runs"), "--quiet"], env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and REPO_ID in result.stderr
