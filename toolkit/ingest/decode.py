"""Decoding letter files: takes the bytes of a text or HTML file, gives clean Unicode text,
or a clear error for input that is empty, binary or mis-encoded."""

from __future__ import annotations

import unicodedata

from ..errors import IngestError

__all__ = ["decode_letter_bytes", "normalise_characters"]


def decode_letter_bytes(data: bytes, source: str, encoding: str = "utf-8") -> str:
    """Decode a text file, refusing input that is empty, binary or mis-encoded."""
    if not data.strip():
        raise IngestError(f"{source}: the file is empty")
    if b"\x00" in data[:4096]:
        raise IngestError(f"{source}: this looks like a binary file, not text (it contains NUL bytes)")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"{source}: the file is not valid {encoding} (byte {exc.start}: {data[exc.start:exc.start + 1]!r}); "
            "pass the right encoding, e.g. --encoding cp1252"
        ) from None
    except LookupError:
        raise IngestError(f"{source}: unknown encoding {encoding!r}") from None
    controls = sum(1 for ch in text[:4096] if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f")
    if controls > 8:
        raise IngestError(f"{source}: this looks like a binary file, not text ({controls} control characters)")
    return text


_CHARACTER_FIXES = str.maketrans(
    {
        "\u00a0": " ",  # no-break space
        "\u2007": " ",
        "\u202f": " ",
        "\u00ad": None,  # soft hyphen: never part of the word
        "\ufb00": "ff",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
        "\u2010": "-",  # typographic hyphen
        "\u2011": "-",
        "\r": None,
    }
)


def normalise_characters(text: str) -> str:
    return unicodedata.normalize("NFC", text.translate(_CHARACTER_FIXES))


