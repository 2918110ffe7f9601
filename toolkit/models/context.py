"""The context of a sentence as model input: takes a sentence record and a context mode,
gives the text of its section heading, neighbouring sentences and/or the letter's own account of
its occasion (one function for every model).

A mode names one or more of the parts ``section`` (the heading the sentence is under),
``neighbours`` (the previous and next body sentence) and ``letter`` (the title of the annex the
sentence is in and the letter's opening sentence, which name the meeting: "Hierbij bied ik u het
verslag aan van de Raad Buitenlandse Zaken …"), joined by ``+`` in that order. The dataset fills
``section``, ``previous``, ``next``, ``annex`` and ``opening`` from the same letter only, so context
never crosses a letter boundary.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from ..errors import ModelError

__all__ = ["CONTEXT_MODES", "CONTEXT_PARTS", "CONTEXT_SEPARATOR", "check_context", "context_parts", "context_text", "part_text"]

#: The parts of a letter that can go in beside the sentence, in the order they are joined.
CONTEXT_PARTS = ("section", "neighbours", "letter")
#: How much of the letter goes in beside the sentence: "none" or parts joined by "+".
CONTEXT_MODES = ("none",) + tuple(
    "+".join(chosen) for size in range(1, len(CONTEXT_PARTS) + 1) for chosen in itertools.combinations(CONTEXT_PARTS, size)
)
#: Joins the parts of the context; plain text, so it works with any tokenizer. (TF-IDF's word
#: analyser does not see it: "|" is not a word character.)
CONTEXT_SEPARATOR = " | "


def check_context(mode: Any, key: str = "context") -> str:
    """``mode`` if it is a context mode, else a :class:`ModelError` naming ``key``."""
    if mode not in CONTEXT_MODES:
        raise ModelError(f"{key}: must be one of {', '.join(CONTEXT_MODES)}, got {mode!r}")
    return mode


def context_parts(mode: str) -> tuple[str, ...]:
    """The parts a context mode names: ``"section+letter"`` → ``("section", "letter")``."""
    check_context(mode)
    return () if mode == "none" else tuple(mode.split("+"))


def part_text(record: Mapping[str, Any], part: str) -> str | None:
    """The text of one context part of ``record`` (None when the letter has none)."""
    fields = {"section": ("section",), "neighbours": ("previous", "next"), "letter": ("annex", "opening")}[part]
    if part == "letter" and record.get("opening") == record.get("text"):
        fields = ("annex",)  # the opening sentence itself: its own text is no context
    texts = [str(record.get(name) or "").strip() for name in fields]
    texts = [text for text in texts if text]
    return CONTEXT_SEPARATOR.join(texts) if texts else None


def context_text(record: Mapping[str, Any], mode: str) -> str | None:
    """The context of ``record`` for ``mode``, or None when there is none.

    Order: section heading, previous sentence, next sentence, annex title, opening sentence;
    empty parts are left out.
    Transformers take it as the tokenizer's second segment (``longest_first`` truncation
    shortens the longer segment first, so the sentence keeps at least half of
    ``max_length``); TF-IDF takes it as a separate bag of words.
    """
    texts = [part_text(record, part) for part in context_parts(mode)]
    texts = [text for text in texts if text]
    return CONTEXT_SEPARATOR.join(texts) if texts else None
