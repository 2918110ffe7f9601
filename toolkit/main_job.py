"""The main job on the default data: takes the labels directory (and an experiment file), gives
the ingested corpus and one finished run per task, with the figures ``toolkit main`` prints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .experiment import run_experiment

__all__ = ["MainJob", "MainJobRow", "run_main_job"]


@dataclass(frozen=True)
class MainJobRow:
    task: str
    macro_f1: float
    interval: tuple[float, float]
    majority: float
    test_letters: int
    path: Path
    cached: bool


@dataclass(frozen=True)
class MainJob:
    corpus_dir: Path
    letters: int
    body_sentences: int
    rows: list[MainJobRow]


def run_main_job(out: Path, config_path: Path | None = None, *, labels_dir: Path | None = None, progress: bool = True) -> MainJob:
    """The main job on the default data: write the ingested corpus, then run the config for every task."""
    from dataclasses import replace

    from .config import load_config
    from .corpus import default_labels_dir, read_default_letters, write_corpus
    from .labels import load_schema
    from .run_dir import RunDirectory

    out = Path(out)
    config_path = config_path or Path(__file__).resolve().parent.parent / "experiments" / "tfidf-loo.yaml"
    summary = write_corpus(read_default_letters(labels_dir), out / "corpus")
    rows = []
    for task in load_schema(labels_dir or default_labels_dir()).task_names:
        config = replace(load_config(config_path, [f"task={task}"]), output_dir=str(out))
        if labels_dir:
            config = replace(config, data=replace(config.data, labels_dir=str(labels_dir)))
        result = run_experiment(config, progress=progress)
        figures = RunDirectory(result.path).metrics()["tasks"][task]
        model = figures["model"]
        rows.append(MainJobRow(task, model["macro_f1"], tuple(model["macro_f1_interval"]),
                               figures["baselines"]["majority"]["macro_f1"], model["test_letters"], result.path, result.cached))
    return MainJob(out / "corpus", summary["letters"], summary["sentences"].get("body", 0), rows)
