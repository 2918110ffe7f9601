"""Dutch word frequencies: takes a word, gives its Zipf frequency from the maintained ``wordfreq``
lists (cached).

Cleaning asks whether a re-joined word exists; segmentation asks whether the word
after an ambiguous abbreviation is common enough to start a sentence.
"""

from __future__ import annotations

import functools

__all__ = ["zipf"]


@functools.lru_cache(maxsize=131072)
def zipf(word: str) -> float:
    """Zipf frequency of ``word`` in Dutch (0 for unknown words; ~7.7 for "de")."""
    # Imported here: loading wordfreq's Dutch list costs ~0.1 s, paid only when needed.
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "nl")
