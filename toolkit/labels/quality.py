"""Likely label errors and near-duplicates: takes a run's out-of-sample probabilities (or the
sentences), gives the labels a reviewer should look at first.

A leave-one-letter-out or grouped k-fold run predicts every labelled sentence with a
model that never saw the sentence's letter, and ``predictions.jsonl`` keeps those
probabilities. Confident learning (cleanlab) compares them with the stored labels:
per class it learns how sure the model usually is when it is right, and flags a
sentence whose stored label the model doubts while it is confidently sure of another
class. The flags are candidates for a reviewer, not corrections. A flag can be a label
error, a rule of the codebook the model has not learnt, or a sentence that is
ambiguous.

The review loop goes back through the labels workflow. ``toolkit labels issues RUN``
prints one change per flagged sentence in the format ``toolkit labels revise`` reads,
with ``new`` left empty. The reviewer fills in ``new`` and ``rule`` for the labels
that are wrong, deletes the other lines, and applies the file with ``labels revise``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LabelError
from ..records import Sentence
from ..run_dir import RunDirectory

__all__ = ["find_label_issues", "issues_markdown", "near_duplicate_rate"]

_DECIMALS = 4


def _run_predictions(run_dir: Path, task: str | None) -> tuple[str, list[dict[str, Any]], int]:
    """One task's predictions, each sentence once, with probabilities averaged over the run's seeds."""
    rows = RunDirectory(run_dir).predictions()
    if not rows:
        raise LabelError(f"{run_dir / 'predictions.jsonl'}: no predictions")
    tasks = sorted({row["task"] for row in rows})
    if task is None:
        if len(tasks) > 1:
            raise LabelError(f"{run_dir} holds predictions for {', '.join(tasks)}; choose one with --task")
        task = tasks[0]
    elif task not in tasks:
        raise LabelError(f"{run_dir} has no predictions for task {task!r}; it has {', '.join(tasks)}")
    rows = [row for row in rows if row["task"] == task]
    seeds = sorted({row["seed"] for row in rows})
    by_seed = {seed: [row for row in rows if row["seed"] == seed] for seed in seeds}
    chosen = by_seed[seeds[0]]
    ids = [row["id"] for row in chosen]
    if len(set(ids)) != len(ids):
        raise LabelError(f"{run_dir}: a sentence is predicted by more than one split; out-of-sample probabilities need each sentence once")
    # Several seeds (e.g. a transformer run) judge the same sentences: their mean is steadier.
    totals: dict[str, dict[str, float]] = {}
    for seed_rows in by_seed.values():
        if sorted(row["id"] for row in seed_rows) != sorted(ids):
            raise LabelError(f"{run_dir}: the seeds of the run predicted different sentences; cannot average them")
        for row in seed_rows:
            target = totals.setdefault(row["id"], {})
            for label, probability in row["probabilities"].items():
                target[label] = target.get(label, 0.0) + probability / len(seeds)
    return task, [{**row, "probabilities": totals[row["id"]]} for row in chosen], len(seeds)


def find_label_issues(run_dir: str | Path, *, task: str | None = None) -> dict[str, Any]:
    """Sentences whose stored label the run's out-of-sample probabilities contradict.

    Returns ``{"run", "task", "sentences", "letters", "seeds", "classes", "issues"}``; with
    several seeds the probabilities are their mean. ``issues``
    is ordered from the least to the most trustworthy label (cleanlab's
    self-confidence score). Each issue is a change for ``toolkit labels revise``:
    ``id``, ``task``, ``old`` (the stored label) and ``new`` (None, for the reviewer to
    fill in). It also carries what the reviewer needs: ``letter_id``, ``text``,
    ``suggested`` (the most probable class), ``suggested_probability``,
    ``label_quality`` (the probability of the stored label) and ``rule`` (None).

    Only the sentences of the run's test letters are judged. For the whole corpus, use a
    leave-one-letter-out or k-fold run.
    """
    from cleanlab.filter import find_label_issues as confident_learning
    from cleanlab.rank import get_label_quality_scores

    run_dir = Path(run_dir)
    task, rows, seeds = _run_predictions(run_dir, task)
    classes = sorted({label for row in rows for label in row["probabilities"]} | {row["gold"] for row in rows})
    given_classes = {row["gold"] for row in rows}
    if len(given_classes) < 2:
        raise LabelError(f"{run_dir}: the test sentences of task {task!r} have a single label ({', '.join(given_classes)}); nothing to compare")
    column = {label: i for i, label in enumerate(classes)}
    probabilities = np.array([[row["probabilities"].get(label, 0.0) for label in classes] for row in rows], dtype=float)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    given = np.array([column[row["gold"]] for row in rows])

    flagged = confident_learning(given, probabilities, return_indices_ranked_by="self_confidence")
    quality = get_label_quality_scores(given, probabilities, method="self_confidence")
    issues = []
    for index in flagged:
        row, best = rows[index], int(np.argmax(probabilities[index]))
        issues.append(
            {
                "id": row["id"],
                "task": task,
                "old": row["gold"],
                "new": None,
                "rule": None,
                "suggested": classes[best],
                "suggested_probability": round(float(probabilities[index, best]), _DECIMALS),
                "label_quality": round(float(quality[index]), _DECIMALS),
                "letter_id": row["letter_id"],
                "text": row["text"],
            }
        )
    return {
        "run": run_dir.name,
        "task": task,
        "sentences": len(rows),
        "letters": len({row["letter_id"] for row in rows}),
        "seeds": seeds,
        "classes": classes,
        "issues": issues,
    }


def issues_markdown(result: Mapping[str, Any], limit: int | None = None) -> str:
    """A review table: the most doubtful labels first."""
    shown: Sequence[Mapping[str, Any]] = result["issues"][:limit] if limit else result["issues"]
    lines = [
        f"{len(result['issues'])} of {result['sentences']} sentences ({result['letters']} letters) flagged for "
        f"{result['task']} in {result['run']}" + (f"; the first {len(shown)} shown" if len(shown) < len(result["issues"]) else ""),
        "",
        "| # | letter | stored | suggested | p(suggested) | p(stored) | sentence |",
        "|---|---|---|---|---|---|---|",
    ]
    for number, issue in enumerate(shown, 1):
        text = issue["text"].replace("|", "\\|")
        lines.append(
            f"| {number} | {issue['letter_id']} | {issue['old']} | {issue['suggested']} | {issue['suggested_probability']:.2f} | "
            f"{issue['label_quality']:.2f} | {text} |"
        )
    return "\n".join(lines)


def near_duplicate_rate(sentences: list[Sentence], threshold: float = 0.8) -> tuple[float, list[tuple[str, str, float]]]:
    """Share of body sentences with a near-duplicate in *another* letter.

    Similarity is the cosine of character 3–5-gram TF-IDF vectors with names and numbers
    masked, so "the same sentence with names swapped" counts as a duplicate. Returns the
    rate and the pairs found.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not sentences:
        return 0.0, []
    masked = [re.sub(r"\b[A-Z][\w.-]*|\d+", "X", sentence.text) for sentence in sentences]
    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit_transform(masked)
    similarity = (vectors @ vectors.T).tocoo()
    letters = [sentence.letter_id for sentence in sentences]
    pairs, flagged = [], set()
    for row, column, value in zip(similarity.row, similarity.col, similarity.data):
        if row < column and value >= threshold and letters[row] != letters[column]:
            pairs.append((sentences[row].id, sentences[column].id, float(value)))
            flagged.update((row, column))
    return len(flagged) / len(sentences), pairs
