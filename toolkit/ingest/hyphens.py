"""Line-end hyphens in Dutch letter text: takes the lines of a wrapped paragraph, gives the
paragraph with the typesetter's hyphens removed and the hyphens that belong to words kept.

A PDF dump of a letter breaks words at line ends ("verslech-" / "tering"), but Dutch also writes
many compounds with a hyphen ("NAVO-bondgenoten", "staakt-het-vuren", "oud-minister"). The
decision is made per case, from the spelling rules for hyphens and the Dutch word-frequency list
of ``wordfreq``.
"""

from __future__ import annotations

import re

from ..lexicon import zipf as word_frequency

__all__ = ["join_wrapped_lines", "keep_line_end_hyphen"]

# Dutch keeps the hyphen after these prefixes ("oud-minister", "ex-premier").
_HYPHEN_PREFIXES = frozenset({"ex", "oud", "niet", "vice", "non", "kandidaat"})
# How common the part after a name must be to count as a word of its own ("afspraken", not "zad").
_KNOWN_PART_ZIPF = 2.0
# A two-letter "word" after a name is a name's last syllable ("Reznik-" / "ov"), not a compound head.
_MIN_HEAD_LETTERS = 3
# Vowel pairs that Dutch separates with a hyphen in compounds (klinkerbotsing),
# because written together they would read as one sound: "de-escalatie", "zee-eend".
_CLASHING_VOWEL_PAIRS = frozenset(
    {"aa", "ae", "ai", "au", "ee", "ei", "eu", "ie", "oe", "oi", "oo", "ou", "ui", "uu", "ij"}
)
_VOWELS = frozenset("aeiouy")
# Coordinate compounds keep their hyphen ("secretaris-generaal", "directeur-generaal").
# A capitalised right part normally keeps the hyphen ("Bosnië-Herzegovina"); only a
# joined form this common is taken as one name ("ChristenUnie"), not "Midden-Oosten".
_KNOWN_NAME_ZIPF = 3.0
_COORDINATE_HEADS = frozenset({"generaal", "generaals", "president", "presidenten"})


def keep_line_end_hyphen(left: str, right: str) -> bool:
    """Decide whether a hyphen at a line end belongs to the word.

    ``left`` is the word fragment before the hyphen (without it), ``right`` the
    fragment that starts the next line. Returns ``True`` for a real hyphen
    (``Bosnië-`` / ``Herzegovina``, ``staakt-het-`` / ``vuren``), ``False`` for a
    hyphen the typesetter added to break the word (``verslech-`` / ``tering``).
    The Dutch word-frequency list of ``wordfreq`` decides the open cases.
    """
    left_part = left.rsplit("-", 1)[-1]
    right_match = re.match(r"[^\W\d_]+|\d+", right)
    right_part = right_match.group() if right_match else ""
    if not left_part or not right_part:
        return True
    joined = (left_part + right_part).lower()
    if right_part[0].isupper() and left_part[-1].isalpha() and word_frequency(joined) >= _KNOWN_NAME_ZIPF:
        return False  # a name written as one word: "Christen-" / "Unie" → "ChristenUnie"
    if not left_part[-1].isalpha() or right_part[0].isupper() or right_part[0].isdigit():
        return True  # "(TAA)-activiteiten", "Bosnië-Herzegovina", "COVID-19"
    if len(left_part) >= 2 and left_part.isupper():
        return True  # acronyms: "NAVO-bondgenoten", "EU-lidstaten"
    lower_left, lower_right = left_part.lower(), right_part.lower()
    if lower_right in _COORDINATE_HEADS and word_frequency(lower_left) > 0:
        return True  # "minister-president", "secretaris-generaal", even where the joined form occurs
    if word_frequency(joined) > 0:
        return False
    hyphenated_compound = "-" in left or "-" in right.rstrip("-")
    if hyphenated_compound and word_frequency(lower_left) > 0 and word_frequency(lower_right) > 0:
        return True  # a multi-part compound written with hyphens: "staakt-het-vuren"
    if lower_left in _HYPHEN_PREFIXES or lower_right in _COORDINATE_HEADS:
        return True
    if (
        left_part[0].isupper()
        and len(right_part) >= _MIN_HEAD_LETTERS
        and word_frequency(lower_left) > 0
        and word_frequency(lower_right) >= _KNOWN_PART_ZIPF
    ):
        return True  # a name as first part: "Wales-afspraken", "Air Policing-missie" (not "Khalil-" / "zad")
    pair = lower_left[-1] + lower_right[0]
    if lower_left[-1] in _VOWELS and lower_right[0] in _VOWELS and pair in _CLASHING_VOWEL_PAIRS:
        return True
    return False


_LINE_END_WORD = re.compile(r"(\S+)-$")


def join_wrapped_lines(lines: list[str]) -> str:
    """Join the lines of one paragraph, undoing line-end hyphenation."""
    pieces: list[str] = []
    previous = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if pieces:
            match = _LINE_END_WORD.search(previous[-80:]) if previous.endswith("-") else None
            if match and len(previous) > 1:
                right = line.split(None, 1)[0]
                if not keep_line_end_hyphen(match.group(1), right):
                    pieces[-1] = pieces[-1][:-1]
            else:
                pieces.append(" ")
        pieces.append(line)
        previous = line
    return "".join(pieces)
