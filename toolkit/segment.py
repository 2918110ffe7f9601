"""Dutch sentence segmentation: takes a cleaned letter, gives its sentence records with stable ids
(body sentences, headings, footnotes, head and signature).

Government letters are full of full stops that do not end a sentence: ``jl.``,
``nr. 630``, ``art. 10``, initials (``S.A. Blok``, ``A.Th.B. Bijleveld``), and
parenthesised references (``(Kamerstuk 33 694, nr. 34)``). The splitter below is
rule-based: a full stop, question or exclamation mark ends a sentence when it is
followed by whitespace and a capital (or a digit), is not inside brackets or a
quotation, and does not close an abbreviation that never ends a sentence.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from .lexicon import zipf
from .records import Letter, Sentence

__all__ = [
    "body_sentences",
    "NEVER_FINAL_ABBREVIATIONS",
    "MAY_END_ABBREVIATIONS",
    "sentence_id",
    "segment_letter",
    "split_sentences",
    "lowercase_vocabulary",
]

#: Abbreviations that are always followed by more of the same sentence.
NEVER_FINAL_ABBREVIATIONS = frozenset(
    """
    nr nrs art artt mr mrs drs dr prof ir ing dhr hr mevr mw mej bijv bv vgl zgn zg
    o.a m.b.t i.v.m t.a.v t.b.v m.u.v i.p.v i.o.m m.i.v d.w.z d.d z.g jo ca resp
    incl excl blz pag par hfst lid sub e.g i.e cf sr jr st gen kol lt luit
    """.split()
)
#: Abbreviations that can also stand at the end of a sentence ("… op 4 april jl.").
MAY_END_ABBREVIATIONS = frozenset(
    "jl a.s c.s e.d enz etc e.a mld mln mrd mlj".split()
    # months: "op 1 jan. 2019" goes on (a digit follows), "op 5 dec. De Raad …" may end
    + "jan feb febr mrt apr jun jul aug sep sept okt nov dec".split()
)
#: After such an abbreviation a capitalised word starts a new sentence only if it is
#: common (zipf ≥ this): "… jl. De ministers" splits, "… op 10 juni jl. Mosul innam" does not.
SENTENCE_START_MIN_ZIPF = 4.5

_CANDIDATE = re.compile(r"[.!?…]+[\"”’'»)\]]*(?=\s)")
_TOKEN_BEFORE = re.compile(r"([\w.'’-]+)$")
_INITIALS = re.compile(r"^(?:[A-Z][a-z]{0,2}\.-?)*[A-Z][a-z]?$")
_OPENING = "(„“\"‘'«["
_QUOTE_PAIRS = {"„": "”", "“": "”", "‘": "’", "«": "»"}


def _is_boundary(text: str, start: int, end: int, lowercase_words: frozenset[str]) -> bool:
    """Decide whether the punctuation text[start:end] ends a sentence."""
    rest = text[end:].lstrip()
    if not rest:
        return True
    following = rest[0]
    punctuation = text[start:end]
    first_letter = next((char for char in rest[:4] if char.isalnum()), "")
    if following.islower() or first_letter.islower():
        return False  # also "… jl. „zeer onaardig”": a quotation continuing the sentence
    before = text[max(0, start - 80) : start]
    token_match = _TOKEN_BEFORE.search(before)
    token = token_match.group(1) if token_match else ""
    if punctuation[0] in "?!":
        return following.isupper() or following.isdigit() or following in _OPENING
    if punctuation.startswith("..") or punctuation[0] == "…":
        return following.isupper()
    lowered = token.lower().rstrip(".")
    if lowered in NEVER_FINAL_ABBREVIATIONS or token.lower() in NEVER_FINAL_ABBREVIATIONS:
        return False
    if _INITIALS.match(token) and following.isupper():
        return False  # "S.A. Blok", "J. Stoltenberg"
    if lowered in MAY_END_ABBREVIATIONS:
        if following in "„“\"‘'«":
            return True
        if not following.isupper():
            return False
        next_word = re.match(r"[^\W\d_]+", rest)
        if not next_word:
            return False
        word = next_word.group().lower()
        # A word the letter also writes in lower case is a common word capitalised
        # because it starts a sentence; a name ("Mosul") never appears in lower case.
        return word in lowercase_words or zipf(word) >= SENTENCE_START_MIN_ZIPF
    if following.isdigit():
        # "1. Inleiding": a list number at the start of a block is not a sentence.
        return not (token.isdigit() and len(token) <= 2 and not text[: start - len(token)].strip())
    if following == "(":
        after_bracket = rest[1:2]
        return bool(after_bracket) and after_bracket.isupper()
    return following.isupper() or following in _OPENING


def _quote_and_bracket_depth(text: str, end: int, since: int) -> tuple[int, bool]:
    """Bracket depth and whether a quotation is open at ``end`` (scanning from ``since``)."""
    depth = 0
    open_quotes: list[str] = []
    straight_open = False
    for position in range(since, end):
        char = text[position]
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif char in _QUOTE_PAIRS:
            open_quotes.append(_QUOTE_PAIRS[char])
        elif open_quotes and char == open_quotes[-1]:
            open_quotes.pop()
        elif char == '"':
            straight_open = not straight_open
    return depth, bool(open_quotes) or straight_open


# Brackets or quotes left open this long are taken as unbalanced, not as an
# enclosure that spans sentences.
_MAX_ENCLOSURE = 400


_LOWERCASE_WORD = re.compile(r"(?<![\w.])[a-zà-ÿ][a-zà-ÿ]+")


def lowercase_vocabulary(texts) -> frozenset[str]:
    """Words that occur in lower case in ``texts`` (evidence that they are not names)."""
    return frozenset(word for text in texts for word in _LOWERCASE_WORD.findall(text))


def split_sentences(text: str, lowercase_words: frozenset[str] = frozenset()) -> list[tuple[int, int]]:
    """Split one paragraph into sentences, returned as (start, end) offsets.

    ``lowercase_words`` (see :func:`lowercase_vocabulary`) helps decide whether a
    capital after an abbreviation such as ``jl.`` starts a new sentence.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    length = len(text)
    while start < length and text[start].isspace():
        start += 1
    for match in _CANDIDATE.finditer(text):
        end = match.end()
        if end <= start:
            continue
        if not _is_boundary(text, match.start(), end, lowercase_words):
            continue
        punctuation = match.group()
        enclosure_start = max(start, match.start() - _MAX_ENCLOSURE)
        depth, quoted = _quote_and_bracket_depth(text, match.start(), enclosure_start)
        if depth > 0 and not punctuation.endswith(")"):
            continue
        if quoted and not punctuation[-1] in "\"”’'»":
            continue
        spans.append((start, end))
        start = end
        while start < length and text[start].isspace():
            start += 1
    stripped_end = len(text.rstrip())
    if start < stripped_end:
        spans.append((start, stripped_end))
    return spans


