"""Letters laid out as real copies come, for the layout tests: built from sources written for the
tests (``tests/fixtures/layouts/src/*.md``, fictional meetings, our own sentences).

Each builder returns the file's text and its gold cut: ``(part, text)`` per body record. The
layouts follow what the official sites publish (facts about their form, no copied text):

* ``web-single-breaks``: a parliament document page saved as text: navigation and document
  metadata above, the Kamerstuk print with one line per paragraph and no blank lines, the
  signature as function and name lines, the annex title in capitals, notes listed at the end,
  the ministry's address block and sharing links below;
* ``web-wrapped``: the same print wrapped at a fixed width, still with single line breaks
  ("Brief regering : …" page title above);
* ``text-copy``: the HTML rendering copied with blank lines between paragraphs, the signature on
  one line ("De Minister van …, A.B. Voorbeeld"), a "Source: …, published on …" line above;
* ``ministry``: the letter as a ministry sends it (return address, side column, "Geachte
  voorzitter,", "Met vriendelijke groet,", "Pagina 1 van 2"), the annex announced by "Bijlage 1",
  agenda items numbered with the number on a line of its own;
* ``pdf``, ``xml``, ``html``: the Kamerstuk as PDF text, official XML and its HTML rendering.
"""

from __future__ import annotations

import re
import textwrap
from html import escape
from pathlib import Path

from toolkit.render import LetterSource, parse_authoring, render_kamerstuk_xml, render_pdf_text

SOURCES = Path(__file__).resolve().parent / "fixtures" / "layouts" / "src"
_MARKER = re.compile(r"\[\^(\d+)\]")
_MONTHS = "januari februari maart april mei juni juli augustus september oktober november december".split()


def load_source(name: str) -> LetterSource:
    return parse_authoring((SOURCES / f"{name}.md").read_text(encoding="utf-8"), name)


def _date(iso: str) -> str:
    year, month, day = (int(part) for part in iso.split("-"))
    return f"{day} {_MONTHS[month - 1]} {year}"


def _plain(text: str) -> str:
    return _MARKER.sub("", text)


def _glued(text: str) -> str:
    """Footnote markers glued to the word they follow, as web copies show them."""
    return _MARKER.sub(lambda m: m.group(1), text)


def _units(source: LetterSource, numbered: bool = False):
    """``(part, kind, text, sentences)`` in reading order: annex titles, headings, paragraphs
    (with the sentences their author wrote) and list items."""
    for part, title, sections in source.parts():
        if part == "annex":
            yield part, "title", title, ()
        item = 0
        for section in sections:
            if section.heading:
                yield part, "heading", section.heading, ()
            for paragraph in section.paragraphs:
                if paragraph.is_list_item:
                    item += 1
                    text = f"{item}. {paragraph.units[0]}" if numbered else paragraph.units[0]
                    yield part, "item", text, (text,)
                else:
                    item = 0
                    yield part, "paragraph", " ".join(paragraph.units), paragraph.units


def _gold(source: LetterSource, numbered: bool = False) -> list[tuple[str, str]]:
    """The body records ingestion must give: one per sentence, one per list item."""
    return [(part, _plain(sentence)) for part, _, _, sentences in _units(source, numbered) for sentence in sentences]


def _print_head(source: LetterSource) -> list[str]:
    meta = source.metadata
    dossier = meta["dossier"]
    spaced = f"{dossier[:2]} {dossier[2:]}"
    return [
        "Tweede Kamer der Staten-Generaal",
        "Vergaderjaar 2029–2030",
        f"{spaced} {meta['dossier_title']}",
        f"Nr. {meta['number']} {source.title()}",
        "Aan de Voorzitter van de Tweede Kamer der Staten-Generaal",
        f"Den Haag, {_date(meta['date'])}",
    ]


def _signature_lines(source: LetterSource, one_line: bool = False) -> list[str]:
    lines = []
    for signer in source.signatories():
        lines += [" ".join(signer)] if one_line else signer
    return lines


