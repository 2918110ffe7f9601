from __future__ import annotations

import re

import pytest

from toolkit.ingest import read_letter
from toolkit.records import Block, Letter
from toolkit.segment import lowercase_vocabulary, segment_letter, sentence_id, split_sentences

from tests.conftest import GOLD_DIR


def _split(text: str, context: str = "") -> list[str]:
    vocabulary = lowercase_vocabulary([text, context])
    return [text[start:end] for start, end in split_sentences(text, vocabulary)]


@pytest.fixture(scope="module")
def seed_records(request):
    from tests.conftest import SEED_LETTER

    letter = read_letter(SEED_LETTER)
    return letter, segment_letter(letter)


def test_seed_body_sentences_match_the_hand_made_gold(seed_records):
    _, records = seed_records
    gold = (GOLD_DIR / "kst-28676-307.body.txt").read_text(encoding="utf-8").splitlines()
    body = [record.text for record in records if record.kind == "body"]
    assert len(gold) == 96
    assert body == gold


def _as_pdftotext(text: str, extra_breaks: int = 0) -> str:
    """The seed letter as pdftotext lays out an official Kamerstuk PDF: form feeds between
    pages (where the seed's dump marks a page start with a one-space indent), a running header
    on every later page, the document code, ISSN and printing place at the foot of the first
    page, and blank lines around them. ``extra_breaks`` also puts a page break before every
    ``extra_breaks``-th line that is neither blank nor part of a footnote zone."""
    lines = text.split("\n")
    out, page, in_footnote_zone = [], 1, False
    for number, line in enumerate(lines):
        in_footnote_zone = bool(re.match(r"^\d \S", line)) or (in_footnote_zone and not line.startswith(" "))
        page_start = line.startswith(" ") and not line.startswith("  ") and number > 0
        extra = extra_breaks and number > 12 and number % extra_breaks == 0 and line.strip() and not in_footnote_zone
        if page_start or extra:
            if page == 1:
                out += ["", "kst-28676-307", "ISSN 0921 - 7371", "’s-Gravenhage 2018 Tweede Kamer, vergaderjaar 2018–2019, 28 676, nr. 307 1"]
            page += 1
            out[-1] += "\n\f" + f"Tweede Kamer, vergaderjaar 2018–2019, 28 676, nr. 307 {page}"
            out.append("")
            line = line[1:] if page_start else line
        out.append(line)
    head = ["Tweede Kamer der Staten-Generaal 2", "Vergaderjaar 2018–2019", "", "28 676 NAVO", ""]
    return "\n".join(head + out)


@pytest.mark.parametrize("extra_breaks", [0, 7, 11, 17])
def test_seed_laid_out_as_pdftotext_gives_the_same_sentences(seed_records, tmp_path, extra_breaks):
    from tests.conftest import SEED_LETTER

    _, records = seed_records
    path = tmp_path / "kst-28676-307.txt"
    path.write_text(_as_pdftotext(SEED_LETTER.read_text(encoding="utf-8"), extra_breaks), encoding="utf-8")
    assert "\f" in path.read_text(encoding="utf-8")
    laid_out = segment_letter(read_letter(path))
    for kind in ("body", "heading", "footnote", "signature"):
        assert [r.text for r in laid_out if r.kind == kind] == [r.text for r in records if r.kind == kind], kind


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
        ("Prof. dr. J. de Vries sprak op 1 jan. 2019 in Den Haag. Hij was positief.", 2),
        ("De Raad kwam bijeen op 5 dec. De ministers waren eensgezind.", 2),
        ("Nederland zet zich in voor o.m. ontwapening, non-proliferatie e.d. Ook sprak men over Iran.", 2),
    ],
)
def test_dutch_abbreviations_and_enclosures(text, expected):
    sentences = _split(text, context="de ministers en het kabinet")
    assert len(sentences) == expected, sentences


def test_sentence_after_abbreviation_uses_letter_context():
    text = "Dat gebeurde op 5 april jl. Bondgenoten uitten zorgen."
    assert len(_split(text, context="de bondgenoten")) == 2
