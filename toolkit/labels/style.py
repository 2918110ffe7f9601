"""Style statistics of the letters: takes the corpus and its labels, gives per letter and for the
corpus against the seed letter the measures on which reconstructed letters drifted from real ones.

The measures (each a share of body sentences unless said otherwise): sentences per letter, words
per sentence, the government's own impersonal evaluations (actor ``netherlands`` with no Dutch
subject word: "Het is van belang dat …"), abbreviations ("o.a.", "bijv.", …), sentences with a
digit, initials before names, headings and footnotes per letter, letters with annexes, with a named
member of parliament or a motion, and with "uw Kamer", the share of each class per task, and the
total-variation distance of each task's class distribution from the seed letter's.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..records import Letter
from ..report import markdown_table
from ..segment import segment_letter

__all__ = ["DUTCH_SUBJECT", "LetterStyle", "corpus_style", "letter_style", "style_markdown", "total_variation"]

SEED = "kst-28676-307"
#: A Dutch subject word: the sentence names the Netherlands or its government as who speaks.
DUTCH_SUBJECT = re.compile(r"\b(?:Nederland|Nederlandse|kabinet|regering|ik|wij|mij|ons|onze|mijn)\b", re.IGNORECASE)
_ABBREVIATION = re.compile(r"(?<!\w)(?:o\.a\.|bijv\.|m\.b\.t\.|i\.v\.m\.|d\.w\.z\.|t\.a\.v\.|e\.d\.|o\.m\.|ca\.)")
_OA = re.compile(r"(?<!\w)o\.a\.")
_INITIALS = re.compile(r"\b(?:[A-Z]\.){1,4}\s?(?:[A-Z]\.\s?)*[A-Z][a-zé]+")
_MEMBER = re.compile(r"\bhet lid\b|\bKamerlid\b|\bde leden\b|\bmotie\b", re.IGNORECASE)


@dataclass(frozen=True)
class LetterStyle:
    letter_id: str
    sentences: int
    words_per_sentence: float
    impersonal_netherlands: float
    abbreviations: float
    has_oa: bool
    digits: float
    initials: float
    headings: int
    footnotes: int
    annex: bool
    member_or_motion: bool
    uw_kamer: bool
    actor_classes: int
    shares: dict[str, dict[str, float]]


def _share(count: int, total: int) -> float:
    return round(count / total, 4) if total else 0.0


def letter_style(letter: Letter, labels: Mapping[str, Mapping[str, Any]], tasks: Sequence[str]) -> LetterStyle:
    """The measures of one letter; ``labels`` maps sentence id to its labelled row."""
    records = segment_letter(letter)
    body = [record for record in records if record.kind == "body"]
    rows = [labels[record.id] for record in body if record.id in labels]
    texts = [record.text for record in body]
    n = len(texts)
    joined = " ".join(texts)
    return LetterStyle(
        letter_id=letter.id,
        sentences=n,
        words_per_sentence=round(sum(len(text.split()) for text in texts) / n, 2) if n else 0.0,
        impersonal_netherlands=_share(sum(1 for row in rows if row["actor"] == "netherlands" and not DUTCH_SUBJECT.search(row["text"])), len(rows)),
        abbreviations=_share(sum(1 for text in texts if _ABBREVIATION.search(text)), n),
        has_oa=bool(_OA.search(joined)),
        digits=_share(sum(1 for text in texts if re.search(r"\d", text)), n),
        initials=_share(sum(1 for text in texts if _INITIALS.search(text)), n),
        headings=sum(1 for record in records if record.kind == "heading"),
        footnotes=len(letter.footnotes),
        annex=any(record.part == "annex" for record in body),
        member_or_motion=bool(_MEMBER.search(joined)),
        uw_kamer="uw Kamer" in joined,
        actor_classes=len({row["actor"] for row in rows}),
        shares={task: {label: _share(count, len(rows)) for label, count in Counter(row[task] for row in rows).items()} for task in tasks},
    )


def total_variation(first: Mapping[str, float], second: Mapping[str, float]) -> float:
    """Half the summed absolute difference of two class distributions (0 = equal, 1 = disjoint)."""
    return round(0.5 * sum(abs(first.get(key, 0.0) - second.get(key, 0.0)) for key in set(first) | set(second)), 4)


def _pooled(styles: Sequence[LetterStyle], labels_rows: Sequence[Mapping[str, Any]], tasks: Sequence[str]) -> dict[str, Any]:
    n = sum(style.sentences for style in styles) or 1

    def weighted(attribute: str) -> float:
        return round(sum(getattr(style, attribute) * style.sentences for style in styles) / n, 4)

    counts = {task: Counter(row[task] for row in labels_rows) for task in tasks}
    return {
        "letter count": len(styles),
        "sentences per letter": round(n / max(1, len(styles)), 1),
        "words per sentence": weighted("words_per_sentence"),
        "impersonal netherlands": weighted("impersonal_netherlands"),
        "abbreviations": weighted("abbreviations"),
        "letters with o.a.": round(sum(style.has_oa for style in styles) / max(1, len(styles)), 3),
        "digits": weighted("digits"),
        "initials": weighted("initials"),
        "headings per letter": round(sum(style.headings for style in styles) / max(1, len(styles)), 2),
        "footnotes per letter": round(sum(style.footnotes for style in styles) / max(1, len(styles)), 2),
        "letters with an annex": round(sum(style.annex for style in styles) / max(1, len(styles)), 3),
        "letters naming an MP or a motion": round(sum(style.member_or_motion for style in styles) / max(1, len(styles)), 3),
        "letters with 'uw Kamer'": round(sum(style.uw_kamer for style in styles) / max(1, len(styles)), 3),
        "actor classes per letter": round(sum(style.actor_classes for style in styles) / max(1, len(styles)), 2),
        "shares": {task: {label: _share(count, sum(counts[task].values())) for label, count in counts[task].items()} for task in tasks},
    }


def corpus_style(letters: Sequence[Letter], annotations: Sequence[Mapping[str, Any]], tasks: Sequence[str]) -> dict[str, Any]:
    """Per letter, the seed letter alone, and the other letters pooled, with each task's TVD from the seed."""
    labels = {row["id"]: row for row in annotations}
    styles = [letter_style(letter, labels, tasks) for letter in letters]
    seed = [style for style in styles if style.letter_id == SEED]
    rest = [style for style in styles if style.letter_id != SEED]
    rows_of = lambda group: [row for row in annotations if row["letter_id"] in {s.letter_id for s in group}]  # noqa: E731
    pooled = {"seed": _pooled(seed, rows_of(seed), tasks), "corpus": _pooled(rest, rows_of(rest), tasks)}
    pooled["tvd"] = {task: total_variation(pooled["seed"]["shares"][task], pooled["corpus"]["shares"][task]) for task in tasks}
    return {"letters": styles, **pooled}


