"""Rendering reconstructed letters: takes a letter written in the authoring format, gives the PDF
text or official XML that ingestion reads (and the gold sentence cut).

The reconstructed letters of the default corpus and the generated letters of the
property-based tests are written with one sentence per line (see
``labels/letters/AUTHORING.md``). This module turns such a source into

* PDF-extracted text with the artefacts of the seed letter: lines wrapped at a
  fixed width with Dutch hyphenation at line ends, page breaks marked by a leading
  space, page-end footnotes that interrupt the running text, markers glued to
  words, a letter head and a signature; or
* the official XML of officiële bekendmakingen.

Because the author's sentence boundaries are known, the source is also a gold
segmentation: :func:`gold_body_sentences` gives the sentences ingestion must return.
"""

from __future__ import annotations

import datetime as _dt
import functools
import random
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from .errors import IngestError
from .files import write_atomically

__all__ = [
    "AnnexSource",
    "LetterSource",
    "Paragraph",
    "Section",
    "gold_body_sentences",
    "gold_records",
    "parse_authoring",
    "render_kamerstuk_xml",
    "render_pdf_text",
]

_MONTHS = "januari februari maart april mei juni juli augustus september oktober november december".split()
_MARKER = re.compile(r"\[\^(\d+)\]")
_REQUIRED_KEYS = ("id", "date", "sender", "signature")


@dataclass(frozen=True)
class Paragraph:
    """Sentences of one paragraph, or one list item (a single unit)."""

    units: tuple[str, ...]
    is_list_item: bool = False


@dataclass(frozen=True)
class Section:
    heading: str | None
    paragraphs: tuple[Paragraph, ...]


@dataclass(frozen=True)
class AnnexSource:
    """An annex (the report or agenda a covering letter sends): its title and sections."""

    title: str
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class LetterSource:
    """A letter as its author wrote it: metadata, sections, footnotes, annexes."""

    metadata: dict[str, str]
    sections: tuple[Section, ...]
    footnotes: dict[str, str] = field(default_factory=dict)
    annexes: tuple[AnnexSource, ...] = ()

    def parts(self) -> list[tuple[str, str | None, tuple[Section, ...]]]:
        """``(part, annex title, sections)`` for the covering letter and each annex."""
        return [("letter", None, self.sections)] + [("annex", a.title, a.sections) for a in self.annexes]

    @property
    def id(self) -> str:
        return self.metadata["id"]

    def signatories(self) -> list[list[str]]:
        return [
            [line.strip() for line in signer.split("|") if line.strip()]
            for signer in self.metadata["signature"].split("||")
        ]

    def title(self) -> str:
        sender = self.metadata["sender"]
        return "BRIEF VAN DE " + sender.upper()


def parse_authoring(text: str, source: str = "<source>") -> LetterSource:
    """Parse the authoring format (front matter, ``---``, one sentence per line)."""
    if "\n---\n" not in text:
        raise IngestError(f"{source}: no '---' line separating front matter from the body")
    front, body = text.split("\n---\n", 1)
    metadata: dict[str, str] = {}
    for number, line in enumerate(front.splitlines(), 1):
        if not line.strip():
            continue
        if ":" not in line:
            raise IngestError(f"{source}:{number}: front matter line is not 'key: value': {line!r}")
        key, value = line.split(":", 1)
        metadata[key.strip()] = value.strip()
    missing = [key for key in _REQUIRED_KEYS if not metadata.get(key)]
    if missing:
        raise IngestError(f"{source}: front matter lacks {', '.join(missing)}")

    parts: list[tuple[str | None, list[Section]]] = [(None, [])]
    heading: str | None = None
    paragraphs: list[Paragraph] = []
    current: list[str] = []
    footnotes: dict[str, str] = {}

    def close_paragraph() -> None:
        if current:
            paragraphs.append(Paragraph(tuple(current)))
            current.clear()

    def close_section() -> None:
        close_paragraph()
        if heading is not None or paragraphs:
            parts[-1][1].append(Section(heading, tuple(paragraphs)))

    for line in body.splitlines():
        stripped = line.strip()
        note = re.match(r"^\[\^(\d+)\]:\s*(.+)$", stripped)
        if note:
            footnotes[note.group(1)] = note.group(2).strip()
        elif not stripped:
            close_paragraph()
        elif stripped.startswith("# "):  # an annex: the report or agenda the covering letter sends
            close_section()
            parts.append((stripped[2:].strip(), []))
            heading, paragraphs = None, []
        elif stripped.startswith("## "):
            close_section()
            heading, paragraphs = stripped[3:].strip(), []
        elif stripped.startswith("- "):
            close_paragraph()
            paragraphs.append(Paragraph((stripped[2:].strip(),), is_list_item=True))
        else:
            current.append(stripped)
    close_section()
    sections = [section for _, part_sections in parts for section in part_sections]
    used = {match.group(1) for section in sections for p in section.paragraphs for u in p.units for match in _MARKER.finditer(u)}
    undefined = sorted(used - set(footnotes), key=int)
    if undefined:
        raise IngestError(f"{source}: footnote markers without definition: {', '.join(undefined)}")
    annexes = tuple(AnnexSource(title, tuple(part_sections)) for title, part_sections in parts[1:])
    if any(not annex.sections for annex in annexes):
        raise IngestError(f"{source}: an annex ('# TITLE') without text")
    return LetterSource(metadata, tuple(parts[0][1]), footnotes, annexes)


