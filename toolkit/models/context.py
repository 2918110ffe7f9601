"""The context of a sentence as model input: takes a sentence record and a context mode,
gives the text of its section heading and/or neighbouring sentences (one function for every model).

The dataset fills ``section``, ``previous`` and ``next`` from the same letter only, so context
never crosses a letter boundary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ModelError

__all__ = ["CONTEXT_MODES", "CONTEXT_SEPARATOR", "check_context", "context_text"]

#: How much of the letter goes in beside the sentence.
CONTEXT_MODES = ("none", "section", "neighbours", "section+neighbours")
#: Joins the parts of the context; plain text, so it works with any tokenizer. (TF-IDF's word
#: analyser does not see it: "|" is not a word character.)
CONTEXT_SEPARATOR = " | "


def check_context(mode: Any, key: str = "context") -> str:
    """``mode`` if it is a context mode, else a :class:`ModelError` naming ``key``."""
    if mode not in CONTEXT_MODES:
        raise ModelError(f"{key}: must be one of {', '.join(CONTEXT_MODES)}, got {mode!r}")
    return mode


def context_text(record: Mapping[str, Any], mode: str) -> str | None:
    """The context of ``record`` for ``mode``, or None when there is none.

    Order: section heading, previous sentence, next sentence; empty parts are left out.
    Transformers take it as the tokenizer's second segment (``longest_first`` truncation
    shortens the longer segment first, so the sentence keeps at least half of
    ``max_length``); TF-IDF takes it as a separate bag of words.
    """
    check_context(mode)
    parts: list[str] = []
    if mode in ("section", "section+neighbours"):
        parts.append(record.get("section") or "")
    if mode in ("neighbours", "section+neighbours"):
        parts.append(record.get("previous") or "")
        parts.append(record.get("next") or "")
    parts = [part.strip() for part in parts if part and part.strip()]
    return CONTEXT_SEPARATOR.join(parts) if parts else None
