"""Sentence labels: the schema, rule-based proposals, the annotation store, agreement.

Layout under ``labels/``:

``schema.yaml``
    tasks, classes, cues and proposers (data, not code; see :class:`LabelSchema`).
``annotations/<letter-id>.jsonl``
    the labels used for training: one line per body sentence with ``id``, ``letter_id``,
    ``text``, one field per task, ``annotator``, ``time`` and ``origin`` (per task:
    ``accepted`` when the reviewer kept the rule-based proposal, ``manual`` when they set
    another label).
``reliability/<annotator>.jsonl``
    blind re-labels of a sample, for the agreement figures.

Labels are built by :func:`propose` (labelling functions from the schema's cues), then a
reviewer's decisions are stored with :func:`store_decisions`, which records the origin.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import LabelError
from .files import read_jsonl, write_jsonl
from .records import Letter, Sentence
from .segment import segment_letter

__all__ = [
    "apply_revisions",
    "LabelSchema",
    "TaskSchema",
    "agreement",
    "body_sentences",
    "load_annotations",
    "load_reliability",
    "load_first_pass_snapshot",
    "load_schema",
    "near_duplicate_rate",
    "propose",
    "store_decisions",
    "validate_annotations",
]

PROPOSERS = ("section_then_sentence", "earliest_cue", "cue_priority")


@dataclass(frozen=True)
class TaskSchema:
    name: str
    classes: tuple[str, ...]
    default: str
    proposer: str
    descriptions: Mapping[str, str] = field(default_factory=dict)
    cues: Mapping[str, tuple[re.Pattern, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class LabelSchema:
    tasks: Mapping[str, TaskSchema]

    @property
    def task_names(self) -> tuple[str, ...]:
        return tuple(self.tasks)

    def check_label(self, task: str, value: Any, where: str) -> None:
        if task not in self.tasks:
            raise LabelError(f"{where}: unknown task {task!r}; the schema has {', '.join(self.tasks)}")
        if value not in self.tasks[task].classes:
            raise LabelError(
                f"{where}: {task}={value!r} is not in the schema; allowed: {', '.join(self.tasks[task].classes)}"
            )


def load_schema(labels_dir: Path) -> LabelSchema:
    """Read and validate ``labels/schema.yaml``."""
    import yaml

    path = Path(labels_dir) / "schema.yaml"
    if not path.exists():
        raise LabelError(f"{path}: label schema not found")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    tasks: dict[str, TaskSchema] = {}
    for name, spec in (data.get("tasks") or {}).items():
        classes = spec.get("classes") or {}
        if len(classes) < 2:
            raise LabelError(f"{path}: task {name!r} needs at least two classes")
        proposer = spec.get("proposer", "cue_priority")
        if proposer not in PROPOSERS:
            raise LabelError(f"{path}: task {name!r} has proposer {proposer!r}; allowed: {', '.join(PROPOSERS)}")
        default = spec.get("default")
        if default not in classes:
            raise LabelError(f"{path}: task {name!r} default {default!r} is not one of its classes")
        cues = {}
        for label, class_spec in classes.items():
            try:
                cues[label] = tuple(re.compile(cue, re.IGNORECASE) for cue in (class_spec or {}).get("cues", []))
            except re.error as exc:
                raise LabelError(f"{path}: bad cue for {name}/{label}: {exc}") from None
        tasks[name] = TaskSchema(
            name=name,
            classes=tuple(classes),
            default=default,
            proposer=proposer,
            descriptions={label: (spec or {}).get("description", "") for label, spec in classes.items()},
            cues=cues,
        )
    if not tasks:
        raise LabelError(f"{path}: no tasks defined")
    return LabelSchema(tasks)


# ------------------------------------------------------------------ proposals


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


def body_sentences(letters: Iterable[Letter]) -> list[Sentence]:
    return [record for letter in letters for record in segment_letter(letter) if record.kind == "body"]


def propose(schema: LabelSchema, sentences: Iterable[Sentence]) -> list[dict[str, Any]]:
    """One proposal record per sentence: id, letter_id, section, text and a label per task."""
    proposals = []
    for sentence in sentences:
        record = {"id": sentence.id, "letter_id": sentence.letter_id, "section": sentence.section, "text": sentence.text}
        for name, task in schema.tasks.items():
            record[name] = propose_label(task, sentence)
        proposals.append(record)
    return proposals


# ---------------------------------------------------------------------- store


def store_decisions(
    labels_dir: Path,
    schema: LabelSchema,
    sentences: list[Sentence],
    decisions: list[Mapping[str, Any]],
    *,
    annotator: str,
    now: _dt.datetime | None = None,
) -> dict[str, int]:
    """Store a reviewer's decisions as the labels of their letters.

    Every decision names a sentence id and a label per task. The origin of each label is
    ``accepted`` when it equals the rule-based proposal, else ``manual``. All body
    sentences of a letter must be decided at once; nothing is written if anything is wrong.
    Returns the number of sentences stored per letter.
    """
    by_id = {sentence.id: sentence for sentence in sentences}
    proposals = {row["id"]: row for row in propose(schema, sentences)}
    seen: set[str] = set()
    rows_by_letter: dict[str, list[dict[str, Any]]] = {}
    timestamp = (now or _dt.datetime.now(_dt.timezone.utc)).isoformat(timespec="seconds")
    for number, decision in enumerate(decisions, 1):
        sentence_id = decision.get("id")
        if sentence_id not in by_id:
            raise LabelError(f"decision {number}: sentence id {sentence_id!r} does not exist in the corpus")
        if sentence_id in seen:
            raise LabelError(f"decision {number}: sentence {sentence_id} is decided twice")
        seen.add(sentence_id)
        sentence = by_id[sentence_id]
        row: dict[str, Any] = {"id": sentence.id, "letter_id": sentence.letter_id, "text": sentence.text}
        origin = {}
        for task in schema.task_names:
            if task not in decision:
                raise LabelError(f"decision {number} ({sentence_id}): no label for task {task!r}")
            schema.check_label(task, decision[task], f"decision {number} ({sentence_id})")
            row[task] = decision[task]
            origin[task] = "accepted" if decision[task] == proposals[sentence_id][task] else "manual"
        row.update({"annotator": annotator, "time": timestamp, "origin": origin})
        rows_by_letter.setdefault(sentence.letter_id, []).append(row)
    for letter_id, rows in rows_by_letter.items():
        expected = [s.id for s in sentences if s.letter_id == letter_id]
        missing = [sentence_id for sentence_id in expected if sentence_id not in seen]
        if missing:
            raise LabelError(f"letter {letter_id}: {len(missing)} body sentences have no decision (first: {missing[0]})")
        order = {sentence_id: index for index, sentence_id in enumerate(expected)}
        rows.sort(key=lambda row: order[row["id"]])
    for letter_id, rows in rows_by_letter.items():
        write_jsonl(Path(labels_dir) / "annotations" / f"{letter_id}.jsonl", rows)
    return {letter_id: len(rows) for letter_id, rows in rows_by_letter.items()}


def apply_revisions(
    labels_dir: Path,
    schema: LabelSchema,
    sentences: list[Sentence],
    changes: list[Mapping[str, Any]],
    *,
    reviser: str,
    now: _dt.datetime | None = None,
) -> int:
    """Change stored labels after a review pass, keeping a trace of each change.

    Each change is ``{"id", "task", "old", "new", "rule"}``; ``old`` must equal the
    stored label (so a change made against stale labels is refused). The row keeps its
    annotator and gains a ``revisions`` entry; its ``origin`` for that task is
    recomputed against the proposal. Nothing is written if any change is invalid.
    """
    directory = Path(labels_dir) / "annotations"
    rows_by_letter: dict[str, list[dict[str, Any]]] = {}
    index: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.jsonl")):
        rows = read_jsonl(path, LabelError)
        rows_by_letter[path.stem] = rows
        index.update({row["id"]: row for row in rows})
    proposals = {row["id"]: row for row in propose(schema, sentences)}
    timestamp = (now or _dt.datetime.now(_dt.timezone.utc)).isoformat(timespec="seconds")
    touched: set[str] = set()
    for number, change in enumerate(changes, 1):
        row = index.get(change.get("id"))
        where = f"change {number} ({change.get('id')})"
        if row is None:
            raise LabelError(f"{where}: no stored label for this sentence")
        task = change.get("task")
        schema.check_label(task, change.get("new"), where)
        if row[task] != change.get("old"):
            raise LabelError(f"{where}: stored {task} is {row[task]!r}, not {change.get('old')!r}")
        row[task] = change["new"]
        row.setdefault("origin", {})[task] = "accepted" if change["new"] == proposals[row["id"]][task] else "manual"
        row.setdefault("revisions", []).append(
            {"task": task, "from": change["old"], "to": change["new"], "rule": change.get("rule"), "by": reviser, "time": timestamp}
        )
        touched.add(row["letter_id"])
    for letter_id in sorted(touched):
        write_jsonl(directory / f"{letter_id}.jsonl", rows_by_letter[letter_id])
    return len(changes)


def load_annotations(labels_dir: Path) -> list[dict[str, Any]]:
    """All stored labels, letter by letter."""
    directory = Path(labels_dir) / "annotations"
    if not directory.exists():
        raise LabelError(f"{directory}: no annotations directory")
    rows: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.jsonl")):
        rows.extend(read_jsonl(path, LabelError))
    return rows


def validate_annotations(
    schema: LabelSchema, annotations: list[Mapping[str, Any]], sentences: list[Sentence]
) -> None:
    """Raise :class:`LabelError` for labels outside the schema, unknown or duplicate ids,
    and body sentences of an annotated letter that have no label."""
    by_id = {sentence.id: sentence for sentence in sentences}
    seen: set[str] = set()
    for row in annotations:
        sentence_id = row.get("id")
        where = f"label for {sentence_id!r}"
        if sentence_id not in by_id:
            raise LabelError(f"{where}: no body sentence with this id exists (re-segmented letter?)")
        if sentence_id in seen:
            raise LabelError(f"{where}: the sentence is labelled twice")
        seen.add(sentence_id)
        for task in schema.task_names:
            if task not in row:
                raise LabelError(f"{where}: no {task} label")
            schema.check_label(task, row[task], where)
    labelled_letters = {by_id[sentence_id].letter_id for sentence_id in seen}
    unlabelled = [s.id for s in sentences if s.letter_id in labelled_letters and s.id not in seen]
    if unlabelled:
        raise LabelError(f"{len(unlabelled)} body sentences are unlabelled (first: {unlabelled[0]})")


FIRST_PASS_SNAPSHOT = "first-pass.snapshot.jsonl"


def load_reliability(labels_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Blind re-labels per annotator (file name without suffix)."""
    directory = Path(labels_dir) / "reliability"
    if not directory.exists():
        return {}
    return {path.stem: read_jsonl(path, LabelError) for path in sorted(directory.glob("*.jsonl")) if path.name != FIRST_PASS_SNAPSHOT}


