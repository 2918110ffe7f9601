"""Is this a letter to parliament? Takes an ingested letter, gives the signals of one it shows
(salutation, signature, Kamerstuk number, ministry sender, headings, date line, Dutch text).

Anything read as a ``.txt`` file becomes "body sentences" otherwise: fed the project's own
README, segmentation happily returns 167 of them, and a model labels them without a word.
``read_letter`` refuses input below the threshold with the missing signals named, unless the
caller says the input is meant (``--not-a-letter-ok``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..records import Letter

__all__ = ["LetterSignals", "letter_signals"]

_SALUTATION = re.compile(r"^(?:Geachte\s+(?:voorzitter|Voorzitter|leden|heer|mevrouw)|Aan de [Vv]oorzitter\b)", re.MULTILINE)
_KAMERSTUK = re.compile(
    r"(?:\bNr\.\s*\d+\s+(?:BRIEF|GEANNOTEERDE|VERSLAG)|\bkst-\d{5}|\bKamerstuk(?:ken)?\s+\d{2}\s?\d{3}|^\d{2}\s?\d{3}(?:-[A-Z0-9]+)?\s+\S)",
    re.MULTILINE,
)
_SENDER = re.compile(r"\b(?:BRIEF VAN DE|Ministerie van|[Mm]inister(?:-[Pp]resident)? van|[Ss]taatssecretaris van)\b")
# The most frequent Dutch function words; a Dutch text has many, an English one almost none.
_DUTCH_WORDS = frozenset("de het een en van in op dat is te voor met niet zijn aan om ook als bij door wordt".split())
_WORD = re.compile(r"[^\W\d_]+")
#: Strong signals needed (headings count half), and the least share of Dutch function words.
THRESHOLD = 2.0
MIN_DUTCH_SHARE = 0.15


@dataclass(frozen=True)
class LetterSignals:
    salutation: bool
    signature: bool
    kamerstuk: bool
    sender: bool
    headings: bool
    date: bool
    dutch_share: float

    @property
    def score(self) -> float:
        strong = (self.salutation, self.signature, self.kamerstuk, self.sender, self.date)
        return sum(strong) + 0.5 * self.headings

    @property
    def is_letter(self) -> bool:
        return self.score >= THRESHOLD and self.dutch_share >= MIN_DUTCH_SHARE

    def missing(self) -> list[str]:
        names = {
            "salutation": "a salutation or addressee ('Geachte voorzitter,', 'Aan de Voorzitter …')",
            "signature": "a signature ('De Minister van …,' and a name)",
            "kamerstuk": "a Kamerstuk or dossier number",
            "sender": "a ministry or minister as sender",
            "headings": "headings",
            "date": "a date line",
        }
        missing = [text for name, text in names.items() if not getattr(self, name)]
        if self.dutch_share < MIN_DUTCH_SHARE:
            missing.append(f"Dutch text ({self.dutch_share:.0%} Dutch function words, at least {MIN_DUTCH_SHARE:.0%} expected)")
        return missing


def letter_signals(letter: Letter) -> LetterSignals:
    kinds = {block.kind for block in letter.blocks}
    head = "\n".join(block.text for block in letter.blocks if block.kind == "head")
    everything = letter.text
    words = [word.lower() for word in _WORD.findall(" ".join(b.text for b in letter.blocks if b.kind == "body"))]
    dutch = sum(word in _DUTCH_WORDS for word in words) / len(words) if words else 0.0
    return LetterSignals(
        salutation=bool(_SALUTATION.search(head)),
        signature="signature" in kinds,
        kamerstuk=bool(_KAMERSTUK.search(head) or letter.number or (letter.dossier and _KAMERSTUK.search(everything))),
        sender=bool(letter.sender or _SENDER.search(head)),
        headings="heading" in kinds,
        date=letter.date is not None,
        dutch_share=round(dutch, 3),
    )
