"""Human review in a notebook: takes sentences (or flags), gives the reviewer's choices as a file
for the labels workflow (``labels import`` or ``labels revise``).

A review session ends in one of the labels workflow's own commands, so every stored label
keeps its trace:

* **a letter without labels**: every body sentence starts from the rule-based proposal.
  The saved file holds one decision per sentence (``id`` plus one label per task) for
  ``toolkit labels import``, which records for each label whether the proposal was kept;
* **a letter with labels, or the flags of** ``toolkit labels issues``: each item starts
  from the stored label. The saved file holds only what the reviewer changed, as
  ``{"id", "task", "old", "new", "rule"}`` lines for ``toolkit labels revise``.

The session (items, choices, saving) is plain Python. :meth:`ReviewSession.widget` draws it
with ipywidgets, which comes with the ``notebooks`` extra and is imported only there.
"""

from __future__ import annotations

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

#: What a saved session is for: ``labels import`` (all decisions) or ``labels revise`` (changes).
IMPORT, REVISE = "import", "revise"


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


class ReviewSession:
    """Choices made on a list of :class:`ReviewItem`; :meth:`save` writes them for the workflow."""

    def __init__(self, items: Sequence[ReviewItem], schema: LabelSchema, purpose: str) -> None:
        if purpose not in (IMPORT, REVISE):
            raise ValueError(f"purpose must be {IMPORT!r} or {REVISE!r}, got {purpose!r}")
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

    # -- building

    @classmethod
    def for_letter(cls, labels_dir: str | Path, letter_id: str) -> ReviewSession:
        """Every body sentence of one letter of ``labels_dir``: proposals if unlabelled, else the stored labels."""
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
                )
            )
        return cls(items, schema, purpose)

    @classmethod
    def for_issues(cls, labels_dir: str | Path, issues: Sequence[Mapping[str, Any]]) -> ReviewSession:
        """The flags of :func:`toolkit.labels.quality.find_label_issues`, one task per sentence."""
        schema = load_schema(Path(labels_dir))
        items = [
            ReviewItem(
                id=issue["id"],
                letter_id=issue["letter_id"],
                text=issue["text"],
                start={issue["task"]: issue["old"]},
                hint={issue["task"]: issue["suggested"]} if issue.get("suggested") else {},
            )
            for issue in issues
        ]
        return cls(items, schema, REVISE)

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
        self.choices[index][task] = label
        self.seen.add(index)

    def set_rule(self, index: int, rule: str | None) -> None:
        """The codebook rule (or a short reason) behind a change, kept in the label's trace."""
        self._check_index(index)
        self.rules[index] = (rule or "").strip() or None

    def mark_seen(self, index: int) -> None:
        self._check_index(index)
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
        else:
            rows, command = self.changes(), f"toolkit labels revise {path} --annotator NAME"
        write_jsonl(path, rows)
        return {"path": path, "rows": len(rows), "command": command}

    # -- drawing

    def widget(self, path: str | Path):
        """An ipywidgets view: the sentence with its context, one menu per task, previous/next and save."""
        try:
            import ipywidgets as widgets
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise LabelError("the review widget needs ipywidgets: pip install 'kamerbrieven-toolkit[notebooks]'") from error
        from html import escape

        position = {"index": 0}
        header, sentence, status = widgets.HTML(), widgets.HTML(), widgets.HTML()
        menus = {
            task: widgets.Dropdown(options=list(self.schema.tasks[task].classes), description=task)
            for task in self.schema.task_names
        }
        rule = widgets.Text(description="rule", placeholder="e.g. S6, or a short reason")
        previous_button, next_button = widgets.Button(description="◀ previous"), widgets.Button(description="next ▶")
        save_button = widgets.Button(description="save", button_style="primary")
        drawing = {"busy": False}

        def draw() -> None:
            index = position["index"]
            item, choice = self.items[index], self.choices[index]
            self.mark_seen(index)
            drawing["busy"] = True
            for task, menu in menus.items():
                menu.layout.display = None if task in item.start else "none"
                if task in choice:
                    menu.value = choice[task]
                hint = item.hint.get(task)
                menu.description = f"{task} ({hint}?)" if hint else task
            rule.value = self.rules[index] or ""
            drawing["busy"] = False
            header.value = f"<b>{index + 1} / {len(self.items)}</b> · {escape(item.letter_id)}" + (
                f" · <i>{escape(item.section)}</i>" if item.section else ""
            )
            def around(text: str | None) -> str:
                return f"<p style='color:gray'>{escape(text)}</p>" if text else ""

            sentence.value = f"{around(item.previous)}<p><b>{escape(item.text)}</b></p>{around(item.next)}"

        def on_menu(change, task: str) -> None:
            if not drawing["busy"]:
                self.choose(position["index"], task, change["new"])

        def on_rule(change) -> None:
            if not drawing["busy"]:
                self.set_rule(position["index"], change["new"])

        def move(step: int) -> None:
            position["index"] = min(max(position["index"] + step, 0), len(self.items) - 1)
            draw()

        def on_save(_button) -> None:
            try:
                saved = self.save(path)
            except LabelError as error:
                status.value = f"<span style='color:darkred'>{escape(str(error))}</span>"
                return
            status.value = f"saved {saved['rows']} line(s) to {escape(str(saved['path']))}; apply with <code>{escape(saved['command'])}</code>"

        for task, menu in menus.items():
            menu.observe(lambda change, task=task: on_menu(change, task), names="value")
        rule.observe(on_rule, names="value")
        previous_button.on_click(lambda _button: move(-1))
        next_button.on_click(lambda _button: move(1))
        save_button.on_click(on_save)
        draw()
        controls = [*menus.values()] + ([rule] if self.purpose == REVISE else [])
        return widgets.VBox([header, sentence, *controls, widgets.HBox([previous_button, next_button, save_button]), status])
