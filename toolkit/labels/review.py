"""Human review in a notebook: takes sentences (or flags), gives the reviewer's choices as a file
for the labels workflow (``labels import`` or ``labels revise``).

A review session ends in one of the labels workflow's own commands, so every stored label
keeps its trace:

* **a letter without labels**: every body sentence starts from the rule-based proposal.
  The saved file holds one decision per sentence (``id`` plus one label per task) for
  ``toolkit labels import``, which records for each label whether the proposal was kept;
* **a letter with labels, or the flags of** ``toolkit labels issues``: each item starts
  from the stored label. The saved file holds only what the reviewer changed, as
  ``{"id", "task", "old", "new", "rule"}`` lines for ``toolkit labels revise``;
* **a queue** from ``toolkit labels queue``: each sentence starts from the model's proposal.
  The saved file holds a decision for every sentence looked at, for
  ``toolkit labels import --partial``.

With a ``log`` file, nothing confirmed is lost when the kernel dies: every choice, rule and
"seen" is appended to the log (one JSON record with annotator, time, the proposal's source and the
codebook version) and flushed to disk as it is made; undo is a new record; a session opened
again on the same log continues where the last one stopped.

The session (items, choices, saving) is plain Python. :meth:`ReviewSession.widget` draws it
with ipywidgets, which comes with the ``notebooks`` extra and is imported only there.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import LabelError
from ..files import write_jsonl
from ..segment import body_sentences
from .proposals import propose
from .schema import LabelSchema, load_schema
from .store import load_annotations

__all__ = ["ReviewItem", "ReviewSession"]

#: What a saved session is for: ``labels import`` (all decisions), ``labels revise`` (changes) or
#: ``labels import --partial`` (the decisions on a queue's sentences).
IMPORT, REVISE, QUEUE = "import", "revise", "queue"


@dataclass
class ReviewItem:
    """One sentence under review, with the labels it starts from for the tasks reviewed."""

    id: str
    letter_id: str
    text: str
    start: dict[str, str]
    section: str | None = None
    previous: str | None = None
    next: str | None = None
    hint: dict[str, str] = field(default_factory=dict)  # e.g. cleanlab's suggested label per task
    source: dict[str, str] = field(default_factory=dict)  # where each start label came from: rule, stored, model:<run>


class ReviewSession:
    """Choices made on a list of :class:`ReviewItem`; :meth:`save` writes them for the workflow."""

    def __init__(
        self,
        items: Sequence[ReviewItem],
        schema: LabelSchema,
        purpose: str,
        *,
        log: str | Path | None = None,
        annotator: str | None = None,
    ) -> None:
        if purpose not in (IMPORT, REVISE, QUEUE):
            raise ValueError(f"purpose must be {IMPORT!r}, {REVISE!r} or {QUEUE!r}, got {purpose!r}")
        if not items:
            raise LabelError("nothing to review: the list of sentences is empty")
        for item in items:
            for task, label in item.start.items():
                schema.check_label(task, label, f"sentence {item.id}")
        self.items = list(items)
        self.schema = schema
        self.purpose = purpose
        self.choices: list[dict[str, str]] = [dict(item.start) for item in self.items]
        self.rules: list[str | None] = [None] * len(self.items)
        self.seen: set[int] = set()
        self.log = Path(log) if log is not None else None
        self.annotator = annotator
        self._history: list[tuple[int, str, str]] = []  # (item, task, label before) of each choice, for undo
        if self.log is not None and self.log.exists():
            self._replay(self.log)

    # -- building

    @classmethod
    def for_letter(cls, labels_dir: str | Path, letter_id: str, **options: Any) -> ReviewSession:
        """Every body sentence of one letter of ``labels_dir``: proposals if unlabelled, else the stored
        labels. ``options`` go to the constructor (``log``, ``annotator``)."""
        from ..corpus import read_default_letters

        labels_dir = Path(labels_dir)
        schema = load_schema(labels_dir)
        letters = read_default_letters(labels_dir, ids=[letter_id])
        if not letters:
            raise LabelError(f"letter {letter_id!r} is not in {labels_dir / 'letters'} (add it to the manifest first)")
        sentences = body_sentences(letters)
        stored = {row["id"]: row for row in load_annotations(labels_dir) if row["letter_id"] == letter_id}
        purpose = REVISE if stored else IMPORT
        starts = stored if stored else {row["id"]: row for row in propose(schema, sentences)}
        items = []
        for position, sentence in enumerate(sentences):
            items.append(
                ReviewItem(
                    id=sentence.id,
                    letter_id=sentence.letter_id,
                    text=sentence.text,
                    start={task: starts[sentence.id][task] for task in schema.task_names},
                    section=sentence.section,
                    previous=sentences[position - 1].text if position > 0 else None,
                    next=sentences[position + 1].text if position + 1 < len(sentences) else None,
                    source=dict.fromkeys(schema.task_names, "stored" if stored else "rule"),
                )
            )
        return cls(items, schema, purpose, **options)

    @classmethod
    def for_issues(cls, labels_dir: str | Path, issues: Sequence[Mapping[str, Any]], **options: Any) -> ReviewSession:
        """The flags of :func:`toolkit.labels.quality.find_label_issues`, one task per sentence."""
        schema = load_schema(Path(labels_dir))
        items = [
            ReviewItem(
                id=issue["id"],
                letter_id=issue["letter_id"],
                text=issue["text"],
                start={issue["task"]: issue["old"]},
                hint={issue["task"]: issue["suggested"]} if issue.get("suggested") else {},
                source={issue["task"]: "stored"},
            )
            for issue in issues
        ]
        return cls(items, schema, REVISE, **options)

    @classmethod
    def for_queue(cls, labels_dir: str | Path, queue: Sequence[Mapping[str, Any]], **options: Any) -> ReviewSession:
        """The sentences of a ``toolkit labels queue`` file, starting from the model's proposals.
        Tasks the queue has no proposal for start from the schema's default class."""
        schema = load_schema(Path(labels_dir))
        items = []
        for row in queue:
            proposal = row.get("proposal") or {}
            start = {task: proposal.get(task, schema.tasks[task].default) for task in schema.task_names}
            source = {task: (row.get("source") or {}).get(task, "default") for task in schema.task_names}
            items.append(ReviewItem(id=row["id"], letter_id=row["letter_id"], text=row["text"], start=start,
                                    section=row.get("section"), previous=row.get("previous"), next=row.get("next"),
                                    source=source))
        return cls(items, schema, QUEUE, **options)

    # -- choosing

    def _check_index(self, index: int) -> None:
        if not 0 <= index < len(self.items):
            raise IndexError(f"item {index} does not exist; there are {len(self.items)}")

    def choose(self, index: int, task: str, label: str) -> None:
        """Set the label of one task for item ``index`` (0-based)."""
        self._check_index(index)
        if task not in self.items[index].start:
            raise LabelError(f"task {task!r} is not under review for sentence {self.items[index].id}")
        self.schema.check_label(task, label, f"sentence {self.items[index].id}")
        before = self.choices[index][task]
        self._record(index, "choose", task=task, label=label, previous=before)
        self._history.append((index, task, before))
        self.choices[index][task] = label
        self.seen.add(index)

    def undo(self) -> tuple[int, str, str] | None:
        """Take back the last choice (as a new log record); returns (item, task, label restored)."""
        if not self._history:
            return None
        index, task, before = self._history.pop()
        self._record(index, "undo", task=task, label=before, previous=self.choices[index][task])
        self.choices[index][task] = before
        return index, task, before

    def set_rule(self, index: int, rule: str | None) -> None:
        """The codebook rule (or a short reason) behind a change, kept in the label's trace."""
        self._check_index(index)
        self.rules[index] = (rule or "").strip() or None
        self._record(index, "rule", rule=self.rules[index])

    def mark_seen(self, index: int) -> None:
        self._check_index(index)
        if index not in self.seen:
            self._record(index, "seen")
        self.seen.add(index)

    # -- the annotation log

    def _record(self, index: int, action: str, **fields: Any) -> None:
        """Append one record to the log and force it to disk before the choice takes effect."""
        if self.log is None:
            return
        item = self.items[index]
        task = fields.get("task")
        record = {
            "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds"),
            "annotator": self.annotator,
            "action": action,
            "id": item.id,
            "letter_id": item.letter_id,
            **fields,
            "source": item.source.get(task) if task else None,
            "codebook": self.schema.codebook,
        }
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def _replay(self, log: Path) -> None:
        """Restore choices, rules and what was seen from an earlier session's log."""
        position = {item.id: index for index, item in enumerate(self.items)}
        lines = log.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
            except ValueError:
                if number == len(lines):
                    break  # a record cut short by a crash while it was written: it never took effect
                raise LabelError(f"{log}:{number}: not a log record") from None
            index = position.get(record.get("id"))
            if index is None:
                continue  # a sentence of another session sharing the log
            if record["action"] in ("choose", "undo"):
                self.schema.check_label(record["task"], record["label"], f"{log}:{number}")
                self.choices[index][record["task"]] = record["label"]
                if record["action"] == "choose":
                    self._history.append((index, record["task"], record.get("previous")))
                elif self._history:
                    self._history.pop()
                self.seen.add(index)
            elif record["action"] == "rule":
                self.rules[index] = record.get("rule")
            elif record["action"] == "seen":
                self.seen.add(index)

    def changes(self) -> list[dict[str, Any]]:
        """What differs from the start, in ``labels revise`` format."""
        rows = []
        for item, choice, rule in zip(self.items, self.choices, self.rules):
            for task, label in choice.items():
                if label != item.start[task]:
                    rows.append({"id": item.id, "task": task, "old": item.start[task], "new": label, "rule": rule})
        return rows

    def decisions(self) -> list[dict[str, Any]]:
        """One decision per sentence, in ``labels import`` format."""
        return [{"id": item.id, **choice} for item, choice in zip(self.items, self.choices)]

    # -- saving

    def save(self, path: str | Path) -> dict[str, Any]:
        """Write the file for the workflow (atomically); returns what was written and the command to apply it."""
        path = Path(path)
        if self.purpose == IMPORT:
            unseen = len(self.items) - len(self.seen)
            if unseen:
                raise LabelError(
                    f"{unseen} of {len(self.items)} sentences have not been looked at; a letter is imported whole, "
                    "so step through every sentence (or mark it seen) before saving"
                )
            rows, command = self.decisions(), f"toolkit labels import {path} --annotator NAME"
        elif self.purpose == QUEUE:
            if not self.seen:
                raise LabelError("no sentence of the queue has been looked at yet; nothing to save")
            decisions = self.decisions()
            rows = [decisions[index] for index in sorted(self.seen)]
            command = f"toolkit labels import {path} --annotator NAME --partial"
        else:
            rows, command = self.changes(), f"toolkit labels revise {path} --annotator NAME"
        write_jsonl(path, rows)
        return {"path": path, "rows": len(rows), "command": command}

    # -- drawing

    def widget(self, path: str | Path):
        """An ipywidgets view of the session (sentence in context, one menu per task, codebook
        definitions, progress, buttons and keyboard shortcuts) that saves to ``path``; see
        :mod:`toolkit.labels.review_widget`."""
        from .review_widget import ReviewWidget

        return ReviewWidget(self, path).view
