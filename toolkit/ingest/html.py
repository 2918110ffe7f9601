"""Letters as HTML: takes the HTML rendering of an officiële bekendmaking, gives a
:class:`~toolkit.records.Letter`.

The HTML page of a kamerstuk shows the same structure as its XML with CSS
classes: paragraphs, headings, lists, footnote references linking to the notes at
the end, and the signature. The parser walks the content in document order and
classifies each element; footnote references (``<sup>`` or ``<a>`` pointing at a
note) are taken out of the running text.
"""

from __future__ import annotations

import re
from pathlib import Path

from .decode import decode_letter_bytes
from .letter_head import parse_head, sender_from_title
from ..errors import IngestError
from ..records import Block, Footnote, Letter
from .identity import identity_from_name

__all__ = ["letter_from_html", "read_html_letter"]

_SPACE = re.compile(r"\s+")
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_HEAD_TEXT = re.compile(
    r"^(?:Aan de (?:Voorzitter|voorzitter)|(?:Den Haag|'s-Gravenhage),?\s+\d{1,2}\s+\w+\s+\d{4}|Geachte)"
)
_SIGNATURE_TEXT = re.compile(r"^(?:De|Het)\s+(?:[Mm]inister|[Ss]taatssecretaris|[Mm]inister-[Pp]resident)\b[^.]*,")
# An annex (class "bijlage", as the official rendering marks it) is an annex part of the letter.
_ANNEX_CLASSES = frozenset({"bijlage"})
_NOTE_CLASSES = ("noot", "voetnoot", "footnote", "voetnoten", "footnotes")
_SKIP_TAGS = {"script", "style", "nav", "header", "footer", "head", "noscript", "form", "button"}


def _classes(element) -> set[str]:
    return set((element.get("class") or "").lower().split())


def _text(element) -> str:
    return _SPACE.sub(" ", element.text_content()).strip()


def _is_note_container(element) -> bool:
    classes = _classes(element)
    return any(name in classes for name in _NOTE_CLASSES) and element.tag not in ("a", "sup")


def _is_note_reference(element) -> bool:
    if element.tag == "sup":
        return True
    href = element.get("href") or ""
    return element.tag == "a" and href.startswith("#") and bool(re.fullmatch(r"\s*\d{1,3}\s*", element.text_content()))


class _HtmlWalker:
    """Classifies the elements of the page in document order: head, body, signature, annexes."""

    def __init__(self, title_element) -> None:
        self.title_element = title_element
        self.head: list[Block] = []
        self.body: list[Block] = []
        self.signature: list[Block] = []
        self.annex: list[Block] = []
        self.references: list[tuple[str, str, int, int]] = []  # note id, list, block index, offset
        self.section: str | None = None
        self.annex_titles: dict[int, str | None] = {}
        self.annexes_with_text: set[int] = set()

    def _annex_root(self, element):
        if _classes(element) & _ANNEX_CLASSES:
            return element
        return next((a for a in element.iterancestors() if _classes(a) & _ANNEX_CLASSES), None)

    def visit(self, element) -> None:
        if not isinstance(element.tag, str) or element.tag in _SKIP_TAGS or element is self.title_element:
            return
        if any(ancestor.tag in _SKIP_TAGS for ancestor in element.iterancestors()):
            return
        annex_root = self._annex_root(element)
        if annex_root is not None and id(annex_root) not in self.annex_titles:
            self.annex_titles[id(annex_root)] = None
            self.section = None
        target = self.annex if annex_root is not None else self.body
        part = "annex" if annex_root is not None else "letter"
        annex = self.annex_titles.get(id(annex_root)) if annex_root is not None else None
        classes = _classes(element)
        if element.tag in ("h1", "h2", "h3", "h4", "h5", "h6") or classes & {"tussenkop", "kop"}:
            heading = _text(element)
            if not heading:
                return
            if annex_root is not None and id(annex_root) not in self.annexes_with_text and annex is None:
                self.annex_titles[id(annex_root)] = heading  # the annex's own title
                self.annex.append(Block("head", heading, part="annex", annex=heading))
                return
            self.section = heading
            target.append(Block("heading", heading, heading, part=part, annex=annex))
            return
        if element.tag not in ("p", "li"):
            return
        if element.tag == "p" and element.getparent() is not None and element.getparent().tag == "li":
            return  # the list item itself is the unit
        if annex_root is None and (classes & {"ondertekening", "functie", "naam"} or _SIGNATURE_TEXT.match(_text(element))):
            self.signature.append(Block("signature", "\n".join(line.strip() for line in element.itertext() if line.strip())))
            return
        self._take_references(element, "annex" if annex_root is not None else "body", len(target))
        paragraph = _text(element)
        if not paragraph:
            return
        if annex_root is None and not self.body and _HEAD_TEXT.match(paragraph):
            self.head.append(Block("head", paragraph))
            return
        if annex_root is not None:
            self.annexes_with_text.add(id(annex_root))
        target.append(Block("body", paragraph, self.section, is_list_item=element.tag == "li", part=part, annex=annex))

    def _take_references(self, element, where: str, index: int) -> None:
        references = [node for node in element.iter() if _is_note_reference(node)]
        outermost = [node for node in references if not any(a in references for a in node.iterancestors())]
        for reference in outermost:
            target = (reference.get("href") or "").lstrip("#")
            if not target:
                link = reference.find(".//a")
                target = (link.get("href") or "").lstrip("#") if link is not None else ""
            prefix = _SPACE.sub(" ", _text_before(element, reference)).lstrip()
            self.references.append((target or _text(reference), where, index, len(prefix)))
            reference.drop_tree()


