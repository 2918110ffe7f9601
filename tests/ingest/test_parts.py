"""The parts of a letter: where the signature ends and the annexes begin, on small cases."""

from __future__ import annotations

from toolkit.ingest.parts import signers, split_parts


def _paragraphs(text: str) -> list[list[str]]:
    return [block.split("\n") for block in text.strip().split("\n\n")]


def test_a_covering_letter_signed_then_an_annex_under_a_title_in_capitals():
    parts = split_parts(_paragraphs("""Hierbij bied ik u het verslag aan.

De Minister van Buitenlandse Zaken,
A.B. Test

VERSLAG RAAD BUITENLANDSE ZAKEN VAN 1 MAART 2024

De Raad sprak over Oekraïne."""))
    assert parts.body == [["Hierbij bied ik u het verslag aan."]]
    assert signers(parts.signature) == [["De Minister van Buitenlandse Zaken,", "A.B. Test"]]
    (annex,) = parts.annexes
    assert annex.title == "VERSLAG RAAD BUITENLANDSE ZAKEN VAN 1 MAART 2024"
    assert annex.paragraphs == [["De Raad sprak over Oekraïne."]]


def test_two_signers_on_one_line_and_their_names_on_the_next():
    parts = split_parts(_paragraphs("""Graag bieden wij u de aanvullende informatie aan.

De Minister van Buitenlandse Zaken, De Staatssecretaris voor Europese Zaken,

Drs. A.B. Test Drs. C.D. Proef

Aanvullende informatie op de geannoteerde agenda van de Raad

Het voorzitterschap heeft de agenda aangevuld."""))
    assert len(parts.signature) == 2
    (annex,) = parts.annexes
    assert annex.title.startswith("Aanvullende informatie")
    assert annex.paragraphs == [["Het voorzitterschap heeft de agenda aangevuld."]]


def test_a_one_line_signature_and_a_bijlage_marker_without_a_signature():
    one_line = split_parts(_paragraphs("""Hierbij bied ik u het verslag aan.

De Minister van Buitenlandse Zaken, W.B. Test

VERSLAG VAN DE BIJEENKOMST

Tekst."""))
    assert one_line.signature == [["De Minister van Buitenlandse Zaken, W.B. Test"]]
    assert one_line.annexes[0].title == "VERSLAG VAN DE BIJEENKOMST"
    marker = split_parts(_paragraphs("""Hierbij ontvangt u de agenda.

Bijlage 1

GEANNOTEERDE AGENDA

De Raad zal spreken over Iran."""))
    assert marker.signature == [] and marker.annexes[0].markers == ["Bijlage 1"]
    assert marker.annexes[0].title == "GEANNOTEERDE AGENDA"


def test_a_sentence_that_starts_like_a_signature_is_not_one():
    parts = split_parts(_paragraphs("""De ministers spraken over Rusland.
De Minister van Defensie, die namens Nederland deelnam,
benadrukte het belang van de eenheid.

De Minister van Buitenlandse Zaken,
A.B. Test"""))
    assert len(parts.body[0]) == 3
    assert parts.signature == [["De Minister van Buitenlandse Zaken,", "A.B. Test"]] and parts.annexes == []
