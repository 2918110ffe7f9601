"""Active-learning simulation: takes the labelled corpus and an experiment config, gives learning
curves (macro-F1 on held-out letters against the number of labelled sentences) for each way of
choosing what to label next, and how many labels each needs to come close to the full-data score.

The simulation replays labelling on labels that already exist. A fifth of the letters (chosen
with the seed) is held out for evaluation and never labelled; the rest is the pool. Each run
starts from ``start`` random pool sentences, trains the config's model, lets the strategy choose
the next ``step`` sentences from the model's probabilities on the unlabelled pool (the
:mod:`toolkit.labels.queue` scores, as `labels queue` uses them), "labels" them by revealing
their stored labels, and repeats until ``budget``. Strategies share the held-out letters and,
per seed, the starting sentences, so their curves differ only in what they chose.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .config import ExperimentConfig
from .dataset import LabelledTable, grouped_kfold_splits
from .errors import ToolkitError
from .evaluate import macro_f1
from .labels.queue import QUEUE_STRATEGIES, queue_scores

__all__ = ["labels_to_reach", "plot_learning_curves", "simulate_active_learning"]

#: The share of the full-data score a strategy must reach to count as "as good".
TARGET_SHARE = 0.95


def simulate_active_learning(
    table: LabelledTable,
    config: ExperimentConfig,
    *,
    strategies: Sequence[str],
    budget: int,
    step: int,
    start: int,
    seeds: Sequence[int],
    build: Callable[[ExperimentConfig, int], Any],
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Learning curves per strategy (mean and standard deviation over ``seeds``) and the score
    of the model trained on the whole pool. ``build(config, seed)`` gives an unfitted model."""
    unknown = [s for s in strategies if s not in QUEUE_STRATEGIES]
    if unknown:
        raise ToolkitError(f"unknown strategy {', '.join(unknown)}; choose from {', '.join(QUEUE_STRATEGIES)}")
    if not 0 < start <= budget or step < 1:
        raise ToolkitError(f"need 0 < start ≤ budget and step ≥ 1 (start {start}, budget {budget}, step {step})")
    split = next(grouped_kfold_splits(table, 5, seeds[0]))  # one fifth of the letters held out, for every strategy
    pool, test = np.array(split.train), np.array(split.test)
    if budget > len(pool):
        raise ToolkitError(f"the budget ({budget}) is larger than the pool of {len(pool)} sentences")
    labels = np.array(table.labels[config.task])
    inputs = list(table.inputs)
    sizes = list(range(start, budget + 1, step))
    curves: dict[str, list[list[float]]] = {strategy: [] for strategy in strategies}
    for seed in seeds:
        first = np.random.default_rng(seed).choice(len(pool), size=start, replace=False)
        for strategy in strategies:
            if progress:
                progress(f"seed {seed}, {strategy}")
            curves[strategy].append(
                _one_curve(pool, test, first, labels, inputs, sizes, strategy, seed, lambda s: build(config, s))
            )
    full = _fit_and_score(build(config, seeds[0]), inputs, labels, pool, test)
    result: dict[str, Any] = {
        "task": config.task,
        "model": config.name,
        "pool_sentences": int(len(pool)),
        "test_sentences": int(len(test)),
        "test_letters": sorted({table.letter_ids[i] for i in test}),
        "seeds": list(seeds),
        "full_pool_macro_f1": round(full, 4),
        "sizes": sizes,
        "curves": {},
    }
    for strategy, runs in curves.items():
        scores = np.array(runs)
        result["curves"][strategy] = {
            "mean": [round(float(v), 4) for v in scores.mean(axis=0)],
            "sd": [round(float(v), 4) for v in scores.std(axis=0)],
            "runs": [[round(float(v), 4) for v in run] for run in runs],
        }
        result["curves"][strategy]["labels_to_reach_95%"] = labels_to_reach(sizes, scores.mean(axis=0), TARGET_SHARE * full)
    return result


def _one_curve(pool, test, first, labels, inputs, sizes, strategy: str, seed: int, build) -> list[float]:
    labelled, model = list(first), None
    scores = []
    for size in sizes:
        if len(labelled) < size:
            labelled += _choose(model, pool, labelled, inputs, size - len(labelled), strategy, seed + size)
        model = build(seed)
        scores.append(_fit_and_score(model, inputs, labels, pool[labelled], test))
    return scores


def _choose(model, pool, labelled, inputs, count: int, strategy: str, seed: int) -> list[int]:
    """Positions in ``pool`` of the next ``count`` sentences to label (by the last model)."""
    taken = set(labelled)
    candidates = np.array([position for position in range(len(pool)) if position not in taken])
    if strategy == "random":
        scores = queue_scores(np.full((len(candidates), 2), 0.5), "random", seed=seed)
    else:
        scores = queue_scores(model.predict_proba([inputs[i] for i in pool[candidates]]), strategy)
    order = np.argsort(-scores, kind="stable")[:count]
    return [int(candidates[i]) for i in order]


def _fit_and_score(model, inputs, labels, train_rows, test_rows) -> float:
    model.fit([inputs[i] for i in train_rows], labels[train_rows])
    predicted = model.predict([inputs[i] for i in test_rows])
    return macro_f1(list(labels[test_rows]), list(predicted))


def labels_to_reach(sizes: Sequence[int], mean_scores: Sequence[float], target: float) -> int | None:
    """The first number of labels at which the mean curve reaches ``target`` (None if never)."""
    for size, score in zip(sizes, mean_scores):
        if score >= target:
            return int(size)
    return None


def plot_learning_curves(result: dict[str, Any], path: Path) -> Path:
    """The curves of :func:`simulate_active_learning` as a PNG (the figure of
    :func:`toolkit.explore.plot_learning_curves`)."""
    from .explore.plots import plot_learning_curves as learning_curves_figure

    learning_curves_figure(result).savefig(path, dpi=120)
    return path
