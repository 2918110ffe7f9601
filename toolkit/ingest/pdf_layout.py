"""The layout of letter text extracted from PDF: takes the text of a PDF dump, gives the letter's
blocks (head, headings, paragraphs, list items, signature) and its footnotes.

PDF extraction leaves the layout of the printed page in the text: words hyphenated
at line ends (undone by :mod:`.hyphens`), footnotes printed at the foot of a page in the middle of a running
sentence, footnote markers glued to words, a letter head and a signature. This
module undoes that layout and returns the letter's structure as :class:`Block`
records plus its :class:`Footnote` records, ready for segmentation.

Conventions of the extracted text this module reads:

* a line that starts with a single space, or the first line after a form feed
  (``\\f``), starts a new page (that is how the extraction of the seed letter marks
  page breaks);
* footnotes sit at the end of a page, after a blank line, each starting with its
  number (``1 Raadpleegbaar via …``), and are numbered 1, 2, … through the letter.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from ..errors import IngestError
from ..lexicon import zipf as word_frequency
from ..records import Block, Footnote
from .decode import normalise_characters
from .hyphens import join_wrapped_lines
from .letter_head import TITLE_LINE, HeadInfo, is_head_paragraph, parse_head, salutation_paragraph
from .parts import is_annex_marker, is_closing_formula, is_signature_function, is_title_line, signers, split_parts
from .web_layout import furniture_lines, single_break_paragraphs, uses_single_breaks

__all__ = ["CleanedText", "clean_pdf_text"]

# ------------------------------------------------------------------ page layout

_FOOTNOTE_START = re.compile(r"^(\d{1,3})\s+(\S.*)$")
# Page furniture of the official Kamerstuk PDFs: the running header or footer
# ("Tweede Kamer, vergaderjaar 2018–2019, 28 676, nr. 307 2") and, at the foot of the
# first page, the document code, ISSN and place of printing ("kst-28676-307",
# "ISSN 0921 - 7371", "’s-Gravenhage 2018"). Text extraction puts these on lines of
# their own or runs several together, so a line made only of such pieces is dropped.
_FURNITURE_PIECE = re.compile(
    r"\s*(?:(?:Tweede|Eerste) Kamer, vergaderjaar \d{4}\s*[-–]\s*\d{4}, [\d ]+[\w-]*, nr\. \d+(?:\s+\d{1,3})?"
    r"|kst-\d[\w-]*\d|ISSN\s+\d{4}\s*-\s*\d{3}[\dXx]|[’']s-Gravenhage\s+\d{4})\s*"
)


# A ministry's letter as sent (the PDF on rijksoverheid.nl or in the Kamer's document
# system, before it is printed as a Kamerstuk) numbers its pages "Pagina 2 van 5" and
# repeats a side column ("Datum", "Onze referentie", …) at the top of later pages.
_PAGE_OF = re.compile(r"^Pagina\s+\d+\s+van\s+\d+$")
_SIDE_COLUMN_LABEL = re.compile(
    r"^(?:Datum|Onze referentie|Ons kenmerk|Uw referentie|Uw kenmerk|Uw brief(?: van)?|Kenmerk|Referentie|Betreft|"
    r"Bijlagen?|Bijlage\(n\)|Contactpersoon|Behandeld door)\b"
)


# On a form-feed page without "Pagina N van M", the repeated column is recognised at the
# top of the page by its usual first label.
_REPEATED_COLUMN_START = re.compile(r"^(?:Datum|Onze referentie|Ons kenmerk)\b")


def _drop_side_columns(lines: list[_Line]) -> list[_Line]:
    """Remove "Pagina N van M" lines and the side-column zone that follows them.

    The zone is a run of label lines ("Datum", "Onze referentie 123") and, after a bare
    label, its value line. The first line after the zone starts a page, so a paragraph
    interrupted by the page break continues.
    """
    result: list[_Line] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        repeated_column = line.page_start and _REPEATED_COLUMN_START.match(line.text)
        if not (_PAGE_OF.match(line.text) or repeated_column):
            result.append(line)
            index += 1
            continue
        if not repeated_column:
            index += 1
        labels = 0
        while index < len(lines):
            text = lines[index].text
            label = _SIDE_COLUMN_LABEL.match(text) if text else None
            if label and label.group(0).startswith("Bijlage") and not labels:
                break  # "Bijlage 1" at the top of a page announces an annex; in a side column it follows "Datum"
            if not text:
                index += 1
            elif label:
                labels += 1
                bare_label = label.end() == len(text)
                index += 2 if bare_label and index + 1 < len(lines) and lines[index + 1].text else 1
            else:
                break
        if index < len(lines):
            lines[index].page_start = True
        while result and not result[-1].text:
            result.pop()  # the blank lines before a page footer are layout, not a paragraph break
    return result


def _is_page_furniture(line: str) -> bool:
    position = 0
    while position < len(line):
        piece = _FURNITURE_PIECE.match(line, position)
        if piece is None or piece.end() == position:
            return False
        position = piece.end()
    return bool(line)


_PAGE_NUMBER = re.compile(r"^\d{1,3}$")
_SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")


@dataclass
class _Line:
    text: str
    page_start: bool = False


def _layout_lines(text: str) -> list[_Line]:
    """Split into lines, marking page starts and dropping page furniture.

    Pages are separated by form feeds (pdftotext, PDF extraction) or, as in the seed
    letter's dump, start with a line indented by one space. Blank lines at the top and
    foot of a form-feed page (around a removed header or footer, or the newline before
    the form feed) are layout, not paragraph breaks: a sentence continues across the page.
    """
    result: list[_Line] = []
    pages = text.split("\f")
    for page_number, page in enumerate(pages):
        page_lines = [raw for raw in page.split("\n") if not _is_page_furniture(raw.strip())]
        if len(pages) > 1:
            while page_lines and not page_lines[0].strip():
                page_lines.pop(0)
            while page_lines and not page_lines[-1].strip():
                page_lines.pop()
        first_content_seen = False
        for raw in page_lines:
            stripped = raw.strip()
            page_start = False
            if stripped:
                if not first_content_seen and page_number > 0:
                    page_start = True
                elif raw.startswith(" ") and not raw.startswith("  "):
                    page_start = True
                first_content_seen = True
            result.append(_Line(stripped, page_start))
    _drop_page_numbers(result)
    return _drop_side_columns(result)


def _drop_page_numbers(lines: list[_Line]) -> None:
    """Remove lone page numbers at the top or bottom of a page."""
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index]
        if not _PAGE_NUMBER.match(line.text):
            continue
        following = next((later for later in lines[index + 1 :] if later.text), None)
        if following is None or following.page_start or line.page_start:
            if line.page_start and following is not None:
                following.page_start = True
            del lines[index]


def _is_heading_like(text: str) -> bool:
    if not text or len(text) > 90 or text[-1] in ".,;:?!":
        return False
    if not (text[0].isupper() or text[0].isdigit()) or text.count("(") != text.count(")"):
        return False
    return len(text.split()) <= 12


# Words this frequent (de, het, van, en, op, …) do not end a heading.
_FUNCTION_WORD_ZIPF = 5.5
_HEADING_MAX_SHARE_OF_LINE = 0.75


def _full_line_length(lines: list[_Line]) -> int:
    """The length of a full line of running text (90th percentile of line lengths)."""
    lengths = sorted(len(line.text) for line in lines if line.text)
    return lengths[int(0.9 * (len(lengths) - 1))] if lengths else 0


def _ends_with_heading(lines: list[_Line], full_line_length: int) -> bool:
    """Whether the last line is a one-line paragraph that looks like a heading.

    A line cut short by a page end can look like a heading; but a wrapped line is
    nearly as long as a full line, while a heading is much shorter.
    """
    if not lines or not _is_heading_like(lines[-1].text):
        return False
    if len(lines[-1].text) >= _HEADING_MAX_SHARE_OF_LINE * full_line_length:
        return False
    last_word = lines[-1].text.split()[-1]
    if last_word.islower() and word_frequency(last_word) >= _FUNCTION_WORD_ZIPF:
        return False  # "… conform art. 5 van het" is a sentence cut by the page end
    return len(lines) == 1 or not lines[-2].text


def _remove_footnote_zones(lines: list[_Line]) -> tuple[list[_Line], list[tuple[str, str]]]:
    """Take page-end footnotes out of the running text.

    Returns the remaining lines and the footnotes as (number, text) pairs.
    """
    footnotes: list[tuple[str, str]] = []
    kept: list[_Line] = []
    expected = 1
    full_line_length = _full_line_length(lines)
    index = 0
    while index < len(lines):
        line = lines[index]
        candidate = line.text.translate(_SUPERSCRIPT_DIGITS)
        match = _FOOTNOTE_START.match(candidate)
        previous_blank = not kept or not kept[-1].text
        if match and int(match.group(1)) == expected and previous_blank and not line.page_start:
            end = index
            while end < len(lines) and lines[end].text and (end == index or not lines[end].page_start):
                end += 1
            after = end
            while after < len(lines) and not lines[after].text:
                after += 1
            zone_ends_page = after >= len(lines) or lines[after].page_start
            if zone_ends_page and end - index <= 20:
                zone_notes = _split_footnotes([zone.text for zone in lines[index:end]], expected)
                if zone_notes:
                    footnotes.extend(zone_notes)
                    expected += len(zone_notes)
                    # Drop the blank line that separated the footnotes from the text,
                    # so the sentence the page break interrupted continues.
                    while kept and not kept[-1].text:
                        kept.pop()
                    index = end
                    while index < len(lines) and not lines[index].text:
                        index += 1
                    next_page_text = lines[index].text if index < len(lines) else ""
                    starts_anew = next_page_text[:1].isupper()
                    if starts_anew and _ends_with_heading(kept, full_line_length):
                        kept.append(_Line(""))  # a heading at the foot of the page stays apart
                    if index < len(lines):
                        lines[index] = _Line(lines[index].text, page_start=True)
                    continue
        kept.append(line)
        index += 1
    return kept, footnotes


def _remove_endnotes(lines: list[_Line], expected: int) -> tuple[list[_Line], list[tuple[str, str]]]:
    """Notes listed at the end of the text (web copies list them there, not at page ends).

    The trailing lines must read as notes numbered on from ``expected`` (1, 2, … when no
    page-end footnote was found), each starting with its number.
    """
    filled = [index for index, line in enumerate(lines) if line.text]
    for position, index in enumerate(filled):
        match = _FOOTNOTE_START.match(lines[index].text.translate(_SUPERSCRIPT_DIGITS))
        if not match or int(match.group(1)) != expected or len(filled) - position > 60:
            continue
        notes = _split_footnotes([lines[i].text for i in filled[position:]], expected)
        if notes and all(len(text) <= 400 for _, text in notes):
            return lines[:index], notes
    return lines, []


def _split_footnotes(zone: list[str], first_number: int) -> list[tuple[str, str]]:
    notes: list[tuple[str, list[str]]] = []
    expected = first_number
    for text in zone:
        match = _FOOTNOTE_START.match(text.translate(_SUPERSCRIPT_DIGITS))
        if match and int(match.group(1)) == expected:
            notes.append((match.group(1), [match.group(2)]))
            expected += 1
        elif notes:
            notes[-1][1].append(text)
        else:
            return []
    return [(number, join_wrapped_lines(parts)) for number, parts in notes]


def _paragraphs(lines: list[_Line]) -> list[list[str]]:
    """Group lines into paragraphs; a page start continues the paragraph before it."""
    paragraphs: list[list[str]] = []
    current: list[str] = []
    full_line_length = _full_line_length(lines)
    for index, line in enumerate(lines):
        if not line.text:
            if current:
                paragraphs.append(current)
                current = []
            continue
        if line.page_start and current:
            next_blank = index + 1 >= len(lines) or not lines[index + 1].text
            ends_sentence = current[-1].rstrip().endswith((".", "?", "!", ":"))
            heading_on_top = next_blank and ends_sentence and _is_heading_like(line.text)
            heading_at_foot = (
                len(current) == 1
                and line.text[:1].isupper()
                and _ends_with_heading([_Line(current[0])], full_line_length)
            )
            if heading_on_top or heading_at_foot:
                paragraphs.append(current)
                current = []
        current.append(line.text)
    if current:
        paragraphs.append(current)
    return paragraphs



# ---------------------------------------------------------------- footnote markers

_MARKER = re.compile(r"(?:(?<=[^\W\d_])|(?<=[)\]”\"'’]))(\d{1,3}|[¹²³⁴⁵⁶⁷⁸⁹⁰]+)(?=[\s.,;:!?)\]]|$)")


def _marker_after_year(text: str, number: str, start: int):
    """A marker glued to a year ("van december 20132." for marker 2 after 2013)."""
    pattern = re.compile(r"(?<!\d)(?:1[89]|20)\d\d(" + re.escape(number) + r")(?=[\s.,;:!?)]|$)")
    match = pattern.search(text, start)
    if match is None:
        return None
    return _SpanMatch(match.start(1), match.end(1))


@dataclass(frozen=True)
class _SpanMatch:
    begin: int
    finish: int

    def start(self) -> int:
        return self.begin

    def end(self) -> int:
        return self.finish


def _strip_markers(blocks: list[Block], numbers: list[str]) -> tuple[list[Block], dict[str, tuple[int, int]]]:
    """Remove glued footnote markers, in footnote order.

    Returns the cleaned blocks and, per footnote number, (block index, offset in
    the block's text) of the character the marker followed.
    """
    positions: dict[str, tuple[int, int]] = {}
    pending = list(numbers)
    cleaned = list(blocks)
    block_index = 0
    search_from = 0
    while pending and block_index < len(cleaned):
        block = cleaned[block_index]
        if block.kind not in ("body", "heading"):
            block_index += 1
            search_from = 0
            continue
        target = pending[0]
        found = None
        for match in _MARKER.finditer(block.text, search_from):
            digits = match.group(1).translate(_SUPERSCRIPT_DIGITS)
            if digits == target:
                found = match
                break
        if found is None:
            found = _marker_after_year(block.text, target, search_from)
        if found is None:
            block_index += 1
            search_from = 0
            continue
        text = block.text[: found.start()] + block.text[found.end() :]
        cleaned[block_index] = dataclasses.replace(block, text=text)
        positions[target] = (block_index, found.start())
        pending.pop(0)
        search_from = found.start()
    return cleaned, positions



# ------------------------------------------------------------------------ public


@dataclass(frozen=True)
class CleanedText:
    """The structure recovered from a PDF text dump."""

    blocks: tuple[Block, ...]
    footnotes: tuple[Footnote, ...]
    head: HeadInfo


_BULLET = re.compile(r"^(?:[–•▪·*-]|\d{1,2}[.)](?=\s+\S))\s+")
_LONE_MARKER = re.compile(r"^(?:[–•▪·*-]|\d{1,2}[.)])$")


def _body_blocks(paragraphs: list[list[str]], *, part: str = "letter", annex: str | None = None) -> list[Block]:
    """Headings and body blocks (paragraphs; each list item its own block) of one part."""
    blocks: list[Block] = []
    section: str | None = None
    for index, paragraph in enumerate(paragraphs):
        is_last = index == len(paragraphs) - 1
        if len(paragraph) == 1 and _is_heading_like(paragraph[0]) and not is_last:
            section = paragraph[0]
            blocks.append(Block("heading", section, section, part=part, annex=annex))
            continue
        items: list[list[str]] = []
        bulleted: list[bool] = []
        for line in paragraph:
            if _LONE_MARKER.match(line):  # "1." on a line of its own, the item's text below it
                items.append([line] if line[0].isdigit() else [])
                bulleted.append(True)
            elif _BULLET.match(line):
                # The number of a numbered item stays with it ("1. Oekraïne"); a bullet sign goes.
                marker = _BULLET.match(line).group(0)
                items.append([line if marker[0].isdigit() else line[len(marker):]])
                bulleted.append(True)
            elif items:
                items[-1].append(line)
            else:
                items.append([line])
                bulleted.append(False)
        for item, is_item in zip(items, bulleted):
            blocks.append(Block("body", join_wrapped_lines(item), section, is_list_item=is_item, part=part, annex=annex))
    return blocks


def _annex_blocks(annexes) -> list[Block]:
    blocks: list[Block] = []
    for annex in annexes:
        # The annex's own title lines are its head, as "BRIEF VAN DE MINISTER …" is the letter's.
        for marker in annex.markers:
            blocks.append(Block("head", marker, part="annex", annex=annex.title))
        if annex.title is not None and annex.title not in annex.markers:
            blocks.append(Block("head", annex.title, part="annex", annex=annex.title))
        blocks += _body_blocks(annex.paragraphs, part="annex", annex=annex.title)
    return blocks


def _stands_alone(line: str) -> bool:
    """Lines that are a paragraph of their own however the text is broken."""
    return (
        is_head_paragraph([line])
        or bool(TITLE_LINE.match(line))
        or is_signature_function(line)
        or is_closing_formula(line)
        or is_annex_marker(line)
        or is_title_line(line)
        or line.startswith("Geachte ")
    )


def _split_furniture(lines: list[_Line]) -> tuple[list[_Line], list[str]]:
    texts = [line.text for line in lines]
    found = furniture_lines(texts, lambda line: is_head_paragraph([line]) or bool(TITLE_LINE.match(line)))
    kept = [line for index, line in enumerate(lines) if index not in found]
    return kept, [texts[index] for index in sorted(found)]


def _letter_paragraphs(lines: list[_Line]) -> list[list[str]]:
    texts = [line.text for line in lines]
    if uses_single_breaks(texts):
        return single_break_paragraphs(texts, _full_line_length(lines), _stands_alone)
    return _paragraphs(lines)


def clean_pdf_text(text: str, source: str = "<text>") -> CleanedText:
    """Recover head, body paragraphs, headings, signature, annexes, footnotes and page furniture."""
    text = normalise_characters(text)
    lines, furniture = _split_furniture(_layout_lines(text))
    lines, raw_footnotes = _remove_footnote_zones(lines)
    lines, endnotes = _remove_endnotes(lines, len(raw_footnotes) + 1)
    raw_footnotes += endnotes
    paragraphs = _letter_paragraphs(lines)
    if not paragraphs:
        raise IngestError(f"{source}: no text found")

    head_paragraphs: list[list[str]] = []
    salutation = salutation_paragraph(paragraphs)
    if salutation is not None:
        # A letter as sent: address, date, subject and references all come before "Geachte voorzitter,".
        head_paragraphs, paragraphs = paragraphs[: salutation + 1], paragraphs[salutation + 1 :]
    while paragraphs and is_head_paragraph(paragraphs[0]):
        head_paragraphs.append(paragraphs.pop(0))
    parts = split_parts(paragraphs)
    if not parts.body and not parts.annexes:
        raise IngestError(f"{source}: no body text found after the letter head")

    head_blocks: list[Block] = []
    for paragraph in head_paragraphs:
        if TITLE_LINE.match(paragraph[0]):
            head_blocks.append(Block("head", join_wrapped_lines(paragraph)))
        else:
            head_blocks.extend(Block("head", line) for line in paragraph)
    signature = [Block("signature", "\n".join(lines)) for lines in signers(parts.signature)]
    blocks = head_blocks + _body_blocks(parts.body) + signature + _annex_blocks(parts.annexes)
    blocks += [Block("furniture", line) for line in furniture]
    numbers = [number for number, _ in raw_footnotes]
    blocks, marker_positions = _strip_markers(blocks, numbers)
    footnote_blocks = [Block("footnote", note_text) for _, note_text in raw_footnotes]
    blocks_with_notes = blocks + footnote_blocks

    footnotes = []
    starts = _block_starts(blocks_with_notes)
    for number, note_text in raw_footnotes:
        position = marker_positions.get(number)
        offset = None if position is None else starts[position[0]] + position[1]
        footnotes.append(Footnote(number=number, text=note_text, marker_offset=offset))
    head = parse_head([block.text for block in head_blocks])
    return CleanedText(tuple(blocks_with_notes), tuple(footnotes), head)


def _block_starts(blocks: list[Block]) -> list[int]:
    starts, offset = [], 0
    for block in blocks:
        starts.append(offset)
        offset += len(block.text) + 2  # blocks are joined by a blank line
    return starts

