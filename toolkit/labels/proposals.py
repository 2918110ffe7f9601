"""Rule-based label proposals: takes the schema and sentences, gives one proposed label per task
for a reviewer to accept or change (never a label by itself).

Three proposers, named per task in the schema: ``section_then_sentence`` (the class with most
cues in the sentence, else in its section heading), ``earliest_cue`` (the class whose cue comes
first) and ``cue_priority`` (the first class in schema order with a cue).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..records import Sentence
from .schema import LabelSchema, TaskSchema

__all__ = ["propose", "propose_label"]


def _earliest(task: TaskSchema, text: str) -> str | None:
    best: tuple[int, int, str] | None = None
    for order, label in enumerate(task.classes):
        for cue in task.cues[label]:
            match = cue.search(text)
            if match and (best is None or (match.start(), order) < best[:2]):
                best = (match.start(), order, label)
    return best[2] if best else None


def _first_class_with_cue(task: TaskSchema, text: str) -> str | None:
    for label in task.classes:
        if any(cue.search(text) for cue in task.cues[label]):
            return label
    return None


def _most_cues(task: TaskSchema, text: str) -> str | None:
    counts = {label: sum(1 for cue in task.cues[label] if cue.search(text)) for label in task.classes}
    best = max(counts.values())
    if best == 0:
        return None
    return next(label for label in task.classes if counts[label] == best)


def propose_label(task: TaskSchema, sentence: Sentence) -> str:
    """The rule-based proposal for one sentence and task."""
    text = sentence.text.strip()
    if task.proposer == "earliest_cue":
        label = _earliest(task, text)
    elif task.proposer == "cue_priority":
        label = _first_class_with_cue(task, text)
    else:  # section_then_sentence
        label = _most_cues(task, text)
        if label is None and sentence.section:
            label = _most_cues(task, sentence.section)
    return label or task.default


def propose(schema: LabelSchema, sentences: Iterable[Sentence]) -> list[dict[str, Any]]:
    """One proposal record per sentence: id, letter_id, section, text and a label per task."""
    proposals = []
    for sentence in sentences:
        record = {"id": sentence.id, "letter_id": sentence.letter_id, "section": sentence.section, "text": sentence.text}
        for name, task in schema.tasks.items():
            record[name] = propose_label(task, sentence)
        proposals.append(record)
    return proposals
