"""Tests for toolkit.ingest.fetch against a local HTTP server; the network is never used.

The fixtures under tests/fixtures/sru were written for these tests in the formats KOOP's
SRU service returns. Their item URLs name the real repository host; each test rewrites
that host to the local server so the code follows exactly the URLs a record gives.
"""

from __future__ import annotations

import datetime as dt
import re
import socket
from pathlib import Path

import pytest
import requests
from werkzeug.wrappers import Response

from toolkit.errors import FetchError, OfflineError
from toolkit.ingest import fetch as fetch_module
from toolkit.ingest.fetch import FetchedDocument, FetchSettings, fetch_dossier, fetch_letter

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sru"
REAL_HOST = "https://repository.overheid.nl"
XML_PATH = re.compile(r"^/frbr/officielepublicaties/kst/28676/(kst-28676-\d+)/1/xml/\1\.xml$")
METADATA_PATH = "/frbr/officielepublicaties/kst/28676/kst-28676-307/1/metadata/metadata.xml"
LETTER_XML_PATH = "/frbr/officielepublicaties/kst/28676/kst-28676-307/1/xml/kst-28676-307.xml"


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Refuse name lookups for anything but the local test server."""
    real_getaddrinfo = socket.getaddrinfo

    def local_only(host, *args, **kwargs):
        if host not in ("localhost", "127.0.0.1", "::1"):
            raise socket.gaierror(f"tests must not reach {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", local_only)


class FakeTime:
    """A clock that only moves when something sleeps, recording every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time():
    return FakeTime()


@pytest.fixture
def session():
    with requests.Session() as client:
        yield client


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"


def fixture_text(name: str, server) -> str:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return text.replace(REAL_HOST, server.url_for("/").rstrip("/"))


def options(server, session, cache_dir, fake_time, **settings):
    settings.setdefault("backoff_seconds", 2.0)
    return {
        "cache_dir": cache_dir,
        "client": session,
        "settings": FetchSettings(base_url=server.url_for("/sru"), **settings),
        "sleep": fake_time.sleep,
        "clock": fake_time.clock,
        # These tests are about search, paging, pacing and retries; annexes have tests of their own.
        "annexes": False,
    }


def serve_xml(handler, text: str, status: int = 200):
    handler.respond_with_data(text, status=status, content_type="application/xml; charset=utf-8")


def serve_letter(server, search_text: str | None = None) -> bytes:
    serve_xml(server.expect_request("/sru"), search_text or fixture_text("search_kst-28676-307.xml", server))
    document = (FIXTURES / "kst-28676-307.xml").read_bytes()
    server.expect_request(LETTER_XML_PATH).respond_with_data(document, content_type="application/xml")
    serve_xml(server.expect_request(METADATA_PATH), fixture_text("kst-28676-307_metadata.xml", server))
    return document


def serve_dossier(server) -> None:
    pages = {"1": "dossier_28676_page1.xml", "4": "dossier_28676_page2.xml"}

    def sru(request):
        page = pages.get(request.args.get("startRecord", ""))
        if page is None:
            return Response("unexpected startRecord", status=400)
        return Response(fixture_text(page, server), content_type="application/xml")

    server.expect_request("/sru").respond_with_handler(sru)
    document = (FIXTURES / "kst-28676-307.xml").read_bytes()
    server.expect_request(XML_PATH).respond_with_data(document, content_type="application/xml")


def requested_paths(server) -> list[str]:
    return [request.path for request, _ in server.log]


def sru_requests(server):
    return [request for request, _ in server.log if request.path == "/sru"]


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --------------------------------------------------------------------------- one letter


def test_letter_is_found_through_sru_downloaded_and_then_served_from_cache(httpserver, session, cache_dir, fake_time):
    document = serve_letter(httpserver)
    opts = options(httpserver, session, cache_dir, fake_time)

    letter = fetch_letter("kst-28676-307", **opts)

    assert isinstance(letter, FetchedDocument)
    assert letter.official_id == "kst-28676-307"
    assert letter.url == httpserver.url_for(LETTER_XML_PATH)
    assert letter.path.parent == cache_dir and letter.path.read_bytes() == document
    assert letter.metadata["title"].startswith("NAVO; Brief regering;")
    assert letter.metadata["document_type"] == "Brief regering"
    assert letter.metadata["publication_type"] == "Kamerstuk"
    assert (letter.metadata["dossier"], letter.metadata["number"]) == ("28676", "307")
    assert (letter.metadata["published"], letter.metadata["date"]) == ("2019-03-06", "2019-03-04")

    (search,) = sru_requests(httpserver)
    assert search.args["operation"] == "searchRetrieve"
    assert search.args["x-connection"] == "oep"
    assert 'dt.identifier=="kst-28676-307"' in search.args["query"]
    assert "c.product-area==officielepublicaties" in search.args["query"]
    # The record was complete, so the metadata file was not needed.
    assert requested_paths(httpserver) == ["/sru", LETTER_XML_PATH]

    httpserver.clear_all_handlers()  # from here on any request would fail
    with requests.Session() as other_client:
        again = fetch_letter("kst-28676-307", **{**opts, "client": other_client})
    assert again == letter
    assert len(httpserver.log) == 2


