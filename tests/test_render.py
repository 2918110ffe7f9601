"""Property-based test: letters rendered into PDF-like text (and XML) ingest back exactly.

Letters are generated from Dutch words (wordfreq's list) plus the constructions
real letters contain (abbreviations, initials, references, hyphenated compounds,
quotations); :mod:`toolkit.render` wraps them with Dutch hyphenation, page-end
footnotes and headings. Ingestion must return exactly the sentences that went in.
"""

from __future__ import annotations

import pytest

import functools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit.ingest.officiele_xml import letter_from_kamerstuk_xml
from toolkit.ingest.text import letter_from_pdf_text
from toolkit.render import LetterSource, Paragraph, Section, gold_body_sentences, render_kamerstuk_xml, render_pdf_text
from toolkit.segment import MAY_END_ABBREVIATIONS, NEVER_FINAL_ABBREVIATIONS, segment_letter

STARTERS = ["De", "Het", "Nederland", "Tijdens", "Ook", "Daarnaast", "Dit", "Er", "In", "Op", "Verder", "Wij", "Zij"]
PHRASES = [
    "op 4 april jl. in Brussel",
    "conform art. 5 van het Verdrag",
    "(Kamerstuk 28 676, nr. 307)",
    "secretaris-generaal J. Stoltenberg",
    "minister A.Th.B. Bijleveld-Schouten",
    "de NAVO-bondgenoten",
    "het staakt-het-vuren",
    "tot de-escalatie",
    "o.a. in Irak",
    "ruim 2% van het bbp",
    "EUR 1,5 mld. extra",
    "(zie bijlage)",
    "in Bosnië-Herzegovina",
    "de wapenbeheersingsverplichtingen",
]
HEADINGS = ["Rusland", "Oekraïne en Georgië", "INF-verdrag", "Westelijke Balkan", "Trans-Atlantische betrekkingen", "Afghanistan"]


@functools.lru_cache(maxsize=1)
def vocabulary() -> list[str]:
    from wordfreq import top_n_list

    excluded = NEVER_FINAL_ABBREVIATIONS | MAY_END_ABBREVIATIONS
    return [word for word in top_n_list("nl", 4000) if word.isalpha() and word.islower() and len(word) > 2 and word not in excluded]


@st.composite
def sentences(draw) -> str:
    words = [draw(st.sampled_from(STARTERS))]
    for _ in range(draw(st.integers(3, 22))):
        if draw(st.integers(0, 9)) == 0:
            words.append(draw(st.sampled_from(PHRASES)))
        else:
            words.append(draw(st.sampled_from(vocabulary())))
    ending = draw(st.sampled_from([".", ".", ".", "?", " (zie bijlage)."]))
    if draw(st.integers(0, 12)) == 0:
        words.append("„" + draw(st.sampled_from(vocabulary())) + " " + draw(st.sampled_from(vocabulary())) + "”")
    return " ".join(words) + ending


@st.composite
def letters(draw) -> LetterSource:
    sections = []
    for index in range(draw(st.integers(1, 4))):
        heading = None if index == 0 else draw(st.sampled_from(HEADINGS))
        paragraphs = [
            Paragraph(tuple(draw(st.lists(sentences(), min_size=1, max_size=5))))
            for _ in range(draw(st.integers(1, 3)))
        ]
        sections.append(Section(heading, tuple(paragraphs)))
    # Attach footnote markers to the end of a few sentences, numbered in order.
    footnotes: dict[str, str] = {}
    marked_sections = []
    for section in sections:
        new_paragraphs = []
        for paragraph in section.paragraphs:
            units = []
            for unit in paragraph.units:
                if draw(st.integers(0, 6)) == 0:
                    number = str(len(footnotes) + 1)
                    footnotes[number] = f"Kamerstuk 28 676, nr. {draw(st.integers(1, 400))}."
                    unit = unit[:-1] + f"[^{number}]" + unit[-1]
                units.append(unit)
            new_paragraphs.append(Paragraph(tuple(units)))
        marked_sections.append(Section(section.heading, tuple(new_paragraphs)))
    metadata = {
        "id": "rec-2099-01-generated",
        "date": "2099-01-15",
        "sender": "Minister van Buitenlandse Zaken",
        "signature": "De Minister van Buitenlandse Zaken, | X.Y. Tester",
        "dossier": "28676",
    }
    return LetterSource(metadata, tuple(marked_sections), footnotes)


def _check(letter, source: LetterSource) -> None:
    records = segment_letter(letter)
    assert [r.text for r in records if r.kind == "body"] == gold_body_sentences(source)
    assert [r.text for r in records if r.kind == "heading"] == [s.heading for s in source.sections if s.heading]
    assert [r.text for r in records if r.kind == "footnote"] == list(source.footnotes.values())
    assert [r.kind for r in records if r.kind == "signature"] == ["signature"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=letters(), width=st.integers(55, 90), lines_per_page=st.integers(9, 40))
@pytest.mark.slow
def test_pdf_text_rendering_ingests_back_to_the_same_sentences(source, width, lines_per_page):
    text = render_pdf_text(source, width=width, lines_per_page=lines_per_page, seed=0)
    try:
        _check(letter_from_pdf_text(text, letter_id=source.id), source)
    except AssertionError:
        print("rendered text:\n" + text)
        raise


@settings(max_examples=25, deadline=None)
@given(source=letters())
def test_xml_rendering_ingests_back_to_the_same_sentences(source):
    _check(letter_from_kamerstuk_xml(render_kamerstuk_xml(source), source="generated.xml"), source)
