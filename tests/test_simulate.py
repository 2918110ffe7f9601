"""The active-learning simulation: learning curves that share their start and their test letters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolkit.config import load_config
from toolkit.dataset import load_labelled_table
from toolkit.errors import ToolkitError
from toolkit.experiment import build_model
from toolkit.simulate import labels_to_reach, plot_learning_curves, simulate_active_learning

from tests.test_cli import run_cli

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def test_labels_to_reach_is_the_first_size_at_the_target():
    assert labels_to_reach([10, 20, 30], [0.5, 0.8, 0.9], 0.8) == 20
    assert labels_to_reach([10, 20], [0.5, 0.6], 0.8) is None


def test_curves_share_the_start_and_the_held_out_letters(tiny_labels_dir, tmp_path):
    config = load_config(EXPERIMENTS / "tfidf-loo.yaml", ["task=stance"])
    table = load_labelled_table(tiny_labels_dir)
    result = simulate_active_learning(table, config, strategies=["random", "uncertainty"], budget=26, step=8, start=10,
                                      seeds=[0, 1], build=build_model)
    assert result["sizes"] == [10, 18, 26] and result["pool_sentences"] + result["test_sentences"] == len(table)
    random, uncertain = result["curves"]["random"], result["curves"]["uncertainty"]
    assert [run[0] for run in random["runs"]] == [run[0] for run in uncertain["runs"]]  # same first sentences
    assert len(random["runs"]) == 2 and all(0 <= v <= 1 for v in random["mean"])
    assert 0 < result["full_pool_macro_f1"] <= 1
    assert plot_learning_curves(result, tmp_path / "curves.png").stat().st_size > 1000
    with pytest.raises(ToolkitError, match="larger than the pool"):
        simulate_active_learning(table, config, strategies=["random"], budget=10_000, step=8, start=10, seeds=[0],
                                 build=build_model)
    with pytest.raises(ToolkitError, match="unknown strategy"):
        simulate_active_learning(table, config, strategies=["cleverest"], budget=26, step=8, start=10, seeds=[0],
                                 build=build_model)


def test_the_command_writes_curves_and_a_plot(tiny_labels_dir, tmp_path):
    result = run_cli("labels", "simulate", "--task", "stance", "--strategy", "random", "--strategy", "margin",
                     "--budget", "20", "--step", "10", "--start", "10", "--seeds", "0", "--out", str(tmp_path),
                     "--labels-dir", str(tiny_labels_dir), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "labels to reach 95%" in result.stdout
    data = json.loads((tmp_path / "active-learning-stance.json").read_text(encoding="utf-8"))
    assert set(data["curves"]) == {"random", "margin"} and (tmp_path / "active-learning-stance.png").exists()