def style_markdown(style: Mapping[str, Any], tasks: Sequence[str], genres: Mapping[str, str] | None = None) -> str:
    """The corpus-against-seed table, the class shares and TVDs, and the per-letter table."""
    seed, corpus = style["seed"], style["corpus"]
    measures = [key for key in corpus if key not in ("shares", "letters")]
    parts = [markdown_table(["measure", "seed letter", "other letters"], [[m, seed[m], corpus[m]] for m in measures]), ""]
    for task in tasks:
        labels = sorted(set(seed["shares"][task]) | set(corpus["shares"][task]))
        rows = [[label, seed["shares"][task].get(label, 0.0), corpus["shares"][task].get(label, 0.0)] for label in labels]
        parts += [f"**{task}** (total-variation distance from the seed: {style['tvd'][task]:.3f})", "",
                  markdown_table(["class", "seed letter", "other letters"], rows), ""]
    header = ["letter", "genre", "sentences", "words/sent.", "impersonal NL", "digits", "headings", "footnotes", "annex", "MP/motion"]
    rows = [[s.letter_id, (genres or {}).get(s.letter_id, ""), s.sentences, s.words_per_sentence, s.impersonal_netherlands, s.digits,
             s.headings, s.footnotes, "yes" if s.annex else "", "yes" if s.member_or_motion else ""] for s in style["letters"]]
    parts += ["Per letter:", "", markdown_table(header, rows)]
    return "\n".join(parts)
