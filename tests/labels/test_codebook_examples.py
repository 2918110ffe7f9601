"""labels/CODEBOOK-EXAMPLES.md stays true to the stored labels: every example and near-miss is
quoted verbatim under its id, carries (or, for a near-miss, does not carry) its class, and comes
from a reconstructed letter, never from the seed letter whose sentences the rules quote."""

from __future__ import annotations

import re

from toolkit.labels import load_annotations, load_schema

EXAMPLE = re.compile(r'^(?P<kind>\d\.|- \*\*Near-miss:\*\*) "(?P<text>.+?)" `(?P<id>[\w-]+:[0-9a-f]{12})`(?P<rest>.*)$')


def _examples(text: str):
    task = label = None
    for line in text.splitlines():
        if line.startswith("## "):
            heading = line[3:].strip().lower()
            task = heading if heading in ("topic", "actor", "stance") else None
            label = None
        elif line.startswith("### `"):
            label = line[5:].split("`")[0]
        elif task and label and (match := EXAMPLE.match(line)):
            yield task, label, match


def test_every_example_quotes_a_stored_label(labels_dir):
    stored = {row["id"]: row for row in load_annotations(labels_dir)}
    schema = load_schema(labels_dir)
    examples = list(_examples((labels_dir / "CODEBOOK-EXAMPLES.md").read_text(encoding="utf-8")))
    assert {(task, label) for task, label, _ in examples} == {
        (task, label) for task in schema.task_names for label in schema.tasks[task].classes
    }, "two examples and a near-miss for every class"
    for task, label, match in examples:
        row = stored.get(match["id"])
        assert row is not None, f"{match['id']}: no stored label"
        assert row["text"] == match["text"], f"{match['id']}: not quoted verbatim"
        assert row["letter_id"].startswith("rec-"), f"{match['id']}: examples come from reconstructed letters"
        if match["kind"].startswith("-"):
            assert row[task] != label and f"stored as `{row[task]}`" in match["rest"], f"{match['id']}: near-miss of {label}"
        else:
            assert row[task] == label, f"{match['id']}: stored {task} is {row[task]}, not {label}"
