from __future__ import annotations

import pytest

from toolkit.ingest import read_letter
from toolkit.records import Block, Letter
from toolkit.segment import lowercase_vocabulary, segment_letter, sentence_id, split_sentences

from .conftest import GOLD_DIR


def _split(text: str, context: str = "") -> list[str]:
    vocabulary = lowercase_vocabulary([text, context])
    return [text[start:end] for start, end in split_sentences(text, vocabulary)]


@pytest.fixture(scope="module")
def seed_records(request):
    from .conftest import SEED_LETTER

    letter = read_letter(SEED_LETTER)
    return letter, segment_letter(letter)


def test_seed_body_sentences_match_the_hand_made_gold(seed_records):
    _, records = seed_records
    gold = (GOLD_DIR / "kst-28676-307.body.txt").read_text(encoding="utf-8").splitlines()
    body = [record.text for record in records if record.kind == "body"]
    assert len(gold) == 96
    assert body == gold


def test_seed_structure_headings_footnotes_head_signature(seed_records):
    _, records = seed_records
    headings = [record.text for record in records if record.kind == "heading"]
    assert headings == [
        "Oekraïne en Georgië",
        "INF-verdrag",
        "Trans-Atlantische betrekkingen",
        "Rusland",
        "Zuidflank",
        "Westelijke Balkan",
        "Afghanistan",
    ]
    footnotes = [record.text for record in records if record.kind == "footnote"]
    assert footnotes == [
        "Raadpleegbaar via www.tweedekamer.nl.",
        "Zie verslag van de NAVO ministeriële in Tallinn (23-23 april 2010), Kamerstuk 28 676, nr. 106.",
    ]
    assert [r.text for r in records if r.kind == "head"][-1] == "Den Haag, 12 december 2018"
    assert [r.text for r in records if r.kind == "signature"] == ["De Minister van Buitenlandse Zaken,\nS.A. Blok"]


def test_seed_body_sentences_fall_under_their_heading(seed_records):
    _, records = seed_records
    by_text = {record.text: record for record in records}
    assert by_text[next(t for t in by_text if t.startswith("Hierbij informeer"))].section is None
    assert by_text["Het is nu aan Rusland om hierop te reageren."].section == "INF-verdrag"
    assert by_text["De werkwijze van en de voorwaarden rondom inzet van het SOAT blijven ongewijzigd."].section == "Afghanistan"


def test_sentences_interrupted_by_a_page_end_footnote_are_whole(seed_records):
    _, records = seed_records
    texts = [record.text for record in records]
    assert (
        "De plannen beschrijven hoe aan deze afspraken binnen het bondgenootschap invulling kan worden gegeven."
        in texts
    )
    assert any(text.startswith("Daarvoor is het wel noodzakelijk") and text.endswith("te krijgen.") for text in texts)
    assert not any("Raadpleegbaar" in record.text for record in records if record.kind == "body")


def test_footnote_markers_are_removed_and_linked(seed_records):
    letter, records = seed_records
    body = " ".join(record.text for record in records if record.kind == "body")
    assert "verslag)1." not in body and "(zie bijlage bij dit verslag)." in body
    assert "Tallinn criterium:" in body
    first, second = letter.footnotes
    assert letter.text[first.marker_offset - len("verslag)") : first.marker_offset] == "verslag)"
    assert letter.text[second.marker_offset - len("criterium") : second.marker_offset] == "criterium"


def test_offsets_point_into_the_cleaned_letter_text(seed_records):
    letter, records = seed_records
    for record in records:
        assert letter.text[record.start : record.end] == record.text


def test_ids_are_stable_and_unique(seed_records):
    letter, records = seed_records
    again = segment_letter(read_letter(letter.source))
    assert [r.id for r in records] == [r.id for r in again]
    assert len({r.id for r in records}) == len(records)
    assert records[3].id == sentence_id(letter.id, "body", records[3].text)


def test_identical_sentences_in_one_letter_get_distinct_ids():
    letter = Letter(id="x", blocks=(Block("body", "Dit is zo. Dit is zo."),))
    first, second = segment_letter(letter)
    assert first.text == second.text and first.id != second.id


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Op 5 december jl. verzocht het lid dit. Daarna volgde een debat.", 2),
        ("Zie Kamerstuk 27 925, nr. 630. Dat is bekend.", 2),
        ("Conform art. 10 van het Verdrag van Washington. Dat geldt.", 2),
        ("De Minister, S.A. Blok, was aanwezig. A.Th.B. Bijleveld-Schouten ook.", 2),
        ("Ook J.-C. Juncker sprak. Hij was kort.", 2),
        ("Het overleg vond plaats op 4 april jl. De ministers waren eensgezind.", 2),
        ("Rusland trok zich terug, die op 10 juni jl. Mosul innam.", 1),
        ("De motie van het lid Knops c.s. (Kamerstuk 28 676, nr. 246) is aangenomen.", 1),
        ("Hij noemde dat op 3 december jl. „zeer onaardig”. Daarna ging het verder.", 2),
        ("De SG zei: „Dit is belangrijk. Wij steunen het.” De ministers knikten.", 2),
        ("Dit kost EUR 1,5 mld. per jaar. Het kabinet steunt dat.", 2),
        ("Is dat genoeg? Nederland denkt van niet!", 2),
        ("De VS. Frankrijk volgt.", 2),
        ("Het gaat o.a. om Irak. En om Libië (zie bijlage). Dat is alles.", 3),
        ("Zie www.tweedekamer.nl. Daar staat het.", 2),
    ],
)
def test_dutch_abbreviations_and_enclosures(text, expected):
    sentences = _split(text, context="de ministers en het kabinet")
    assert len(sentences) == expected, sentences


def test_sentence_after_abbreviation_uses_letter_context():
    text = "Dat gebeurde op 5 april jl. Bondgenoten uitten zorgen."
    assert len(_split(text, context="de bondgenoten")) == 2
