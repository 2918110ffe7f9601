"""Decoding letter files: takes the bytes of a text or HTML file, gives clean Unicode text,
or a clear error for input that is empty, binary or mis-encoded."""

from __future__ import annotations

import codecs
import unicodedata

from ..errors import IngestError

__all__ = ["decode_letter_bytes", "normalise_characters"]


_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _encoding_of(data: bytes, encoding: str) -> tuple[str, bool]:
    """The codec to decode with, and whether it is a 16-bit one (NUL bytes are then normal).

    A byte-order mark decides (Notepad saves UTF-8 with one; some exports are UTF-16); else
    the encoding asked for.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec, codec == "utf-16"
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return encoding, False
    return encoding, name.startswith("utf-16") or name.startswith("utf-32")


def decode_letter_bytes(data: bytes, source: str, encoding: str = "utf-8") -> str:
    """Decode a text file, refusing input that is empty, binary or mis-encoded.

    A byte-order mark (UTF-8, UTF-16 LE/BE) is detected and stripped; the encoding asked for
    is honoured before the binary check, so ``--encoding utf-16`` reads a UTF-16 file.
    """
    if not data.strip():
        raise IngestError(f"{source}: the file is empty")
    codec, wide = _encoding_of(data, encoding)
    if not wide and b"\x00" in data[:4096]:
        raise IngestError(
            f"{source}: this looks like a binary file, not text (it contains NUL bytes); "
            "if it is UTF-16 text without a byte-order mark, pass --encoding utf-16-le (or utf-16-be)"
        )
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"{source}: the file is not valid {codec} (byte {exc.start}: {data[exc.start:exc.start + 1]!r}); "
            "pass the right encoding, e.g. --encoding cp1252"
        ) from None
    except LookupError:
        raise IngestError(f"{source}: unknown encoding {encoding!r}") from None
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise IngestError(f"{source}: the file is empty (it holds only a byte-order mark or white space)")
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


