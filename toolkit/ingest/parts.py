"""The parts of a letter: takes its paragraphs after the head, gives the covering letter's body,
the signature and the annexes (each with its title), so that no text after a signature is lost.

Most real reports and annotated agendas are a short covering letter ("Hierbij bied ik u het
verslag aan …"), signed, followed by the report itself as an annex with a title of its own
(``VERSLAG RAAD BUITENLANDSE ZAKEN …``, ``GEANNOTEERDE AGENDA …``) and its own headings. The
signature ends where the names end; whatever follows is annex text. A line "Bijlage", "Bijlage 2"
or "Bijlage: …" also starts an annex, with or without a signature before it.

The rules work on lines, so they hold for PDF dumps (blank lines between paragraphs), web copies
(one line per paragraph) and lines of signature run together ("De Minister van Buitenlandse
Zaken, W.B. Hoekstra").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "Annex",
    "LetterParts",
    "is_annex_marker",
    "is_closing_formula",
    "is_signature_function",
    "is_title_line",
    "signers",
    "split_parts",
]

_FUNCTION = r"(?:De|Het)\s+(?:[Mm]inister(?:-[Pp]resident)?|[Ss]taatssecretaris|[Ee]erste\s+[Mm]inister)\b"
# "De Minister van Buitenlandse Zaken," (also several functions on one line).
_SIGNATURE_FUNCTION = re.compile(rf"^{_FUNCTION}[^.]*,\s*$")
# "De Minister van Buitenlandse Zaken, W.B. Hoekstra": function and name on one line.
_INITIALS = r"(?:(?:drs|mr|dr|ir|prof|ing)\.\s*)*(?:[A-Z][a-z]{0,2}\.\s*-?\s*)+"
_ONE_LINE_SIGNATURE = re.compile(rf"^{_FUNCTION}[^.]*?,\s*{_INITIALS}[A-Z][\w'’ -]+$")
_CLOSING_FORMULA = re.compile(r"^(?:Hoogachtend|Met vriendelijke groet(?:en)?|Met de meeste hoogachting)\s*,?\s*$")
_ANNEX_MARKER = re.compile(r"^(?:Bijlage|BIJLAGE)(?:\s+(?:\d{1,2}|[IVX]{1,4}))?\s*(?:[:.–-]\s*(?P<title>.+))?$")
_TITLE_WORDS = re.compile(r"^(?:VERSLAG|GEANNOTEERDE AGENDA|AGENDA|NOTITIE|NOTA|ANNOTATIE|OVERZICHT|BIJLAGE|AANVULLENDE)\b")
# A title in ordinary capitals ("Geannoteerde agenda Raad Buitenlandse Zaken van 20 januari 2020").
_TITLE_START = re.compile(r"^(?:Verslag|Geannoteerde agenda|Agenda|Notitie|Annotatie|Overzicht|Aanvullende informatie)\b")
_SENTENCE_END = (".", "!", "?", ":", ";")


def is_closing_formula(line: str) -> bool:
    return bool(_CLOSING_FORMULA.match(line.strip()))


def is_signature_function(line: str) -> bool:
    """A signing function line, with or without the name on the same line."""
    line = line.strip()
    return bool(_SIGNATURE_FUNCTION.match(line) or _ONE_LINE_SIGNATURE.match(line))


def is_annex_marker(line: str) -> bool:
    line = line.strip()
    return len(line) <= 160 and bool(_ANNEX_MARKER.match(line))


def is_title_line(line: str) -> bool:
    """An annex title: a line in capitals ("VERSLAG RAAD BUITENLANDSE ZAKEN VAN …")."""
    line = line.strip()
    letters = [c for c in line if c.isalpha()]
    if len(letters) < 6 or len(line) > 200 or line.endswith("."):
        return False
    upper = sum(c.isupper() for c in letters) / len(letters)
    return upper >= 0.8 and len(line.split()) >= 2


def _is_name(line: str) -> bool:
    """A signer's name: short, no sentence punctuation, not a title in capitals."""
    line = line.strip()
    if not line or len(line) > 60 or line.endswith(_SENTENCE_END + (",",)) or is_title_line(line):
        return False
    if is_annex_marker(line) or not line[0].isupper():
        return False
    return len(line.split()) <= 8


@dataclass(frozen=True)
class Annex:
    """One annex: its title (None when it has none) and its paragraphs, each a list of lines."""

    title: str | None
    paragraphs: list[list[str]]
    #: Lines that announce the annex ("Bijlage 1") before its title.
    markers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LetterParts:
    body: list[list[str]]
    signature: list[list[str]]
    annexes: list[Annex]


