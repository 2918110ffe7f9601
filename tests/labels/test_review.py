"""Review sessions: choices, the files they save for `labels import` / `labels revise`, and the widget."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolkit.errors import LabelError
from toolkit.segment import body_sentences
from toolkit.labels import apply_revisions, load_annotations, load_schema, propose
from toolkit.corpus import read_default_letters
from toolkit.labels.review import ReviewSession

from tests.test_cli import run_cli

LETTER = "rec-2012-01-tiny-2"


def _unlabel(labels_dir: Path, letter_id: str = LETTER) -> None:
    (labels_dir / "annotations" / f"{letter_id}.jsonl").unlink()


def _stored(labels_dir: Path) -> dict[str, dict]:
    return {row["id"]: row for row in load_annotations(labels_dir)}


def test_an_unlabelled_letter_starts_from_the_proposals_and_saves_decisions_for_import(tiny_labels_dir, tmp_path):
    _unlabel(tiny_labels_dir)
    session = ReviewSession.for_letter(tiny_labels_dir, LETTER)
    schema = load_schema(tiny_labels_dir)
    proposals = propose(schema, body_sentences(read_default_letters(tiny_labels_dir, ids=[LETTER])))
    assert session.purpose == "import" and len(session.items) == 8
    assert [item.start for item in session.items] == [{task: row[task] for task in schema.task_names} for row in proposals]
    assert session.items[0].previous is None and session.items[1].previous == session.items[0].text

    session.choose(0, "stance", "critical")
    with pytest.raises(LabelError, match="7 of 8 sentences have not been looked at"):
        session.save(tmp_path / "decisions.jsonl")
    assert not (tmp_path / "decisions.jsonl").exists()
    for index in range(8):
        session.mark_seen(index)
    saved = session.save(tmp_path / "decisions.jsonl")
    assert saved["rows"] == 8 and saved["command"].startswith("toolkit labels import")

    imported = run_cli("labels", "import", str(saved["path"]), "--annotator", "reviewer", "--labels-dir", str(tiny_labels_dir))
    assert imported.returncode == 0, imported.stderr
    first = _stored(tiny_labels_dir)[session.items[0].id]
    assert first["stance"] == "critical" and first["annotator"] == "reviewer"
    assert first["origin"]["stance"] == ("accepted" if proposals[0]["stance"] == "critical" else "manual")


def test_a_labelled_letter_saves_only_the_changes_for_revise(tiny_labels_dir, tmp_path):
    session = ReviewSession.for_letter(tiny_labels_dir, LETTER)
    stored = _stored(tiny_labels_dir)
    assert session.purpose == "revise"
    assert all(item.start == {t: stored[item.id][t] for t in ("topic", "actor", "stance")} for item in session.items)
    old = session.items[3].start["actor"]
    new = "eu" if old != "eu" else "nato"
    session.choose(3, "actor", new)
    session.set_rule(3, "  A9  ")
    session.choose(4, "topic", session.items[4].start["topic"])  # chosen again, unchanged: not a change
    saved = session.save(tmp_path / "changes.jsonl")
    rows = [json.loads(line) for line in saved["path"].read_text(encoding="utf-8").splitlines()]
    assert rows == [{"id": session.items[3].id, "task": "actor", "old": old, "new": new, "rule": "A9"}]

    schema = load_schema(tiny_labels_dir)
    sentences = body_sentences(read_default_letters(tiny_labels_dir))
    assert apply_revisions(tiny_labels_dir, schema, sentences, rows, reviser="reviewer") == 1
    revised = _stored(tiny_labels_dir)[session.items[3].id]
    assert revised["actor"] == new and revised["revisions"][-1]["rule"] == "A9"
    assert "reason" not in revised["revisions"][-1]

    back = {**rows[0], "old": new, "new": old, "reason": "the holder is named after all"}
    assert apply_revisions(tiny_labels_dir, schema, sentences, [back], reviser="second reviewer") == 1
    trace = _stored(tiny_labels_dir)[session.items[3].id]["revisions"][-1]
    assert (trace["from"], trace["to"], trace["by"], trace["reason"]) == (new, old, "second reviewer", "the holder is named after all")


def test_flagged_labels_are_reviewed_one_task_each(tiny_labels_dir, tmp_path):
    row = next(iter(_stored(tiny_labels_dir).values()))
    issue = {"id": row["id"], "letter_id": row["letter_id"], "text": row["text"], "task": "stance", "old": row["stance"],
             "new": None, "rule": None, "suggested": "neutral"}
    session = ReviewSession.for_issues(tiny_labels_dir, [issue])
    assert session.items[0].start == {"stance": row["stance"]} and session.items[0].hint == {"stance": "neutral"}
    with pytest.raises(LabelError, match="task 'topic' is not under review"):
        session.choose(0, "topic", "procedure")
    with pytest.raises(LabelError, match="'approving' is not"):
        session.choose(0, "stance", "approving")
    with pytest.raises(IndexError, match="item 1 does not exist"):
        session.choose(1, "stance", "neutral")
    assert session.save(tmp_path / "none.jsonl")["rows"] == 0


def test_bad_starts_are_refused(tiny_labels_dir):
    with pytest.raises(LabelError, match="not in"):
        ReviewSession.for_letter(tiny_labels_dir, "kst-0-0")
    with pytest.raises(LabelError, match="nothing to review"):
        ReviewSession.for_issues(tiny_labels_dir, [])
    stale = {"id": "x", "letter_id": "y", "text": "Zin.", "task": "stance", "old": "approving"}
    with pytest.raises(LabelError, match="approving"):
        ReviewSession.for_issues(tiny_labels_dir, [stale])


def test_the_widget_drives_the_session(tiny_labels_dir, tmp_path):
    widgets = pytest.importorskip("ipywidgets")
    _unlabel(tiny_labels_dir)
    session = ReviewSession.for_letter(tiny_labels_dir, LETTER)
    view = session.widget(tmp_path / "decisions.jsonl")
    header, sentence, *controls, definitions, buttons, status = view.children
    menus = {menu.description: menu for menu in controls if isinstance(menu, widgets.Dropdown)}
    previous_button, next_button, undo_button, save_button = buttons.children
    assert set(menus) == {"topic", "actor", "stance"} and "1 / 8" in header.value
    assert session.items[0].text.split()[0] in sentence.value

    before = session.choices[0]["stance"]
    menus["stance"].value = "neutral" if session.choices[0]["stance"] != "neutral" else "support"
    chosen = menus["stance"].value
    assert f"stance</b> = {chosen}" in definitions.value and "(from rule)" in definitions.value
    undo_button.click()
    assert session.choices[0]["stance"] == before and menus["stance"].value == before
    menus["stance"].value = chosen
    save_button.click()
    assert "have not been looked at" in status.value and not (tmp_path / "decisions.jsonl").exists()
    for _ in range(10):  # past the end stays on the last sentence
        next_button.click()
    assert "8 / 8" in header.value
    previous_button.click()
    assert "7 / 8" in header.value and menus["stance"].value == session.choices[6]["stance"]
    save_button.click()
    assert "toolkit labels import" in status.value
    rows = [json.loads(line) for line in (tmp_path / "decisions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rows[0]["stance"] == chosen and len(rows) == 8


_KILLED_REVIEWER = """
import sys
from toolkit.labels.review import ReviewSession
session = ReviewSession.for_letter(sys.argv[1], sys.argv[2], log=sys.argv[3], annotator="ann")
session.choose(0, "stance", "critical")
session.choose(1, "actor", "eu")
session.choose(1, "actor", "nato")
session.undo()
session.set_rule(2, "S6")
print("confirmed", flush=True)
sys.stdin.read()  # wait to be killed
"""


def test_a_killed_review_loses_no_confirmed_decision(tiny_labels_dir, tmp_path):
    import signal
    import subprocess
    import sys

    log = tmp_path / "review.log.jsonl"
    process = subprocess.Popen([sys.executable, "-c", _KILLED_REVIEWER, str(tiny_labels_dir), LETTER, str(log)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "confirmed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    with log.open("a", encoding="utf-8") as handle:
        handle.write('{"time": "2026-')  # a record torn by the crash: it never took effect
    resumed = ReviewSession.for_letter(tiny_labels_dir, LETTER, log=log, annotator="ann")
    assert resumed.choices[0]["stance"] == "critical"
    assert resumed.choices[1]["actor"] == "eu"  # the undo of "nato" is in the log too
    assert resumed.rules[2] == "S6" and {0, 1} <= resumed.seen
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()[:-1]]
    assert [r["action"] for r in records if r["action"] != "seen"] == ["choose", "choose", "choose", "undo", "rule"]
    assert all(r["annotator"] == "ann" and r["codebook"] == resumed.schema.codebook for r in records)
    assert records[0]["source"] in ("stored", "rule")


def test_a_queue_is_reviewed_and_saved_for_a_partial_import(tiny_labels_dir, tmp_path):
    rows = [json.loads(line) for line in next((tiny_labels_dir / "annotations").glob("*.jsonl")).read_text().splitlines()][:3]
    queue = [{"id": r["id"], "letter_id": r["letter_id"], "text": r["text"], "proposal": {"stance": "support"},
              "source": {"stance": "model:run-x"}} for r in rows]
    session = ReviewSession.for_queue(tiny_labels_dir, queue, log=tmp_path / "log.jsonl", annotator="ann")
    assert session.items[0].source["stance"] == "model:run-x" and session.items[0].start["stance"] == "support"
    session.choose(1, "stance", "critical")
    saved = session.save(tmp_path / "queue-decisions.jsonl")
    assert saved["rows"] == 1 and "--partial" in saved["command"]


def test_keyboard_shortcuts_move_choose_undo_and_save(tiny_labels_dir, tmp_path):
    pytest.importorskip("ipywidgets")
    from toolkit.labels.review_widget import ReviewWidget

    _unlabel(tiny_labels_dir)
    session = ReviewSession.for_letter(tiny_labels_dir, LETTER)
    widget = ReviewWidget(session, tmp_path / "decisions.jsonl")
    tasks = [task for task in session.schema.task_names if task in session.items[0].start]
    assert f"keys for <b>{tasks[0]}</b>" in widget.header.value
    widget.press("t")  # the digits now choose for the second task
    assert f"keys for <b>{tasks[1]}</b>" in widget.header.value
    classes = list(session.schema.tasks[tasks[1]].classes)
    target = 1 if session.choices[0][tasks[1]] == classes[0] else 0
    before = session.choices[0][tasks[1]]
    widget.press(str(target + 1))
    assert session.choices[0][tasks[1]] == classes[target] and widget.menus[tasks[1]].value == classes[target]
    widget.press("9" if len(classes) < 9 else "0")  # no such class: nothing changes
    widget.press("x")
    assert session.choices[0][tasks[1]] == classes[target]
    widget.press("u")
    assert session.choices[0][tasks[1]] == before
    widget.press(str(target + 1))
    widget.press("ArrowRight")
    widget.press("j")
    assert widget.index == 2 and "3 / 8" in widget.header.value
    widget.press("k")
    assert widget.index == 1
    for _ in range(8):
        widget.press("j")
    widget.press("s")
    rows = [json.loads(line) for line in (tmp_path / "decisions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 8 and rows[0][tasks[1]] == classes[target]
    assert widget.keyboard is not None  # ipyevents comes with the notebooks extra
