"""The seed letter laid out as real copies of it come: a covering letter plus annex, and text
saved from web pages (one line break between paragraphs, page metadata around it).

The words are the seed letter's own (the original, unchanged); only the layout changes, so every
variant must give the seed's 96 body sentences, 7 headings, 2 footnotes and its signature. The
variants are built from the blocks of the seed as read from its PDF dump (checked separately
against the hand-made gold cut), with the footnote markers put back where they stood.
"""

from __future__ import annotations

import textwrap

from toolkit.records import Letter


def _blocks_with_markers(letter: Letter) -> list[tuple[str, str]]:
    """``(kind, text)`` per block, footnote numbers glued back after the word they follow."""
    markers = sorted((note.marker_offset, note.number) for note in letter.footnotes if note.marker_offset is not None)
    blocks, offset = [], 0
    for block in letter.blocks:
        text = block.text
        for position, number in reversed([(m - offset, n) for m, n in markers if offset <= m <= offset + len(text)]):
            text = text[:position] + number + text[position:]
        blocks.append((block.kind, text))
        offset += len(block.text) + 2
    return blocks


ANNEX_TITLE = "VERSLAG VAN DE NAVO-MINISTERIËLE VAN 4 EN 5 DECEMBER 2018"


def as_cover_and_annex(letter: Letter) -> str:
    """The first paragraph as a covering letter, signed; the rest as its annex under a title."""
    blocks = _blocks_with_markers(letter)
    head = [text for kind, text in blocks if kind == "head"]
    body = [(kind, text) for kind, text in blocks if kind in ("body", "heading")]
    signature = next(text for kind, text in blocks if kind == "signature")
    notes = [f"{note.number} {note.text}" for note in letter.footnotes]
    out = head + [body[0][1], signature, ANNEX_TITLE] + [text for _, text in body[1:]] + notes
    return "\n\n".join(out) + "\n"


FURNITURE_ABOVE = [
    "[overzicht] [activiteiten] [besluiten] [kamerleden] [zoeken]",
    "Verslag NAVO-bijeenkomst",
    "Brief regering",
    "Nummer: 2018D99999, datum: 2018-12-12, bijgewerkt: 2018-12-13 09:00, versie: 2",
    "Directe link naar document (.pdf), link naar pagina op de Tweede Kamer site.",
    "Gerelateerde personen:",
    "- Indiener: S.A. Blok, minister van Buitenlandse Zaken",
    "Onderdeel van zaak 2018Z99999:",
    "- Voortouwcommissie: vaste commissie voor Buitenlandse Zaken",
    "- 2018-12-19 10:00: Procedurevergadering (Procedurevergadering), vaste commissie voor Buitenlandse Zaken",
    "Preview document (origineel)",
]
FURNITURE_BELOW = ["* Ministerie van Buitenlandse Zaken", "* Postbus 20061", "* 2500 EB Den Haag", "Delen", "Terug naar boven"]


def as_web_copy(letter: Letter, *, wrap: int | None = None, furniture: bool = True) -> str:
    """Text saved from a document page: single line breaks, footnotes listed at the end, page
    metadata around the letter (``furniture``); with ``wrap``, lines are wrapped at that width."""
    lines: list[str] = list(FURNITURE_ABOVE) if furniture else []
    for kind, text in _blocks_with_markers(letter):
        if kind == "footnote":
            continue
        if kind == "signature" or not wrap:
            lines += text.split("\n")
        else:
            lines += textwrap.wrap(text, wrap, break_long_words=False, break_on_hyphens=False)
    lines += [f"{note.number} {note.text}" for note in letter.footnotes]
    if furniture:
        lines += FURNITURE_BELOW
    return "\n".join(lines) + "\n"