def gold_body_sentences(source: LetterSource) -> list[str]:
    """The body sentences (list items included) with footnote markers removed, covering letter
    first, then each annex."""
    return [text for _, _, text in gold_records(source)]


def gold_records(source: LetterSource) -> list[tuple[str, str | None, str]]:
    """``(part, annex title, sentence)`` for every body sentence, in order."""
    return [
        (part, title, _MARKER.sub("", unit))
        for part, title, sections in source.parts()
        for section in sections
        for paragraph in section.paragraphs
        for unit in paragraph.units
    ]


def _dutch_date(iso: str) -> str:
    date = _dt.date.fromisoformat(iso)
    return f"{date.day} {_MONTHS[date.month - 1]} {date.year}"


# ----------------------------------------------------------------- PDF-like text


@functools.lru_cache(maxsize=1)
def _hyphenator():
    import pyphen

    return pyphen.Pyphen(lang="nl_NL")


_WORD_CORE = re.compile(r"^([(„\"']*)([^\W\d_]+(?:-[^\W\d_]+)*)(.*)$")


def _split_word(word: str, room: int) -> tuple[str, str] | None:
    """Break ``word`` so that the first part (with its hyphen) fits in ``room`` characters."""
    if room < 4:
        return None
    # An existing hyphen is the natural place to break ("staakt-het-" / "vuren").
    for position in range(len(word) - 2, 0, -1):
        if word[position] == "-" and position + 1 <= room and word[position + 1 :][:1].isalpha():
            return word[: position + 1], word[position + 1 :]
    match = _WORD_CORE.match(word)
    if not match or len(match.group(2)) < 6 or "-" in match.group(2):
        return None
    lead, core, tail = match.groups()
    positions = _hyphenator().positions(core)
    for position in sorted(positions, reverse=True):
        first = lead + core[:position] + "-"
        if len(first) <= room and position >= 2 and len(core) - position >= 2:
            return first, core[position:] + tail
    return None


