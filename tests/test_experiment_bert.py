"""Transformer models through the same runner as the baselines (tiny, locally pretrained model)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.bert  # every test here needs torch; see tests/conftest.py

from toolkit.config import load_config  # noqa: E402
from toolkit.errors import ModelError  # noqa: E402
from toolkit.experiment import run_experiment  # noqa: E402
from toolkit.predict import predict_letters  # noqa: E402

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"
TINY_OVERRIDES = [
    "training.seeds=[0]",
    "training.epochs=1",
    "training.early_stopping_patience=null",
    "training.num_threads=1",
    "training.batch_size=8",
    "model.max_length=48",
    "evaluation.bootstrap_samples=20",
    "data.split.test_letters=[rec-2015-01-tiny-5]",
]


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _config(name: str, labels_dir, tmp_path, tiny_bert, *extra):
    config = load_config(EXPERIMENTS / name, [*TINY_OVERRIDES, f"model.name_or_path={tiny_bert}", *extra])
    return replace(config, data=replace(config.data, labels_dir=str(labels_dir)), output_dir=str(tmp_path / "runs"))


@pytest.mark.bert
def test_single_task_transformer_run_writes_the_same_run_directory(tiny_labels_dir, tmp_path, tiny_bert, seed_letter_path):
    result = run_experiment(_config("bert-small-seed.yaml", tiny_labels_dir, tmp_path, tiny_bert, "task=stance"), progress=False)
    names = {path.name for path in result.path.iterdir()}
    assert {"config.yaml", "metrics.json", "predictions.jsonl", "provenance.json", "report.md", "confusion_stance.png", "model"} <= names
    assert (result.path / "model" / "model.safetensors").exists()
    metrics = json.loads((result.path / "metrics.json").read_text())
    assert metrics["tasks"]["stance"]["model"]["test_letters"] == 1
    rows = list(predict_letters(result.path, [seed_letter_path]))
    assert len(rows) == 96 and {"stance", "stance_probability"} <= set(rows[0])
    curves = json.loads((result.path / "training_history.json").read_text())
    assert [curve["split"] for curve in curves] == ["held-out:rec-2015-01-tiny-5"]
    assert all(0 <= record["heldout_macro_f1"] <= 1 for record in curves[0]["history"])  # the held-out letter, per epoch
    assert (result.path / "learning_curves.png").stat().st_size > 1000
    from toolkit.explore import plot_learning_curves, training_history

    history = training_history(result.path)  # for notebook 04's learning curves
    assert history["history"] and history["history"][0]["epoch"] == 1 and "train_loss" in history["history"][0]
    assert plot_learning_curves(history).axes[0].get_xlabel() == "epoch"


@pytest.mark.bert
def test_multitask_run_evaluates_every_task(tiny_labels_dir, tmp_path, tiny_bert):
    result = run_experiment(_config("bert-small-multitask-seed.yaml", tiny_labels_dir, tmp_path, tiny_bert), progress=False)
    metrics = json.loads((result.path / "metrics.json").read_text())
    assert set(metrics["tasks"]) == {"stance", "actor", "topic"}
    for task in metrics["tasks"].values():
        assert 0 <= task["model"]["macro_f1"] <= 1 and "majority" in task["baselines"]


@pytest.mark.bert
def test_same_config_twice_gives_identical_metrics(tiny_labels_dir, tmp_path, tiny_bert):
    first = run_experiment(_config("bert-small-context-seed.yaml", tiny_labels_dir, tmp_path / "a", tiny_bert), progress=False)
    second = run_experiment(_config("bert-small-context-seed.yaml", tiny_labels_dir, tmp_path / "b", tiny_bert), progress=False)
    assert (first.path / "metrics.json").read_bytes() == (second.path / "metrics.json").read_bytes()


def test_missing_small_model_names_the_command_that_builds_it(tiny_labels_dir, tmp_path):
    config = load_config(EXPERIMENTS / "bert-small.yaml", [*TINY_OVERRIDES, "model.name_or_path=models/no-such-model"])
    config = replace(config, data=replace(config.data, labels_dir=str(tiny_labels_dir)), output_dir=str(tmp_path / "runs"))
    with pytest.raises(ModelError, match="toolkit pretrain --out models/no-such-model"):
        run_experiment(config, progress=False)


@pytest.mark.bert
def test_transformer_shards_merged_equal_a_one_process_run(tiny_labels_dir, tmp_path, tiny_bert):
    """Folds × seeds of a multi-task transformer as two shards, merged: the one-process run's numbers."""
    from toolkit.sweep import Shard, merge_shards, run_shard

    extra = ("data.split.kind=grouped_kfold", "data.split.n_splits=2", "training.seeds=[0, 1]")
    single = run_experiment(_config("bert-small-multitask-seed.yaml", tiny_labels_dir, tmp_path / "a", tiny_bert, *extra), progress=False)
    config = _config("bert-small-multitask-seed.yaml", tiny_labels_dir, tmp_path / "b", tiny_bert, *extra)
    paths = {run_shard(config, Shard(index, 2), progress=False).path for index in (1, 2)}
    (path,) = paths
    assert merge_shards(path).shards == 2
    for name in ("metrics.json", "predictions.jsonl"):
        assert (path / name).read_text() == (single.path / name).read_text()

    def curves(run):  # the learning curves, without the timings
        return [[{key: value for key, value in record.items() if key not in ("seconds", "samples_per_second")} for record in curve["history"]]
                for curve in json.loads((run / "training_history.json").read_text())]

    assert curves(path) == curves(single.path) and len(curves(path)) == 4  # 2 seeds × 2 folds
    assert (path / "model" / "encoder" / "model.safetensors").is_file() and (path / "learning_curves.png").is_file()
