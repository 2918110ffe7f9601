"""Letters as PDF files: takes a PDF with a text layer, gives a :class:`~toolkit.records.Letter`
(text extracted with pypdf, then read like a text dump)."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import textwrap
import warnings
from pathlib import Path

from ..errors import IngestError
from ..records import Letter
from .text import letter_from_pdf_text

__all__ = ["extract_pdf_text", "read_pdf_letter"]

# Fewer visible characters than this per page means there is no real text layer.
_MIN_CHARACTERS_PER_PAGE = 20
_BLANK_RUN = re.compile(r"\n\s*\n(?:\s*\n)+")


@contextlib.contextmanager
def _quiet(logger_name: str):
    logger = logging.getLogger(logger_name)
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(previous)


def extract_pdf_text(data: bytes, source: str) -> str:
    """Text of every page, pages separated by form feeds.

    pypdf's layout mode keeps the vertical gaps between paragraphs as blank lines,
    which the cleaner needs to find paragraphs, headings and page-end footnotes.
    """
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.strip():
        raise IngestError(f"{source}: the file is empty")
    if not data.lstrip().startswith(b"%PDF"):
        raise IngestError(f"{source}: not a PDF file (it does not start with %PDF)")
    try:
        with _quiet("pypdf"):  # pypdf logs its repairs ("EOF marker not found") on stderr
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                raise IngestError(f"{source}: the PDF is encrypted; decrypt it first")
            pages = [page.extract_text(extraction_mode="layout") or "" for page in reader.pages]
    except IngestError:
        raise
    except PdfReadError as exc:
        raise IngestError(f"{source}: the PDF could not be read ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds of error on a damaged file
        raise IngestError(f"{source}: the PDF is damaged and could not be read ({type(exc).__name__})") from None
    if not pages:
        raise IngestError(f"{source}: the PDF has no pages")
    visible = sum(len("".join(page.split())) for page in pages)
    if visible < _MIN_CHARACTERS_PER_PAGE * len(pages):
        raise IngestError(
            f"{source}: the PDF has no text layer ({visible} characters on {len(pages)} pages); "
            "it is probably a scan: run OCR (e.g. ocrmypdf) first"
        )
    cleaned_pages = []
    for page in pages:
        page = textwrap.dedent(page.strip("\n"))
        page = _BLANK_RUN.sub("\n\n", page)
        cleaned_pages.append("\n".join(line.rstrip() for line in page.split("\n")))
    return "\f".join(cleaned_pages)


def read_pdf_letter(path: Path, *, provenance: dict | None = None) -> Letter:
    """Read a PDF letter; the file name gives its id."""
    text = extract_pdf_text(path.read_bytes(), str(path))
    return letter_from_pdf_text(text, letter_id=path.stem, source=str(path), source_format="pdf", provenance=provenance)
