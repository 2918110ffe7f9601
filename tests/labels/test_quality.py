"""Label-error candidates from a run's out-of-sample probabilities (cleanlab), and the review loop."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from toolkit.config import load_config
from toolkit.errors import LabelError, ToolkitError
from toolkit.experiment import run_experiment
from toolkit.labels.quality import find_label_issues, issues_markdown
from toolkit.run_dir import write_manifest

from tests.test_cli import run_cli

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def _flip_one_stance(labels_dir: Path) -> dict:
    """Store a wrong stance for one sentence, as an annotator's slip would; return that row."""
    path = sorted((labels_dir / "annotations").glob("*.jsonl"))[0]
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    victim = next(row for row in rows if row["stance"] == "critical")
    victim["stance"] = "support"
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return victim


def _loo_run(labels_dir: Path, tmp_path: Path) -> Path:
    config = load_config(EXPERIMENTS / "tfidf-loo.yaml", ["task=stance", "evaluation.bootstrap_samples=20"])
    config = replace(config, data=replace(config.data, labels_dir=str(labels_dir)), output_dir=str(tmp_path / "runs"))
    return run_experiment(config, progress=False).path


def _write_predictions(run: Path, rows: list[dict]) -> Path:
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps({"tasks": {}}), encoding="utf-8")  # a finished run has one
    (run / "predictions.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    write_manifest(run)
    return run


def _row(number: int, gold: str, probabilities: dict, task: str = "stance", seed: int = 0) -> dict:
    return {"id": f"s{number}", "letter_id": f"l{number % 3}", "text": f"Zin {number}.", "task": task, "seed": seed,
            "gold": gold, "probabilities": probabilities}


@pytest.mark.slow
def test_a_slipped_label_is_flagged_first_with_the_right_suggestion(tiny_labels_dir, tmp_path):
    victim = _flip_one_stance(tiny_labels_dir)
    result = find_label_issues(_loo_run(tiny_labels_dir, tmp_path))
    assert (result["task"], result["sentences"], result["letters"]) == ("stance", 48, 6)
    first = result["issues"][0]
    assert (first["id"], first["old"], first["suggested"], first["new"]) == (victim["id"], "support", "critical", None)
    assert first["label_quality"] < 0.5 < first["suggested_probability"]
    assert [issue["id"] for issue in result["issues"]] == [victim["id"]]  # the other 47 agree across letters
    table = issues_markdown(result)
    assert table.splitlines()[0].startswith("1 of 48 sentences (6 letters) flagged for stance") and victim["text"] in table


@pytest.mark.slow
def test_the_review_loop_restores_the_label_through_labels_revise(tiny_labels_dir, tmp_path):
    victim = _flip_one_stance(tiny_labels_dir)
    run = _loo_run(tiny_labels_dir, tmp_path)
    listed = run_cli("labels", "issues", str(run), "--limit", "1", "--labels-dir", str(tiny_labels_dir))
    assert listed.returncode == 0, listed.stderr
    assert "flagged for stance" in listed.stderr
    (change,) = [json.loads(line) for line in listed.stdout.splitlines()]
    unreviewed = tmp_path / "unreviewed.jsonl"
    unreviewed.write_text(json.dumps(change) + "\n", encoding="utf-8")
    refused = run_cli("labels", "revise", str(unreviewed), "--annotator", "tests", "--labels-dir", str(tiny_labels_dir))
    assert refused.returncode == 2  # 'new' is left for the reviewer: nothing is applied unreviewed

    reviewed = tmp_path / "reviewed.jsonl"
    reviewed.write_text(json.dumps({**change, "new": change["suggested"], "rule": "S5"}) + "\n", encoding="utf-8")
    applied = run_cli("labels", "revise", str(reviewed), "--annotator", "tests", "--labels-dir", str(tiny_labels_dir))
    assert applied.returncode == 0, applied.stderr
    stored = {json.loads(line)["id"]: json.loads(line) for path in (tiny_labels_dir / "annotations").glob("*.jsonl")
              for line in path.read_text(encoding="utf-8").splitlines()}
    assert stored[victim["id"]]["stance"] == "critical"
    assert stored[victim["id"]]["revisions"][-1]["rule"] == "S5"


def test_seeds_are_averaged_and_only_the_chosen_task_is_judged(tmp_path):
    def probabilities(i: int, sure: float) -> dict:
        return {"a": sure, "b": 1 - sure} if i % 2 else {"a": 1 - sure, "b": sure}

    gold = ["a" if i % 2 else "b" for i in range(12)]
    # Both seeds contradict sentence 1; only the second contradicts sentence 0, which its mean keeps.
    rows = [_row(i, gold[i], probabilities(i, {1: 0.1}.get(i, 0.9))) for i in range(12)]
    rows += [_row(i, gold[i], probabilities(i, {0: 0.05, 1: 0.0}.get(i, 0.9)), seed=1) for i in range(12)]
    rows += [_row(i, "x", {"x": 0.5, "y": 0.5}, task="actor") for i in range(12)]
    run = _write_predictions(tmp_path / "run", rows)
    with pytest.raises(LabelError, match="holds predictions for actor, stance; choose one with --task"):
        find_label_issues(run)
    result = find_label_issues(run, task="stance")
    assert (result["sentences"], result["seeds"]) == (12, 2)
    assert [issue["id"] for issue in result["issues"]] == ["s1"]
    assert result["issues"][0]["label_quality"] == pytest.approx(0.05)
    assert issues_markdown(result).startswith("1 of 12 sentences (3 letters) flagged")


@pytest.mark.parametrize(
    ("rows", "task", "message"),
    [
        (None, None, "not a finished run directory"),
        ([_row(1, "a", {"a": 1.0})], "topic", "no predictions for task 'topic'"),
        ([_row(1, "a", {"a": 0.5, "b": 0.5}), _row(1, "b", {"a": 0.5, "b": 0.5})], None, "more than one split"),
        ([_row(1, "a", {"a": 0.5, "b": 0.5}), _row(2, "a", {"a": 0.5, "b": 0.5})], None, "a single label"),
    ],
)
def test_runs_that_cannot_be_judged_are_refused_with_the_reason(tmp_path, rows, task, message):
    run = tmp_path / "run"
    if rows is None:
        run.mkdir()
    else:
        _write_predictions(run, rows)
    with pytest.raises(ToolkitError, match=message):
        find_label_issues(run, task=task)