def test_letter_without_a_client_uses_a_shared_session(httpserver, cache_dir, fake_time):
    serve_letter(httpserver)
    letter = fetch_letter(
        "kst-28676-307",
        cache_dir=cache_dir,
        settings=FetchSettings(base_url=httpserver.url_for("/sru")),
        sleep=fake_time.sleep,
    )
    assert letter.path.is_file()


def test_unknown_id_raises_fetch_error_naming_it(httpserver, session, cache_dir, fake_time):
    serve_xml(httpserver.expect_request("/sru"), fixture_text("empty.xml", httpserver))
    with pytest.raises(FetchError, match="kst-28676-99999"):
        fetch_letter("kst-28676-99999", **options(httpserver, session, cache_dir, fake_time))


def test_hyphenated_dossier_and_upper_case_prefix_are_accepted(httpserver, session, cache_dir, fake_time):
    serve_xml(httpserver.expect_request("/sru"), fixture_text("empty.xml", httpserver))
    opts = options(httpserver, session, cache_dir, fake_time)
    with pytest.raises(FetchError, match="no publication kst-21501-02-1234"):
        fetch_letter("kst-21501-02-1234", **opts)
    with pytest.raises(FetchError, match="no publication kst-28676-307"):
        fetch_letter(" KST-28676-307 ", **opts)
    assert 'dt.identifier=="kst-28676-307"' in sru_requests(httpserver)[-1].args["query"]


@pytest.mark.parametrize(
    "bad_id",
    ["28676-307", "kst-28676", "kst--307", "kst-28676-307.xml", 'kst-28676-307" or "1', "blg-1100001", "", None],
)
def test_bad_id_form_is_refused_before_any_request(httpserver, session, cache_dir, fake_time, bad_id):
    with pytest.raises(FetchError, match=r"kst-<dossier>-<number>"):
        fetch_letter(bad_id, **options(httpserver, session, cache_dir, fake_time))
    assert httpserver.log == []


def test_xml_url_falls_back_to_the_standard_form_when_the_record_names_none(
    httpserver, session, cache_dir, fake_time, monkeypatch
):
    search = fixture_text("search_kst-28676-307.xml", httpserver)
    search = "\n".join(
        line for line in search.splitlines() if 'manifestation="xml"' not in line and "<gzd:url>" not in line
    )
    document = serve_letter(httpserver, search)
    httpserver.expect_request("/kst-28676-307.xml").respond_with_data(document, content_type="application/xml")
    monkeypatch.setattr(fetch_module, "_FALLBACK_XML_URL", httpserver.url_for("/") + "{official_id}.xml")

    letter = fetch_letter("kst-28676-307", **options(httpserver, session, cache_dir, fake_time))

    assert letter.url == httpserver.url_for("/kst-28676-307.xml")
    assert letter.path.read_bytes() == document


def test_metadata_missing_from_the_record_is_read_from_the_metadata_file(httpserver, session, cache_dir, fake_time):
    search = fixture_text("search_kst-28676-307.xml", httpserver)
    search = "\n".join(line for line in search.splitlines() if "OVERHEIDop.KamerstukTypen" not in line)
    serve_letter(httpserver, search)

    letter = fetch_letter("kst-28676-307", **options(httpserver, session, cache_dir, fake_time))

    assert letter.metadata["document_type"] == "Brief regering"
    assert METADATA_PATH in requested_paths(httpserver)


# --------------------------------------------------------------------------- dossiers


def test_dossier_follows_sru_paging_and_keeps_only_its_kamerstukken(httpserver, session, cache_dir, fake_time):
    serve_dossier(httpserver)
    seen = []

    letters = fetch_dossier(
        "28676", progress=lambda *call: seen.append(call), **options(httpserver, session, cache_dir, fake_time)
    )

    ids = ["kst-28676-307", "kst-28676-450", "kst-28676-460", "kst-28676-462"]
    assert [letter.official_id for letter in letters] == ids
    assert [request.args["startRecord"] for request in sru_requests(httpserver)] == ["1", "4"]
    query = sru_requests(httpserver)[0].args["query"]
    assert 'w.dossiernummer=="28676"' in query and "c.product-area==officielepublicaties" in query
    assert seen == [(done, 4, official_id) for done, official_id in enumerate(ids, start=1)]
    assert not any("blg-" in path for path in requested_paths(httpserver))
    assert all(letter.path.is_file() for letter in letters)
    assert letters[2].metadata["document_type"] == "Brief regering"


