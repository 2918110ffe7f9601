"""Ingestion: takes a letter file of any supported format, gives a :class:`~toolkit.records.Letter`
(metadata and cleaned blocks).

One module per source: :mod:`.text` (PDF text dumps), :mod:`.officiele_xml`
(official XML), :mod:`.html` (its HTML rendering), :mod:`.pdf` (PDF files) and
:mod:`.fetch` (official sources on the internet).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import IngestError
from ..records import Letter

__all__ = ["SUPPORTED_SUFFIXES", "read_letter"]

SUPPORTED_SUFFIXES = (".txt", ".xml", ".html", ".htm", ".pdf")


def read_letter(path: str | Path, *, encoding: str = "utf-8", provenance: dict | None = None) -> Letter:
    """Read one letter file; the format follows from the file suffix."""
    path = Path(path)
    if not path.exists():
        raise IngestError(f"{path}: no such file")
    if path.is_dir():
        raise IngestError(f"{path}: is a directory, expected a letter file")
    suffix = path.suffix.lower()
    if suffix == ".txt":
        from .text import read_text_letter

        return read_text_letter(path, encoding=encoding, provenance=provenance)
    if suffix == ".xml":
        from .officiele_xml import read_xml_letter

        return read_xml_letter(path, provenance=provenance)
    if suffix in (".html", ".htm"):
        from .html import read_html_letter

        return read_html_letter(path, provenance=provenance)
    if suffix == ".pdf":
        from .pdf import read_pdf_letter

        return read_pdf_letter(path, provenance=provenance)
    raise IngestError(f"{path}: unsupported file type {suffix or '(none)'}; expected one of {', '.join(SUPPORTED_SUFFIXES)}")
