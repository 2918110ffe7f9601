"""Carry labels over to sentences whose wording was revised (kept to show what was done; rerunnable).

After the surface revision of corpus v2 (near-duplicate sentences rephrased, dates and numbers
added; the same lines in the same order, each keeping its topic, actor and stance), a revised
sentence has a new id. Its stored row keeps its labels, moves to the new id and text, and records
the old wording under ``text_revisions``; blind re-labels of it move to the new id too. A letter whose number of body sentences changed is an
error: then labels cannot be carried by position.

    python labels/v2/carry_labels.py
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from toolkit.corpus import read_default_letters
from toolkit.files import read_jsonl, write_jsonl
from toolkit.segment import body_sentences

LABELS = Path(__file__).resolve().parents[1]


def main() -> None:
    sentences = body_sentences(read_default_letters(LABELS))
    by_letter: dict[str, list] = {}
    for sentence in sentences:
        by_letter.setdefault(sentence.letter_id, []).append(sentence)
    when = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    revised = 0
    renamed: dict[str, str] = {}
    for path in sorted((LABELS / "annotations").glob("*.jsonl")):
        rows = read_jsonl(path)
        current = by_letter.get(path.stem, [])
        if len(rows) != len(current):
            raise SystemExit(f"{path.stem}: {len(rows)} labelled rows but {len(current)} body sentences; labels cannot be carried")
        for row, sentence in zip(rows, current):
            if row["id"] == sentence.id:
                continue
            row.setdefault("text_revisions", []).append(
                {"from": row["text"], "why": "surface revision of corpus v2 (rephrased near-duplicate, or date/number added)", "time": when}
            )
            renamed[row["id"]] = sentence.id
            row["id"], row["text"] = sentence.id, sentence.text
            revised += 1
        write_jsonl(path, rows)
    for path in sorted((LABELS / "reliability").glob("*.jsonl")):  # the blind re-labels follow their sentences
        rows = read_jsonl(path)
        for row in rows:
            row["id"] = renamed.get(row["id"], row["id"])
        write_jsonl(path, rows)
    print(f"carried the labels of {revised} revised sentences")


if __name__ == "__main__":
    main()
