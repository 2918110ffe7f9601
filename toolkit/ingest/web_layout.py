"""Letters copied from web pages: takes the lines of a text, gives the page's furniture (kept
apart, never silently dropped) and paragraphs recovered from text with single line breaks.

Text saved from parliament's document pages and their mirrors differs from a PDF dump:

* **furniture** around the letter: navigation ("[overzicht] [activiteiten] …"), document
  metadata ("Nummer: 2021D25732, datum: …", "Onderdeel van zaak …", "Directe link naar
  document", "Preview document"), metadata lists ("- Indiener: …", "- 2024-05-15 12:30: …"),
  breadcrumbs ("U bent hier:"), tables of publication data ("Datum publicatie | Organisatie |"),
  source lines ("Source: …, published on …"), sharing links, and the ministry's address block;
* **one line break between paragraphs** and no blank lines, so headings, head lines and list
  items would otherwise run into the next sentence.

Furniture is recognised by its form and kept as ``furniture`` records a user can inspect.
"""

from __future__ import annotations

import re

__all__ = ["FURNITURE", "furniture_lines", "is_furniture", "is_item_start", "single_break_paragraphs", "uses_single_breaks"]

# Lines that are page furniture wherever they stand.
FURNITURE = re.compile(
    r"^(?:"
    r"(?:\[[^\]\n]{1,40}\]\s*){3,}"  # navigation: [overzicht] [activiteiten] [besluiten] …
    r"|Nummer:\s*\d{4}D\d+\b.*"  # Nummer: 2021D25732, datum: …, bijgewerkt: …, versie: 3
    r"|\d{4}D\d{4,6}$"
    r"|Directe link naar (?:het )?document\b.*"
    r"|(?:link naar pagina op de Tweede Kamer site|officiële HTML versie)\b.*"
    r"|Gerelateerde personen:.*"
    r"|Onderdeel van (?:kamerstukdossier|zaak|activiteiten|dossier)\b.*"
    r"|Preview document\b.*"
    r"|-\s*(?:Indiener|Medeindiener|Voortouwcommissie|Volgcommissie|Eerste ondertekenaar|Mede ondertekenaar"
    r"|Ondertekenaar|Besluit|Status|Bijlage bij)\s*:.*"
    r"|-\s*\d{4}-\d{2}-\d{2}\b.*"  # - 2025-05-15 12:30: Procedurevergadering …
    r"|Stemmingen en besluiten:.*"
    r"|U bent hier:?.*"
    r"|(?:Datum publicatie|Organisatie|Vergaderjaar|Dossier- en ondernummer)\s*\|.*"
    r"|[-|: ]{3,}"  # table rule ---|---|---
    r"|[^|\n]{0,60}(?:\|[^|\n]{0,60}){2,}\|?"  # a row of a publication-data table
    r"|Source:\s.*\bpublished on\b.*"
    r"|Bron:\s.*\bgepubliceerd op\b.*"
    r"|Met dank overgenomen van\b.*"
    r"|(?:Delen|Printen|Download(?:en)?|Terug naar boven|Meer over\.*|Inhoudsopgave|Inhoud|Zoeken|Menu)$"
    r"|Brief regering\s*:\s.*"  # page title on tweedekamer.nl: "Brief regering : <onderwerp>"
    r"|Kamerstuk$"
    r"|\d{2}-\d{2}-\d{4}\s*\|.*"  # 11-03-2009 | Kamerstuk | …
    r")$"
)
# The ministry's address block (at the foot of a web copy, or as a side column).
_ADDRESS = re.compile(
    r"^\*?\s*(?:Postbus \d+|\d{4}\s?[A-Z]{2}\s+\S.*|Tel\.?(?:efoon)?\s*[:.]?\s*[\d+ ()-]{6,}|Fax\s*[:.]?\s*[\d+ ()-]{6,}"
    r"|Internet:\s*\S+|E-?mail:\s*\S+|www\.\S+|(?:Bezuidenhoutseweg|Rijnstraat|Kalvermarkt|Turfmarkt|Lange Voorhout)\s+\d+.*"
    r"|Ministerie van [A-Z][\w-]*(?: (?:[a-z]+ )?[A-Z][\w-]*)*)$"
)
_BULLET = re.compile(r"^(?:[–•▪·*-]|\d{1,2}[.)]|[a-z][.)])\s+\S")
_LONE_MARKER = re.compile(r"^(?:[–•▪·*-]|\d{1,2}[.)])$")
_SENTENCE_END = (".", "!", "?", ":", ";")


