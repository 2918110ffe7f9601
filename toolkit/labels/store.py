"""The annotation store under ``labels/``: takes reviewers' decisions and revisions, gives the
stored labels (validated against the schema and the corpus), with a trace of who set what.

Layout: ``annotations/<letter-id>.jsonl`` (the labels used for training: ``id``, ``letter_id``,
``text``, one field per task, ``annotator``, ``time``, ``origin`` per task — ``accepted`` when the
reviewer kept the rule-based proposal, ``manual`` otherwise — and ``revisions``) and
``reliability/<annotator>.jsonl`` (blind re-labels of a sample, for the agreement figures).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import LabelError
from ..files import read_jsonl, write_jsonl
from ..records import Sentence
from .proposals import propose
from .schema import LabelSchema

__all__ = [
    "FIRST_PASS_SNAPSHOT",
    "apply_revisions",
    "check_labels",
    "export_rows",
    "load_annotations",
    "load_first_pass_snapshot",
    "load_reliability",
    "store_decisions",
    "store_reliability",
    "validate_annotations",
]

def store_decisions(
    labels_dir: Path,
    schema: LabelSchema,
    sentences: list[Sentence],
    decisions: list[Mapping[str, Any]],
    *,
    annotator: str,
    replace: bool = False,
    partial: bool = False,
    now: _dt.datetime | None = None,
) -> dict[str, dict[str, int]]:
    """Store a reviewer's decisions as the labels of their letters.

    Every decision names a sentence id and a label per task. The origin of each label is
    ``accepted`` when it equals the rule-based proposal, else ``manual``. All body sentences of
    a letter must be decided at once, unless ``partial`` (e.g. the sentences an active-learning
    queue chose): then the letter's other sentences keep their stored labels, or stay unlabelled. A sentence that already has a stored label keeps its row
    when the decision agrees with it; a decision that would change a stored label is refused
    (a :class:`LabelError` naming how many and where) unless ``replace`` is given, and then each
    change is traced as a revision, so curated labels are never overwritten by accident. Nothing
    is written if anything is wrong. Returns, per letter, how many labels were ``added``,
    ``kept`` and ``changed``.
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
        # A decision may carry the time it was made (e.g. in a labelling tool's export).
        row.update({"annotator": annotator, "time": decision.get("time") or timestamp, "origin": origin,
                    "codebook": schema.codebook})
        rows_by_letter.setdefault(sentence.letter_id, []).append(row)
    order: dict[str, list[str]] = {}
    for letter_id in rows_by_letter:
        order[letter_id] = [s.id for s in sentences if s.letter_id == letter_id]
        missing = [sentence_id for sentence_id in order[letter_id] if sentence_id not in seen]
        if missing and not partial:
            raise LabelError(
                f"letter {letter_id}: {len(missing)} body sentences have no decision (first: {missing[0]}); "
                "import a whole letter, or use --partial for some of its sentences"
            )
    directory = Path(labels_dir) / "annotations"
    merged = {
        letter_id: _merge_with_stored(directory / f"{letter_id}.jsonl", rows, order[letter_id], schema, annotator,
                                      timestamp, replace)
        for letter_id, rows in rows_by_letter.items()
    }
    for letter_id, (rows, _) in merged.items():
        write_jsonl(directory / f"{letter_id}.jsonl", rows)
    return {letter_id: counts for letter_id, (_, counts) in merged.items()}


