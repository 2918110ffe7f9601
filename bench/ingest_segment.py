"""Benchmark: ingestion + segmentation throughput on 1,000 letters' worth of text.

The default corpus (PDF-text and XML letters) is repeated until the workload holds
at least --letters letters; each copy is ingested from its file contents (cleaning,
de-hyphenation, footnotes, XML parsing) and segmented. Runs in one process, so on
one core. Prints sentences per second; the target is ≥ 5,000 on one core.

    python bench/ingest_segment.py [--letters 1000]
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

from toolkit.corpus import default_labels_dir, load_manifest
from toolkit.ingest.officiele_xml import letter_from_kamerstuk_xml
from toolkit.ingest.text import letter_from_pdf_text
from toolkit.segment import segment_letter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=1000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core

    letters_dir = default_labels_dir() / "letters"
    files = [(entry.id, letters_dir / entry.file) for entry in load_manifest()]
    contents = [(letter_id, path.suffix, path.read_bytes()) for letter_id, path in files]
    workload = list(itertools.islice(itertools.cycle(contents), args.letters))
    characters = sum(len(data) for _, _, data in workload)

    segment_letter(letter_from_pdf_text(contents[0][2].decode(), letter_id="warm-up"))  # load word lists
    started = time.perf_counter()
    sentences = body = 0
    for number, (letter_id, suffix, data) in enumerate(workload):
        copy_id = f"{letter_id}-{number}"
        if suffix == ".xml":
            letter = letter_from_kamerstuk_xml(data, source=copy_id, letter_id=copy_id)
        else:
            letter = letter_from_pdf_text(data.decode("utf-8"), letter_id=copy_id)
        records = segment_letter(letter)
        sentences += len(records)
        body += sum(record.kind == "body" for record in records)
    elapsed = time.perf_counter() - started

    print(f"letters:            {len(workload)} ({characters / 1e6:.1f} MB of text, {len(contents)} distinct)")
    print(f"sentence records:   {sentences} ({body} body)")
    print(f"wall time:          {elapsed:.2f} s on one core")
    print(f"throughput:         {sentences / elapsed:,.0f} sentence records/s ({body / elapsed:,.0f} body sentences/s)")
    print(f"target:             ≥ 5,000 sentences/s -> {'met' if sentences / elapsed >= 5000 else 'NOT met'}")


if __name__ == "__main__":
    main()
