"""Logging finished runs to MLflow (a local SQLite store written inside the test)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from toolkit.config import load_config
from toolkit.errors import RunError
from toolkit.experiment import run_experiment
from toolkit.tracking import flat_params, run_metrics

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"


def _config(labels_dir, tmp_path, *overrides):
    config = load_config(EXPERIMENTS / "tfidf-loo.yaml", ["task=stance", "evaluation.bootstrap_samples=20", *overrides])
    return replace(config, data=replace(config.data, labels_dir=str(labels_dir)), output_dir=str(tmp_path / "runs"))


def test_flat_params_and_final_metrics():
    assert flat_params({"model": {"C": 1.0, "word_ngrams": [1, 2]}, "task": "stance"}) == {
        "model.C": "1.0", "model.word_ngrams": "[1, 2]", "task": "stance"}
    metrics = {"tasks": {"stance": {"model": {"macro_f1": 0.5, "macro_f1_interval": [0.4, 0.6], "accuracy": 0.7},
                                    "baselines": {"majority": {"macro_f1": 0.2}}, "seed_summary": {"n_seeds": 1}}}}
    assert run_metrics(metrics) == {"stance.macro_f1": 0.5, "stance.macro_f1_ci_low": 0.4, "stance.macro_f1_ci_high": 0.6,
                                    "stance.accuracy": 0.7, "stance.majority_macro_f1": 0.2}


@pytest.mark.slow
def test_a_tracked_run_is_logged_to_mlflow_with_its_metrics_and_files(tiny_labels_dir, tmp_path):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    from toolkit.run_dir import RunDirectory

    result = run_experiment(_config(tiny_labels_dir, tmp_path, "tracking=mlflow"), progress=False)
    client = MlflowClient(tracking_uri=f"sqlite:///{(tmp_path / 'runs' / 'mlflow.db').resolve()}")
    (logged,) = client.search_runs([client.get_experiment_by_name("tfidf-loo").experiment_id])
    macro_f1 = RunDirectory(result.path).metrics()["tasks"]["stance"]["model"]["macro_f1"]
    assert logged.data.metrics["stance.macro_f1"] == pytest.approx(macro_f1)
    assert logged.data.params["model.kind"] == "tfidf" and logged.data.params["task"] == "stance"
    assert logged.data.tags["toolkit.run_directory"] == str(result.path.resolve())
    artifacts = {item.path for item in client.list_artifacts(logged.info.run_id, "run")}
    assert {"run/metrics.json", "run/manifest.json", "run/model"} <= artifacts
    # the same config again reuses the finished run and logs nothing new
    assert run_experiment(_config(tiny_labels_dir, tmp_path, "tracking=mlflow"), progress=False).cached
    assert len(client.search_runs([logged.info.experiment_id])) == 1


def test_tracking_does_not_change_the_run_directory(tiny_labels_dir, tmp_path):
    from toolkit.errors import ConfigError

    untracked = _config(tiny_labels_dir, tmp_path)
    tracked = _config(tiny_labels_dir, tmp_path, "tracking=mlflow")
    assert tracked.tracking.kind == "mlflow" and untracked.fingerprint() == tracked.fingerprint()
    with pytest.raises(ConfigError, match="tracking was already set to a value"):
        _config(tiny_labels_dir, tmp_path, "tracking=mlflow", "tracking.uri=sqlite:///x.db")


def test_a_tracking_failure_keeps_the_run_and_says_so(tiny_labels_dir, tmp_path):
    pytest.importorskip("mlflow")
    config = _config(tiny_labels_dir, tmp_path, "tracking.kind=mlflow", "tracking.uri=nosuchscheme://nowhere")
    with pytest.raises(RunError, match="the run is complete, but logging it to MLflow"):
        run_experiment(config, progress=False)
    assert run_experiment(replace(config, tracking=replace(config.tracking, kind="none")), progress=False).cached


@pytest.mark.slow
@pytest.mark.bert
def test_a_transformer_run_logs_every_fit_per_epoch(tiny_labels_dir, tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    pytest.importorskip("torch")
    from mlflow.tracking import MlflowClient

    from tests.conftest import build_tiny_bert

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = build_tiny_bert(tmp_path / "tiny-bert")
    config = load_config(EXPERIMENTS / "bert-small-seed.yaml", [
        "task=stance", "training.seeds=[0]", "training.epochs=2", "training.early_stopping_patience=null", "training.num_threads=1",
        "training.batch_size=8", "model.max_length=48", "evaluation.bootstrap_samples=20", f"model.name_or_path={model}",
        "data.split.test_letters=[rec-2015-01-tiny-5]", "tracking.kind=mlflow", f"tracking.uri=sqlite:///{tmp_path / 'tracking.db'}",
        "tracking.experiment=bert-curves"])
    config = replace(config, data=replace(config.data, labels_dir=str(tiny_labels_dir)), output_dir=str(tmp_path / "runs"))
    run_experiment(config, progress=False)
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'tracking.db'}")
    (logged,) = client.search_runs([client.get_experiment_by_name("bert-curves").experiment_id])
    history = client.get_metric_history(logged.info.run_id, "held-out_rec-2015-01-tiny-5.seed0.heldout_macro_f1")
    assert sorted(metric.step for metric in history) == [1, 2]
    assert [m.step for m in client.get_metric_history(logged.info.run_id, "saved_model.train_loss")] == [1, 2]
    assert (tmp_path / "mlflow-artifacts").is_dir()  # beside the store, not in the working directory
    assert logged.info.artifact_uri.startswith((tmp_path / "mlflow-artifacts").as_uri())