def sentence_id(letter_id: str, kind: str, text: str, occurrence: int = 0) -> str:
    """A stable id: the same text of the same kind in the same letter gets the same id.

    ``occurrence`` tells apart identical sentences within one letter (0 for the first).
    """
    normalised = " ".join(text.split())
    digest = hashlib.sha1(f"{letter_id}\x1f{kind}\x1f{normalised}\x1f{occurrence}".encode("utf-8")).hexdigest()
    return f"{letter_id}:{digest[:12]}"


def segment_letter(letter: Letter) -> list[Sentence]:
    """Cut a letter into sentence records (body sentences, headings, footnotes, head, signature,
    furniture), each with the part (covering letter or annex) it belongs to."""
    records: list[Sentence] = []
    seen: dict[tuple[str, str], int] = {}
    offset = 0
    vocabulary = lowercase_vocabulary(block.text for block in letter.blocks if block.kind == "body")
    for block in letter.blocks:
        if block.kind == "body" and not block.is_list_item:
            spans = split_sentences(block.text, vocabulary)
        else:
            spans = [(0, len(block.text))] if block.text.strip() else []
        for span_start, span_end in spans:
            text = block.text[span_start:span_end]
            key = (block.kind, " ".join(text.split()))
            occurrence = seen.get(key, 0)
            seen[key] = occurrence + 1
            records.append(
                Sentence(
                    id=sentence_id(letter.id, block.kind, text, occurrence),
                    letter_id=letter.id,
                    index=len(records),
                    kind=block.kind,
                    section=block.section,
                    text=text,
                    start=offset + span_start,
                    end=offset + span_end,
                    part=block.part,
                    annex=block.annex,
                )
            )
        offset += len(block.text) + 2
    return records


def body_sentences(letters: Iterable[Letter]) -> list[Sentence]:
    """The body sentences of ``letters``, in order: what gets labelled and classified."""
    return [record for letter in letters for record in segment_letter(letter) if record.kind == "body"]