def _notes(source: LetterSource) -> list[str]:
    return [f"{number} {text}" for number, text in sorted(source.footnotes.items(), key=lambda item: int(item[0]))]


def web_single_breaks(source: LetterSource) -> tuple[str, list]:
    lines = [
        "[overzicht] [activiteiten] [besluiten] [kamerleden] [zoeken]",
        source.metadata["title"],
        source.metadata["dossier_title"],
        "Brief regering",
        "Nummer: 2030D11111, datum: 2030-03-22, bijgewerkt: 2030-03-23 08:15, versie: 1",
        "Directe link naar document (.pdf), link naar pagina op de Tweede Kamer site.",
        "Gerelateerde personen:",
        "- Indiener: A.B. Voorbeeld, minister van Buitenlandse Zaken",
        "Onderdeel van zaak 2030Z04444:",
        "- Voortouwcommissie: vaste commissie voor Buitenlandse Zaken",
        "- 2030-03-28 13:00: Procedurevergadering (Procedurevergadering), vaste commissie voor Buitenlandse Zaken",
        "Preview document (origineel)",
    ] + _print_head(source)
    signed = False
    for part, kind, text, _ in _units(source):
        if part == "annex" and not signed:
            lines += _signature_lines(source)
            signed = True
        lines.append(("- " if kind == "item" else "") + _glued(text))
    if not signed:
        lines += _signature_lines(source)
    lines += _notes(source) + ["* Ministerie van Buitenlandse Zaken", "* Postbus 20061", "* 2500 EB Den Haag", "Delen"]
    return "\n".join(lines) + "\n", _gold(source)


def web_wrapped(source: LetterSource, width: int = 88) -> tuple[str, list]:
    lines = [f"Brief regering : {source.metadata['title']}"] + _print_head(source)
    signed = False
    for part, kind, text, _ in _units(source):
        if part == "annex" and not signed:
            lines += _signature_lines(source)
            signed = True
        text = ("– " if kind == "item" else "") + _glued(text)
        lines += textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) if kind != "title" else [text]
    if not signed:
        lines += _signature_lines(source)
    return "\n".join(lines + _notes(source)) + "\n", _gold(source)


def text_copy(source: LetterSource) -> tuple[str, list]:
    paragraphs = ["Source: Rijksoverheid (A.B. Voorbeeld), published on Friday, March 22 2030, 14:05."] + _print_head(source)
    signed = False
    for part, kind, text, _ in _units(source):
        if part == "annex" and not signed:
            paragraphs += _signature_lines(source, one_line=True)
            signed = True
        paragraphs.append(("• " if kind == "item" else "") + _glued(text))
    if not signed:
        paragraphs += _signature_lines(source, one_line=True)
    return "\n\n".join(paragraphs + _notes(source)) + "\n", _gold(source)


def ministry(source: LetterSource) -> tuple[str, list]:
    meta = source.metadata
    out = [
        "> Retouradres Postbus 20061 2500 EB Den Haag",
        "",
        "Aan de Voorzitter van de Tweede Kamer",
        "der Staten-Generaal",
        "Prinses Irenestraat 6",
        "Den Haag",
        "",
        "Datum",
        _date(meta["date"]),
        "Betreft",
        meta["title"],
        "",
        "Ons kenmerk",
        "BZ-2030-0042",
        "",
        "Geachte voorzitter,",
        "",
    ]
    signed = False
    for part, kind, text, _ in _units(source, numbered=True):
        if part == "annex" and not signed:
            out += ["Met vriendelijke groet,", ""]
            for signer in source.signatories():
                out += [signer[0].replace("De Minister", "De minister"), "", *signer[1:], ""]
            out += ["Pagina 1 van 2\f", "Bijlage 1", ""]
            signed = True
        if kind == "item":
            number, item = text.split(" ", 1)
            out += [number, _glued(item), ""]
        else:
            out += textwrap.wrap(_glued(text), 80, break_long_words=False, break_on_hyphens=False) + [""]
    out += ["Pagina 2 van 2"] + [""] + _notes(source)
    return "\n".join(out) + "\n", _gold(source, numbered=True)


