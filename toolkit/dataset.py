"""The dataset: takes segmented letters and their labels, gives a table of labelled sentences with
their context, splits that keep whole letters together, and a Hugging Face ``DatasetDict``.

The table (:class:`LabelledTable`) has one row per labelled body sentence with its
text, its context (section heading, neighbouring body sentences of the same letter),
its letter id and date, and one label per task. Every split here is grouped by
letter: no sentence of a test letter is ever used for training or model selection.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DatasetError
from .labels import LabelSchema, load_annotations, load_schema, validate_annotations
from .segment import body_sentences

__all__ = [
    "LabelledTable",
    "Split",
    "build_table",
    "fixed_holdout_split",
    "grouped_kfold_splits",
    "leave_one_letter_out_splits",
    "load_labelled_table",
    "sentence_inputs",
    "time_ordered_split",
    "to_dataset_dict",
]


@dataclass(frozen=True)
class LabelledTable:
    """Labelled body sentences, in corpus order."""

    ids: tuple[str, ...]
    inputs: tuple[dict[str, Any], ...]  # text, section, previous, next, letter_id, part, annex, opening
    labels: dict[str, tuple[str, ...]]  # task -> one label per row
    letter_ids: tuple[str, ...]
    letter_dates: dict[str, str]
    schema: LabelSchema

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def texts(self) -> list[str]:
        return [row["text"] for row in self.inputs]

    def subset(self, rows: Sequence[int]) -> "LabelledTable":
        rows = list(rows)
        return LabelledTable(
            ids=tuple(self.ids[i] for i in rows),
            inputs=tuple(self.inputs[i] for i in rows),
            labels={task: tuple(values[i] for i in rows) for task, values in self.labels.items()},
            letter_ids=tuple(self.letter_ids[i] for i in rows),
            letter_dates=self.letter_dates,
            schema=self.schema,
        )

    def fingerprint(self) -> str:
        """A hash of texts, letters and labels: it changes whenever the data does."""
        digest = hashlib.sha256()
        for index, sentence_id in enumerate(self.ids):
            row = [sentence_id, self.letter_ids[index], self.inputs[index]["text"]]
            row += [self.labels[task][index] for task in sorted(self.labels)]
            digest.update(json.dumps(row, ensure_ascii=False).encode("utf-8"))
        return digest.hexdigest()[:16]


def sentence_inputs(sentences) -> list[dict[str, Any]]:
    """Model inputs for body sentences: text plus context from the same letter only.

    ``previous``/``next`` are the neighbouring body sentences of the same letter
    (``None`` at the letter's first and last sentence), ``opening`` is the letter's first body
    sentence and ``annex`` the title of the annex the sentence is in, so context never crosses
    letter boundaries.
    """
    openings: dict[str, str] = {}
    for sentence in sentences:
        openings.setdefault(sentence.letter_id, sentence.text)
    rows = []
    for position, sentence in enumerate(sentences):
        before = sentences[position - 1] if position > 0 else None
        after = sentences[position + 1] if position + 1 < len(sentences) else None
        rows.append(
            {
                "id": sentence.id,
                "text": sentence.text,
                "section": sentence.section,
                "previous": before.text if before is not None and before.letter_id == sentence.letter_id else None,
                "next": after.text if after is not None and after.letter_id == sentence.letter_id else None,
                "letter_id": sentence.letter_id,
                "part": sentence.part,
                "annex": sentence.annex,
                "opening": openings[sentence.letter_id],
            }
        )
    return rows


def build_table(
    letters, annotations: list[dict[str, Any]], schema: LabelSchema, parts: Sequence[str] = ("letter", "annex")
) -> LabelledTable:
    """Join segmented letters with their labels; unlabelled letters are left out, and so are
    sentences of the parts not chosen (``letter``: the covering letter, ``annex``: its annexes)."""
    sentences = body_sentences(letters)
    validate_annotations(schema, annotations, sentences)
    labelled = {row["id"]: row for row in annotations}
    ids, inputs, letter_ids = [], [], []
    labels: dict[str, list[str]] = {task: [] for task in schema.task_names}
    for row in sentence_inputs(sentences):
        if row["id"] not in labelled or row["part"] not in parts:
            continue
        sentence_id = row.pop("id")
        ids.append(sentence_id)
        letter_ids.append(row["letter_id"])
        inputs.append(row)
        for task in schema.task_names:
            labels[task].append(labelled[sentence_id][task])
    if not ids:
        raise DatasetError("the dataset is empty: no labelled body sentences")
    dates = {letter.id: letter.date or "" for letter in letters}
    return LabelledTable(tuple(ids), tuple(inputs), {t: tuple(v) for t, v in labels.items()}, tuple(letter_ids), dates, schema)


def load_labelled_table(labels_dir: Path | None = None, parts: Sequence[str] = ("letter", "annex")) -> LabelledTable:
    """The default corpus with its stored labels (the sentences of the chosen parts)."""
    from .corpus import default_labels_dir, read_default_letters

    labels_dir = labels_dir or default_labels_dir()
    schema = load_schema(labels_dir)
    return build_table(read_default_letters(labels_dir), load_annotations(labels_dir), schema, parts)


def to_dataset_dict(table: LabelledTable, splits: dict[str, Sequence[int]] | None = None):
    """A :class:`datasets.DatasetDict` with the labels as ``ClassLabel`` features.

    ``splits`` maps split names to row indices; by default one ``train`` split holds
    everything. ``letter_id`` is the grouping key.
    """
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

    features = {
        "id": Value("string"),
        "letter_id": Value("string"),
        "text": Value("string"),
        "section": Value("string"),
        "previous": Value("string"),
        "next": Value("string"),
        "part": Value("string"),
        "annex": Value("string"),
        "opening": Value("string"),
    }
    for task, spec in table.schema.tasks.items():
        features[task] = ClassLabel(names=list(spec.classes))
    splits = splits or {"train": range(len(table))}
    result = {}
    for name, rows in splits.items():
        rows = list(rows)
        columns = {
            "id": [table.ids[i] for i in rows],
            "letter_id": [table.letter_ids[i] for i in rows],
            "text": [table.inputs[i]["text"] for i in rows],
            "section": [table.inputs[i]["section"] for i in rows],
            "previous": [table.inputs[i]["previous"] for i in rows],
            "next": [table.inputs[i]["next"] for i in rows],
            "part": [table.inputs[i]["part"] for i in rows],
            "annex": [table.inputs[i]["annex"] for i in rows],
            "opening": [table.inputs[i]["opening"] for i in rows],
        }
        for task in table.schema.task_names:
            columns[task] = [table.labels[task][i] for i in rows]
        result[name] = Dataset.from_dict(columns, features=Features(features))
    return DatasetDict(result)


# ----------------------------------------------------------------------- splits


@dataclass(frozen=True)
class Split:
    """Row indices of one train/test split and the letters on each side."""

    name: str
    train: tuple[int, ...]
    test: tuple[int, ...]

    def letters(self, table: LabelledTable) -> tuple[set[str], set[str]]:
        return {table.letter_ids[i] for i in self.train}, {table.letter_ids[i] for i in self.test}


def _rows_by_letter(table: LabelledTable) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = {}
    for index, letter_id in enumerate(table.letter_ids):
        rows.setdefault(letter_id, []).append(index)
    return rows


def _split_from_letters(table: LabelledTable, name: str, test_letters: set[str]) -> Split:
    train = tuple(i for i, letter in enumerate(table.letter_ids) if letter not in test_letters)
    test = tuple(i for i, letter in enumerate(table.letter_ids) if letter in test_letters)
    if not train or not test:
        raise DatasetError(f"split {name!r} leaves no {'training' if not train else 'test'} sentences")
    return Split(name, train, test)


def leave_one_letter_out_splits(table: LabelledTable) -> Iterator[Split]:
    for letter_id in _rows_by_letter(table):
        yield _split_from_letters(table, f"held-out:{letter_id}", {letter_id})


def grouped_kfold_splits(table: LabelledTable, n_splits: int, seed: int) -> Iterator[Split]:
    """k folds of whole letters, letters shuffled with ``seed``."""
    letters = sorted(_rows_by_letter(table))
    if n_splits < 2 or n_splits > len(letters):
        raise DatasetError(f"grouped k-fold needs 2 ≤ k ≤ {len(letters)} (the number of letters); got {n_splits}")
    order = np.random.default_rng(seed).permutation(len(letters))
    for fold in range(n_splits):
        test_letters = {letters[i] for position, i in enumerate(order) if position % n_splits == fold}
        yield _split_from_letters(table, f"fold-{fold}", test_letters)


def time_ordered_split(table: LabelledTable, test_fraction: float) -> Split:
    """Train on the earlier letters, test on the latest ``test_fraction`` of letters."""
    letters = sorted(_rows_by_letter(table), key=lambda letter: (table.letter_dates.get(letter, ""), letter))
    count = max(1, round(len(letters) * test_fraction))
    if count >= len(letters):
        raise DatasetError(f"test_fraction {test_fraction} leaves no training letters")
    return _split_from_letters(table, "time-ordered", set(letters[-count:]))


def fixed_holdout_split(table: LabelledTable, test_letters: Sequence[str]) -> Split:
    known = set(table.letter_ids)
    unknown = [letter for letter in test_letters if letter not in known]
    if unknown:
        raise DatasetError(
            f"held-out letter id(s) not in the labelled data: {', '.join(unknown)}; "
            f"known ids look like: {', '.join(sorted(known)[:3])}, …"
        )
    return _split_from_letters(table, "held-out:" + "+".join(test_letters), set(test_letters))