def _merge_with_stored(
    path: Path,
    decided: list[dict[str, Any]],
    sentence_ids: list[str],
    schema: LabelSchema,
    annotator: str,
    timestamp: str,
    replace: bool,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The rows to write for one letter, in reading order, and how many labels were added, kept
    and changed. Stored rows of sentences without a decision stay as they are."""
    stored = {row["id"]: row for row in read_jsonl(path, LabelError)} if path.exists() else {}
    decisions = {row["id"]: row for row in decided}
    counts = {"added": 0, "kept": 0, "changed": 0}
    rows = []
    for sentence_id in sentence_ids:
        row, old = decisions.get(sentence_id), stored.pop(sentence_id, None)
        if row is None:
            if old is not None:
                rows.append(old)
            continue
        if old is None:
            counts["added"] += 1
            rows.append(row)
            continue
        changed = [task for task in schema.task_names if old.get(task) != row[task]]
        if not changed:
            counts["kept"] += 1
            rows.append(old)
            continue
        counts["changed"] += 1
        revisions = list(old.get("revisions", []))
        revisions += [{"task": task, "from": old.get(task), "to": row[task], "rule": "labels import --replace",
                       "by": annotator, "time": timestamp, "codebook": schema.codebook} for task in changed]
        rows.append({**row, "revisions": revisions})
    letter = path.stem
    if stored:  # stored labels of sentences the letter no longer has
        counts["changed"] += len(stored)
    if counts["changed"] and not replace:
        gone = f" ({len(stored)} of sentences the letter no longer has)" if stored else ""
        raise LabelError(
            f"letter {letter}: the decisions would change {counts['changed']} stored labels{gone}; nothing was "
            "written. Use `labels revise` for corrections, or import with --replace to change them (each change is "
            "traced as a revision)"
        )
    return rows, counts


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

    Each change is ``{"id", "task", "old", "new", "rule"}``, optionally with a ``"reason"``; ``old`` must equal the
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
        revision = {"task": task, "from": change["old"], "to": change["new"], "rule": change.get("rule"), "by": reviser,
                    "time": timestamp, "codebook": schema.codebook}
        if change.get("reason"):
            revision["reason"] = str(change["reason"])
        row.setdefault("revisions", []).append(revision)
        row["codebook"] = schema.codebook
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
    schema: LabelSchema, annotations: list[Mapping[str, Any]], sentences: list[Sentence], *, complete: bool = False
) -> None:
    """Raise :class:`LabelError` for labels outside the schema and unknown or duplicate ids; with
    ``complete``, also for body sentences without a label. (A partly labelled letter is a normal
    state while labelling what an active-learning queue chose; training uses the labelled ones.)"""
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
    unlabelled = [s.id for s in sentences if s.id not in seen]
    if unlabelled and complete:
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


def store_reliability(
    labels_dir: Path,
    schema: LabelSchema,
    sentences: list[Sentence],
    rows: list[Mapping[str, Any]],
    *,
    annotator: str,
    now: _dt.datetime | None = None,
) -> int:
    """Store blind re-labels of a sample as ``reliability/<annotator>.jsonl``; returns their number."""
    known = {s.id: s for s in sentences}
    stamp = (now or _dt.datetime.now(_dt.timezone.utc)).isoformat(timespec="seconds")
    stored = []
    for number, row in enumerate(rows, 1):
        if row.get("id") not in known:
            raise LabelError(f"re-label {number}: sentence id {row.get('id')!r} does not exist")
        for task in schema.task_names:
            schema.check_label(task, row.get(task), f"re-label {number} ({row['id']})")
        stored.append({"id": row["id"], "letter_id": known[row["id"]].letter_id, **{t: row[t] for t in schema.task_names},
                       "annotator": annotator, "time": stamp, "blind": True, "codebook": schema.codebook})
    write_jsonl(Path(labels_dir) / "reliability" / f"{annotator}.jsonl", stored)
    return len(stored)


def check_labels(labels_dir: Path, schema: LabelSchema, sentences: list[Sentence], *, complete: bool = False) -> dict[str, int]:
    """Validate the stored labels; with ``complete``, also require every body sentence to be labelled."""
    annotations = load_annotations(labels_dir)
    unlabelled_letters = sorted({s.letter_id for s in sentences} - {row["letter_id"] for row in annotations})
    if unlabelled_letters and complete:
        raise LabelError(f"{len(unlabelled_letters)} letters have no labels: {', '.join(unlabelled_letters)}")
    validate_annotations(schema, annotations, sentences, complete=complete)
    return {"labels": len(annotations), "sentences": len(sentences), "letters": len({s.letter_id for s in sentences})}


def export_rows(labels_dir: Path, schema: LabelSchema, sentences: list[Sentence]) -> list[dict[str, Any]]:
    """One plain record per labelled body sentence (validated first)."""
    annotations = load_annotations(labels_dir)
    validate_annotations(schema, annotations, sentences)
    keys = ("id", "letter_id", "text", *schema.task_names, "annotator", "time", "origin")
    return [{key: row[key] for key in keys if key in row} for row in annotations]