def load_first_pass_snapshot(labels_dir: Path) -> list[dict[str, Any]]:
    """The first-pass labels of the re-labelled sample, frozen before the codebook revision."""
    path = Path(labels_dir) / "reliability" / FIRST_PASS_SNAPSHOT
    if not path.exists():
        raise LabelError(f"{path}: no first-pass snapshot")
    return read_jsonl(path, LabelError)


# ------------------------------------------------------------------ agreement


def agreement(first: Mapping[str, Mapping[str, Any]], second: Mapping[str, Mapping[str, Any]], tasks: Iterable[str]) -> dict[str, dict[str, float]]:
    """Cohen's kappa and Krippendorff's alpha (nominal) per task on the sentences both labelled.

    ``first`` and ``second`` map sentence id to a record with one label per task.
    """
    import krippendorff
    import numpy as np
    from sklearn.metrics import cohen_kappa_score

    shared = sorted(set(first) & set(second))
    if len(shared) < 2:
        raise LabelError(f"agreement needs at least two sentences labelled by both; found {len(shared)}")
    results = {}
    for task in tasks:
        a = [first[i][task] for i in shared]
        b = [second[i][task] for i in shared]
        categories = sorted(set(a) | set(b))
        code = {label: index for index, label in enumerate(categories)}
        matrix = np.array([[code[x] for x in a], [code[x] for x in b]], dtype=float)
        alpha = (
            krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
            if len(categories) > 1
            else 1.0
        )
        results[task] = {
            "n": len(shared),
            "observed_agreement": float(np.mean([x == y for x, y in zip(a, b)])),
            "cohen_kappa": float(cohen_kappa_score(a, b)) if len(categories) > 1 else 1.0,
            "krippendorff_alpha": float(alpha),
        }
    return results


# ------------------------------------------------------------- near-duplicates


def near_duplicate_rate(sentences: list[Sentence], threshold: float = 0.8) -> tuple[float, list[tuple[str, str, float]]]:
    """Share of body sentences with a near-duplicate in *another* letter.

    Similarity is the cosine of character 3–5-gram TF-IDF vectors with names and numbers
    masked, so "the same sentence with names swapped" counts as a duplicate. Returns the
    rate and the pairs found.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not sentences:
        return 0.0, []
    masked = [re.sub(r"\b[A-Z][\w.-]*|\d+", "X", sentence.text) for sentence in sentences]
    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit_transform(masked)
    similarity = (vectors @ vectors.T).tocoo()
    letters = [sentence.letter_id for sentence in sentences]
    pairs, flagged = [], set()
    for row, column, value in zip(similarity.row, similarity.col, similarity.data):
        if row < column and value >= threshold and letters[row] != letters[column]:
            pairs.append((sentences[row].id, sentences[column].id, float(value)))
            flagged.update((row, column))
    return len(flagged) / len(sentences), pairs


def label_counts(annotations: list[Mapping[str, Any]], schema: LabelSchema) -> dict[str, Counter]:
    return {task: Counter(row[task] for row in annotations) for task in schema.task_names}
