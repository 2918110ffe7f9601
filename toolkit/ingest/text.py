"""Letters as text dumps: takes text extracted from a PDF (the form of the seed letter), gives a
:class:`~toolkit.records.Letter`."""

from __future__ import annotations

from pathlib import Path

from .decode import decode_letter_bytes
from .pdf_layout import clean_pdf_text
from ..records import Letter
from .identity import identity_from_name

__all__ = ["letter_from_pdf_text", "read_text_letter"]


def letter_from_pdf_text(
    text: str,
    *,
    letter_id: str,
    source: str | None = None,
    source_format: str = "text",
    provenance: dict | None = None,
) -> Letter:
    """Build a :class:`Letter` from PDF-extracted text."""
    cleaned = clean_pdf_text(text, source or letter_id)
    identity = identity_from_name(letter_id)
    head = cleaned.head
    return Letter(
        id=letter_id,
        blocks=cleaned.blocks,
        dossier=identity.dossier,
        number=head.number or identity.number,
        date=head.date,
        type=head.type,
        sender=head.sender,
        title=head.title,
        source=source,
        source_format=source_format,
        provenance=dict(provenance or {}),
        footnotes=cleaned.footnotes,
    )


def read_text_letter(path: Path, *, encoding: str = "utf-8", provenance: dict | None = None) -> Letter:
    """Read a ``.txt`` letter; the file name (e.g. ``kst-28676-307.txt``) gives its id."""
    text = decode_letter_bytes(path.read_bytes(), str(path), encoding)
    return letter_from_pdf_text(text, letter_id=path.stem, source=str(path), provenance=provenance)
