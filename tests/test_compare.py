from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from toolkit.compare import compare_runs, paired_tests
from toolkit.config import load_config
from toolkit.experiment import run_experiment

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"


def _run(labels_dir, tmp_path, *overrides):
    config = load_config(EXPERIMENTS / "tfidf-loo.yaml", ["evaluation.bootstrap_samples=30", "training.num_threads=1", *overrides])
    config = replace(config, data=replace(config.data, labels_dir=str(labels_dir)), output_dir=str(tmp_path / "runs"))
    return run_experiment(config, progress=False).path


def test_compare_table_and_paired_tests_over_letters(tiny_labels_dir, tmp_path):
    a = _run(tiny_labels_dir, tmp_path, "model.features=word")
    b = _run(tiny_labels_dir, tmp_path, "model.features=char", "model.classifier=logreg")
    table = compare_runs([a, b], markdown=True)
    assert "tfidf word svm" in table and "tfidf char logreg" in table
    tests = paired_tests(a, b, samples=50)
    assert "| topic |" in tests and "| letters |" in tests


def test_paired_tests_resample_sentences_when_one_letter_is_held_out(tiny_labels_dir, tmp_path):
    holdout = ["data.split.kind=holdout", "data.split.test_letters=[rec-2015-01-tiny-5]"]
    a = _run(tiny_labels_dir, tmp_path, *holdout)
    b = _run(tiny_labels_dir, tmp_path, *holdout, "model.features=word")
    assert "| sentences |" in paired_tests(a, b, samples=50)
    assert "(sentences)" in compare_runs([a, b])