@pytest.mark.parametrize(
    ("since", "document_type", "expected"),
    [
        (dt.date(2024, 1, 1), None, ["kst-28676-460", "kst-28676-462"]),
        (None, "Brief regering", ["kst-28676-307", "kst-28676-460"]),
        (dt.date(2024, 2, 14), "brief REGERING", ["kst-28676-460"]),
        (dt.date(2030, 1, 1), None, []),
    ],
)
def test_dossier_filters_on_publication_date_and_type(
    httpserver, session, cache_dir, fake_time, since, document_type, expected
):
    serve_dossier(httpserver)

    letters = fetch_dossier(
        "28676", since=since, document_type=document_type, **options(httpserver, session, cache_dir, fake_time)
    )

    assert [letter.official_id for letter in letters] == expected
    # Letters filtered out are never downloaded.
    downloaded = [path for path in requested_paths(httpserver) if XML_PATH.match(path)]
    assert len(downloaded) == len(expected)


def test_dossier_number_form_is_checked(httpserver, session, cache_dir, fake_time):
    with pytest.raises(FetchError, match="not a dossier number"):
        fetch_dossier('28676" or "1', **options(httpserver, session, cache_dir, fake_time))
    assert httpserver.log == []


def test_requests_are_paced_to_the_configured_rate(httpserver, session, cache_dir, fake_time):
    serve_dossier(httpserver)
    fetch_dossier("28676", **options(httpserver, session, cache_dir, fake_time, requests_per_second=2.0))
    # Two search pages and four documents: five waits of half a second between six requests.
    assert len(httpserver.log) == 6
    assert fake_time.sleeps == pytest.approx([0.5] * 5)


# --------------------------------------------------------------------------- failures


def test_sru_diagnostics_in_http_200_raise_fetch_error(httpserver, session, cache_dir, fake_time):
    serve_xml(httpserver.expect_request("/sru"), fixture_text("diagnostic.xml", httpserver))
    with pytest.raises(FetchError, match="Query syntax error"):
        fetch_letter("kst-28676-307", **options(httpserver, session, cache_dir, fake_time))
    assert list(cache_dir.iterdir()) == []  # an error answer is not cached


def test_503_is_retried_with_growing_backoff_and_then_succeeds(httpserver, session, cache_dir, fake_time):
    for _ in range(2):
        httpserver.expect_oneshot_request("/sru").respond_with_data("busy", status=503)
    serve_letter(httpserver)

    letter = fetch_letter("kst-28676-307", **options(httpserver, session, cache_dir, fake_time))

    assert letter.path.is_file()
    assert requested_paths(httpserver) == ["/sru", "/sru", "/sru", LETTER_XML_PATH]
    assert fake_time.sleeps[:2] == [2.0, 4.0]
    assert fake_time.sleeps[1] > fake_time.sleeps[0]


def test_429_honours_retry_after(httpserver, session, cache_dir, fake_time):
    httpserver.expect_oneshot_request("/sru").respond_with_data("slow down", status=429, headers={"Retry-After": "7"})
    serve_letter(httpserver)
    fetch_letter("kst-28676-307", **options(httpserver, session, cache_dir, fake_time))
    assert fake_time.sleeps[0] == 7.0


def test_server_errors_give_up_after_the_bounded_number_of_retries(httpserver, session, cache_dir, fake_time):
    httpserver.expect_request("/sru").respond_with_data("down", status=503)
    with pytest.raises(FetchError, match="503") as raised:
        fetch_letter("kst-28676-307", **options(httpserver, session, cache_dir, fake_time, max_retries=2))
    assert not isinstance(raised.value, OfflineError)
    assert len(httpserver.log) == 3
    assert fake_time.sleeps == [2.0, 4.0]


def test_not_found_document_is_not_retried(httpserver, session, cache_dir, fake_time):
    serve_xml(httpserver.expect_request("/sru"), fixture_text("search_kst-28676-307.xml", httpserver))
    httpserver.expect_request(LETTER_XML_PATH).respond_with_data("gone", status=404)
    with pytest.raises(FetchError, match="404"):
        fetch_letter("kst-28676-307", **options(httpserver, session, cache_dir, fake_time))
    assert requested_paths(httpserver) == ["/sru", LETTER_XML_PATH]


