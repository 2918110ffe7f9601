"""Letters as official XML: takes an ``officiele-publicatie`` kamerstuk, gives a
:class:`~toolkit.records.Letter` (parsed with defusedxml).

The XML carries the structure the PDF text has lost: paragraphs (``al``), headings
(``tussenkop``, ``divisie/kop/titel``), lists (``lijst/li``), footnotes inline at
their marker (``noot[@type="voet"]``) and the signature (``tekst-sluiting``). It is
parsed with defusedxml, so external entities and DTD fetches are refused.
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException

from .letter_head import dutch_date, sender_from_title
from ..errors import IngestError
from ..records import Block, Footnote, Letter
from .identity import identity_from_name

__all__ = ["letter_from_kamerstuk_xml", "read_xml_letter"]

_SPACE = re.compile(r"\s+")
# Elements whose text is not part of the running text of the element holding them.
_OUT_OF_LINE = {"noot", "li.nr", "nr"}
# Elements under <stuk> that are head material rather than body.
_HEAD_ELEMENTS = {"aanhef", "datumtekst", "dagtekening", "plaats-datum"}
_SIGNATURE_ELEMENTS = {"tekst-sluiting", "slotformule", "ondertekening"}


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _inline_text(element: Element, notes: list[tuple[str, str, int]] | None = None, prefix: str = "") -> str:
    """Text of an element with inline markup flattened and footnotes taken out.

    Each footnote found is appended to ``notes`` as (number, text, offset of the
    marker in the returned text).
    """
    pieces: list[str] = [element.text or ""]
    for child in element:
        name = _local(child.tag)
        if name == "noot":
            if notes is not None and child.get("type", "voet") == "voet":
                number_element = child.find("noot.nr")
                number = (number_element.text or "").strip() if number_element is not None else str(len(notes) + 1)
                note_text = " ".join(
                    _inline_text(al) for al in child.iter() if _local(al.tag) in ("noot.al", "al")
                )
                marker_at = len(_SPACE.sub(" ", prefix + "".join(pieces)).lstrip())
                notes.append((number, _SPACE.sub(" ", note_text).strip(), marker_at))
        elif name not in _OUT_OF_LINE:
            pieces.append(_inline_text(child, notes, prefix + "".join(pieces)))
        pieces.append(child.tail or "")
    return "".join(pieces)


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


class _BodyWalker:
    """Collects blocks in document order from the body of a letter."""

    def __init__(self) -> None:
        self.head: list[Block] = []
        self.body: list[Block] = []  # the covering letter's text
        self.signature: list[Block] = []
        self.annex: list[Block] = []  # the annexes' text, after the signature
        # number, text, list the block is in ("body" or "annex"), block index, offset
        self.notes: list[tuple[str, str, str, int, int]] = []
        self.section: str | None = None
        self.date: str | None = None
        self.annex_title: str | None = None
        self.in_annex = False

    def _target(self) -> list[Block]:
        return self.annex if self.in_annex else self.body

    def _block(self, kind: str, text: str, section: str | None, is_list_item: bool = False) -> Block:
        part = "annex" if self.in_annex else "letter"
        return Block(kind, text, section, is_list_item=is_list_item, part=part, annex=self.annex_title)

    def paragraph(self, element: Element, *, is_list_item: bool = False) -> None:
        notes: list[tuple[str, str, int]] = []
        raw = _inline_text(element, notes)
        text = _clean(raw)
        if not text:
            return
        target = self._target()
        for number, note_text, offset in notes:
            self.notes.append((number, note_text, "annex" if self.in_annex else "body", len(target), min(offset, len(text))))
        target.append(self._block("body", text, self.section, is_list_item))

    def heading(self, text: str) -> None:
        text = _clean(text)
        if text:
            self.section = text
            self._target().append(self._block("heading", text, text))

    def annex_part(self, element: Element) -> None:
        """A ``bijlage``: the report or agenda the covering letter sends, with its own title."""
        kop = element.find("kop")
        title_element = kop.find("titel") if kop is not None else element.find("titel")
        title = _clean(_inline_text(title_element)) if title_element is not None else None
        self.in_annex, self.annex_title, self.section = True, title or None, None
        if title:
            self.annex.append(self._block("head", title, None))
        for child in element:
            if child is not kop and child is not title_element:
                self.visit(child)
        self.in_annex, self.annex_title, self.section = False, None, None

    def walk(self, element: Element) -> None:
        for child in element:
            self.visit(child)

    def visit(self, child: Element) -> None:
        """One element of the body, in document order."""
        name = _local(child.tag)
        if name in _HEAD_ELEMENTS:
            self._head(child)
        elif name in _SIGNATURE_ELEMENTS:
            self._signature(child)
        elif name == "al":
            self.paragraph(child)
        elif name == "tussenkop":
            self.heading(_inline_text(child))
        elif name == "kop":
            title = child.find("titel")
            number = child.find("nr")
            label = _inline_text(title) if title is not None else _inline_text(child)
            if number is not None and (number.text or "").strip():
                label = f"{number.text.strip()} {label}"
            self.heading(label)
        elif name == "lijst":
            self.walk_list(child)
        elif name == "bijlage":
            self.annex_part(child)
        elif name in ("noot", "titel", "stuknr", "metadata", "table"):
            return
        else:
            self.walk(child)

    def walk_list(self, element: Element) -> None:
        for item in element:
            for part in item:
                if _local(part.tag) == "al":
                    self.paragraph(part, is_list_item=True)
                elif _local(part.tag) == "lijst":
                    self.walk_list(part)

    def _head(self, element: Element) -> None:
        datum = element.find(".//datum")
        if datum is not None and datum.get("isodatum"):
            self.date = datum.get("isodatum")
        paragraphs = [al for al in element.iter() if _local(al.tag) == "al"]
        texts = [_clean(_inline_text(al)) for al in paragraphs] or [_clean(_inline_text(element))]
        self.head.extend(Block("head", text) for text in texts if text)
        if self.date is None and _local(element.tag) in ("plaats-datum", "dagtekening", "datumtekst"):
            self.date = next((found for found in map(dutch_date, texts) if found), None)  # written out, no isodatum

    def _signature(self, element: Element) -> None:
        signers = [node for node in element.iter() if _local(node.tag) == "ondertekening"]
        if not signers and _local(element.tag) != "slotformule":
            signers = [element]
        for signer in signers:
            # "<functie>De Minister</functie> van Buitenlandse Zaken,<naam>…</naam>": the function
            # runs on in the text between the elements; each name is a line of its own.
            lines, current = [], [signer.text or ""]
            for part in signer:
                if _local(part.tag) == "naam":
                    lines += ["".join(current), _inline_text(part)]
                    current = [part.tail or ""]
                else:
                    current.append(_inline_text(part) + (part.tail or ""))
            lines.append("".join(current))
            lines = [_clean(line) for line in lines if _clean(line)]
            if lines:
                self.signature.append(Block("signature", "\n".join(lines)))


def _kamerstuk_elements(data: bytes, source: str):
    """The root, ``kamerstuk`` and ``stuk`` elements, or a clear error for anything else."""
    if not data.strip():
        raise IngestError(f"{source}: the file is empty")
    try:
        root = SafeElementTree.fromstring(data)
    except DefusedXmlException as exc:
        raise IngestError(f"{source}: refused unsafe XML ({type(exc).__name__})") from None
    except SafeElementTree.ParseError as exc:
        raise IngestError(f"{source}: not well-formed XML ({exc})") from None
    if _local(root.tag) != "officiele-publicatie":
        raise IngestError(
            f"{source}: not an officiële publicatie (root element is <{_local(root.tag)}>, "
            "expected <officiele-publicatie>)"
        )
    kamerstuk = root.find("kamerstuk")
    if kamerstuk is None:
        kinds = ", ".join(sorted({_local(child.tag) for child in root if _local(child.tag) != "metadata"}))
        raise IngestError(f"{source}: this officiële publicatie is not a kamerstuk (it holds: {kinds or 'nothing'})")
    stuk = kamerstuk.find("stuk")
    if stuk is None:
        raise IngestError(f"{source}: kamerstuk without a <stuk> element")
    return root, kamerstuk, stuk


def letter_from_kamerstuk_xml(
    data: bytes, *, source: str, letter_id: str | None = None, provenance: dict | None = None
) -> Letter:
    """Parse an ``officiele-publicatie`` document holding a kamerstuk."""
    root, kamerstuk, stuk = _kamerstuk_elements(data, source)

    meta = {item.get("name"): item.get("content") for item in root.iter("meta") if item.get("name")}
    dossier_element = kamerstuk.find("dossier/dossiernummer/dossiernr")
    dossier = _clean(_inline_text(dossier_element)).replace(" ", "") if dossier_element is not None else None
    number_element = stuk.find("stuknr/ondernummer")
    number = _clean(number_element.text or "") if number_element is not None else None
    title_element = stuk.find("titel")
    title = _clean(_inline_text(title_element)) if title_element is not None else None

    walker = _BodyWalker()
    for datum in stuk.iter("datum"):
        if datum.get("isodatum"):
            walker.date = datum.get("isodatum")
            break
    head_blocks: list[Block] = []
    stuknr = stuk.find("stuknr")
    title_line = " ".join(part for part in (_clean(_inline_text(stuknr)) if stuknr is not None else "", title or "") if part)
    if title_line:
        head_blocks.append(Block("head", title_line))
    walker.walk(stuk)
    if not any(block.kind == "body" for block in walker.body + walker.annex):
        raise IngestError(f"{source}: the kamerstuk has no body text (no <al> paragraphs)")

    identifier = letter_id or meta.get("DC.identifier") or meta.get("dcterms.identifier")
    if not identifier and dossier and number:
        identifier = f"kst-{dossier}-{number}"
    if not identifier:
        identifier = Path(source).stem
    identity = identity_from_name(identifier)

    blocks = head_blocks + walker.head + walker.body + walker.signature + walker.annex
    note_blocks = [Block("footnote", text) for _, text, _, _, _ in walker.notes]
    body_start = len(head_blocks) + len(walker.head)
    annex_start = body_start + len(walker.body) + len(walker.signature)
    offsets = []
    position = 0
    for block in blocks:
        offsets.append(position)
        position += len(block.text) + 2
    footnotes = tuple(
        Footnote(number=num, text=text, marker_offset=offsets[(body_start if where == "body" else annex_start) + index] + offset)
        for num, text, where, index, offset in walker.notes
    )
    sender = meta.get("OVERHEIDop.indiener") or sender_from_title(title)
    return Letter(
        id=identifier,
        blocks=tuple(blocks + note_blocks),
        dossier=dossier or identity.dossier,
        number=number or identity.number,
        date=walker.date,
        type=meta.get("OVERHEIDop.documenttype") or ("Brief regering" if title and title.startswith("BRIEF") else None),
        sender=sender,
        title=title,
        source=source,
        source_format="xml",
        provenance=dict(provenance or {}),
        footnotes=footnotes,
    )


def read_xml_letter(path: Path, *, provenance: dict | None = None) -> Letter:
    """Read a kamerstuk XML file."""
    return letter_from_kamerstuk_xml(path.read_bytes(), source=str(path), provenance=provenance)
