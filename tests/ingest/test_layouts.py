"""Real letters as they are published: a covering letter plus annex, web copies with single line
breaks and page furniture, agenda lists, the seed letter in other encodings and layouts.

The fixtures under ``tests/fixtures/layouts/`` are built by ``tests/layouts.py`` from sources
written for the tests (fictional meetings); each has its gold cut in ``tests/gold/layouts/``.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import GOLD_DIR, SEED_LETTER
from tests.ingest.seed_layouts import as_cover_and_annex, as_web_copy
from tests.layouts import FIXTURES, GOLD, LAYOUTS, NAMES, build, gold_text
from toolkit.errors import IngestError
from toolkit.ingest import read_letter
from toolkit.ingest.decode import decode_letter_bytes
from toolkit.ingest.text import letter_from_pdf_text
from toolkit.segment import segment_letter

CASES = [(name, layout) for name in NAMES for layout in LAYOUTS]


def _file(name: str, layout: str) -> Path:
    return FIXTURES / f"{name}-{layout}.{LAYOUTS[layout][1]}"


def _gold(path: Path) -> list[tuple[str, str]]:
    lines = (GOLD / f"{path.name}.tsv").read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("\t", 1)) for line in lines]


@pytest.mark.parametrize(("name", "layout"), CASES, ids=[f"{n}-{l}" for n, l in CASES])
def test_every_layout_gives_its_gold_cut_with_the_annex_as_annex(name, layout):
    path = _file(name, layout)
    records = segment_letter(read_letter(path))
    body = [(record.part, record.text) for record in records if record.kind == "body"]
    assert body == _gold(path)
    assert {part for part, _ in body} == {"letter", "annex"}
    (title,) = {r.annex for r in records if r.part == "annex"}
    assert title.startswith(("VERSLAG", "GEANNOTEERDE AGENDA"))
    assert title in [r.text for r in records if r.part == "annex" and r.kind == "head"]
    gold_lengths = {len(text) for _, text in _gold(path)}
    assert all(len(text) <= 600 or len(text) in gold_lengths for _, text in body)


@pytest.mark.parametrize(("name", "layout"), CASES, ids=[f"{n}-{l}" for n, l in CASES])
def test_the_fixtures_are_what_the_builder_writes(name, layout):
    file_name, content, gold = build(name, layout)
    expected = content if isinstance(content, bytes) else content.encode("utf-8")
    assert (FIXTURES / file_name).read_bytes() == expected, "run: python -m tests.layouts"
    assert (GOLD / f"{file_name}.tsv").read_text(encoding="utf-8") == gold_text(gold)


_WORD = re.compile(r"[^\W\d_]{2,}")


@pytest.mark.parametrize("layout", ["web-single-breaks", "web-wrapped", "text-copy", "ministry"])
def test_no_text_after_a_signature_is_lost(layout):
    """Every word of the file from the signature on is in some record (body, head, furniture, …)."""
    path = _file("report", layout)
    text = path.read_text(encoding="utf-8")
    signature_at = min(text.index(marker) for marker in ("De Minister van", "De minister van") if marker in text)
    records = segment_letter(read_letter(path))
    kept = Counter(word for record in records for word in _WORD.findall(record.text))
    kept.update(word for note in read_letter(path).footnotes for word in _WORD.findall(note.text))
    after = "\n".join(line for line in text[signature_at:].splitlines() if not line.startswith("Pagina "))  # page labels are layout
    lost = [word for word in _WORD.findall(after) if word not in kept]
    assert not lost


def test_page_furniture_is_kept_apart_and_named():
    records = segment_letter(read_letter(_file("report", "web-single-breaks")))
    furniture = [r.text for r in records if r.kind == "furniture"]
    assert any(text.startswith("Onderdeel van zaak") for text in furniture)
    assert any(text.startswith("Nummer: 2030D") for text in furniture)
    assert "* Postbus 20061" in furniture and "Delen" in furniture
    assert not any(r.kind == "body" and ("Onderdeel van" in r.text or "Postbus" in r.text) for r in records)


def test_a_list_intro_is_not_glued_to_its_first_item():
    records = segment_letter(read_letter(_file("agenda", "ministry")))
    body = [r.text for r in records if r.kind == "body"]
    assert "Op de agenda staan de volgende onderwerpen:" in body
    assert "1. Afschrikking en verdediging;" in body


# ----------------------------------------------------------------- the seed letter


def _seed_counts(letter) -> tuple[list[str], Counter]:
    records = segment_letter(letter)
    return [r.text for r in records if r.kind == "body"], Counter(r.kind for r in records)


SEED_GOLD = [line for line in (GOLD_DIR / "kst-28676-307.body.txt").read_text(encoding="utf-8").splitlines() if line]


def _assert_the_seed(letter) -> None:
    body, counts = _seed_counts(letter)
    assert body == SEED_GOLD
    assert (counts["heading"], counts["footnote"], counts["signature"]) == (7, 2, 1)


@pytest.mark.parametrize(
    ("encoding_name", "encode", "encoding"),
    [
        ("utf-8 with BOM", lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"), "utf-8"),
        ("CRLF", lambda text: text.replace("\n", "\r\n").encode("utf-8"), "utf-8"),
        ("BOM and CRLF", lambda text: b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"), "utf-8"),
        ("utf-16 LE with BOM", lambda text: text.encode("utf-16"), "utf-8"),
        ("utf-16 BE with BOM", lambda text: b"\xfe\xff" + text.encode("utf-16-be"), "utf-8"),
        ("utf-16 LE without BOM, --encoding", lambda text: text.encode("utf-16-le"), "utf-16-le"),
    ],
)
def test_the_seed_in_every_encoding(tmp_path, encoding_name, encode, encoding):
    path = tmp_path / "kst-28676-307.txt"
    path.write_bytes(encode(SEED_LETTER.read_text(encoding="utf-8")))
    letter = read_letter(path, encoding=encoding)
    _assert_the_seed(letter)
    assert [r.id for r in segment_letter(letter)] == [r.id for r in segment_letter(read_letter(SEED_LETTER))]


@pytest.mark.parametrize(
    "layout",
    [as_cover_and_annex, as_web_copy, lambda letter: as_web_copy(letter, wrap=85), lambda letter: as_web_copy(letter, furniture=False)],
    ids=["cover-and-annex", "web-copy", "web-copy-wrapped", "web-copy-bare"],
)
def test_the_seed_in_every_layout(layout):
    seed = read_letter(SEED_LETTER)
    _assert_the_seed(letter_from_pdf_text(layout(seed), letter_id="kst-28676-307"))


def test_the_seed_as_cover_and_annex_puts_the_report_in_the_annex():
    records = segment_letter(letter_from_pdf_text(as_cover_and_annex(read_letter(SEED_LETTER)), letter_id="kst-28676-307"))
    parts = Counter((r.kind, r.part) for r in records)
    assert parts[("body", "letter")] + parts[("body", "annex")] == 96 and parts[("body", "annex")] > 80
    assert parts[("heading", "annex")] == 7 and parts[("head", "annex")] == 1


@pytest.mark.parametrize("data", [b"\xef\xbb\xbf", b"\xef\xbb\xbf \r\n\t", b"\xff\xfe", b"\xff\xfe \x00\n\x00"])
def test_a_bom_or_white_space_alone_is_an_empty_file(data):
    with pytest.raises(IngestError, match="empty"):
        decode_letter_bytes(data, "x.txt")


def test_a_readme_is_not_a_letter(tmp_path):
    readme = tmp_path / "README.txt"
    readme.write_text((Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(IngestError, match="does not look like a letter.*--not-a-letter-ok"):
        read_letter(readme)
    assert any(block.kind == "body" for block in read_letter(readme, require_letter=False).blocks)
