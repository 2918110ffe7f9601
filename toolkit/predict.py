"""Applying a finished run's model to new letters: takes a run directory and letter files (or
corpus directories written by ``toolkit ingest``),
gives one record per body sentence with the predicted labels and their probabilities."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from .corpus import read_body_sentences
from .dataset import sentence_inputs
from .errors import ToolkitError
from .run_dir import RunDirectory

__all__ = ["predict_for_queue", "predict_letters"]


def predict_letters(
    run: Path, paths: Sequence[Path], *, encoding: str = "utf-8", require_letter: bool = True, full: bool = False
) -> Iterator[dict]:
    """One record per body sentence: id, letter_id, text, and per task the label and its probability.

    ``full`` adds the sentence's context (``section``, ``previous``, ``next``) and
    ``probabilities``: per task, every class with its probability (for :mod:`toolkit.labels.queue`).
    """
    run_directory = RunDirectory(run)
    model, config = run_directory.model(), run_directory.config()
    sentences = read_body_sentences(paths, encoding=encoding, require_letter=require_letter)
    if not sentences:
        return
    inputs = sentence_inputs(sentences)
    probabilities = model.predict_proba(inputs)
    if isinstance(probabilities, dict):
        per_task = {task: (list(model.classes_[task]), probabilities[task]) for task in probabilities}
    else:
        per_task = {config["task"]: (list(model.classes_), probabilities)}
    for position, row in enumerate(inputs):
        record = {"id": row["id"], "letter_id": row["letter_id"], "part": row.get("part", "letter"), "text": row["text"]}
        for task, (classes, matrix) in per_task.items():
            best = int(matrix[position].argmax())
            record[task] = classes[best]
            record[f"{task}_probability"] = round(float(matrix[position][best]), 6)
        if full:
            record.update(section=row.get("section"), previous=row.get("previous"), next=row.get("next"))
            record["probabilities"] = {
                task: {label: round(float(p), 6) for label, p in zip(classes, matrix[position])}
                for task, (classes, matrix) in per_task.items()
            }
        yield record


def predict_for_queue(
    runs: Sequence[Path], paths: Sequence[Path], *, encoding: str = "utf-8"
) -> tuple[list[dict], dict[str, str]]:
    """The body sentences of ``paths`` with every class probability of each run's tasks (one run
    per task, or a multi-task run), and the run that scores each task (``model:<run name>``)."""
    merged: dict[str, dict] = {}
    sources: dict[str, str] = {}
    for run in runs:
        for record in predict_letters(run, paths, encoding=encoding, full=True):
            row = merged.setdefault(record["id"], {key: record[key] for key in
                                                   ("id", "letter_id", "part", "text", "section", "previous", "next")})
            for task, probabilities in record["probabilities"].items():
                if task in sources and sources[task] != f"model:{Path(run).name}":
                    raise ToolkitError(f"two runs predict {task}: {sources[task][6:]} and {Path(run).name}; give one per task")
                sources[task] = f"model:{Path(run).name}"
                row.setdefault("probabilities", {})[task] = probabilities
    return list(merged.values()), sources
