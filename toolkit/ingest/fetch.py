"""Fetch real Kamerbrieven from KOOP's SRU search service for officiële bekendmakingen.

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
import re
import threading
import time
import urllib.parse
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional
from xml.etree.ElementTree import Element, ParseError

import requests
from defusedxml import ElementTree as _SafeElementTree
from defusedxml.common import DefusedXmlException

from ..errors import FetchError, OfflineError
from ..files import write_atomically

__all__ = [
    "DEFAULT_SRU_URL",
    "FetchSettings",
    "FetchedDocument",
    "fetch_dossier",
    "fetch_letter",
]

#: KOOP's SRU endpoint for the publication repositories.
DEFAULT_SRU_URL = "https://repository.overheid.nl/sru"

# The endpoint serves several collections; "oep" selects the officiële publicaties
# (kamerstukken, Staatscourant, ...). The query also names the product area, so a
# server that ignores the connection parameter still searches the right collection.
_SRU_CONNECTION = "oep"
_SRU_VERSION = "2.0"
_SRU_RECORD_SCHEMA = "gzd"
_PRODUCT_AREA = "c.product-area==officielepublicaties"
_PAGE_SIZE = 100

# Used only when a search record names no XML manifestation. Some records (older
# publications, or records whose enrichedData lists only PDF/HTML) leave it out,
# while officielebekendmakingen.nl still serves the XML of every publication
# under this stable, documented path, so it is a better last resort than failing.
_FALLBACK_XML_URL = "https://zoek.officielebekendmakingen.nl/{official_id}.xml"

# A dossier number, optionally with one hyphenated part: 28676, 21501-02, 36800-VIII.
_DOSSIER = r"\d+(?:-[0-9A-Za-z]+)?"
_DOSSIER_RE = re.compile(rf"^{_DOSSIER}$")
_OFFICIAL_ID_RE = re.compile(rf"^kst-(?P<dossier>{_DOSSIER})-(?P<number>\d+)$", re.IGNORECASE)

# Servers signal overload with these; everything else in 4xx is our fault and final.
_RETRY_STATUSES = frozenset({408, 429})
_MAX_RETRY_AFTER_SECONDS = 60.0

_KAMERSTUK_TYPE_SCHEME = "OVERHEIDop.KamerstukTypen"
_PARLEMENTAIR_SCHEME = "OVERHEIDop.Parlementair"
_CORE_METADATA = ("title", "published", "dossier", "number", "document_type")


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


# --------------------------------------------------------------------------- XML helpers


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text(element: Optional[Element]) -> str:
    if element is None:
        return ""
    return " ".join("".join(element.itertext()).split())


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child.tag) == name]


def _parse_xml(data: bytes, url: str) -> Element:
    """Parse with defusedxml: a response must never make us resolve entities or fetch DTDs."""
    try:
        return _SafeElementTree.fromstring(data)
    except DefusedXmlException as exc:
        raise FetchError(f"refused unsafe XML from {url} ({type(exc).__name__})") from None
    except ParseError as exc:
        raise FetchError(f"the response from {url} is not well-formed XML ({exc})") from None


def _check_sru(root: Element, url: str) -> None:
    """Raise on SRU diagnostics, which the service returns with HTTP 200."""
    diagnostics = [element for element in root.iter() if _local(element.tag) == "diagnostic"]
    if diagnostics:
        parts = []
        for diagnostic in diagnostics:
            fields = {_local(child.tag): _text(child) for child in diagnostic}
            message = fields.get("message") or fields.get("uri") or "unspecified problem"
            if fields.get("details"):
                message = f"{message} ({fields['details']})"
            parts.append(message)
        raise FetchError(f"the SRU service reported a problem for {url}: {'; '.join(parts)}")
    if _local(root.tag) != "searchRetrieveResponse":
        raise FetchError(f"{url} did not answer with an SRU searchRetrieveResponse (root <{_local(root.tag)}>)")
    count = _children(root, "numberOfRecords")
    if not count or not _text(count[0]).isdigit():
        raise FetchError(f"the SRU response from {url} has no numberOfRecords")


def _parse_date(value: Optional[str]) -> Optional[_dt.date]:
    if not value:
        return None
    try:
        return _dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _normal_dossier(value: str) -> str:
    return "".join(value.split()).casefold()


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class _Record:
    official_id: str
    metadata: dict
    dossiers: tuple[str, ...]
    xml_url: Optional[str]
    metadata_url: Optional[str]


@dataclass(frozen=True)
class _Page:
    total: int
    records: list[_Record]
    next_position: Optional[int]


def _record_from_element(record: Element) -> Optional[_Record]:
    data = next(iter(_children(record, "recordData")), None)
    if data is None:
        return None
    by_name: dict[str, list[Element]] = {}
    enriched: Optional[Element] = None
    for element in data.iter():
        name = _local(element.tag)
        if name == "enrichedData":
            enriched = element
        by_name.setdefault(name, []).append(element)

    def first(name: str) -> str:
        for element in by_name.get(name, []):
            value = _text(element)
            if value:
                return value
        return ""

    official_id = first("identifier")
    if not official_id:
        return None

    kamerstuk_type = ""
    publication_type = ""
    for element in by_name.get("type", []):
        scheme = element.get("scheme", "")
        if scheme.endswith(_KAMERSTUK_TYPE_SCHEME) and not kamerstuk_type:
            kamerstuk_type = _text(element)
        elif (scheme.endswith(_PARLEMENTAIR_SCHEME) or not scheme) and not publication_type:
            publication_type = _text(element)
    dossiers = tuple(value for value in (_text(e) for e in by_name.get("dossiernummer", [])) if value)

    candidates = {
        "official_id": official_id,
        "title": first("title"),
        "date": first("date"),
        "published": first("available") or first("issued"),
        "dossier": dossiers[0] if dossiers else "",
        "number": first("ondernummer"),
        # Older records carry the kamerstuk type only as tpmeta "subrubriek".
        "document_type": kamerstuk_type or first("subrubriek"),
        "publication_type": publication_type or first("publicatienaam"),
        "vergaderjaar": first("vergaderjaar"),
        "creator": first("creator"),
        "dossier_title": first("dossiertitel"),
        "document_title": first("documenttitel"),
    }
    metadata = {key: value for key, value in candidates.items() if value}

    xml_url = metadata_url = None
    preferred = ""
    if enriched is not None:
        for child in enriched:
            name = _local(child.tag)
            if name == "itemUrl":
                manifestation = child.get("manifestation", "")
                if manifestation == "xml" and not xml_url:
                    xml_url = _text(child)
                elif manifestation == "metadata" and not metadata_url:
                    metadata_url = _text(child)
            elif name == "url":
                preferred = _text(child)
    if not xml_url and preferred.lower().endswith(".xml"):
        xml_url = preferred
    return _Record(official_id, metadata, dossiers, xml_url or None, metadata_url or None)


def _page_from_root(root: Element) -> _Page:
    total = int(_text(_children(root, "numberOfRecords")[0]))
    records = []
    for container in _children(root, "records"):
        for element in _children(container, "record"):
            record = _record_from_element(element)
            if record is not None:
                records.append(record)
    next_elements = _children(root, "nextRecordPosition")
    next_text = _text(next_elements[0]) if next_elements else ""
    return _Page(total, records, int(next_text) if next_text.isdigit() else None)


def _metadata_from_metadata_xml(root: Element) -> dict:
    """Read the ``metadata_gegevens`` file (``<metadata name=.. scheme=.. content=..>``)."""
    names = {
        "dc.identifier": "official_id",
        "dc.title": "title",
        "dc.date": "date",
        "dcterms.available": "published",
        "dcterms.issued": "published",
        "overheidop.dossiernummer": "dossier",
        "overheidop.ondernummer": "number",
        "overheidop.vergaderjaar": "vergaderjaar",
        "dc.creator": "creator",
        "overheidop.dossiertitel": "dossier_title",
        "overheidop.documenttitel": "document_title",
        "overheidop.publicationname": "publication_type",
    }
    found: dict[str, str] = {}
    for element in root.iter():
        if _local(element.tag) != "metadata":
            continue
        name = (element.get("name") or "").casefold()
        scheme = element.get("scheme") or ""
        content = " ".join((element.get("content") or "").split())
        if not content:
            continue
        if scheme.endswith(_KAMERSTUK_TYPE_SCHEME):
            found.setdefault("document_type", content)
        elif name in names:
            found.setdefault(names[name], content)
    return found


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
                root = _parse_xml(path.read_bytes(), str(path))
                if check is not None:
                    check(root, url)
                return root, path
            except FetchError:
                pass  # an entry we cannot use is treated as missing and fetched again
        data = self.download(url)
        root = _parse_xml(data, url)
        if check is not None:
            check(root, url)  # only responses that passed the checks are cached
        self._store(path, data)
        return root, path

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
        # Built by hand in a fixed order so the same search always hashes to the same
        # cache entry.
        params = [
            ("operation", "searchRetrieve"),
            ("version", _SRU_VERSION),
            ("x-connection", _SRU_CONNECTION),
            ("recordSchema", _SRU_RECORD_SCHEMA),
            ("query", query),
            ("startRecord", str(start)),
            ("maximumRecords", str(count)),
        ]
        base = self.settings.base_url
        separator = "&" if "?" in base else "?"
        return base + separator + urllib.parse.urlencode(params, quote_via=urllib.parse.quote, safe="")

    def search_page(self, query: str, start: int, count: int, *, refresh: bool = False) -> _Page:
        root, _ = self.get_xml(self.search_url(query, start, count), check=_check_sru, refresh=refresh)
        return _page_from_root(root)

    def search_all(self, query: str, *, refresh: bool = False) -> list[_Record]:
        records: list[_Record] = []
        start = 1
        while True:
            page = self.search_page(query, start, _PAGE_SIZE, refresh=refresh)
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

    def complete_metadata(self, record: _Record) -> dict:
        """Fill what the search record lacks from the publication's metadata file."""
        metadata = dict(record.metadata)
        if record.metadata_url and any(key not in metadata for key in _CORE_METADATA):
            root, _ = self.get_xml(record.metadata_url)
            for key, value in _metadata_from_metadata_xml(root).items():
                metadata.setdefault(key, value)
        return metadata

    def document(self, record: _Record, metadata: Optional[dict] = None) -> FetchedDocument:
        if metadata is None:
            metadata = self.complete_metadata(record)
        url = record.xml_url or _FALLBACK_XML_URL.format(official_id=record.official_id)
        _, path = self.get_xml(url)
        return FetchedDocument(official_id=record.official_id, url=url, path=path, metadata=dict(metadata))


