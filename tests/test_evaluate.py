from __future__ import annotations

import numpy as np
import pytest

from toolkit.evaluate import (
    approximate_randomization_test,
    classification_metrics,
    letter_bootstrap_interval,
    macro_f1,
    paired_bootstrap_test,
    summarise_seeds,
)


def test_classification_metrics_by_hand():
    gold = ["a", "a", "b", "b"]
    predicted = ["a", "b", "b", "b"]
    metrics = classification_metrics(gold, predicted, ["a", "b", "c"])
    assert metrics["accuracy"] == 0.75
    # a: P=1, R=.5, F=2/3; b: P=2/3, R=1, F=.8; c is absent from gold and not averaged.
    assert metrics["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)
    assert metrics["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [0, 0, 0]]
    assert metrics["per_class"]["b"]["support"] == 2


def test_letter_bootstrap_interval_contains_the_point_estimate():
    rng = np.random.default_rng(1)
    gold = rng.choice(["x", "y"], 200)
    predicted = np.where(rng.random(200) < 0.8, gold, rng.choice(["x", "y"], 200))
    letters = [f"L{i // 20}" for i in range(200)]
    low, high = letter_bootstrap_interval(gold, predicted, letters, samples=300)
    assert low <= macro_f1(gold, predicted) <= high
    assert 0 < high - low < 0.3


def test_paired_tests_separate_a_clearly_better_system():
    rng = np.random.default_rng(2)
    gold = rng.choice(["x", "y", "z"], 300)
    good = np.where(rng.random(300) < 0.9, gold, "x")
    bad = np.where(rng.random(300) < 0.4, gold, "x")
    letters = [f"L{i // 15}" for i in range(300)]
    assert paired_bootstrap_test(gold, good, bad, letters, samples=300)["p_value"] < 0.01
    assert approximate_randomization_test(gold, good, bad, letters, samples=300)["p_value"] < 0.01
    same = paired_bootstrap_test(gold, good, good, letters, samples=100)
    assert same["difference"] == 0 and same["p_value"] == 1.0


def test_seed_summary():
    summary = summarise_seeds([0.5, 0.7])
    assert summary["mean"] == pytest.approx(0.6) and summary["n_seeds"] == 2 and summary["std"] > 0


def test_fast_bootstrap_matches_the_direct_computation():
    """The confusion-matrix bootstrap gives the same values as recomputing macro-F1 per sample."""
    rng = np.random.default_rng(3)
    gold = rng.choice(["x", "y", "z", "w"], 150)
    predicted = np.where(rng.random(150) < 0.6, gold, rng.choice(["x", "y", "z"], 150))
    letters = [f"L{i // 10}" for i in range(150)]
    fast = letter_bootstrap_interval(gold, predicted, letters, samples=200, seed=5)
    slow = letter_bootstrap_interval(gold, predicted, letters, samples=200, seed=5,
                                     metric=lambda g, p: macro_f1(g, p))
    assert fast == pytest.approx(slow)
