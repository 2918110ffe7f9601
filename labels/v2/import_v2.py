"""How corpus v2's labels came into labels/annotations (kept to show what was done; rerunnable).

Input: the decisions of the seven v2 annotators (one JSONL file per letter, from the labelling
round under codebook version 2) and the blind re-labels. For every letter the decisions are stored
with ``store_decisions`` (origin accepted/manual against the rule-based proposals, codebook 2).
Sentences that were already labelled under codebook 1 (the seed letter, and the sentences of the
rewritten letters whose text did not change) keep the trace: each task whose label changed gets a
``revisions`` entry from the version-1 label (rule "codebook 2 re-labelling").

    python labels/v2/import_v2.py DECISIONS_DIR GROUPS_JSON BLIND_LABELS
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

from toolkit.corpus import read_default_letters
from toolkit.files import read_jsonl, write_jsonl
from toolkit.labels import load_schema, store_decisions, store_reliability
from toolkit.segment import body_sentences

LABELS = Path(__file__).resolve().parents[1]
TASKS = ("topic", "actor", "stance")


def main(decisions_dir: Path, groups_path: Path, blind_path: Path) -> None:
    schema = load_schema(LABELS)
    sentences = body_sentences(read_default_letters(LABELS))
    groups = json.loads(groups_path.read_text(encoding="utf-8"))
    annotator_of = {letter: f"llm-annotator-v2-{number}" for number, letters in enumerate(groups) for letter in letters}
    v1 = {row["id"]: row for path in (LABELS / "v1" / "annotations").glob("*.jsonl") for row in read_jsonl(path)}
    now = dt.datetime(2026, 12, 6, 6, 0, tzinfo=dt.timezone.utc)
    for letter, annotator in sorted(annotator_of.items()):
        decisions = read_jsonl(decisions_dir / f"{letter}.jsonl")
        store_decisions(LABELS, schema, sentences, decisions, annotator=annotator, now=now, replace=True)
        path = LABELS / "annotations" / f"{letter}.jsonl"
        rows = read_jsonl(path)
        for row, decision in zip(rows, decisions):
            old = v1.get(row["id"])
            if decision.get("rules"):
                row["rules"] = decision["rules"]
            if old is None:
                continue
            row["revisions"] = list(old.get("revisions", [])) + [
                {"task": task, "from": old[task], "to": row[task], "rule": "codebook 2 re-labelling", "by": annotator,
                 "time": now.isoformat(timespec="seconds"), "codebook": schema.codebook}
                for task in TASKS if old[task] != row[task]
            ]
            row["first_labelled_by"] = old.get("annotator")
        write_jsonl(path, rows)
    blind = read_jsonl(blind_path)
    store_reliability(LABELS, schema, sentences, blind, annotator="llm-annotator-v2-blind", now=now)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