# --------------------------------------------------------------------------- public API


def _parse_official_id(official_id: object) -> tuple[str, str, str]:
    text = official_id.strip() if isinstance(official_id, str) else ""
    match = _OFFICIAL_ID_RE.match(text)
    if not match:
        raise FetchError(
            f"{official_id!r} is not a kamerstuk id: expected kst-<dossier>-<number>, "
            "for example kst-28676-307 or kst-21501-02-1234"
        )
    dossier, number = match.group("dossier"), match.group("number")
    return f"kst-{dossier}-{number}", dossier, number


def fetch_letter(
    official_id: str,
    *,
    cache_dir: os.PathLike | str,
    client: Optional[requests.Session] = None,
    settings: Optional[FetchSettings] = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
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
    official_id, _, _ = _parse_official_id(official_id)
    fetcher = _Fetcher(cache_dir=cache_dir, client=client, settings=settings, sleep=sleep, clock=clock)
    query = f'{_PRODUCT_AREA} and dt.identifier=="{official_id}"'
    page = fetcher.search_page(query, 1, 10)
    matches = [record for record in page.records if record.official_id.casefold() == official_id.casefold()]
    if not matches:
        raise FetchError(
            f"no publication {official_id} found at {fetcher.settings.base_url} "
            f"(the search returned {page.total} record{'s' if page.total != 1 else ''}); check the id"
        )
    return fetcher.document(matches[0])


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
    if not _DOSSIER_RE.match(dossier_text):
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
    query = f'{_PRODUCT_AREA} and w.dossiernummer=="{dossier_text}" and w.publicatienaam=="Kamerstuk"'
    wanted_dossier = _normal_dossier(dossier_text)

    selected: list[tuple[_Record, dict]] = []
    seen: set[str] = set()
    for record in fetcher.search_all(query, refresh=refresh):
        key = record.official_id.casefold()
        if not key.startswith("kst-") or key in seen:
            continue
        if record.dossiers:
            in_dossier = wanted_dossier in {_normal_dossier(value) for value in record.dossiers}
        else:
            match = _OFFICIAL_ID_RE.match(record.official_id)
            in_dossier = bool(match) and _normal_dossier(match.group("dossier")) == wanted_dossier
        if not in_dossier:
            continue
        seen.add(key)
        metadata = record.metadata
        needs = []
        if since is not None:
            needs.append("published")
        if wanted_type is not None:
            needs.append("document_type")
        if any(name not in metadata for name in needs):
            metadata = fetcher.complete_metadata(record)
        if since is not None:
            published = _parse_date(metadata.get("published") or metadata.get("date"))
            if published is None or published < since:
                continue
        if wanted_type is not None and " ".join(metadata.get("document_type", "").split()).casefold() != wanted_type:
            continue
        selected.append((record, metadata))

    def order(item: tuple[_Record, dict]) -> tuple[int, str]:
        match = _OFFICIAL_ID_RE.match(item[0].official_id)
        return (int(match.group("number")) if match else 10**9, item[0].official_id)

    selected.sort(key=order)
    documents = []
    for done, (record, metadata) in enumerate(selected, start=1):
        documents.append(fetcher.document(record, metadata))
        if progress is not None:
            progress(done, len(selected), record.official_id)
    return documents
