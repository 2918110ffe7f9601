"""Tidy tables for exploring: takes the labelled corpus and run directories, gives pandas
DataFrames with one row per sentence (or per letter, or per run) that the plots and notebooks use.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..corpus import default_labels_dir, load_manifest
from ..dataset import load_labelled_table
from ..errors import ToolkitError
from ..evaluate import letter_bootstrap_interval, macro_f1
from ..run_dir import RunDirectory

__all__ = [
    "RunLike",
    "letter_frame",
    "letter_scores",
    "prediction_columns",
    "run_frame",
    "run_names",
    "sentence_frame",
    "training_history",
]

RunLike = RunDirectory | str | os.PathLike


def _letter_metadata(labels_dir: Path) -> dict[str, dict[str, Any]]:
    metadata = {}
    for entry in load_manifest(labels_dir):
        provenance = entry.provenance
        metadata[entry.id] = {
            "title": entry.metadata.get("title"),
            "provenance": provenance.get("kind"),
            "genre": provenance.get("genre") or _SEED.get(entry.id, {}).get("genre"),
            "forum": provenance.get("forum") or _SEED.get(entry.id, {}).get("forum"),
        }
    return metadata


# The seed, the default corpus' one original letter, has no genre or forum in the manifest (they
# are written for reconstructed letters); it reports a NATO foreign ministers' meeting.
_SEED = {"kst-28676-307": {"genre": "report", "forum": "nato_foreign"}}


def run_names(runs: Iterable[RunLike] | Mapping[str, RunLike]) -> list[tuple[str, RunDirectory]]:
    """A short name for each run: the mapping's key, else the run's experiment name (``tfidf-loo``
    for the main job's three runs, one per task), or its directory name where two runs of the same
    name share a task."""
    if isinstance(runs, Mapping):
        return [(str(name), RunDirectory.of(run)) for name, run in runs.items()]
    opened = [RunDirectory.of(run) for run in runs]
    names = [str(run.config().get("name") or run.name) for run in opened]
    tasks = [set(run.metrics().get("tasks", {})) for run in opened]
    clashing = {
        i for i in range(len(opened)) for j in range(len(opened))
        if i != j and names[i] == names[j] and tasks[i] & tasks[j]
    }
    return [(run.name if i in clashing else names[i], run) for i, run in enumerate(opened)]


def prediction_columns(frame: pd.DataFrame, run: str, task: str) -> tuple[str, str]:
    """The columns of ``frame`` holding ``run``'s predicted class and its probability for ``task``."""
    predicted, probability = f"{run}:{task}", f"{run}:{task}:p"
    if predicted not in frame.columns:
        known = sorted(column for column in frame.columns if column.count(":") == 1)
        raise ToolkitError(f"no predictions of run {run!r} for task {task!r} in this table; it has: {', '.join(known) or 'none'}")
    return predicted, probability


def sentence_frame(
    labels_dir: str | os.PathLike | None = None,
    runs: Iterable[RunLike] | Mapping[str, RunLike] = (),
    *,
    parts: Sequence[str] = ("letter", "annex"),
) -> pd.DataFrame:
    """One row per labelled body sentence: ``id``, ``letter_id``, ``position`` (in its letter),
    ``part``, ``section``, ``previous``, ``text``, ``next`` (the neighbouring body sentences), ``words``, the letter's ``date`` (datetime), ``year``,
    ``genre``, ``forum``, ``provenance`` and ``title``, the gold label of every task, and for each
    run (named as :func:`run_names` does) its out-of-sample prediction ``<run>:<task>`` and that
    class's probability ``<run>:<task>:p`` (the first seed's; NaN for sentences it did not test).
    """
    labels_dir = Path(labels_dir) if labels_dir is not None else default_labels_dir()
    table = load_labelled_table(labels_dir, parts=tuple(parts))
    metadata = _letter_metadata(labels_dir)
    frame = pd.DataFrame(
        {
            "id": list(table.ids),
            "letter_id": list(table.letter_ids),
            "part": [row.get("part") for row in table.inputs],
            "section": [row.get("section") for row in table.inputs],
            "previous": [row.get("previous") for row in table.inputs],
            "text": [row["text"] for row in table.inputs],
            "next": [row.get("next") for row in table.inputs],
        }
    )
    frame.insert(2, "position", frame.groupby("letter_id").cumcount())
    frame["words"] = frame["text"].str.split().str.len()
    frame["date"] = pd.to_datetime(frame["letter_id"].map(table.letter_dates), errors="coerce")
    frame["year"] = frame["date"].dt.year.astype("Int64")
    for field in ("genre", "forum", "provenance", "title"):
        frame[field] = frame["letter_id"].map(lambda letter, field=field: metadata.get(letter, {}).get(field))
    for task in table.schema.task_names:
        frame[task] = pd.Categorical(table.labels[task], categories=list(table.schema.tasks[task].classes))
    for name, run in run_names(runs):
        _add_predictions(frame, name, run)
    return frame


def _add_predictions(frame: pd.DataFrame, name: str, run: RunDirectory) -> None:
    rows = run.predictions()
    if not rows:
        return
    first_seed = min(row.get("seed", 0) for row in rows)
    by_task: dict[str, dict[str, tuple[str, float]]] = {}
    for row in rows:
        if row.get("seed", 0) == first_seed:
            by_task.setdefault(row["task"], {})[row["id"]] = (row["predicted"], float(row["probability"]))
    for task, predicted in by_task.items():
        frame[f"{name}:{task}"] = frame["id"].map(lambda i, predicted=predicted: predicted.get(i, (None, None))[0])
        frame[f"{name}:{task}:p"] = frame["id"].map(lambda i, predicted=predicted: predicted.get(i, (None, np.nan))[1])


def letter_frame(sentences: pd.DataFrame) -> pd.DataFrame:
    """One row per letter of a :func:`sentence_frame`: date, year, genre, forum, provenance,
    title, sentences, words per sentence, headings (distinct sections) and parts."""
    grouped = sentences.groupby("letter_id", sort=False)
    letters = grouped.agg(
        date=("date", "first"),
        year=("year", "first"),
        genre=("genre", "first"),
        forum=("forum", "first"),
        provenance=("provenance", "first"),
        title=("title", "first"),
        sentences=("id", "size"),
        words_per_sentence=("words", "mean"),
        headings=("section", "nunique"),
        annex_sentences=("part", lambda parts: int((parts == "annex").sum())),
    )
    return letters.sort_values("date").reset_index()


def letter_scores(sentences: pd.DataFrame, run: str, task: str, *, samples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Macro-F1 of ``run`` on each letter it tested, with a 95% interval from resampling that
    letter's sentences, sorted by date."""
    predicted_column, _ = prediction_columns(sentences, run, task)
    tested = sentences[sentences[predicted_column].notna()]
    rows = []
    for letter_id, group in tested.groupby("letter_id", sort=False):
        gold, predicted = group[task].astype(str).tolist(), group[predicted_column].astype(str).tolist()
        low, high = letter_bootstrap_interval(gold, predicted, group["id"].tolist(), samples=samples, seed=seed)
        rows.append({"letter_id": letter_id, "date": group["date"].iloc[0], "genre": group["genre"].iloc[0],
                     "sentences": len(group), "macro_f1": macro_f1(gold, predicted), "low": low, "high": high})
    return pd.DataFrame(rows).sort_values("date").reset_index(drop=True)


def run_frame(runs: Iterable[RunLike] | Mapping[str, RunLike]) -> pd.DataFrame:
    """One row per run and task: model, split, macro-F1 with its interval (as the run computed it),
    accuracy, sentences and letters tested, the majority baseline's macro-F1."""
    rows = []
    for name, run in run_names(runs):
        metrics, config = run.metrics(), run.config()
        model = config.get("model", {})
        for task, result in metrics.get("tasks", {}).items():
            scores = result["model"]
            low, high = scores.get("macro_f1_interval", [np.nan, np.nan])
            rows.append({
                "run": name, "task": task, "model": model.get("kind"), "features": model.get("features"),
                "context": model.get("context"), "split": metrics.get("split"), "macro_f1": scores["macro_f1"],
                "low": low, "high": high, "accuracy": scores.get("accuracy"), "sentences": scores.get("n"),
                "letters": scores.get("test_letters"),
                "majority_macro_f1": result.get("baselines", {}).get("majority", {}).get("macro_f1"),
            })
    return pd.DataFrame(rows)


def training_history(run: RunLike) -> dict[str, Any]:
    """A transformer run's training history (``{"history": [per-epoch loss, validation macro-F1,
    speed], "best_epoch": …}``, checked against the run's manifest), for :func:`plot_learning_curves`."""
    run = RunDirectory.of(run)
    name = "model/toolkit.json"
    if name not in run.manifest():
        raise ToolkitError(f"{run.path}: not a transformer run (no {name}); only they have a training history")
    try:
        fit = json.loads(run.verify(name).read_text(encoding="utf-8"))["fit"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError):
        raise ToolkitError(f"{run.path / name}: damaged; run the experiment again with --force") from None
    return {"history": fit.get("history") or [], "best_epoch": fit.get("best_epoch")}
