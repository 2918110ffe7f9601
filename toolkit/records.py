"""Plain records passed from one stage to the next: letters, blocks, footnotes and sentences as
frozen dataclasses (no framework objects between stages).

Stages exchange these frozen dataclasses (or lists of them) rather than
framework objects, so each stage can be used and tested on its own.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "PARTS",
    "SENTENCE_KINDS",
    "Block",
    "Footnote",
    "Letter",
    "Sentence",
    "record_to_dict",
]

#: ``furniture`` is text around the letter on a web page (navigation, document metadata,
#: address blocks): kept so a user can inspect it, never classified.
SENTENCE_KINDS = ("body", "heading", "footnote", "head", "signature", "furniture")
#: A letter is the covering letter plus zero or more annexes (the report or agenda itself).
PARTS = ("letter", "annex")

BlockKind = Literal["body", "heading", "footnote", "head", "signature", "furniture"]


@dataclass(frozen=True)
class Footnote:
    """A footnote, kept out of the running text and linked to where its marker stood."""

    number: str
    text: str
    #: Offset in the cleaned letter text of the character right after which the
    #: marker stood, or ``None`` when no marker was found in the body.
    marker_offset: int | None = None


@dataclass(frozen=True)
class Block:
    """A structural unit of a cleaned letter: a paragraph, heading, footnote, …

    ``section`` is the heading the block falls under (``None`` for the untitled
    opening part and for blocks outside the body).
    """

    kind: BlockKind
    text: str
    section: str | None = None
    #: List items are segmented as one unit each, however they are punctuated.
    is_list_item: bool = False
    #: ``letter`` (the covering letter) or ``annex``; ``annex`` is the annex's title.
    part: str = "letter"
    annex: str | None = None


@dataclass(frozen=True)
class Letter:
    """One letter to parliament with its metadata and its cleaned structure."""

    id: str
    blocks: tuple[Block, ...]
    dossier: str | None = None
    number: str | None = None
    date: str | None = None  # ISO 8601 (YYYY-MM-DD)
    type: str | None = None
    sender: str | None = None
    title: str | None = None
    source: str | None = None  # path or URL the letter was read from
    source_format: str | None = None  # text | xml | html | pdf
    provenance: dict[str, Any] = field(default_factory=dict)
    footnotes: tuple[Footnote, ...] = ()

    @property
    def text(self) -> str:
        """The cleaned letter text: blocks joined by blank lines (offsets refer to it)."""
        return "\n\n".join(block.text for block in self.blocks)

    def metadata(self) -> dict[str, Any]:
        """Everything but the structure, as a plain dict."""
        data = record_to_dict(self)
        data.pop("blocks")
        data.pop("footnotes")
        return data


@dataclass(frozen=True)
class Sentence:
    """One segment of a letter: a body sentence, a heading, a footnote, …

    ``start``/``end`` are character offsets into :attr:`Letter.text`.
    """

    id: str
    letter_id: str
    index: int
    kind: BlockKind
    section: str | None
    text: str
    start: int
    end: int
    part: str = "letter"
    annex: str | None = None  # the title of the annex the sentence is in


def record_to_dict(record: Any) -> dict[str, Any]:
    """A JSON-ready dict of a record (tuples become lists)."""
    return dataclasses.asdict(record)
