"""Ingestion of each file format, and the errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.errors import IngestError
from toolkit.ingest import read_letter
from toolkit.ingest.officiele_xml import letter_from_kamerstuk_xml
from toolkit.render import gold_body_sentences, parse_authoring, render_kamerstuk_xml, render_pdf_text
from toolkit.segment import segment_letter

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _body(letter) -> list[str]:
    return [record.text for record in segment_letter(letter) if record.kind == "body"]


def test_official_xml_markup_seen_in_real_kamerstukken():
    """``fixtures/kst-28676-999-markup.xml`` was written for this test (not a real letter), with
    the markup of the official schema that real kamerstukken use: a BOM and CRLF line ends, a
    typesetting instruction inside a word (``<?xpp afbm?>``), nested ``divisie``/``kop`` with
    numbers, nested lists, ``extref``, a footnote in the title and one in the text, a signature
    whose function runs on after ``<functie>``, and an annex (``bijlage``) that is read as the
    letter's annex part (its table is not running text)."""
    letter = read_letter(FIXTURES / "kst-28676-999-markup.xml")
    records = segment_letter(letter)
    by_kind = {kind: [r.text for r in records if r.kind == kind] for kind in ("body", "heading", "signature", "footnote")}
    assert [r.text for r in records if r.kind == "body" and r.part == "letter"] == [
        "Hierbij informeer ik u over de bijeenkomst.",
        "De bondgenotenvergadering was eensgezind.",
        "Nederland steunt dit.",
        "Eerste punt van de lijst.",
        "Tweede punt.",
        "Een onderdeel.",
        "Zie www.navo.int voor meer.",
    ]
    assert by_kind["heading"] == ["1. Rusland", "a. Onderdeel"]
    assert by_kind["signature"] == ["De Minister van Buitenlandse Zaken,\nS.A. Blok"]
    assert by_kind["footnote"] == ["Zie het verslag."]
    annex = [(r.kind, r.text, r.annex) for r in records if r.part == "annex"]
    assert annex == [("head", "Bijlage bij punt 7", "Bijlage bij punt 7"), ("body", "Tekst van de bijlage.", "Bijlage bij punt 7")]
    assert not any(r.text == "Cel" for r in records)
    (note,) = letter.footnotes
    assert letter.text[: note.marker_offset].endswith("eensgezind.")
    assert letter.date == "2018-12-12"  # from "Den Haag, 12 december 2018": the file has no isodatum


def test_official_xml_fixture_parses_with_metadata_and_footnotes():
    letter = read_letter(FIXTURES / "sru" / "kst-28676-307.xml")
    assert letter.id == "kst-28676-307"
    assert letter.dossier == "28676" and letter.number == "307"
    assert letter.source_format == "xml"
    records = segment_letter(letter)
    assert any(record.kind == "footnote" for record in records)
    assert all(letter.text[r.start : r.end] == r.text for r in records)


def test_xml_footnote_marker_offset_points_after_the_marked_word(tiny_source_text):
    source = parse_authoring(tiny_source_text)
    letter = letter_from_kamerstuk_xml(render_kamerstuk_xml(source), source="tiny.xml")
    (note,) = letter.footnotes
    assert note.text == "Kamerstuk 28 676, nr. 999."
    assert letter.text[: note.marker_offset].endswith("(zie bijlage)")
    assert _body(letter) == gold_body_sentences(source)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"<officiele-publicatie><kamerstuk>", "not well-formed"),
        (b"<html><body/></html>", "root element is <html>"),
        (b"<officiele-publicatie><staatscourant/></officiele-publicatie>", "not a kamerstuk"),
        (b"<officiele-publicatie><kamerstuk><stuk><titel>X</titel></stuk></kamerstuk></officiele-publicatie>", "no body text"),
    ],
)
def test_bad_xml_gets_a_specific_error(data, message):
    with pytest.raises(IngestError, match=message):
        letter_from_kamerstuk_xml(data, source="bad.xml")


def test_xml_with_external_entities_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("geheim")
    data = (
        f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file://{secret}">]>'
        "<officiele-publicatie><kamerstuk><stuk><al>&e;</al></stuk></kamerstuk></officiele-publicatie>"
    ).encode()
    with pytest.raises(IngestError, match="unsafe XML"):
        letter_from_kamerstuk_xml(data, source="evil.xml")


def test_html_rendering_is_parsed():
    letter = read_letter(FIXTURES / "letters" / "kst-99999-1.html")
    records = segment_letter(letter)
    kinds = {kind: [r.text for r in records if r.kind == kind] for kind in ("head", "heading", "footnote", "signature")}
    assert [r.text for r in records if r.kind == "body" and r.part == "letter"] == [
        "Hierbij bericht ik u over de bijeenkomst van 1 juni jl. in Brussel.",
        "De bondgenoten spraken over Rusland.",
        "Nederland steunt de soevereiniteit van Oekraïne.",
        "Ook de EU zegde steun toe.",
        "een eerste punt;",
        "een tweede punt.",
    ]
    assert kinds["heading"] == ["Oekraïne"]
    assert kinds["footnote"] == ["Kamerstuk 28 676, nr. 350."]
    assert kinds["signature"] == ["De Minister van Buitenlandse Zaken,\nA.B. Minister"]
    assert letter.date == "2021-06-03" and letter.sender == "Minister van Buitenlandse Zaken"
    assert not any("Colofon" in r.text or "Zoeken" in r.text for r in records)
    annex = [(r.kind, r.text) for r in records if r.part == "annex"]
    assert annex == [("head", "Bijlage: overzicht"), ("body", "Tekst van de bijlage.")]
    assert letter.text[: letter.footnotes[0].marker_offset].endswith("spraken over Rusland")


def _pdf_from_lines(pages: list[list[str]]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_font("Helvetica", size=10)
    for lines in pages:
        pdf.add_page()
        for line in lines:
            pdf.cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def test_pdf_letter_with_page_end_footnote(tmp_path, tiny_source_text):
    source = parse_authoring(tiny_source_text)
    text = render_pdf_text(source, width=60, lines_per_page=4, seed=1)
    # Core PDF fonts cover Latin-1 only; the tiny letter stays within it apart from quotes.
    pages = [[line.strip() for line in page.split("\n")] for page in text.replace("\n ", "\f").split("\f")]
    path = tmp_path / "rec-2099-01-test.pdf"
    path.write_bytes(_pdf_from_lines(pages))
    letter = read_letter(path)
    assert letter.source_format == "pdf"
    assert _body(letter) == gold_body_sentences(source)
    assert [r.text for r in segment_letter(letter) if r.kind == "footnote"] == ["Kamerstuk 28 676, nr. 999."]


def test_scanned_pdf_without_text_layer_is_refused(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 150, style="F")  # a page with only graphics, as a scan has
    path = tmp_path / "scan.pdf"
    path.write_bytes(bytes(pdf.output()))
    with pytest.raises(IngestError, match="no text layer"):
        read_letter(path)


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("empty.txt", b"", "empty"),
        ("binary.txt", bytes(range(256)) * 4, "binary"),
        ("latin.txt", "Oekraïne en Georgië\n\nDe brief.".encode("latin-1"), "not valid utf-8"),
        ("fake.pdf", b"hello", "not a PDF"),
        ("letter.docx", b"PK", "unsupported file type"),
    ],
)
def test_bad_files_get_specific_errors(tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(IngestError, match=message):
        read_letter(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(IngestError, match="no such file"):
        read_letter(tmp_path / "missing.txt")
    with pytest.raises(IngestError, match="is a directory"):
        read_letter(tmp_path)