def _wrap(text: str, width: int) -> list[str]:
    """Greedy line wrapping with hyphenation, the way the seed letter was typeset."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if len(candidate) <= width:
            line = candidate
            continue
        room = width - len(line) - (1 if line else 0)
        split = _split_word(word, room)
        if split:
            first, rest = split
            lines.append(f"{line} {first}" if line else first)
            line = rest
        else:
            if line:
                lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


@dataclass
class _Page:
    """Accumulates output lines and puts footnotes at the end of each page."""

    lines_per_page: int
    out: list[str] = field(default_factory=list)
    on_page: int = 0
    pending_notes: list[tuple[str, str]] = field(default_factory=list)
    page_starts_next: bool = False

    def emit(self, text: str, *, body_line: bool = True) -> None:
        if self.page_starts_next and text:
            text = " " + text
            self.page_starts_next = False
        self.out.append(text)
        if body_line and text:
            self.on_page += 1
            if self.on_page >= self.lines_per_page:
                self.break_page()

    def break_page(self) -> None:
        if self.pending_notes:
            self.out.append("")
            self.out.extend(f"{number} {text}" for number, text in self.pending_notes)
            self.pending_notes.clear()
        self.on_page = 0
        self.page_starts_next = True


def _emit_sections(page: _Page, source: LetterSource, sections, width: int) -> None:
    for section in sections:
        if section.heading:
            page.emit(section.heading + " ")
            page.emit("", body_line=False)
        for paragraph in section.paragraphs:
            text = " ".join(paragraph.units)
            if paragraph.is_list_item:
                text = "– " + text
            for number_, note in ((m.group(1), source.footnotes[m.group(1)]) for m in _MARKER.finditer(text)):
                page.pending_notes.append((number_, note))
            text = _MARKER.sub(lambda m: m.group(1), text)
            for line in _wrap(text, width):
                page.emit(line if line.endswith("-") else line + " ")
            page.emit("", body_line=False)


def render_pdf_text(source: LetterSource, *, width: int = 72, lines_per_page: int = 46, seed: int | None = None) -> str:
    """PDF-extracted text of a letter, with the layout artefacts of the seed letter."""
    rng = random.Random(seed if seed is not None else source.id)
    page = _Page(lines_per_page=lines_per_page + rng.randint(-4, 4))
    number = source.metadata.get("number")
    title = source.title()
    page.out.append(" " + (f"Nr. {number} " if number else "") + title + " ")
    page.out.append("")
    page.out.append("Aan de Voorzitter van de Tweede Kamer der Staten-Generaal ")
    page.out.append("")
    page.out.append(f"Den Haag, {_dutch_date(source.metadata['date'])} ")
    page.out.append("")
    _emit_sections(page, source, source.sections, width)
    for signer in source.signatories():
        for line in signer:
            page.emit(line + ("" if line.endswith(",") else " "), body_line=False)
        page.emit("", body_line=False)
    for annex in source.annexes:
        page.emit(annex.title + " ")
        page.emit("", body_line=False)
        _emit_sections(page, source, annex.sections, width)
    if page.pending_notes:
        page.out.extend(f"{n} {t}" for n, t in page.pending_notes)
    return "\n".join(page.out).rstrip("\n") + "\n"


# ---------------------------------------------------------------- official XML


def _append_text(element: ET.Element, text: str) -> None:
    if len(element):
        element[-1].tail = (element[-1].tail or "") + text
    else:
        element.text = (element.text or "") + text


def _paragraph_element(parent: ET.Element, text: str, footnotes: dict[str, str]) -> ET.Element:
    al = ET.SubElement(parent, "al")
    position = 0
    for match in _MARKER.finditer(text):
        _append_text(al, text[position : match.start()])
        note = ET.SubElement(al, "noot", {"id": f"n{match.group(1)}", "type": "voet"})
        ET.SubElement(note, "noot.nr").text = match.group(1)
        ET.SubElement(note, "noot.al").text = footnotes[match.group(1)]
        position = match.end()
    _append_text(al, text[position:])
    return al


def _xml_sections(parent: ET.Element, source: LetterSource, sections) -> None:
    for section in sections:
        if section.heading:
            ET.SubElement(parent, "tussenkop").text = section.heading
        list_element = None
        for paragraph in section.paragraphs:
            text = " ".join(paragraph.units)
            if paragraph.is_list_item:
                if list_element is None:
                    list_element = ET.SubElement(parent, "lijst", {"type": "ongemarkeerd"})
                item = ET.SubElement(list_element, "li")
                ET.SubElement(item, "li.nr").text = "–"
                _paragraph_element(item, text, source.footnotes)
            else:
                list_element = None
                _paragraph_element(parent, text, source.footnotes)


def render_kamerstuk_xml(source: LetterSource, *, provenance_note: str | None = None) -> bytes:
    """The letter as an ``officiele-publicatie`` kamerstuk document."""
    meta = source.metadata
    root = ET.Element("officiele-publicatie")
    metadata = ET.SubElement(root, "metadata")
    for name, value in (
        ("DC.identifier", meta["id"]),
        ("DC.title", meta.get("title", "")),
        ("OVERHEIDop.indiener", meta["sender"]),
        ("OVERHEIDop.documenttype", meta.get("type", "Brief regering")),
        ("DC.date", meta["date"]),
    ):
        ET.SubElement(metadata, "meta", {"name": name, "content": value})
    kamerstuk = ET.SubElement(root, "kamerstuk")
    kop = ET.SubElement(kamerstuk, "kamerstukkop")
    ET.SubElement(kop, "tekstregel", {"inhoud": "kameraanduiding"}).text = "Tweede Kamer der Staten-Generaal"
    dossier = ET.SubElement(kamerstuk, "dossier")
    dossiernummer = ET.SubElement(dossier, "dossiernummer")
    ET.SubElement(dossiernummer, "dossiernr").text = meta.get("dossier", "")
    ET.SubElement(dossier, "titel").text = meta.get("dossier_title", "")
    stuk = ET.SubElement(kamerstuk, "stuk")
    if meta.get("number"):
        stuknr = ET.SubElement(stuk, "stuknr")
        stuknr.text = "Nr. "
        ET.SubElement(stuknr, "ondernummer").text = meta["number"]
    ET.SubElement(stuk, "titel").text = source.title()
    brief = ET.SubElement(stuk, "brief")
    aanhef = ET.SubElement(brief, "aanhef")
    ET.SubElement(aanhef, "al").text = "Aan de Voorzitter van de Tweede Kamer der Staten-Generaal"
    datumtekst = ET.SubElement(brief, "datumtekst")
    datumtekst.text = "Den Haag, "
    ET.SubElement(datumtekst, "datum", {"isodatum": meta["date"]}).text = _dutch_date(meta["date"])
    _xml_sections(brief, source, source.sections)
    closing = ET.SubElement(brief, "tekst-sluiting")
    for signer in source.signatories():
        signature = ET.SubElement(closing, "ondertekening")
        ET.SubElement(signature, "functie").text = signer[0]
        for name in signer[1:]:
            ET.SubElement(signature, "naam").text = name
    for annex in source.annexes:
        bijlage = ET.SubElement(stuk, "bijlage")
        ET.SubElement(ET.SubElement(bijlage, "kop"), "titel").text = annex.title
        _xml_sections(bijlage, source, annex.sections)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    comment = f"<!-- {provenance_note} -->\n" if provenance_note else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + comment + body + "\n").encode("utf-8")


# --------------------------------------------------------------- default corpus

_WRITTEN_BY = (
    "written for this project in the authoring format (labels/letters/AUTHORING.md) by an AI writing "
    "assistant briefed on the real occasion; not an official document"
)


def render_corpus(labels_dir) -> list[dict]:
    """Render every authored source under ``labels/letters/src`` and rewrite the manifest.

    Entries of letters that are not rendered from a source (the original seed
    letter) are kept as they are. Returns the manifest entries.
    """
    from pathlib import Path

    import yaml

    letters_dir = Path(labels_dir) / "letters"
    manifest_path = letters_dir / "manifest.yaml"
    existing = yaml.safe_load(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    kept = [entry for entry in (existing or {}).get("letters", []) if entry["provenance"]["kind"] != "reconstructed"]
    entries = list(kept)
    for source_path in sorted((letters_dir / "src").glob("*.md")):
        source = parse_authoring(source_path.read_text(encoding="utf-8"), str(source_path))
        meta = source.metadata
        if source.id != source_path.stem:
            raise IngestError(f"{source_path}: id {source.id!r} differs from the file name")
        output_format = meta.get("format", "text")
        if output_format == "xml":
            name = f"{source.id}.xml"
            data = render_kamerstuk_xml(source, provenance_note=f"Reconstructed letter, {_WRITTEN_BY}.")
        elif output_format == "text":
            name = f"{source.id}.txt"
            data = render_pdf_text(source).encode("utf-8")
        else:
            raise IngestError(f"{source_path}: format must be 'text' or 'xml', not {output_format!r}")
        write_atomically(letters_dir / name, data)
        entries.append(
            {
                "id": source.id,
                "file": name,
                "dossier": meta.get("dossier"),
                "date": meta["date"],
                "type": meta.get("type", "Brief regering"),
                "sender": meta["sender"],
                "title": meta.get("title"),
                "provenance": {
                    "kind": "reconstructed",
                    "genre": meta.get("genre"),
                    "forum": meta.get("forum"),
                    "occasion": meta.get("occasion"),
                    "authored_source": f"src/{source_path.name}",
                    "rendered_as": output_format,
                    "how": _WRITTEN_BY,
                },
            }
        )
    document = {
        "description": "Letters of the default corpus. Generated by `toolkit render-corpus`; "
        "edit the sources in src/ (and the entries of original letters) rather than the rendered files.",
        "letters": entries,
    }
    write_atomically(manifest_path, yaml.safe_dump(document, allow_unicode=True, sort_keys=False).encode("utf-8"))
    return entries
