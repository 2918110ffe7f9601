"""Sentences in their letter: takes a sentence table (the corpus' or a new letter's predictions),
gives the errors of a run with their context, and a letter rendered as HTML with each sentence
marked by its labels.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path

import pandas as pd

from ..errors import ToolkitError
from ..predict import predict_for_queue
from .frames import prediction_columns

__all__ = ["MarkedLetter", "STANCE_COLOURS", "errors", "letter_html", "new_letter_frame"]

#: Background of a sentence by its stance.
STANCE_COLOURS = {"support": "#d9f2d9", "critical": "#f9d6d5", "neutral": "#f2f2f2"}


def errors(sentences: pd.DataFrame, run: str, task: str, *, gold: str | None = None, predicted: str | None = None,
           min_probability: float = 0.0) -> pd.DataFrame:
    """The sentences ``run`` got wrong for ``task`` (optionally one gold and/or predicted class),
    most confident errors first, with the sentence before and after and the section heading."""
    predicted_column, probability_column = prediction_columns(sentences, run, task)
    wrong = sentences[sentences[predicted_column].notna() & (sentences[predicted_column].astype(str) != sentences[task].astype(str))]
    if gold is not None:
        wrong = wrong[wrong[task].astype(str) == gold]
    if predicted is not None:
        wrong = wrong[wrong[predicted_column].astype(str) == predicted]
    wrong = wrong[wrong[probability_column] >= min_probability]
    columns = ["letter_id", "section", "previous", "text", "next", task, predicted_column, probability_column]
    return wrong.sort_values(probability_column, ascending=False)[columns].rename(
        columns={task: "gold", predicted_column: "predicted", probability_column: "probability"}
    ).reset_index(drop=True)


def new_letter_frame(runs: Sequence[str | os.PathLike], paths: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """The body sentences of letters the corpus has not seen, with each run's prediction: one
    row per sentence (``id``, ``letter_id``, ``position``, ``part``, ``section``, ``text``, …) and
    per task ``<task>`` (the most probable class) and ``<task>:p`` (its probability). Give one
    run per task (or a multi-task run); ``previous`` and ``next`` are the neighbouring sentences."""
    rows, _ = predict_for_queue([Path(run) for run in runs], [Path(path) for path in paths])
    if not rows:
        raise ToolkitError("no body sentences in " + ", ".join(map(str, paths)))
    records = []
    for row in rows:
        record = {key: row.get(key) for key in ("id", "letter_id", "part", "section", "previous", "text", "next")}
        for task, probabilities in row["probabilities"].items():
            best = max(probabilities, key=probabilities.get)
            record[task], record[f"{task}:p"] = best, float(probabilities[best])
        records.append(record)
    frame = pd.DataFrame(records)
    frame.insert(2, "position", frame.groupby("letter_id").cumcount())
    return frame


class MarkedLetter:
    """A letter as HTML (``.html``); shown as such in a notebook."""

    def __init__(self, html: str) -> None:
        self.html = html

    def _repr_html_(self) -> str:
        return self.html

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.write_text(f"<!doctype html><meta charset='utf-8'>\n{self.html}\n", encoding="utf-8")
        return path


def letter_html(sentences: pd.DataFrame, letter_id: str, *, labels: Mapping[str, str] | None = None,
                uncertain_below: float | None = None) -> MarkedLetter:
    """One letter, sentence by sentence under its headings: the background shows the stance, the
    badges the topic and actor. ``labels`` maps each task to the column to show (default: the
    task's own column, i.e. the gold labels or a new letter's predictions); sentences whose
    stance probability (``<column>:p``) is below ``uncertain_below`` are underlined as uncertain."""
    letter = sentences[sentences["letter_id"] == letter_id].sort_values("position")
    if letter.empty:
        raise ToolkitError(f"no sentences of letter {letter_id!r} in the table")
    labels = dict(labels or {task: task for task in ("topic", "actor", "stance") if task in letter.columns})
    parts, section = [f"<h3>{escape(letter_id)}</h3>"], None
    for row in letter.to_dict("records"):
        if row.get("section") != section:
            section = row.get("section")
            if section:
                parts.append(f"<h4 style='margin:0.8em 0 0.2em'>{escape(str(section))}</h4>")
        parts.append(_sentence_html(row, labels, uncertain_below))
    legend = " ".join(f"<span style='background:{colour};padding:0 4px'>{name}</span>" for name, colour in STANCE_COLOURS.items())
    return MarkedLetter(f"<div style='font-family:sans-serif;max-width:60em'><p>stance: {legend}</p>{''.join(parts)}</div>")


def _sentence_html(row: Mapping, labels: Mapping[str, str], uncertain_below: float | None) -> str:
    stance_column = labels.get("stance")
    stance = str(row.get(stance_column)) if stance_column else None
    probability = row.get(f"{stance_column}:p") if stance_column else None
    uncertain = uncertain_below is not None and probability is not None and probability < uncertain_below
    badges = "".join(
        f"<sup style='font-size:70%;color:#555;margin-left:3px'>{escape(task)}={escape(str(row.get(column)))}</sup>"
        for task, column in labels.items() if task != "stance"
    )
    style = f"background:{STANCE_COLOURS.get(stance, '#ffffff')};padding:1px 2px"
    if uncertain:
        style += ";border-bottom:2px dotted #c00"
    title = f"stance={stance}" + (f" (p={probability:.2f})" if probability is not None else "")
    return f"<span style='{style}' title='{escape(title)}'>{escape(str(row['text']))}</span>{badges} "
