"""Official document ids: takes a name like ``kst-28676-307``, gives what it tells about a letter
(dossier and number)."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["LetterIdentity", "identity_from_name", "OFFICIAL_ID"]

#: ``kst-<dossier>-<number>``; a dossier may carry a part (``21501-02``, ``36200-V``).
OFFICIAL_ID = re.compile(r"^kst-(?P<dossier>\d+(?:-[0-9A-Z]+)?)-(?P<number>\d+)$")


@dataclass(frozen=True)
class LetterIdentity:
    dossier: str | None = None
    number: str | None = None


def identity_from_name(name: str) -> LetterIdentity:
    """Dossier and number from an official id; empty for other names."""
    match = OFFICIAL_ID.match(name)
    if not match:
        return LetterIdentity()
    return LetterIdentity(dossier=match.group("dossier"), number=match.group("number"))
