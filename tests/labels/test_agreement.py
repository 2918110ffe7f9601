"""Disagreements between the stored labels and a second annotator or a run, and their
adjudication through `labels revise` (who decided, what and why)."""

from __future__ import annotations

import json

from toolkit.labels.agreement import disagreements

from tests.test_cli import run_cli


def test_disagreements_list_each_task_where_the_other_differs():
    stored = [{"id": "a", "letter_id": "l", "text": "Zin a.", "topic": "russia", "stance": "critical"},
              {"id": "b", "letter_id": "l", "text": "Zin b.", "topic": "other", "stance": "neutral"}]
    other = [{"id": "a", "topic": "russia", "stance": "neutral"}, {"id": "b", "topic": "procedure"}, {"id": "c", "topic": "x"}]
    rows = disagreements(stored, other, ["topic", "stance"], "second")
    assert [(r["id"], r["task"], r["old"], r["other"]["label"]) for r in rows] == [
        ("a", "stance", "critical", "neutral"), ("b", "topic", "other", "procedure")]
    assert all(r["new"] is None and r["other"]["by"] == "second" for r in rows)


def test_an_adjudicator_decides_and_the_store_records_who_and_why(tiny_labels_dir, tmp_path):
    stored = [json.loads(line) for path in sorted((tiny_labels_dir / "annotations").glob("*.jsonl"))
              for line in path.read_text(encoding="utf-8").splitlines()]
    first, second = stored[0], stored[1]
    flip = {"critical": "support", "support": "neutral", "neutral": "critical"}
    (tiny_labels_dir / "reliability").mkdir(exist_ok=True)
    second_opinion = [{**first, "stance": flip[first["stance"]]}, {**second, "stance": flip[second["stance"]]}]
    (tiny_labels_dir / "reliability" / "blind-b.jsonl").write_text(
        "".join(json.dumps(row) + "\n" for row in second_opinion), encoding="utf-8")
    listed = run_cli("labels", "disagreements", "--with", "blind-b", "--labels-dir", str(tiny_labels_dir))
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["id"], r["task"]) for r in rows] == [(first["id"], "stance"), (second["id"], "stance")]

    decided = [{**rows[0], "new": rows[0]["other"]["label"], "rule": "S6", "reason": "a decision taken"},
               {**rows[1], "new": rows[1]["old"], "rule": "S3", "reason": "the stored label stands"}]
    path = tmp_path / "adjudicated.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in decided), encoding="utf-8")
    applied = run_cli("labels", "revise", str(path), "--annotator", "adjudicator", "--labels-dir", str(tiny_labels_dir))
    assert applied.returncode == 0, applied.stderr
    now = {json.loads(line)["id"]: json.loads(line) for p in (tiny_labels_dir / "annotations").glob("*.jsonl")
           for line in p.read_text(encoding="utf-8").splitlines()}
    assert now[first["id"]]["stance"] == flip[first["stance"]]
    assert now[second["id"]]["stance"] == second["stance"]
    traces = [now[first["id"]]["revisions"][-1], now[second["id"]]["revisions"][-1]]
    assert [(t["by"], t["rule"], t["reason"]) for t in traces] == [
        ("adjudicator", "S6", "a decision taken"), ("adjudicator", "S3", "the stored label stands")]