def letter_from_html(data: bytes, *, source: str, letter_id: str | None = None, provenance: dict | None = None) -> Letter:
    """Parse the HTML page of a kamerstuk letter; annexes (class ``bijlage``) become annex parts."""
    document = _parse_document(data, source)
    notes = _take_notes(document)
    title_element = document.find(".//h1")
    title = _text(title_element) if title_element is not None else None
    walker = _HtmlWalker(title_element)
    if title:
        walker.head.append(Block("head", title))
    content_root = next((found for found in (document.find(".//main"), document.find(".//body")) if found is not None), document)
    # A list, because footnote references are dropped from the tree along the way.
    for element in list(content_root.iter()):
        walker.visit(element)
    if not any(block.kind == "body" for block in walker.body + walker.annex):
        raise IngestError(f"{source}: no letter text found in the HTML (no paragraphs)")

    blocks = walker.head + walker.body + walker.signature + walker.annex
    first = {"body": len(walker.head), "annex": len(walker.head) + len(walker.body) + len(walker.signature)}
    footnotes, note_blocks = _linked_footnotes(blocks, first, walker.references, notes)
    info = parse_head([block.text for block in walker.head])
    identifier = letter_id or Path(source).stem
    identity = identity_from_name(identifier)
    return Letter(
        id=identifier,
        blocks=tuple(blocks + note_blocks),
        dossier=identity.dossier,
        number=info.number or identity.number,
        date=info.date,
        type=info.type,
        sender=info.sender or sender_from_title(title),
        title=info.title or title,
        source=source,
        source_format="html",
        provenance=dict(provenance or {}),
        footnotes=tuple(footnotes),
    )


def _parse_document(data: bytes, source: str):
    """The lxml document of an HTML file, parsed without network access."""
    import lxml.html

    # Characters XML cannot hold (NUL, most controls) would break lxml mid-parse; they carry no text.
    text = _CONTROLS.sub(" ", decode_letter_bytes(data, source))
    if "<" not in text:
        raise IngestError(f"{source}: not HTML (no markup found)")
    parser = lxml.html.HTMLParser(encoding="utf-8", no_network=True, remove_comments=True)
    try:
        return lxml.html.document_fromstring(text.encode("utf-8"), parser=parser)
    except (ValueError, lxml.etree.ParserError) as exc:
        raise IngestError(f"{source}: not parseable HTML ({exc})") from None


def _take_notes(document) -> dict[str, str]:
    """Footnote texts by element id; their containers are removed from the tree."""
    notes: dict[str, str] = {}
    containers = [element for element in document.iter() if isinstance(element.tag, str) and _is_note_container(element)]
    for container in containers:
        for note in container.iter():
            identifier = note.get("id") if isinstance(note.tag, str) else None
            if identifier:
                content = re.sub(r"^\d{1,3}[.)]?\s+", "", _text(note))
                if content:
                    notes.setdefault(identifier, content)
    for container in containers:
        if container.getparent() is not None:
            container.drop_tree()
    return notes


def _linked_footnotes(blocks: list[Block], first: dict[str, int], references, notes: dict[str, str]) -> tuple[list[Footnote], list[Block]]:
    """Footnotes numbered in order of their markers, each linked to its marker's offset in the letter text."""
    starts, offset = [], 0
    for block in blocks:
        starts.append(offset)
        offset += len(block.text) + 2
    footnotes: list[Footnote] = []
    note_blocks: list[Block] = []
    for number, (target, where, block_index, position) in enumerate(references, 1):
        note_text = notes.get(target)
        if note_text is None:
            continue
        block = blocks[first[where] + block_index]
        marker = starts[first[where] + block_index] + min(position, len(block.text))
        footnotes.append(Footnote(number=str(number), text=note_text, marker_offset=marker))
        note_blocks.append(Block("footnote", note_text))
    return footnotes, note_blocks


def _text_before(element, reference) -> str:
    """Text of ``element`` that precedes ``reference`` in document order."""
    collected: list[str] = []

    def walk(node) -> bool:
        collected.append(node.text or "")
        for child in node:
            if child is reference or walk(child):
                return True
            collected.append(child.tail or "")
        return False

    walk(element)
    return "".join(collected)


def read_html_letter(path: Path, *, provenance: dict | None = None) -> Letter:
    """Read an HTML letter; the file name gives its id."""
    return letter_from_html(path.read_bytes(), source=str(path), provenance=provenance)
