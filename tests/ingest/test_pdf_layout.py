from __future__ import annotations

import pytest

from toolkit.ingest.decode import decode_letter_bytes
from toolkit.ingest.pdf_layout import clean_pdf_text
from toolkit.errors import IngestError


def test_empty_binary_and_misencoded_input_is_refused():
    with pytest.raises(IngestError, match="empty"):
        decode_letter_bytes(b"  \n", "x.txt")
    with pytest.raises(IngestError, match="binary"):
        decode_letter_bytes(b"%PDF\x00\x01\x02" * 20, "x.txt")
    with pytest.raises(IngestError, match="not valid utf-8.*--encoding"):
        decode_letter_bytes("Oekraïne".encode("latin-1"), "x.txt")
    assert decode_letter_bytes("Oekraïne".encode("latin-1"), "x.txt", "latin-1") == "Oekraïne"


def test_head_metadata_is_read():
    text = " Nr. 12 BRIEF VAN DE MINISTER VAN DEFENSIE \n\nAan de Voorzitter van de Tweede Kamer der Staten-Generaal \n\nDen Haag, 3 maart 2020 \n\nDit is de brief. \n\nDe Minister van Defensie,\nA.B. Naam\n"
    cleaned = clean_pdf_text(text)
    assert cleaned.head.number == "12"
    assert cleaned.head.sender == "Minister van Defensie"
    assert cleaned.head.date == "2020-03-03"
    kinds = [block.kind for block in cleaned.blocks]
    assert kinds == ["head", "head", "head", "body", "signature"]


def test_running_headers_and_page_numbers_are_dropped():
    text = "Eerste zin van de brief loopt door op de\f2\nTweede Kamer, vergaderjaar 2018–2019, 28 676, nr. 307 2\nvolgende pagina. Tweede zin.\n"
    cleaned = clean_pdf_text(text)
    assert [block.text for block in cleaned.blocks] == ["Eerste zin van de brief loopt door op de volgende pagina. Tweede zin."]


def test_text_without_body_is_refused():
    with pytest.raises(IngestError, match="no body"):
        clean_pdf_text("Aan de Voorzitter van de Tweede Kamer der Staten-Generaal\n")


# A letter as a ministry sends it (before it is printed as a Kamerstuk), written for this test:
# return address, addressee, side column, "Geachte voorzitter,", "Pagina 1 van 2" with the side
# column repeated on the next page, and the function and name apart under lower-case "minister".
MINISTRY_LETTER = """> Retouradres Postbus 20061 2500 EB Den Haag

Aan de Voorzitter van de
Tweede Kamer der Staten-Generaal
Binnenhof 4
Den Haag

Datum 12 december 2018
Betreft Verslag van de NAVO-ministeriële van 4 en 5 december 2018

Ministerie van Buitenlandse Zaken
Rijnstraat 8
2515 XP Den Haag

Onze referentie
BZDOC-123456789-12

Geachte voorzitter,

Hierbij informeer ik u over de bijeenkomst van de Noord-Atlantische Raad die
op 4 en 5 december 2018 in Brussel plaatsvond. De ministers spraken over
Rusland en het INF-verdrag.

Rusland

De bondgenoten veroordeelden het optreden van Rusland in de Straat van Kertsj
en riepen op tot

Pagina 1 van 2{break}
Datum
12 december 2018
Onze referentie
BZDOC-123456789-12

de-escalatie. Nederland steunt de inzet van de NAVO in het Zwarte Zeegebied.

Met vriendelijke groet,

De minister van Buitenlandse Zaken,

S.A. Blok

Pagina 2 van 2
"""


@pytest.mark.parametrize(
    "layout",
    [
        lambda text: text.replace("{break}", ""),
        lambda text: text.replace("{break}", "\f"),
        lambda text: text.replace("Pagina 1 van 2{break}", "\f").replace("Pagina 2 van 2\n", ""),
    ],
    ids=["page-label-only", "page-label-and-form-feed", "form-feed-only"],
)
def test_a_ministry_letter_as_sent_keeps_head_side_columns_and_signature_out_of_the_body(layout):
    cleaned = clean_pdf_text(layout(MINISTRY_LETTER))
    body = [block.text for block in cleaned.blocks if block.kind == "body"]
    assert body == [
        "Hierbij informeer ik u over de bijeenkomst van de Noord-Atlantische Raad die op 4 en 5 december 2018 in Brussel "
        "plaatsvond. De ministers spraken over Rusland en het INF-verdrag.",
        "De bondgenoten veroordeelden het optreden van Rusland in de Straat van Kertsj en riepen op tot de-escalatie. "
        "Nederland steunt de inzet van de NAVO in het Zwarte Zeegebied.",
    ]
    assert [block.text for block in cleaned.blocks if block.kind == "heading"] == ["Rusland"]
    # one signature record per signer (function and name), however the lines are spaced
    assert [block.text for block in cleaned.blocks if block.kind == "signature"] == [
        "Met vriendelijke groet,", "De minister van Buitenlandse Zaken,\nS.A. Blok"
    ]
    head = [block.text for block in cleaned.blocks if block.kind == "head"]
    assert head[0].startswith("> Retouradres") and head[-1] == "Geachte voorzitter,"
    assert cleaned.head.date == "2018-12-12"
    assert cleaned.head.title == "Verslag van de NAVO-ministeriële van 4 en 5 december 2018"