def is_furniture(line: str, *, at_edge: bool = False) -> bool:
    """Page furniture; address-block lines count only at the edges of the text (``at_edge``)."""
    line = line.strip()
    if not line:
        return False
    if FURNITURE.match(line):
        return True
    return at_edge and bool(_ADDRESS.match(line))


def is_item_start(line: str) -> bool:
    """A bulleted or numbered list item ("- …", "• …", "1. …", "a) …")."""
    return bool(_BULLET.match(line.strip()))


def uses_single_breaks(lines: list[str]) -> bool:
    """Whether paragraphs are separated by single line breaks (few blank lines, many lines)."""
    filled = [line for line in lines if line.strip()]
    blank = len(lines) - len(filled)
    return len(filled) >= 8 and blank < 0.08 * len(filled)


def _ends_sentence(line: str) -> bool:
    return line.rstrip().rstrip("\"”’')]").rstrip("0123456789¹²³⁴⁵⁶⁷⁸⁹⁰").endswith(_SENTENCE_END) or line.rstrip().endswith(
        _SENTENCE_END
    )


# Abbreviations that end a wrapped line in mid-sentence ("… (Kamerstuk 33 694, nr." / "30).").
_NEVER_FINAL = re.compile(r"(?:\b(?:nr|nrs|art|blz|jl|a\.s|o\.a|bijv|d\.w\.z|e\.a|vs|ca|zgn|mr|drs|dr|ir|prof|mevr|dhr)|\b[A-Z])\.$")


def _starts_anew(line: str) -> bool:
    line = line.lstrip()
    first = line[:1]
    return bool(first) and (first.isupper() or first in "\"„“‘'(•–-*" or is_item_start(line))


def single_break_paragraphs(lines: list[str], full_line_length: int, is_special) -> list[list[str]]:
    """Paragraphs of text whose paragraphs are separated by single line breaks.

    A line ends its paragraph when it ends a sentence (or a list intro with ":") and the next
    line starts anew, when it is short and unpunctuated like a heading, or when ``is_special``
    says it stands alone (head lines, signature lines, annex titles). A list item always starts
    a paragraph of its own; a lone "1." or "–" is joined to the item text after it. Lines
    wrapped at a fixed width are joined again.
    """
    paragraphs: list[list[str]] = []
    current: list[str] = []
    pending_marker: str | None = None
    for index, raw in enumerate(lines):
        line = raw.strip()
        if not line:
            if current:
                paragraphs.append(current)
                current = []
            continue
        if _LONE_MARKER.match(line):
            if current:
                paragraphs.append(current)
                current = []
            pending_marker = line
            continue
        if pending_marker is not None:
            line, pending_marker = f"{pending_marker} {line}", None
        following = next((later.strip() for later in lines[index + 1 :] if later.strip()), "")
        alone = is_special(line)
        short = len(line) < 0.75 * full_line_length if full_line_length else True
        heading = short and not _ends_sentence(line) and len(line.split()) <= 12 and _starts_anew(following)
        if current and (alone or is_item_start(line)):
            paragraphs.append(current)
            current = []
        current.append(line)
        ends = _ends_sentence(line) and not _NEVER_FINAL.search(line)
        if alone or heading or not following or (ends and _starts_anew(following)):
            paragraphs.append(current)
            current = []
    if current:
        paragraphs.append(current)
    return paragraphs


def _is_anchor(line: str, is_head) -> bool:
    """A line that certainly belongs to the letter: a head line or a full sentence."""
    if is_head(line):
        return True
    return len(line.split()) >= 6 and _ends_sentence(line) and not is_furniture(line)


def furniture_lines(lines: list[str], is_head) -> set[int]:
    """Indices of the furniture lines of a text.

    Lines of the forms in :data:`FURNITURE` anywhere; when such a line stands before the first
    line that certainly belongs to the letter (``is_head`` or a full sentence), every line
    before it too (page titles and labels around the metadata); and address-block lines at the
    foot of the text.
    """
    found = {index for index, line in enumerate(lines) if is_furniture(line)}
    anchor = next((index for index, line in enumerate(lines) if line.strip() and _is_anchor(line.strip(), is_head)), len(lines))
    if any(index < anchor for index in found):
        last = max(index for index in found if index < anchor)
        found.update(index for index in range(last) if lines[index].strip())
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index].strip()
        if not line:
            continue
        if not is_furniture(line, at_edge=True):
            break
        found.add(index)
    return found
