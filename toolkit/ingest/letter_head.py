"""The letter head: takes the first lines of a letter, gives its metadata (number, title, sender,
date, type) and where the head ends.

Shared by every reader: PDF text, PDF, official XML and HTML put the same parts in different
places, but they read the same way (``BRIEF VAN DE MINISTER …``, "Den Haag, 12 december 2018",
"Geachte voorzitter,"). The signature and the annexes are in :mod:`.parts`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "TITLE_LINE",
    "HeadInfo",
    "dutch_date",
    "is_head_paragraph",
    "parse_head",
    "salutation_paragraph",
    "sender_from_title",
]

TITLE_LINE = re.compile(
    r"^(?:Nr\.\s*(?P<number>\d+)\s+)?(?P<title>(?:BRIEF|GEANNOTEERDE AGENDA|VERSLAG|NOTA|MEMORIE|LIJST)\b.*)$"
)
_HEAD_LINE_PATTERNS = (
    re.compile(r"^Aan de (?:Voorzitter|voorzitter|leden)\b"),
    re.compile(r"^(?:Den Haag|'s-Gravenhage|Brussel)\s*,?\s*\d{1,2}\s+\w+\s+\d{4}\s*$"),
    re.compile(r"^(?:Tweede|Eerste) Kamer der Staten-Generaal\b"),
    re.compile(r"^Vergaderjaar\s+\d{4}"),
    re.compile(r"^\d{2}\s?\d{3}(?:-[A-Z0-9]+)?\s+\S"),  # dossier line "28 676 NAVO"
    re.compile(r"^Geachte\s+(?:voorzitter|Voorzitter)"),
)

_DUTCH_MONTHS = {
    name: number
    for number, name in enumerate(
        "januari februari maart april mei juni juli augustus september oktober november december".split(), 1
    )
}
_DATE_IN_TEXT = re.compile(r"(\d{1,2})\s+(" + "|".join(_DUTCH_MONTHS) + r")\s+(\d{4})")
_LOWERCASE_WORDS = frozenset({"van", "de", "het", "en", "voor", "der", "den", "op", "in"})


@dataclass(frozen=True)
class HeadInfo:
    """Metadata read from a letter head."""

    number: str | None = None
    title: str | None = None
    sender: str | None = None
    date: str | None = None
    type: str | None = None


def sender_from_title(title: str | None) -> str | None:
    """``BRIEF VAN DE MINISTER VAN BUITENLANDSE ZAKEN`` → ``Minister van Buitenlandse Zaken``."""
    if not title or not title.startswith("BRIEF VAN "):
        return None
    words = re.sub(r"^BRIEF VAN (?:DE |HET )?", "", title).lower().split()
    return " ".join(word if word in _LOWERCASE_WORDS else word.capitalize() for word in words)


_LABELLED_DATE = re.compile(r"^Datum\b")
_SUBJECT = re.compile(r"^Betreft\s*:?\s*(?P<subject>.*)$")


def dutch_date(text: str) -> str | None:
    """The first date written out in Dutch ("12 december 2018") as ISO ``2018-12-12``, else None."""
    found = _DATE_IN_TEXT.search(text)
    if found is None:
        return None
    day, month, year = found.groups()
    return f"{int(year):04d}-{_DUTCH_MONTHS[month]:02d}-{int(day):02d}"


def parse_head(head_lines: list[str]) -> HeadInfo:
    """Read number, title, sender, date and document type from head lines."""
    number = title = sender = date = doc_type = None
    for position, line in enumerate(head_lines):
        following = head_lines[position + 1] if position + 1 < len(head_lines) else ""
        if _LABELLED_DATE.match(line) and date is None:
            date = dutch_date(line) or (dutch_date(following) if line.strip() == "Datum" else None)
            continue
        subject = _SUBJECT.match(line)
        if subject and title is None:
            title = subject.group("subject").strip() or following.strip() or None
            doc_type = "Brief regering"
            continue
        title_match = TITLE_LINE.match(line)
        if title_match and title is None:
            number = title_match.group("number")
            title = title_match.group("title").strip()
            if title.startswith("BRIEF VAN "):
                doc_type = "Brief regering"
                sender = sender_from_title(title)
            elif title.startswith("GEANNOTEERDE AGENDA"):
                doc_type = "Brief regering"
            continue
        if date is None and _HEAD_LINE_PATTERNS[1].match(line):
            date = dutch_date(line)
    return HeadInfo(number=number, title=title, sender=sender, date=date, type=doc_type)


_SALUTATION = re.compile(r"^Geachte\s+(?:voorzitter|Voorzitter|leden|heer|mevrouw)\b.*,\s*$")
_SALUTATION_WITHIN = 25  # paragraphs: a letter head is never longer


def salutation_paragraph(paragraphs: list[list[str]]) -> int | None:
    """Index of the paragraph that ends with "Geachte voorzitter," near the top, if any."""
    for index, paragraph in enumerate(paragraphs[:_SALUTATION_WITHIN]):
        if _SALUTATION.match(paragraph[-1]):
            return index
    return None


def is_head_paragraph(paragraph: list[str]) -> bool:
    first = paragraph[0]
    return bool(TITLE_LINE.match(first)) or any(pattern.match(first) for pattern in _HEAD_LINE_PATTERNS)
