"""Label Studio and Argilla round trips: export with proposals, annotate as the tool would, import
back the same labels; disagreements and unsubmitted work never become labels."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from toolkit.errors import LabelError
from toolkit.labels import load_schema
from toolkit.labels.interchange import (
    argilla_records,
    argilla_settings,
    decisions_from_argilla,
    decisions_from_label_studio,
    label_studio_config,
    label_studio_tasks,
)

from tests.test_cli import run_cli

TASKS = ("topic", "actor", "stance")


@pytest.fixture
def schema(labels_dir):
    return load_schema(labels_dir)


def _rows():
    # Sentences written for this test.
    return [
        {"id": "brief:1", "letter_id": "brief", "text": "De Raad sprak over Libië.", "section": "Libië", "previous": None,
         "next": "Dat was nodig.", "proposal": {"topic": "southern_flank", "actor": "eu", "stance": "neutral"},
         "confidence": {"topic": 0.8, "actor": 0.7, "stance": 0.6}, "source": dict.fromkeys(TASKS, "model:run-a")},
        {"id": "brief:2", "letter_id": "brief", "text": "Dat was nodig.", "section": "Libië", "previous": "De Raad sprak over Libië.",
         "next": None, "proposal": {"topic": "southern_flank", "actor": "netherlands", "stance": "support"},
         "source": dict.fromkeys(TASKS, "rule")},
    ]


def _choices(labels):
    return [{"from_name": task, "to_name": "text", "type": "choices", "value": {"choices": [labels[task]]}} for task in TASKS]


def test_label_studio_round_trip(schema):
    tasks = label_studio_tasks(_rows(), schema)
    assert tasks[0]["data"]["text"] == "De Raad sprak over Libië." and tasks[0]["data"]["previous"] == ""
    (prediction,) = tasks[0]["predictions"]
    assert prediction["model_version"] == "model:run-a" and prediction["score"] == pytest.approx(0.7)
    assert "annotations" not in tasks[0]  # proposals are predictions, never annotations
    chosen = {"topic": "southern_flank", "actor": "eu", "stance": "critical"}
    tasks[0]["annotations"] = [{"completed_by": {"id": 3, "email": "a@uni.nl"}, "was_cancelled": False,
                                "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-01T10:05:00Z",
                                "result": _choices(chosen)}]
    tasks[1]["annotations"] = [{"completed_by": 4, "was_cancelled": True, "result": _choices(_rows()[1]["proposal"])}]
    assert decisions_from_label_studio(tasks, schema) == [
        {"id": "brief:1", **chosen, "annotator": "a@uni.nl", "time": "2026-12-01T10:05:00Z"}
    ]
    tasks[0]["annotations"].append({"completed_by": 5, "result": _choices({**chosen, "stance": "support"})})
    with pytest.raises(LabelError, match="annotators disagree.*a@uni.nl, label-studio:5"):
        decisions_from_label_studio(tasks, schema)


def test_label_studio_config_offers_every_class_with_its_description(schema):
    view = ET.fromstring(label_studio_config(schema))
    controls = {choices.get("name"): choices for choices in view.iter("Choices")}
    assert set(controls) == set(TASKS)
    for task in TASKS:
        assert [c.get("value") for c in controls[task].iter("Choice")] == list(schema.tasks[task].classes)
        assert all(c.get("hint") for c in controls[task].iter("Choice"))
        assert controls[task].get("toName") == "text"


def test_argilla_round_trip(schema):
    records = argilla_records(_rows(), schema)
    assert records[0]["suggestions"]["stance"] == {"value": "neutral", "score": 0.6, "agent": "model:run-a"}
    assert records[0]["responses"] == {} and records[0]["metadata"] == {"letter_id": "brief"}
    chosen = {"topic": "southern_flank", "actor": "netherlands", "stance": "support"}
    records[1]["responses"] = {task: [{"value": label, "user_id": "u-7"}] for task, label in chosen.items()}
    assert decisions_from_argilla(records, schema) == [{"id": "brief:2", **chosen, "annotator": "argilla:u-7"}]
    records[1]["responses"]["stance"].append({"value": "critical", "user_id": "u-8"})
    with pytest.raises(LabelError, match="record 2 \\(brief:2\\)"):
        decisions_from_argilla(records, schema)
    questions = {q["name"]: q for q in argilla_settings(schema)["questions"]}
    assert list(questions["actor"]["labels"]) == list(schema.tasks["actor"].classes)


@pytest.mark.parametrize("tool", ["label-studio", "argilla"])
def test_cli_round_trip_gives_back_the_same_labels(tiny_labels_dir, tmp_path, tool):
    letter = sorted((tiny_labels_dir / "annotations").glob("*.jsonl"))[0]
    original = [json.loads(line) for line in letter.read_text(encoding="utf-8").splitlines()]
    letter.unlink()
    exported = run_cli("labels", "export", "--format", tool, "--letters", letter.stem, "--out", str(tmp_path / tool),
                       "--labels-dir", str(tiny_labels_dir))
    assert exported.returncode == 0, exported.stderr
    by_id = {row["id"]: row for row in original}
    if tool == "label-studio":
        path = tmp_path / tool / "tasks.json"
        items = json.loads(path.read_text(encoding="utf-8"))
        assert (tmp_path / tool / "labeling-config.xml").exists()
        for item in items:
            item["annotations"] = [{"completed_by": 1, "result": _choices(by_id[item["data"]["id"]])}]
    else:
        path = tmp_path / tool / "records.json"
        items = json.loads(path.read_text(encoding="utf-8"))
        for item in items:
            item["responses"] = {task: [{"value": by_id[item["id"]][task], "user_id": "u1"}] for task in TASKS}
    path.write_text(json.dumps(items), encoding="utf-8")
    imported = run_cli("labels", "import", "--format", tool, str(path), "--labels-dir", str(tiny_labels_dir))
    assert imported.returncode == 0, imported.stderr
    assert f"{len(original)} added" in imported.stdout
    back = [json.loads(line) for line in letter.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], *(r[t] for t in TASKS)) for r in back] == [(r["id"], *(r[t] for t in TASKS)) for r in original]
    again = run_cli("labels", "import", "--format", tool, str(path), "--labels-dir", str(tiny_labels_dir))
    assert again.returncode == 0 and f"0 added, {len(original)} kept, 0 changed" in again.stdout