def test_unreachable_server_raises_offline_error(session, cache_dir, fake_time):
    base_url = f"http://127.0.0.1:{closed_port()}/sru"
    with pytest.raises(OfflineError) as raised:
        fetch_letter(
            "kst-28676-307",
            cache_dir=cache_dir,
            client=session,
            settings=FetchSettings(base_url=base_url, max_retries=2, backoff_seconds=2.0),
            sleep=fake_time.sleep,
            clock=fake_time.clock,
        )
    message = str(raised.value)
    assert "could not reach" in message and "are you offline?" in message and base_url in message
    assert fake_time.sleeps == [2.0, 4.0]


# --------------------------------------------------------------------------- cache writes


def test_cache_holds_only_complete_files(httpserver, session, cache_dir, fake_time):
    serve_letter(httpserver)
    letter = fetch_letter("kst-28676-307", **options(httpserver, session, cache_dir, fake_time))
    names = sorted(path.name for path in cache_dir.iterdir())
    assert len(names) == 2  # the SRU answer and the document
    assert all(re.fullmatch(r"[0-9a-f]{64}\.xml", name) for name in names)
    assert letter.path.name in names


class Interrupted(BaseException):
    """Stands in for Ctrl-C arriving in the middle of a cache write."""


def test_interrupted_cache_write_leaves_no_file_behind(httpserver, session, cache_dir, fake_time, monkeypatch):
    serve_letter(httpserver)

    def interrupted(source, target):
        raise Interrupted()

    monkeypatch.setattr(fetch_module.os, "replace", interrupted)
    with pytest.raises(Interrupted):
        fetch_letter("kst-28676-307", **options(httpserver, session, cache_dir, fake_time))
    assert list(cache_dir.iterdir()) == []


def test_failed_cache_write_is_a_fetch_error_and_leaves_no_file(httpserver, session, cache_dir, fake_time, monkeypatch):
    serve_letter(httpserver)

    def disk_full(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fetch_module.os, "replace", disk_full)
    with pytest.raises(FetchError, match="cannot write the cache file"):
        fetch_letter("kst-28676-307", **options(httpserver, session, cache_dir, fake_time))
    assert list(cache_dir.iterdir()) == []


# --------------------------------------------------------------------------- annexes

ANNEX_PDF_PATH = "/frbr/officielepublicaties/blg/2019/blg-999001/1/pdf/blg-999001.pdf"
ANNEX_LINES = [
    "VERSLAG VAN DE FICTIEVE BIJEENKOMST",
    "",
    "De ministers spraken over de steun aan een fictief partnerland.",
    "Het is van belang dat die steun voorspelbaar blijft.",
]


def _annex_pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_font("Helvetica", size=10)
    pdf.add_page()
    for line in ANNEX_LINES:
        pdf.cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def serve_letter_with_annex(server) -> None:
    def sru(request):
        query = request.args.get("query", "")
        name = "annexes_kst-28676-307.xml" if "w.hoofddocument" in query else "search_kst-28676-307.xml"
        return Response(fixture_text(name, server), content_type="application/xml")

    server.expect_request("/sru").respond_with_handler(sru)
    server.expect_request(LETTER_XML_PATH).respond_with_data((FIXTURES / "kst-28676-307.xml").read_bytes(), content_type="application/xml")
    server.expect_request(ANNEX_PDF_PATH).respond_with_data(_annex_pdf(), content_type="application/pdf")


def test_annexes_are_found_through_hoofddocument_and_read_as_annex_parts(httpserver, session, cache_dir, fake_time, tmp_path):
    from toolkit.corpus import read_letters
    from toolkit.ingest.fetch import save_documents
    from toolkit.segment import segment_letter

    serve_letter_with_annex(httpserver)
    letter = fetch_letter("kst-28676-307", **{**options(httpserver, session, cache_dir, fake_time), "annexes": True})
    (annex,) = letter.annexes
    assert (annex.official_id, annex.title) == ("blg-999001", "Verslag van de fictieve bijeenkomst van NAVO-ministers")
    annex_query = [r for r in sru_requests(httpserver) if "w.hoofddocument" in r.args["query"]]
    assert len(annex_query) == 1 and 'w.hoofddocument=="kst-28676-307"' in annex_query[0].args["query"]

    saved = save_documents([letter], tmp_path / "fetched")
    assert [path.name for path in saved] == ["kst-28676-307.xml", "kst-28676-307.blg-999001.pdf"]
    (read,) = read_letters(sorted((tmp_path / "fetched").iterdir()))  # the annex file is not a letter of its own
    records = segment_letter(read)
    annex_body = [r.text for r in records if r.part == "annex" and r.kind == "body"]
    assert annex_body == ["De ministers spraken over de steun aan een fictief partnerland.",
                          "Het is van belang dat die steun voorspelbaar blijft."]
    assert {r.annex for r in records if r.part == "annex"} == {annex.title}
    assert any(r.kind == "body" and r.part == "letter" for r in records)
