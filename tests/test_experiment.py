from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from toolkit.config import load_config
from toolkit.errors import ConfigError, DatasetError
from toolkit.experiment import run_experiment
from toolkit.run_dir import run_directory_name
from toolkit.predict import predict_letters

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"


def _config(labels_dir, tmp_path, *overrides):
    config = load_config(EXPERIMENTS / "tfidf-loo.yaml", ["evaluation.bootstrap_samples=50", *overrides])
    return replace(config, data=replace(config.data, labels_dir=str(labels_dir)), output_dir=str(tmp_path / "runs"))


def test_run_writes_a_complete_run_directory(tiny_labels_dir, tmp_path):
    result = run_experiment(_config(tiny_labels_dir, tmp_path), progress=False)
    names = {path.name for path in result.path.iterdir()}
    assert {"config.yaml", "metrics.json", "predictions.jsonl", "provenance.json", "report.md", "confusion_topic.png", "top_features.json", "model"} <= names
    metrics = json.loads((result.path / "metrics.json").read_text())
    topic = metrics["tasks"]["topic"]
    assert 0 <= topic["model"]["macro_f1"] <= 1
    assert set(topic["baselines"]) == {"majority", "stratified"}
    provenance = json.loads((result.path / "provenance.json").read_text())
    assert provenance["data_fingerprint"] == metrics["data_fingerprint"]
    assert "scikit-learn" in provenance["versions"]
    assert not [p for p in result.path.parent.iterdir() if p.name.startswith(".")]
    per_letter = topic["model"]["per_letter"]
    assert len(per_letter) == 6 and sum(figures["n"] for figures in per_letter.values()) == topic["model"]["n"]
    predictions = [json.loads(line) for line in (result.path / "predictions.jsonl").read_text().splitlines()]
    first = sorted(per_letter)[0]
    rows = [row for row in predictions if row["letter_id"] == first]
    assert per_letter[first]["accuracy"] == pytest.approx(sum(r["gold"] == r["predicted"] for r in rows) / len(rows), abs=1e-6)
    assert (result.path / "letters_topic.png").stat().st_size > 0


def test_same_config_twice_gives_byte_identical_results(tiny_labels_dir, tmp_path):
    first = run_experiment(_config(tiny_labels_dir, tmp_path / "a"), progress=False).path
    second = run_experiment(_config(tiny_labels_dir, tmp_path / "b"), progress=False).path
    for name in ("metrics.json", "predictions.jsonl"):
        assert (first / name).read_bytes() == (second / name).read_bytes()


def test_finished_runs_are_reused_unless_forced(tiny_labels_dir, tmp_path):
    config = _config(tiny_labels_dir, tmp_path)
    assert not run_experiment(config, progress=False).cached
    assert run_experiment(config, progress=False).cached
    assert not run_experiment(config, force=True, progress=False).cached


def test_no_test_letter_sentence_is_used_for_training(tiny_labels_dir, tmp_path, monkeypatch):
    """Spy on every fit: the training rows never include a sentence of that split's test letters."""
    import toolkit.experiment as experiment

    seen = []
    original = experiment._fit_predict

    def spy(config, table, tasks, split, seed, progress):
        train_letters, test_letters = split.letters(table)
        seen.append((train_letters, test_letters))
        return original(config, table, tasks, split, seed, progress)

    monkeypatch.setattr(experiment, "_fit_predict", spy)
    run_experiment(_config(tiny_labels_dir, tmp_path, "training.num_threads=1"), progress=False)
    assert seen and all(not train & test for train, test in seen)


def test_nested_tuning_runs_inside_training_letters(tiny_labels_dir, tmp_path):
    config = _config(tiny_labels_dir, tmp_path, "training.tune={C: [0.5, 2.0]}", "training.inner_folds=2",
                     "data.split.kind=holdout", "data.split.test_letters=[rec-2010-01-tiny-0]")
    result = run_experiment(config, progress=False)
    assert json.loads((result.path / "metrics.json").read_text())["tasks"]["topic"]["model"]["test_letters"] == 1


def test_bad_inputs_fail_before_anything_is_written(tiny_labels_dir, tmp_path):
    with pytest.raises(DatasetError, match="not in the labelled data"):
        run_experiment(_config(tiny_labels_dir, tmp_path, "data.split.kind=holdout", "data.split.test_letters=[kst-0-0]"), progress=False)
    with pytest.raises(ConfigError, match="not in the label schema"):
        run_experiment(_config(tiny_labels_dir, tmp_path, "task=colour"), progress=False)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_config_pinned_to_four_processes_refuses_a_one_process_run(tiny_labels_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with pytest.raises(ConfigError, match=r"training.processes is 4, but this run has 1 process\(es\); start it with `torchrun --nproc_per_node 4"):
        run_experiment(_config(tiny_labels_dir, tmp_path, "training.processes=4"), progress=False)
    assert not (tmp_path / "runs").exists()


def test_the_number_of_processes_is_part_of_a_transformer_run_name():
    transformer = load_config(EXPERIMENTS / "bert-multigpu.yaml")
    tfidf = load_config(EXPERIMENTS / "tfidf-loo.yaml")
    assert run_directory_name(transformer, "data", 4) != run_directory_name(transformer, "data", 2)
    assert run_directory_name(transformer, "data", 1) == run_directory_name(transformer, "data")
    assert run_directory_name(tfidf, "data", 4) == run_directory_name(tfidf, "data")  # TF-IDF results do not depend on it


def test_class_missing_from_training_is_refused(tiny_labels_dir, tmp_path):
    import json as _json

    # Relabel one sentence of one letter with a class no other letter has.
    path = sorted((tiny_labels_dir / "annotations").glob("*.jsonl"))[0]
    rows = [_json.loads(line) for line in path.read_text().splitlines()]
    rows[0]["topic"] = "afghanistan"
    path.write_text("".join(_json.dumps(row) + "\n" for row in rows))
    with pytest.raises(DatasetError, match="afghanistan.*not in the training letters"):
        run_experiment(_config(tiny_labels_dir, tmp_path), progress=False)


def test_empty_dataset_is_refused(tiny_labels_dir, tmp_path):
    for path in (tiny_labels_dir / "annotations").glob("*.jsonl"):
        path.unlink()
    with pytest.raises(DatasetError, match="empty"):
        run_experiment(_config(tiny_labels_dir, tmp_path), progress=False)


def test_predict_labels_new_letters(tiny_labels_dir, tmp_path, seed_letter_path):
    run = run_experiment(_config(tiny_labels_dir, tmp_path), progress=False).path
    rows = list(predict_letters(run, [seed_letter_path]))
    assert len(rows) == 96
    assert {"id", "text", "topic", "topic_probability"} <= set(rows[0])
    assert all(0 < row["topic_probability"] <= 1 for row in rows)
