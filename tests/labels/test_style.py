"""Style statistics: the measures on which reconstructed letters drifted from real ones."""

from __future__ import annotations

import pytest

from toolkit.labels.style import DUTCH_SUBJECT, corpus_style, letter_style, total_variation
from toolkit.records import Block, Letter


def _letter(letter_id: str, sentences: list[str], **blocks) -> Letter:
    body = [Block("heading", "Rusland", "Rusland")] + [Block("body", text, "Rusland") for text in sentences]
    return Letter(id=letter_id, blocks=tuple(body))


def _labels(letter: Letter, actors: list[str], stances: list[str]):
    from toolkit.segment import segment_letter

    body = [r for r in segment_letter(letter) if r.kind == "body"]
    return [{"id": r.id, "letter_id": letter.id, "text": r.text, "topic": "russia", "actor": a, "stance": s}
            for r, a, s in zip(body, actors, stances)]


def test_impersonal_evaluations_digits_abbreviations_and_initials_are_counted():
    letter = _letter("rec-a", [
        "Het is van belang dat de steun doorgaat.",      # impersonal netherlands
        "Nederland heeft dit benadrukt.",               # netherlands, with a Dutch subject word
        "De bondgenoten spraken o.a. over 2% voor defensie.",
        "Volgens J. Stoltenberg is dit een goede stap.",
    ])
    rows = _labels(letter, ["netherlands", "netherlands", "nato", "nato"], ["support", "support", "neutral", "support"])
    style = letter_style(letter, {row["id"]: row for row in rows}, ["actor", "stance"])
    assert style.sentences == 4 and style.headings == 1
    assert style.impersonal_netherlands == 0.25
    assert style.abbreviations == 0.25 and style.has_oa
    assert style.digits == 0.25 and style.initials == 0.25
    assert style.shares["stance"] == {"support": 0.75, "neutral": 0.25}


def test_the_corpus_is_compared_with_the_seed_by_total_variation():
    seed = _letter("kst-28676-307", ["Het is positief dat de Raad besloot.", "Rusland schendt het verdrag."])
    other = _letter("rec-b", ["De Raad nam conclusies aan.", "De ministers spraken over Iran."])
    rows = _labels(seed, ["netherlands", "russia"], ["support", "critical"]) + _labels(other, ["eu", "eu"], ["support", "neutral"])
    style = corpus_style([seed, other], rows, ["actor", "stance"])
    assert style["seed"]["letter count"] == 1 and style["corpus"]["letter count"] == 1
    assert style["tvd"]["actor"] == 1.0  # no actor in common
    assert style["tvd"]["stance"] == 0.5
    assert total_variation({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5}) == 0.0


@pytest.mark.parametrize(("text", "dutch"), [("Het kabinet steunt dit.", True), ("Wij zullen dit volgen.", True),
                                              ("Het is van belang dat dit gebeurt.", False), ("Nederlandse militairen trainen.", True)])
def test_dutch_subject_words(text, dutch):
    assert bool(DUTCH_SUBJECT.search(text)) == dutch
