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
from .annexes import annex_files, attach_annexes

__all__ = ["SUPPORTED_SUFFIXES", "read_letter"]

SUPPORTED_SUFFIXES = (".txt", ".xml", ".html", ".htm", ".pdf")


def read_letter(
    path: str | Path, *, encoding: str = "utf-8", provenance: dict | None = None, require_letter: bool = True
) -> Letter:
    """Read one letter file; the format follows from the file suffix.

    A file without body text is an error. So is a file that does not look like a letter to
    parliament (see :mod:`.signals`), unless ``require_letter`` is False.
    """
    letter = _read(Path(path), encoding, provenance)
    annexes = annex_files(Path(path))
    if annexes:
        letter = attach_annexes(letter, [(title, _read(annex, encoding, None)) for title, annex in annexes])
    if not any(block.kind == "body" for block in letter.blocks):
        raise IngestError(f"{path}: no body sentences found; is this a letter?")
    if require_letter:
        from .signals import letter_signals

        signals = letter_signals(letter)
        if not signals.is_letter:
            raise IngestError(
                f"{path}: this does not look like a letter to parliament (it lacks {'; '.join(signals.missing())}); "
                "pass --not-a-letter-ok to read it anyway"
            )
    return letter


def _read(path: Path, encoding: str, provenance: dict | None) -> Letter:
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
