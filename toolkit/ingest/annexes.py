"""Annexes published as documents of their own: takes a fetched letter and the annex files saved
beside it, gives one letter whose annex parts hold their text.

The official repository publishes most reports and agendas as a short covering letter
(``kst-…``) whose annexes are separate documents (``blg-…``), linked to it through the
``w.hoofddocument`` index. ``toolkit fetch`` saves them beside the letter as
``<letter>.<annex>.<xml|pdf>`` and lists them, with their titles, in ``<letter>.annexes.json``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..errors import IngestError
from ..records import Block, Footnote, Letter

__all__ = ["annex_files", "attach_annexes", "listed_annex_paths"]


def annex_files(letter_path: Path) -> list[tuple[str, Path]]:
    """``(title, path)`` of the annexes listed beside a letter file, in order; none when unlisted."""
    listing = letter_path.with_name(f"{letter_path.stem}.annexes.json")
    if not listing.is_file():
        return []
    try:
        entries = json.loads(listing.read_text(encoding="utf-8"))
        return [(str(entry["title"]), letter_path.with_name(str(entry["file"]))) for entry in entries]
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as error:
        raise IngestError(f"{listing}: damaged annex list ({error}); fetch the letter again") from None


def listed_annex_paths(paths) -> set[Path]:
    """The files among ``paths`` that are annexes of a letter beside them (read with it, not alone)."""
    listed: set[Path] = set()
    for path in map(Path, paths):
        if path.name.endswith(".annexes.json"):
            continue
        listed.update(annex.resolve() for _, annex in annex_files(path))
    return listed


def attach_annexes(letter: Letter, annexes: list[tuple[str, Letter]]) -> Letter:
    """``letter`` with each annex's text as an annex part (its title as the part's head)."""
    if not annexes:
        return letter
    own = [block for block in letter.blocks if block.kind != "footnote"]
    blocks: list[Block] = list(own)
    footnotes: list[Footnote] = list(letter.footnotes)
    offset = sum(len(block.text) + 2 for block in own)
    for title, annex in annexes:
        start = offset
        part_blocks = [Block("head", title, part="annex", annex=title)]
        for block in annex.blocks:
            if block.kind == "footnote":
                continue
            kind = "head" if block.kind in ("head", "signature") else block.kind
            part_blocks.append(dataclasses.replace(block, kind=kind, part="annex", annex=title))
        blocks += part_blocks
        shift = start + len(title) + 2
        for note in annex.footnotes:
            marker = None if note.marker_offset is None else note.marker_offset + shift
            footnotes.append(Footnote(str(len(footnotes) + 1), note.text, marker))
        offset += sum(len(block.text) + 2 for block in part_blocks)
    blocks += [Block("footnote", note.text) for note in footnotes]
    return dataclasses.replace(letter, blocks=tuple(blocks), footnotes=tuple(footnotes))
