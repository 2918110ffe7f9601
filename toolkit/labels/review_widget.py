"""The review widget: draws a :class:`~toolkit.labels.review.ReviewSession` with ipywidgets.

Every change goes through the session (and so into its annotation log); the widget only shows
the sentence with its heading and neighbours, one menu per task with the codebook's definition of
the chosen class beside it, progress (n of N) and the buttons.

Keyboard shortcuts work when ``ipyevents`` is installed (it comes with the ``notebooks`` extra),
while the mouse is over the sentence (so typing in the rule field is never taken for a shortcut):

====================  =====================================================
``→`` or ``j``        next sentence
``←`` or ``k``        previous sentence
``1`` … ``9``         choose the n-th class of the active task
``t``                 make the next task active (shown in bold)
``u``                 undo the last choice
``s``                 save
====================  =====================================================

:meth:`ReviewWidget.press` is what a key press does, so the shortcuts are tested without a browser.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from ..errors import LabelError

__all__ = ["SHORTCUTS", "ReviewWidget"]

#: Key (as a browser names it) → action of :meth:`ReviewWidget.press`; digits choose a class.
SHORTCUTS = {
    "ArrowRight": "next",
    "j": "next",
    "ArrowLeft": "previous",
    "k": "previous",
    "t": "task",
    "u": "undo",
    "s": "save",
}


def _import_widgets():
    try:
        import ipywidgets
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise LabelError("the review widget needs ipywidgets: pip install 'kamerbrieven-toolkit[notebooks]'") from error
    return ipywidgets


class ReviewWidget:
    """The widgets of one review session, saving to ``path``; :attr:`view` is what a notebook shows."""

    def __init__(self, session, path: str | Path) -> None:
        widgets = _import_widgets()
        self.session, self.path = session, Path(path)
        self.index = 0
        self.active_task = 0  # which of the item's tasks the digit keys choose for
        self.header, self.sentence = widgets.HTML(), widgets.HTML()
        self.status, self.definitions = widgets.HTML(), widgets.HTML()
        self.menus = {
            task: widgets.Dropdown(options=list(session.schema.tasks[task].classes), description=task)
            for task in session.schema.task_names
        }
        self.rule = widgets.Text(description="rule", placeholder="e.g. S6, or a short reason")
        self.buttons = {
            "previous": widgets.Button(description="◀ previous", tooltip="← or k"),
            "next": widgets.Button(description="next ▶", tooltip="→ or j"),
            "undo": widgets.Button(description="undo", tooltip="u"),
            "save": widgets.Button(description="save", button_style="primary", tooltip="s"),
        }
        self._drawing = False  # menus set by draw() are not the reviewer's choices
        for task, menu in self.menus.items():
            menu.observe(lambda change, task=task: self._on_menu(change, task), names="value")
        self.rule.observe(self._on_rule, names="value")
        for action, button in self.buttons.items():
            button.on_click(lambda _button, action=action: self.press_action(action))
        controls = [*self.menus.values()] + ([self.rule] if session.purpose == "revise" else [])
        self.view = widgets.VBox(
            [self.header, self.sentence, *controls, self.definitions, widgets.HBox(list(self.buttons.values())), self.status]
        )
        self.keyboard = self._listen_to_keys(self.sentence)
        self.draw()

    # -- actions

    def press(self, key: str) -> None:
        """What a key press does (see :data:`SHORTCUTS`); other keys are ignored."""
        if key.isdigit() and key != "0":
            self.choose_nth(int(key) - 1)
        elif key in SHORTCUTS:
            self.press_action(SHORTCUTS[key])

    def press_action(self, action: str) -> None:
        if action in ("next", "previous"):
            self.move(1 if action == "next" else -1)
        elif action == "task":
            self.active_task = (self.active_task + 1) % len(self._tasks())
            self.draw()
        elif action == "undo":
            undone = self.session.undo()
            if undone is not None:
                self.index = undone[0]
                self.draw()
        elif action == "save":
            self.save()

    def choose_nth(self, position: int) -> None:
        """Choose the class at ``position`` (0-based) of the active task, through its menu."""
        menu = self.menus[self._tasks()[self.active_task]]
        if position < len(menu.options):
            menu.value = menu.options[position]

    def move(self, step: int) -> None:
        self.index = min(max(self.index + step, 0), len(self.session.items) - 1)
        self.active_task = min(self.active_task, len(self._tasks()) - 1)
        self.draw()

    def save(self) -> None:
        try:
            saved = self.session.save(self.path)
        except LabelError as error:
            self.status.value = f"<span style='color:darkred'>{escape(str(error))}</span>"
            return
        self.status.value = (
            f"saved {saved['rows']} line(s) to {escape(str(saved['path']))}; "
            f"apply with <code>{escape(saved['command'])}</code>"
        )

    # -- drawing

    def draw(self) -> None:
        item, choice = self.session.items[self.index], self.session.choices[self.index]
        self.session.mark_seen(self.index)
        self._drawing = True
        try:
            for task, menu in self.menus.items():
                menu.layout.display = None if task in item.start else "none"
                if task in choice:
                    menu.value = choice[task]
                hint = item.hint.get(task)
                menu.description = f"{task} ({hint}?)" if hint else task
            self.rule.value = self.session.rules[self.index] or ""
        finally:
            self._drawing = False
        where = f" · <i>{escape(item.section)}</i>" if item.section else ""
        self.header.value = (
            f"<b>{self.index + 1} / {len(self.session.items)}</b> · {escape(item.letter_id)}{where}"
            f" · keys for <b>{escape(self._tasks()[self.active_task])}</b>"
        )
        self.sentence.value = f"{_faded(item.previous)}<p><b>{escape(item.text)}</b></p>{_faded(item.next)}"
        self.show_definitions()

    def show_definitions(self) -> None:
        """The codebook's definition of each chosen class, with the digit that chooses each class."""
        item, choice = self.session.items[self.index], self.session.choices[self.index]
        lines = []
        for number, task in enumerate(self._tasks()):
            label = choice[task]
            described = escape(self.session.schema.tasks[task].descriptions.get(label, ""))
            source = escape(item.source.get(task, ""))
            keys = ", ".join(f"{n + 1} {escape(name)}" for n, name in enumerate(self.menus[task].options[:9]))
            name = f"<b>{task}</b>" if number != self.active_task else f"<b><u>{task}</u></b>"
            lines.append(
                f"<li>{name} = {escape(label)}: {described}"
                + (f" <i>(from {source})</i>" if source else "")
                + (f"<br><small>keys: {keys}</small>" if number == self.active_task else "")
                + "</li>"
            )
        self.definitions.value = f"<ul style='font-size:smaller'>{''.join(lines)}</ul>"

    # -- plumbing

    def _tasks(self) -> list[str]:
        return [task for task in self.session.schema.task_names if task in self.session.items[self.index].start]

    def _on_menu(self, change: dict[str, Any], task: str) -> None:
        if not self._drawing:
            self.session.choose(self.index, task, change["new"])
            self.show_definitions()

    def _on_rule(self, change: dict[str, Any]) -> None:
        if not self._drawing:
            self.session.set_rule(self.index, change["new"])

    def _listen_to_keys(self, source):
        """An ipyevents listener on ``source``, or None where ipyevents is not installed (buttons still work)."""
        try:
            from ipyevents import Event
        except ImportError:
            return None
        listener = Event(source=source, watched_events=["keydown"], prevent_default_action=True)
        listener.on_dom_event(lambda event: self.press(event.get("key", "")))
        return listener


def _faded(text: str | None) -> str:
    return f"<p style='color:gray'>{escape(text)}</p>" if text else ""
