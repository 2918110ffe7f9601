"""What to label next: takes a model's class probabilities for unlabelled sentences, gives the
sentences whose labels would teach the model most, ranked, as proposals for review.

Active learning's usual scores, all "higher means label it sooner":

* ``uncertainty`` (least confidence): one minus the probability of the most probable class;
* ``margin``: one minus the gap between the two most probable classes;
* ``entropy``: the entropy of the distribution, divided by its maximum (so 0–1 for any number
  of classes);
* ``random``: a seeded random order, the baseline every strategy must beat.

With several tasks the score is the mean over the tasks. ``diverse`` spreads the choice over
letters and predicted classes: sentences are grouped by (letter, predicted class of the first
task), and the groups take turns, each giving its best remaining sentence, so that one long,
hard letter does not fill the whole queue.

The proposals carry their source (``model:<run>``) and confidence per task. They are never
labels: a person accepts or changes them in a review, and only that decision is stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import LabelError

__all__ = ["QUEUE_STRATEGIES", "queue_scores", "select_queue"]

QUEUE_STRATEGIES = ("uncertainty", "margin", "entropy", "random")


def queue_scores(probabilities: np.ndarray, strategy: str, *, seed: int = 0) -> np.ndarray:
    """One score per row of ``probabilities`` (rows sum to one); higher means label it sooner."""
    if strategy not in QUEUE_STRATEGIES:
        raise LabelError(f"strategy must be one of {', '.join(QUEUE_STRATEGIES)}, got {strategy!r}")
    matrix = np.asarray(probabilities, dtype=float)
    if matrix.ndim != 2 or matrix.shape[1] < 2:
        raise LabelError("probabilities must be a matrix with one column per class (at least two classes)")
    if strategy == "random":
        return np.random.default_rng(seed).random(matrix.shape[0])
    ordered = np.sort(matrix, axis=1)[:, ::-1]
    if strategy == "uncertainty":
        return 1.0 - ordered[:, 0]
    if strategy == "margin":
        return 1.0 - (ordered[:, 0] - ordered[:, 1])
    safe = np.clip(matrix, 1e-12, 1.0)
    return -(matrix * np.log(safe)).sum(axis=1) / np.log(matrix.shape[1])


def select_queue(
    records: Sequence[Mapping[str, Any]],
    *,
    tasks: Sequence[str],
    k: int,
    strategy: str,
    source: str | Mapping[str, str],
    diverse: bool = False,
    seed: int = 0,
    exclude: set[str] | frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """The ``k`` sentences to label next, best first.

    ``records`` are sentence rows (``id``, ``letter_id``, ``text`` and any context) with
    ``probabilities[task]`` = ``{class: probability}`` for each of ``tasks``; ``exclude`` holds
    the ids that already have labels. Each queued row keeps the sentence fields and adds
    ``rank``, ``score``, ``strategy``, ``proposal`` (the most probable class per task),
    ``confidence`` (its probability) and ``source`` per task (``source`` names the model, once
    or per task).
    """
    if k < 1:
        raise LabelError(f"k must be at least 1, got {k}")
    if not tasks:
        raise LabelError("no task to queue for")
    candidates = [row for row in records if row["id"] not in exclude]
    if not candidates:
        return []
    per_task = []
    for task in tasks:
        classes = sorted({label for row in candidates for label in row["probabilities"][task]})
        matrix = np.array([[row["probabilities"][task].get(label, 0.0) for label in classes] for row in candidates])
        matrix = matrix / matrix.sum(axis=1, keepdims=True)
        per_task.append((task, classes, matrix))
    scores = np.mean([queue_scores(matrix, strategy, seed=seed) for _, _, matrix in per_task], axis=0)
    proposals = [{task: classes[int(matrix[i].argmax())] for task, classes, matrix in per_task} for i in range(len(candidates))]
    confidence = [{task: round(float(matrix[i].max()), 6) for task, _, matrix in per_task} for i in range(len(candidates))]
    order = _diverse_order(candidates, proposals, scores, tasks[0]) if diverse else _best_first(scores)
    queue = []
    for rank, index in enumerate(order[:k], 1):
        row = {key: value for key, value in candidates[index].items() if key != "probabilities"}
        row.update(
            rank=rank,
            score=round(float(scores[index]), 6),
            strategy=strategy + ("+diverse" if diverse else ""),
            proposal=proposals[index],
            confidence=confidence[index],
            source={task: source if isinstance(source, str) else source[task] for task in tasks},
        )
        queue.append(row)
    return queue


def _best_first(scores: np.ndarray) -> list[int]:
    # A stable sort on the negated score: ties keep reading order, so the queue is reproducible.
    return [int(i) for i in np.argsort(-scores, kind="stable")]


def _diverse_order(candidates, proposals, scores: np.ndarray, first_task: str) -> list[int]:
    """Groups of (letter, predicted class) take turns, the group with the best sentence first."""
    groups: dict[tuple[str, str], list[int]] = {}
    for index in _best_first(scores):
        key = (candidates[index]["letter_id"], proposals[index][first_task])
        groups.setdefault(key, []).append(index)
    queues = list(groups.values())  # in order of each group's best sentence
    order: list[int] = []
    depth = 0
    while len(order) < len(candidates):
        order += [members[depth] for members in queues if depth < len(members)]
        depth += 1
    return order