def pdf_text(source: LetterSource) -> tuple[str, list]:
    return render_pdf_text(source, seed=3), _gold(source)


def official_xml(source: LetterSource) -> tuple[bytes, list]:
    return render_kamerstuk_xml(source, provenance_note="written for the layout tests"), _gold(source)


def official_html(source: LetterSource) -> tuple[str, list]:
    """The HTML rendering: classes as the official pages use them, notes linked at the end."""
    def paragraph(text: str, css: str = "al") -> str:
        linked = _MARKER.sub(lambda m: f'<sup><a href="#n{m.group(1)}">{m.group(1)}</a></sup>', escape(text))
        return f'<p class="{css}">{linked}</p>'

    body = [f'<h1 class="stuktitel">Nr. {source.metadata["number"]} {escape(source.title())}</h1>',
            paragraph("Aan de Voorzitter van de Tweede Kamer der Staten-Generaal", "aanhef"),
            paragraph(f"Den Haag, {_date(source.metadata['date'])}", "datum")]
    annex_open = False
    items: list[str] = []

    def flush() -> None:
        if items:
            body.append("<ul>" + "".join(f"<li>{paragraph(item)}</li>" for item in items) + "</ul>")
            items.clear()

    for part, kind, text, _ in _units(source):
        if kind != "item":
            flush()
        if part == "annex" and not annex_open:
            body.append('<p class="ondertekening">' + "<br/>".join(escape(line) for line in _signature_lines(source)) + "</p>")
            body.append('<div class="bijlage">')
            annex_open = True
        if kind == "title":
            body.append(f'<h2 class="kop">{escape(text)}</h2>')
        elif kind == "heading":
            body.append(f'<h3 class="tussenkop">{escape(text)}</h3>')
        elif kind == "item":
            items.append(text)
        else:
            body.append(paragraph(text))
    flush()
    if annex_open:
        body.append("</div>")
    else:
        body.append('<p class="ondertekening">' + "<br/>".join(escape(line) for line in _signature_lines(source)) + "</p>")
    notes = "".join(f'<p id="n{number}">{number} {escape(text)}</p>' for number, text in source.footnotes.items())
    page = (
        '<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8"><title>Kamerstuk</title></head><body>'
        '<nav><a href="/">Zoeken</a></nav><main><div class="stuk">' + "".join(body) + "</div>"
        f'<div class="voetnoten">{notes}</div></main><footer><p>Colofon</p></footer></body></html>'
    )
    return page + "\n", _gold(source)


LAYOUTS = {
    "web-single-breaks": (web_single_breaks, "txt"),
    "web-wrapped": (web_wrapped, "txt"),
    "text-copy": (text_copy, "txt"),
    "ministry": (ministry, "txt"),
    "pdf": (pdf_text, "txt"),
    "xml": (official_xml, "xml"),
    "html": (official_html, "html"),
}


def build(name: str, layout: str):
    """``(file name, content, gold)`` of one source in one layout."""
    builder, suffix = LAYOUTS[layout]
    content, gold = builder(load_source(name))
    return f"{name}-{layout}.{suffix}", content, gold


FIXTURES = Path(__file__).resolve().parent / "fixtures" / "layouts"
GOLD = Path(__file__).resolve().parent / "gold" / "layouts"
NAMES = ("report", "agenda")


def gold_text(gold: list[tuple[str, str]]) -> str:
    return "".join(f"{part}\t{text}\n" for part, text in gold)


def write_fixtures() -> None:
    """Write every layout of every source, and its gold cut (``python -m tests.layouts``)."""
    FIXTURES.mkdir(parents=True, exist_ok=True)
    GOLD.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        for layout in LAYOUTS:
            file_name, content, gold = build(name, layout)
            (FIXTURES / file_name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
            (GOLD / f"{file_name}.tsv").write_text(gold_text(gold), encoding="utf-8")


if __name__ == "__main__":
    write_fixtures()
