"""Fetching real Kamerbrieven: takes an official id or a dossier number, gives the letters' official
XML from KOOP's SRU search service for officiële bekendmakingen, paced, retried and cached.

The corpus is built from the letters as they were officially published: the
``officiele-publicatie`` XML that KOOP (Kennis- en Exploitatiecentrum Officiële
Overheidspublicaties) serves for every kamerstuk on officielebekendmakingen.nl.
KOOP's SRU endpoint (``https://repository.overheid.nl/sru``, connection ``oep``) is
the documented machine route to find those publications; each search record names
the URL of the XML manifestation, which is then downloaded.

Everything fetched is kept in an on-disk cache keyed by the URL, so that a rerun (or a
test) does not depend on the network and does not burden a public service twice.
The service is shared by everyone, so requests are paced (one per second by default)
and transient failures are retried with exponential back-off.

Parliamentary data that is *not* a publication (votes, agendas, committee
activities, the ``Zaak``/``Document`` records of the Tweede Kamer) lives in the
Tweede Kamer open-data API (the OData "Gegevensmagazijn" described on
opendata.tweedekamer.nl), whose Python client is ``tkapi``. This module does not
cover that route: it only fetches the published texts.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import threading
import time
import urllib.parse
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional
from xml.etree.ElementTree import Element

import requests

from ..errors import FetchError, OfflineError
from ..files import write_atomically
from .sru import (
    CORE_METADATA,
    DOSSIER_RE,
    OFFICIAL_ID_RE,
    PAGE_SIZE,
    PRODUCT_AREA,
    SearchPage,
    SearchRecord,
    check_search_response,
    metadata_from_metadata_xml,
    normal_dossier,
    page_from_response,
    parse_date,
    parse_official_id,
    parse_xml,
    search_url,
)

__all__ = [
    "DEFAULT_SRU_URL",
    "FetchSettings",
    "FetchedDocument",
    "fetch_dossier",
    "fetch_letter",
    "save_documents",
]

#: KOOP's SRU endpoint for the publication repositories.
DEFAULT_SRU_URL = "https://repository.overheid.nl/sru"


# Used only when a search record names no XML manifestation. Some records (older
# publications, or records whose enrichedData lists only PDF/HTML) leave it out,
# while officielebekendmakingen.nl still serves the XML of every publication
# under this stable, documented path, so it is a better last resort than failing.
_FALLBACK_XML_URL = "https://zoek.officielebekendmakingen.nl/{official_id}.xml"


# Servers signal overload with these; everything else in 4xx is our fault and final.
_RETRY_STATUSES = frozenset({408, 429})
_MAX_RETRY_AFTER_SECONDS = 60.0



@dataclass(frozen=True)
class FetchSettings:
    """How politely and how persistently to talk to the service.

    The defaults suit KOOP's public endpoint: one request per second keeps a long
    dossier harvest well inside its fair-use policy, and three retries with doubling
    waits ride out the short outages it has without hanging on a dead network.
    """

    base_url: str = DEFAULT_SRU_URL
    requests_per_second: float = 1.0
    max_retries: int = 3
    backoff_seconds: float = 1.0
    timeout_seconds: float = 30.0
    user_agent: str = "kamerbrieven-toolkit/0.1 (text classification research; python-requests)"

    def __post_init__(self) -> None:
        if not self.base_url or not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, got {self.base_url!r}")
        if not self.requests_per_second > 0:
            raise ValueError(f"requests_per_second must be positive, got {self.requests_per_second!r}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, got {self.max_retries!r}")
        if self.backoff_seconds < 0:
            raise ValueError(f"backoff_seconds must be 0 or more, got {self.backoff_seconds!r}")
        if not self.timeout_seconds > 0:
            raise ValueError(f"timeout_seconds must be positive, got {self.timeout_seconds!r}")


@dataclass(frozen=True)
class FetchedDocument:
    """A letter whose official XML is on disk.

    ``path`` points into the cache rather than to a copy, so the caller can read it
    at once and a later run finds it again without a request. ``metadata`` holds what
    the search record says about the letter (keys ``official_id``, ``title``,
    ``date``, ``published``, ``dossier``, ``number``, ``document_type``,
    ``publication_type``, ``vergaderjaar``, ``creator``, ``dossier_title``,
    ``document_title``), each only when the record gives it; gaps are filled from the
    publication's ``metadata.xml`` when a single letter is fetched or a filter needs
    them, but not for every letter of a dossier, which would double the requests.
    """

    official_id: str
    url: str
    path: Path
    metadata: dict = field(default_factory=dict, hash=False)
    #: The letter's annexes, published as documents of their own (``blg-…``).
    annexes: tuple["FetchedAnnex", ...] = ()


@dataclass(frozen=True)
class FetchedAnnex:
    """An annex (bijlage) of a letter, found through ``w.hoofddocument``: its XML or PDF on disk."""

    official_id: str
    title: str
    url: str
    path: Path


# --------------------------------------------------------------------------- pacing


class _Pacer:
    """Spaces the starts of requests made through one session.

    Kept per session (not per call) so that a loop of ``fetch_letter`` calls sharing a
    client is paced as one stream; the lock makes threads sharing it queue up.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_start: Optional[float] = None

    def wait(self, interval: float, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        with self._lock:
            if self._last_start is not None:
                delay = self._last_start + interval - clock()
                if delay > 0:
                    sleep(delay)
            self._last_start = clock()


_PACERS: "weakref.WeakKeyDictionary[requests.Session, _Pacer]" = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()
_default_client: Optional[requests.Session] = None


def _pacer_for(session: requests.Session) -> _Pacer:
    with _SHARED_LOCK:
        pacer = _PACERS.get(session)
        if pacer is None:
            pacer = _PACERS[session] = _Pacer()
        return pacer


def _shared_client() -> requests.Session:
    """One session for callers that pass none, so consecutive calls share the pace.

    Created on first use rather than at import, so importing this module opens nothing.
    """
    global _default_client
    with _SHARED_LOCK:
        if _default_client is None:
            _default_client = requests.Session()
        return _default_client


# --------------------------------------------------------------------------- the fetcher


class _Fetcher:
    """One call's view of the service: session, pace, retries and cache together."""

    def __init__(
        self,
        *,
        cache_dir: os.PathLike | str,
        client: Optional[requests.Session],
        settings: Optional[FetchSettings],
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ) -> None:
        self.settings = settings or FetchSettings()
        self.session = client if client is not None else _shared_client()
        self.pacer = _pacer_for(self.session)
        self.sleep = sleep
        self.clock = clock
        self.cache_dir = Path(cache_dir)
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FetchError(f"cannot create the cache directory {self.cache_dir}: {exc}") from None

    # -- cache ------------------------------------------------------------------

    def cache_path(self, url: str) -> Path:
        return self.cache_dir / f"{hashlib.sha256(url.encode('utf-8')).hexdigest()}.xml"

    def _store(self, path: Path, data: bytes) -> None:
        """Write via a temporary file in the same directory and ``os.replace``.

        The rename is atomic on one file system, so a fetch interrupted at any point
        leaves either the old state or the complete file, never a truncated one that
        a later run would trust.
        """
        try:
            write_atomically(path, data)
        except OSError as exc:
            raise FetchError(f"cannot write the cache file {path}: {exc}") from None

    def get_xml(
        self, url: str, *, check: Optional[Callable[[Element, str], None]] = None, refresh: bool = False
    ) -> tuple[Element, Path]:
        """Parsed XML and its cache path; the network is only used on a cache miss."""
        path = self.cache_path(url)
        if not refresh and path.is_file():
            try:
                root = parse_xml(path.read_bytes(), str(path))
                if check is not None:
                    check(root, url)
                return root, path
            except FetchError:
                pass  # an entry we cannot use is treated as missing and fetched again
        data = self.download(url)
        root = parse_xml(data, url)
        if check is not None:
            check(root, url)  # only responses that passed the checks are cached
        self._store(path, data)
        return root, path

    def get_file(self, url: str) -> Path:
        """Any document (a PDF annex), cached like XML; the network only on a cache miss."""
        suffix = Path(urllib.parse.urlparse(url).path).suffix or ".bin"
        path = self.cache_path(url).with_suffix(suffix)
        if not path.is_file():
            self._store(path, self.download(url))
        return path

    # -- network ----------------------------------------------------------------

    def _backoff(self, attempt: int, response: Optional[requests.Response] = None) -> float:
        delay = self.settings.backoff_seconds * (2**attempt)
        if response is not None:
            retry_after = response.headers.get("Retry-After", "").strip()
            if retry_after.isdigit():
                delay = max(delay, min(float(retry_after), _MAX_RETRY_AFTER_SECONDS))
        return delay

    def download(self, url: str) -> bytes:
        """GET with pacing, retries on overload and network errors, and clear failures."""
        settings = self.settings
        headers = {"User-Agent": settings.user_agent, "Accept": "application/xml, text/xml;q=0.9, */*;q=0.1"}
        attempts = settings.max_retries + 1
        last_problem = ""
        network_failure: Optional[BaseException] = None
        for attempt in range(attempts):
            self.pacer.wait(1.0 / settings.requests_per_second, self.clock, self.sleep)
            try:
                response = self.session.get(url, headers=headers, timeout=settings.timeout_seconds)
            except requests.exceptions.SSLError as exc:
                # A certificate problem will not go away by retrying, and it is not
                # "offline" either: say what it is.
                raise FetchError(f"TLS failure talking to {url}: {exc}") from None
            except requests.ConnectionError as exc:  # refused, DNS failure, no route, reset
                network_failure, last_problem = exc, f"connection failed ({exc})"
                delay = self._backoff(attempt)
            except requests.Timeout:
                network_failure, last_problem = None, f"no answer within {settings.timeout_seconds:g} s"
                delay = self._backoff(attempt)
            except requests.RequestException as exc:
                raise FetchError(f"cannot request {url}: {exc}") from None
            else:
                status = response.status_code
                if status < 400:
                    return response.content
                if status not in _RETRY_STATUSES and status < 500:
                    raise FetchError(f"{url} answered HTTP {status} {response.reason or ''}".rstrip())
                network_failure, last_problem = None, f"HTTP {status} {response.reason or ''}".rstrip()
                delay = self._backoff(attempt, response)
            if attempt + 1 < attempts:
                self.sleep(delay)
        if network_failure is not None:
            raise OfflineError(
                f"could not reach {url} - are you offline? "
                f"({attempts} attempt{'s' if attempts != 1 else ''}; last error: {last_problem})"
            )
        raise FetchError(f"{url} kept failing after {attempts} attempt{'s' if attempts != 1 else ''}: {last_problem}")

    # -- SRU ----------------------------------------------------------------------

    def search_url(self, query: str, start: int, count: int) -> str:
        return search_url(self.settings.base_url, query, start, count)

    def search_page(self, query: str, start: int, count: int, *, refresh: bool = False) -> SearchPage:
        root, _ = self.get_xml(self.search_url(query, start, count), check=check_search_response, refresh=refresh)
        return page_from_response(root)

    def search_all(self, query: str, *, refresh: bool = False) -> list[SearchRecord]:
        records: list[SearchRecord] = []
        start = 1
        while True:
            page = self.search_page(query, start, PAGE_SIZE, refresh=refresh)
            records.extend(page.records)
            if page.next_position is None or not page.records or page.next_position > page.total:
                return records
            if page.next_position <= start:
                raise FetchError(
                    f"the SRU service did not advance its paging (nextRecordPosition {page.next_position} "
                    f"after startRecord {start}) for query {query!r}"
                )
            start = page.next_position

    # -- documents ----------------------------------------------------------------

    def complete_metadata(self, record: SearchRecord) -> dict:
        """Fill what the search record lacks from the publication's metadata file."""
        metadata = dict(record.metadata)
        if record.metadata_url and any(key not in metadata for key in CORE_METADATA):
            root, _ = self.get_xml(record.metadata_url)
            for key, value in metadata_from_metadata_xml(root).items():
                metadata.setdefault(key, value)
        return metadata

    def document(self, record: SearchRecord, metadata: Optional[dict] = None, *, annexes: bool = False) -> FetchedDocument:
        if metadata is None:
            metadata = self.complete_metadata(record)
        url = record.xml_url or _FALLBACK_XML_URL.format(official_id=record.official_id)
        _, path = self.get_xml(url)
        found = self.annexes(record.official_id) if annexes else ()
        return FetchedDocument(official_id=record.official_id, url=url, path=path, metadata=dict(metadata), annexes=found)

    def annexes(self, official_id: str) -> tuple[FetchedAnnex, ...]:
        """The ``blg-…`` documents whose ``hoofddocument`` is this letter: XML when published, else PDF."""
        query = f'{PRODUCT_AREA} and w.hoofddocument=="{official_id}"'
        found = []
        for record in self.search_all(query):
            if not record.official_id.casefold().startswith("blg-"):
                continue
            if record.main_document and record.main_document.casefold() != official_id.casefold():
                continue
            url = record.xml_url or record.pdf_url
            if url is None:
                continue
            path = self.get_xml(url)[1] if url == record.xml_url else self.get_file(url)
            title = record.metadata.get("document_title") or record.metadata.get("title") or "Bijlage"
            found.append(FetchedAnnex(record.official_id, title, url, path))
        return tuple(sorted(found, key=lambda annex: annex.official_id))


# --------------------------------------------------------------------------- public API



def fetch_letter(
    official_id: str,
    *,
    cache_dir: os.PathLike | str,
    client: Optional[requests.Session] = None,
    settings: Optional[FetchSettings] = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    annexes: bool = True,
) -> FetchedDocument:
    """Fetch one kamerstuk, such as ``kst-28676-307``, and return its cached XML.

    The id is looked up through SRU rather than turned straight into a URL because the
    record is what names the current XML manifestation and carries the metadata; the
    SRU answer is cached too, so a second call makes no request at all. When the record
    lacks part of the metadata (title, publication date, dossier, number or kamerstuk
    type), the publication's ``metadata.xml`` named in the record is read to fill it.

    ``sleep`` and ``clock`` exist so tests (and callers with their own scheduling) can
    run the pacing and back-off without real waiting. Raises :class:`FetchError` for a
    malformed or unknown id and for service errors, :class:`OfflineError` when the
    service cannot be reached.
    """
    official_id, _, _ = parse_official_id(official_id)
    fetcher = _Fetcher(cache_dir=cache_dir, client=client, settings=settings, sleep=sleep, clock=clock)
    query = f'{PRODUCT_AREA} and dt.identifier=="{official_id}"'
    page = fetcher.search_page(query, 1, 10)
    matches = [record for record in page.records if record.official_id.casefold() == official_id.casefold()]
    if not matches:
        raise FetchError(
            f"no publication {official_id} found at {fetcher.settings.base_url} "
            f"(the search returned {page.total} record{'s' if page.total != 1 else ''}); check the id"
        )
    return fetcher.document(matches[0], annexes=annexes)


def _select_records(fetcher, records, wanted_dossier: str, since, wanted_type) -> list[tuple[SearchRecord, dict]]:
    """The dossier's own ``kst-`` records (once each) that pass the date and type filters, with their metadata."""
    selected: list[tuple[SearchRecord, dict]] = []
    seen: set[str] = set()
    for record in records:
        key = record.official_id.casefold()
        if not key.startswith("kst-") or key in seen:
            continue
        if record.dossiers:
            in_dossier = wanted_dossier in {normal_dossier(value) for value in record.dossiers}
        else:
            match = OFFICIAL_ID_RE.match(record.official_id)
            in_dossier = bool(match) and normal_dossier(match.group("dossier")) == wanted_dossier
        if not in_dossier:
            continue
        seen.add(key)
        metadata = record.metadata
        needs = (["published"] if since is not None else []) + (["document_type"] if wanted_type is not None else [])
        if any(name not in metadata for name in needs):
            metadata = fetcher.complete_metadata(record)
        if since is not None:
            published = parse_date(metadata.get("published") or metadata.get("date"))
            if published is None or published < since:
                continue
        if wanted_type is not None and " ".join(metadata.get("document_type", "").split()).casefold() != wanted_type:
            continue
        selected.append((record, metadata))
    return selected


def fetch_dossier(
    dossier: str,
    *,
    since: Optional[_dt.date] = None,
    document_type: Optional[str] = None,
    cache_dir: os.PathLike | str,
    client: Optional[requests.Session] = None,
    progress: Optional[Callable[[int, int, str], None]] = None,
    settings: Optional[FetchSettings] = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    refresh: bool = False,
    annexes: bool = True,
) -> list[FetchedDocument]:
    """Fetch every kamerstuk of a dossier (such as ``"28676"`` or ``"21501-02"``).

    Filtering happens on the search records, before any document is downloaded, so a
    narrow filter costs only the search pages:

    - ``since`` keeps records published on or after that date. The publication date
      is the record's ``dcterms:available``, else ``dcterms:issued``, else
      ``dcterms:date``; a record with none of them is left out, since it cannot be
      shown to qualify.
    - ``document_type`` keeps records whose kamerstuk type equals it, ignoring case:
      the owmskern ``dcterms:type`` element with scheme ``OVERHEIDop.KamerstukTypen``
      (values such as ``"Brief regering"`` or ``"Motie"``), or the tpmeta
      ``subrubriek`` on records that only have that.

    Search pages are cached like documents, so a repeated harvest is offline; pass
    ``refresh=True`` to search again for letters published since. Only ``kst-``
    records listed under the dossier are kept (its bijlagen have their own ids and no
    XML). The result is ordered by number; ``progress(done, total, official_id)`` is
    called after each document.
    """
    dossier_text = str(dossier).strip() if isinstance(dossier, (str, int)) else ""
    if not DOSSIER_RE.match(dossier_text):
        raise FetchError(
            f"{dossier!r} is not a dossier number: expected digits with at most one "
            "hyphenated part, for example 28676 or 21501-02"
        )
    if isinstance(since, _dt.datetime):
        since = since.date()
    if since is not None and not isinstance(since, _dt.date):
        raise TypeError(f"since must be a datetime.date, got {type(since).__name__}")
    if document_type is not None and not str(document_type).strip():
        raise FetchError("document_type must not be empty; pass None to keep every type")
    wanted_type = " ".join(str(document_type).split()).casefold() if document_type is not None else None

    fetcher = _Fetcher(cache_dir=cache_dir, client=client, settings=settings, sleep=sleep, clock=clock)
    query = f'{PRODUCT_AREA} and w.dossiernummer=="{dossier_text}" and w.publicatienaam=="Kamerstuk"'
    records = fetcher.search_all(query, refresh=refresh)
    selected = _select_records(fetcher, records, normal_dossier(dossier_text), since, wanted_type)

    def order(item: tuple[SearchRecord, dict]) -> tuple[int, str]:
        match = OFFICIAL_ID_RE.match(item[0].official_id)
        return (int(match.group("number")) if match else 10**9, item[0].official_id)

    selected.sort(key=order)
    documents = []
    for done, (record, metadata) in enumerate(selected, start=1):
        documents.append(fetcher.document(record, metadata, annexes=annexes))
        if progress is not None:
            progress(done, len(selected), record.official_id)
    return documents


def save_documents(documents: list[FetchedDocument], out_dir: os.PathLike | str) -> list[Path]:
    """Copy fetched documents from the cache to ``out_dir/<official id>.xml`` (each written atomically).

    A letter's annexes go beside it as ``<official id>.<annex id>.<xml|pdf>``, listed with their
    titles in ``<official id>.annexes.json``: ``toolkit ingest`` reads them as the letter's annex
    parts (and does not take them for letters of their own).
    """
    import json

    out = Path(out_dir)
    targets = []
    for document in documents:
        target = out / f"{document.official_id}.xml"
        write_atomically(target, Path(document.path).read_bytes())
        targets.append(target)
        listed = []
        for annex in document.annexes:
            annex_target = out / f"{document.official_id}.{annex.official_id}{Path(annex.path).suffix}"
            write_atomically(annex_target, Path(annex.path).read_bytes())
            listed.append({"id": annex.official_id, "title": annex.title, "file": annex_target.name, "url": annex.url})
            targets.append(annex_target)
        if listed:
            manifest = out / f"{document.official_id}.annexes.json"
            write_atomically(manifest, json.dumps(listed, ensure_ascii=False, indent=2) + "\n")
    return targets
