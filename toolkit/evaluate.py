"""Evaluation: takes gold and predicted labels (and the letter of each sentence), gives macro-F1 and
friends, letter-bootstrap intervals and paired significance tests.

Sentences of one letter are not independent (same author, occasion, style), so
uncertainty is estimated by resampling whole letters, never single sentences.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "classification_metrics",
    "letter_bootstrap_interval",
    "macro_f1",
    "paired_bootstrap_test",
    "approximate_randomization_test",
    "summarise_seeds",
]


def macro_f1(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str] | None = None) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0))


def classification_metrics(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> dict:
    """Macro-F1 (headline), accuracy, per-class precision/recall/F1/support, confusion matrix."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    labels = list(labels)
    precision, recall, f1, support = precision_recall_fscore_support(gold, predicted, labels=labels, zero_division=0)
    return {
        # Over the classes present in the gold or predicted labels (scikit-learn's default),
        # the same definition the bootstrap uses.
        "macro_f1": macro_f1(gold, predicted),
        "accuracy": float(accuracy_score(gold, predicted)),
        "n": len(gold),
        "labels": labels,
        "per_class": {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support)
        },
        "confusion_matrix": confusion_matrix(gold, predicted, labels=labels).tolist(),
    }


def _letter_index(letter_ids: Sequence[str]) -> list[np.ndarray]:
    groups: dict[str, list[int]] = {}
    for index, letter in enumerate(letter_ids):
        groups.setdefault(letter, []).append(index)
    return [np.array(rows) for rows in groups.values()]


def letter_bootstrap_interval(
    gold: Sequence[str],
    predicted: Sequence[str],
    letter_ids: Sequence[str],
    *,
    metric: Callable[[Sequence[str], Sequence[str]], float] = macro_f1,
    samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of ``metric`` over bootstrap samples of whole letters."""
    gold, predicted = np.asarray(gold), np.asarray(predicted)
    groups = _letter_index(letter_ids)
    rng = np.random.default_rng(seed)
    tail = (1 - confidence) / 2
    if metric is macro_f1:
        values = _bootstrap_macro_f1(gold, predicted, groups, rng, samples)
        return float(np.quantile(values, tail)), float(np.quantile(values, 1 - tail))
    values = []
    for _ in range(samples):
        chosen = rng.integers(0, len(groups), len(groups))
        rows = np.concatenate([groups[i] for i in chosen])
        values.append(metric(gold[rows], predicted[rows]))
    return float(np.quantile(values, tail)), float(np.quantile(values, 1 - tail))


def _bootstrap_macro_f1(gold, predicted, groups, rng, samples: int) -> np.ndarray:
    """Macro-F1 of each bootstrap sample from per-letter confusion matrices.

    Summing the confusion matrices of the drawn letters gives exactly the sample's
    confusion matrix, so each sample costs a small matrix sum instead of a pass over
    its sentences. Classes absent from both gold and predictions of a sample are left
    out of the average, as scikit-learn does.
    """
    labels = np.unique(np.concatenate([gold, predicted]))
    code = {label: index for index, label in enumerate(labels)}
    size = len(labels)
    per_letter = np.zeros((len(groups), size, size))
    for letter, rows in enumerate(groups):
        np.add.at(per_letter[letter], ([code[x] for x in gold[rows]], [code[x] for x in predicted[rows]]), 1)
    draws = rng.integers(0, len(groups), (samples, len(groups)))
    weights = np.zeros((samples, len(groups)))
    np.add.at(weights, (np.arange(samples)[:, None], draws), 1)
    matrices = np.einsum("sl,lij->sij", weights, per_letter)
    true_positive = np.einsum("sii->si", matrices)
    gold_totals = matrices.sum(axis=2)
    predicted_totals = matrices.sum(axis=1)
    denominator = gold_totals + predicted_totals
    present = denominator > 0
    f1 = np.divide(2 * true_positive, denominator, out=np.zeros_like(true_positive), where=present)
    return (f1 * present).sum(axis=1) / present.sum(axis=1)


def paired_bootstrap_test(
    gold: Sequence[str],
    predicted_a: Sequence[str],
    predicted_b: Sequence[str],
    letter_ids: Sequence[str],
    *,
    metric: Callable[[Sequence[str], Sequence[str]], float] = macro_f1,
    samples: int = 1000,
    seed: int = 0,
) -> dict:
    """Paired bootstrap over letters: is system A's metric different from B's?

    Returns the observed difference (A − B), its percentile interval and a two-sided
    p-value (twice the share of resamples whose difference has the other sign).
    """
    gold, a, b = np.asarray(gold), np.asarray(predicted_a), np.asarray(predicted_b)
    observed = metric(gold, a) - metric(gold, b)
    groups = _letter_index(letter_ids)
    rng = np.random.default_rng(seed)
    differences = []
    for _ in range(samples):
        rows = np.concatenate([groups[i] for i in rng.integers(0, len(groups), len(groups))])
        differences.append(metric(gold[rows], a[rows]) - metric(gold[rows], b[rows]))
    differences = np.asarray(differences)
    if observed >= 0:
        p = 2 * np.mean(differences <= 0)
    else:
        p = 2 * np.mean(differences >= 0)
    return {
        "difference": float(observed),
        "interval": [float(np.quantile(differences, 0.025)), float(np.quantile(differences, 0.975))],
        "p_value": float(min(1.0, p)),
        "samples": samples,
    }


def approximate_randomization_test(
    gold: Sequence[str],
    predicted_a: Sequence[str],
    predicted_b: Sequence[str],
    letter_ids: Sequence[str],
    *,
    metric: Callable[[Sequence[str], Sequence[str]], float] = macro_f1,
    samples: int = 1000,
    seed: int = 0,
) -> dict:
    """Approximate randomisation: swap the two systems' outputs letter by letter at random."""
    gold, a, b = np.asarray(gold), np.asarray(predicted_a), np.asarray(predicted_b)
    observed = abs(metric(gold, a) - metric(gold, b))
    groups = _letter_index(letter_ids)
    rng = np.random.default_rng(seed)
    at_least_as_large = 0
    for _ in range(samples):
        swapped_a, swapped_b = a.copy(), b.copy()
        for rows in groups:
            if rng.random() < 0.5:
                swapped_a[rows], swapped_b[rows] = b[rows], a[rows]
        if abs(metric(gold, swapped_a) - metric(gold, swapped_b)) >= observed - 1e-12:
            at_least_as_large += 1
    return {"difference": float(metric(gold, a) - metric(gold, b)), "p_value": (at_least_as_large + 1) / (samples + 1), "samples": samples}


def summarise_seeds(values: Sequence[float]) -> dict:
    values = np.asarray(values, dtype=float)
    return {
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
        "min": float(values.min()),
        "max": float(values.max()),
        "n_seeds": int(len(values)),
    }
