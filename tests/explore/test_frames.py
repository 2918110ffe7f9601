"""Tidy tables: sentences with letter metadata, gold labels and runs' predictions; letters; runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from toolkit.errors import ToolkitError
from toolkit.explore import letter_frame, letter_scores, prediction_columns, run_frame, run_names, sentence_frame


def test_one_row_per_sentence_with_metadata_gold_and_each_runs_predictions(explored):
    labels_dir, runs = explored
    frame = sentence_frame(labels_dir, runs=list(runs.values()))
    assert len(frame) == 6 * 8 and frame["id"].is_unique
    assert frame.groupby("letter_id")["position"].apply(lambda p: list(p) == list(range(len(p)))).all()
    assert set(frame["year"].dropna()) == set(range(2010, 2016)) and frame["provenance"].eq("test").all()
    for task, run in runs.items():
        predicted, probability = prediction_columns(frame, "tfidf-loo", task)
        stored = {row["id"]: row for row in map(json.loads, (run / "predictions.jsonl").read_text().splitlines())}
        row = frame.iloc[5]
        assert row[predicted] == stored[row["id"]]["predicted"]
        assert row[probability] == pytest.approx(stored[row["id"]]["probability"])
        assert list(frame[task].cat.categories)  # gold labels in the schema's class order
    with pytest.raises(ToolkitError, match="no predictions of run 'x'"):
        prediction_columns(frame, "x", "topic")


def test_runs_are_named_by_experiment_unless_two_share_a_task(explored):
    _, runs = explored
    assert [name for name, _ in run_names(list(runs.values()))] == ["tfidf-loo"] * 3
    twice = run_names([runs["topic"], runs["topic"]])
    assert [name for name, _ in twice] == [runs["topic"].name] * 2
    assert [name for name, _ in run_names({"mine": runs["topic"]})] == ["mine"]


def test_letters_scores_and_runs(explored):
    labels_dir, runs = explored
    frame = sentence_frame(labels_dir, runs=list(runs.values()))
    letters = letter_frame(frame)
    assert len(letters) == 6 and letters["sentences"].eq(8).all() and letters["date"].is_monotonic_increasing
    scores = letter_scores(frame, "tfidf-loo", "stance", samples=50)
    assert len(scores) == 6 and ((scores["low"] <= scores["macro_f1"] + 1e-9) & (scores["macro_f1"] <= scores["high"] + 1e-9)).all()
    table = run_frame(list(runs.values()))
    assert set(table["task"]) == {"topic", "actor", "stance"} and np.all(table["low"] <= table["high"])
    metrics = json.loads((runs["stance"] / "metrics.json").read_text())
    assert table.set_index("task").loc["stance", "macro_f1"] == metrics["tasks"]["stance"]["model"]["macro_f1"]


def test_a_tfidf_run_has_no_training_history(explored):
    from toolkit.explore import training_history

    _, runs = explored
    with pytest.raises(ToolkitError, match="not a transformer run"):
        training_history(runs["topic"])
