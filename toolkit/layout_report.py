"""The segmentation quality report: takes a segmented letter, gives counts per kind and part, its
longest body record, and the records that look like a layout problem, before anyone labels them.

What it flags (each with the reason):

* a body record longer than 600 characters (two sentences glued, or a list swallowed);
* a body record that reads like page furniture (metadata, a table row, an address line);
* a short body record without a final punctuation mark (a heading or label taken as body);
* a body record that starts with a heading-like run of capitalised words followed by a
  sentence opener ("Rusland-Oekraïne De Raad …": a heading glued onto its paragraph);
* a letter whose covering letter ends in a signature and whose annex has no body at all.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from .ingest.web_layout import is_furniture
from .records import Letter, Sentence

__all__ = ["LayoutReport", "layout_report", "report_text"]

LONG_RECORD = 600
_OPENERS = r"(?:De|Het|Een|In|Op|Tijdens|Nederland|Ook|Daarnaast|Voorts|Hierbij|Er|Naar|Deze|Dit|Bij|Met|Zoals|Na|Voor)"
_GLUED_HEADING = re.compile(rf"^((?:[A-ZÀ-Ý][\w’'-]*|en|van|de|het|der|in|tussen|met)(?:\s+|$)){{1,6}}{_OPENERS}\s+\w")
# Words that start sentences, not headings ("Ook Nederland vindt …").
_SENTENCE_STARTERS = frozenset(
    "Ook Daarom Zo Toch Wel Dat Die Dit Deze Verder Tevens Hiermee Daarmee Daarbij Daarnaast Voorts Vervolgens Ten Tot "
    "Namens Mede Gezien Nu Aan Als Omdat Hoewel Wanneer Zowel Niet Alle Veel Enkele Sommige Verschillende Alleen".split()
)
_ENDS = (".", "!", "?", ":", ";", ")", "”", "\"", "’")


@dataclass
class LayoutReport:
    source: str
    counts: dict[tuple[str, str], int]
    longest: Sentence | None
    flags: list[tuple[Sentence, str]] = field(default_factory=list)


def _flag(record: Sentence) -> str | None:
    text = record.text
    if len(text) > LONG_RECORD:
        return f"{len(text)} characters: sentences glued together, or a list swallowed?"
    if is_furniture(text, at_edge=True) or " | " in text:
        return "looks like page furniture (metadata, a table row, an address)"
    if len(text.split()) <= 12 and not text.rstrip().endswith(_ENDS):
        return "short and unpunctuated: a heading or label read as body text?"
    match = _GLUED_HEADING.match(text)
    first = text.split()[0]
    if match and first not in _SENTENCE_STARTERS and not re.fullmatch(_OPENERS, first) and len(match.group(0).split()) >= 3:
        return "starts like a heading glued onto its paragraph"
    return None


def layout_report(letter: Letter, records: list[Sentence]) -> LayoutReport:
    counts = Counter((record.kind, record.part) for record in records)
    body = [record for record in records if record.kind == "body"]
    longest = max(body, key=lambda record: len(record.text), default=None)
    flags = [(record, reason) for record in body if (reason := _flag(record)) is not None]
    return LayoutReport(letter.source or letter.id, dict(sorted(counts.items())), longest, flags)


def report_text(report: LayoutReport) -> str:
    lines = [f"== {report.source}"]
    lines.append("  " + ", ".join(f"{kind}/{part}: {count}" for (kind, part), count in report.counts.items()))
    if report.longest is not None:
        preview = report.longest.text[:90] + ("…" if len(report.longest.text) > 90 else "")
        lines.append(f"  longest body record: {len(report.longest.text)} characters: {preview}")
    if not report.flags:
        lines.append("  no record looks like a layout problem")
    for record, reason in report.flags:
        preview = record.text[:80] + ("…" if len(record.text) > 80 else "")
        lines.append(f"  ! {record.part} #{record.index} {reason}: {preview}")
    return "\n".join(lines)
