from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from toolkit.config import load_config
from toolkit.experiment import run_experiment

from ..conftest import write_tiny_labels_dir

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


@pytest.fixture(scope="package")
def explored(tmp_path_factory):
    """A tiny labelled corpus and the main job's run of each task on it (leave-one-letter-out)."""
    root = tmp_path_factory.mktemp("explore")
    labels_dir = write_tiny_labels_dir(root)
    runs = {}
    for task in ("topic", "actor", "stance"):
        config = load_config(EXPERIMENTS / "tfidf-loo.yaml", [f"task={task}", "evaluation.bootstrap_samples=30", "training.num_threads=1"])
        config = replace(config, data=replace(config.data, labels_dir=str(labels_dir)), output_dir=str(root / "runs"))
        runs[task] = run_experiment(config, progress=False).path
    return labels_dir, runs