def _ends_sentence(line: str) -> bool:
    return line.rstrip().rstrip("\"”’')]").endswith(_SENTENCE_END)


def _signature_start(paragraphs: list[list[str]]) -> tuple[int, int] | None:
    """Where the first signature starts: (paragraph, line), or None."""
    lines = [(p, i, line) for p, paragraph in enumerate(paragraphs) for i, line in enumerate(paragraph)]
    for position, (p, i, line) in enumerate(lines):
        if p == 0 and i == 0:
            continue  # a letter does not start with its signature
        if i > 0 and not _ends_sentence(paragraphs[p][i - 1]):
            continue  # in the middle of a wrapped sentence
        after = [text for _, _, text in lines[position + 1 : position + 3]]
        if is_closing_formula(line) or _ONE_LINE_SIGNATURE.match(line.strip()):
            return p, i
        if _SIGNATURE_FUNCTION.match(line.strip()):
            if not after or _is_name(after[0]) or is_signature_function(after[0]):
                return p, i
    return None


def _take_signature(paragraphs: list[list[str]]) -> tuple[list[list[str]], list[list[str]]]:
    """Split paragraphs that start with a signature into (signature, what follows)."""
    signature: list[list[str]] = []
    expect_name = False
    names_in_a_row = 0
    for p, paragraph in enumerate(paragraphs):
        taken: list[str] = []
        for i, line in enumerate(paragraph):
            text = line.strip()
            if is_closing_formula(text) or _ONE_LINE_SIGNATURE.match(text):
                expect_name, names_in_a_row = False, 0
            elif _SIGNATURE_FUNCTION.match(text):
                expect_name, names_in_a_row = True, 0
            elif _is_name(text) and (expect_name or 0 < names_in_a_row < 2):
                expect_name, names_in_a_row = False, names_in_a_row + 1
            else:
                if taken:
                    signature.append(taken)
                rest = ([paragraph[i:]] if i < len(paragraph) else []) + paragraphs[p + 1 :]
                return signature, rest
            taken.append(line)
        signature.append(taken)
    return signature, []


def _annexes(paragraphs: list[list[str]]) -> list[Annex]:
    """Annexes in what follows a signature (or a "Bijlage" line)."""
    annexes: list[Annex] = []
    current: list[list[str]] = []
    markers: list[str] = []
    title: str | None = None

    def close() -> None:
        if current or title or markers:
            annexes.append(Annex(title, list(current), list(markers)))

    for paragraph in paragraphs:
        first = paragraph[0].strip()
        if len(paragraph) == 1 and is_annex_marker(first) and (current or title):
            close()
            current, markers, title = [], [], None
        if len(paragraph) == 1 and is_annex_marker(first) and not current and title is None:
            marked = _ANNEX_MARKER.match(first).group("title")
            markers.append(first)
            if marked:
                title = marked.strip()
            continue
        joined = " ".join(line.strip() for line in paragraph)
        plain_title = _TITLE_START.match(joined) and len(joined) <= 200 and not joined.endswith(_SENTENCE_END)
        if title is None and not current and (is_title_line(joined) or plain_title):
            title = joined
            continue
        if is_title_line(joined) and _TITLE_WORDS.match(joined) and current:
            close()  # a second annex with a title of its own
            current, markers, title = [], [], joined
            continue
        current.append(paragraph)
    close()
    return annexes


def split_parts(paragraphs: list[list[str]]) -> LetterParts:
    """The covering letter's body, its signature and its annexes."""
    marker_at = next(
        (p for p, paragraph in enumerate(paragraphs) if p > 0 and len(paragraph) == 1 and is_annex_marker(paragraph[0])),
        None,
    )
    start = _signature_start(paragraphs if marker_at is None else paragraphs[:marker_at])
    if start is None:
        if marker_at is None:
            return LetterParts(paragraphs, [], [])
        return LetterParts(paragraphs[:marker_at], [], _annexes(paragraphs[marker_at:]))
    p, i = start
    body = paragraphs[:p] + ([paragraphs[p][:i]] if i > 0 else [])
    signature, rest = _take_signature([paragraphs[p][i:]] + paragraphs[p + 1 :])
    return LetterParts(body, signature, _annexes(rest))


def signers(signature: list[list[str]]) -> list[list[str]]:
    """The signature's lines grouped per signer (function and name), whatever the line breaks;
    a closing formula ("Met vriendelijke groet,") is a group of its own."""
    groups: list[list[str]] = []
    for line in (line.strip() for paragraph in signature for line in paragraph):
        if not line:
            continue
        if not groups or is_closing_formula(line) or is_signature_function(line) or is_closing_formula(groups[-1][0]):
            groups.append([line])
        else:
            groups[-1].append(line)
    return groups
