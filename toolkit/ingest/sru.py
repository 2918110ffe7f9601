"""KOOP's SRU search service for officiële bekendmakingen, as data: takes response XML, gives
search records, pages and metadata (and the query strings and ids the service understands).

No network here: :mod:`.fetch` talks to the service, paces and caches.
"""

from __future__ import annotations

import datetime as _dt
import re
import urllib.parse
from dataclasses import dataclass
from typing import Optional
from xml.etree.ElementTree import Element, ParseError

from defusedxml import ElementTree as _SafeElementTree
from defusedxml.common import DefusedXmlException

from ..errors import FetchError

__all__ = [
    "CORE_METADATA",
    "DOSSIER_RE",
    "OFFICIAL_ID_RE",
    "PAGE_SIZE",
    "PRODUCT_AREA",
    "SearchPage",
    "SearchRecord",
    "check_search_response",
    "metadata_from_metadata_xml",
    "normal_dossier",
    "page_from_response",
    "parse_date",
    "parse_official_id",
    "parse_xml",
    "search_url",
]

# The endpoint serves several collections; "oep" selects the officiële publicaties
# (kamerstukken, Staatscourant, ...). The query also names the product area, so a
# server that ignores the connection parameter still searches the right collection.
SRU_CONNECTION = "oep"
SRU_VERSION = "2.0"
SRU_RECORD_SCHEMA = "gzd"
PRODUCT_AREA = "c.product-area==officielepublicaties"
PAGE_SIZE = 100

# A dossier number, optionally with one hyphenated part: 28676, 21501-02, 36800-VIII.
_DOSSIER = r"\d+(?:-[0-9A-Za-z]+)?"
DOSSIER_RE = re.compile(rf"^{_DOSSIER}$")
OFFICIAL_ID_RE = re.compile(rf"^kst-(?P<dossier>{_DOSSIER})-(?P<number>\d+)$", re.IGNORECASE)

_KAMERSTUK_TYPE_SCHEME = "OVERHEIDop.KamerstukTypen"
_PARLEMENTAIR_SCHEME = "OVERHEIDop.Parlementair"
CORE_METADATA = ("title", "published", "dossier", "number", "document_type")

# --------------------------------------------------------------------------- XML helpers


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text(element: Optional[Element]) -> str:
    if element is None:
        return ""
    return " ".join("".join(element.itertext()).split())


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child.tag) == name]


def parse_xml(data: bytes, url: str) -> Element:
    """Parse with defusedxml: a response must never make us resolve entities or fetch DTDs."""
    try:
        return _SafeElementTree.fromstring(data)
    except DefusedXmlException as exc:
        raise FetchError(f"refused unsafe XML from {url} ({type(exc).__name__})") from None
    except ParseError as exc:
        raise FetchError(f"the response from {url} is not well-formed XML ({exc})") from None


def check_search_response(root: Element, url: str) -> None:
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


def parse_date(value: Optional[str]) -> Optional[_dt.date]:
    if not value:
        return None
    try:
        return _dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def normal_dossier(value: str) -> str:
    return "".join(value.split()).casefold()


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class SearchRecord:
    official_id: str
    metadata: dict
    dossiers: tuple[str, ...]
    xml_url: Optional[str]
    metadata_url: Optional[str]
    pdf_url: Optional[str] = None
    #: For an annex (``blg-…``): the document it belongs to (``w.hoofddocument``).
    main_document: Optional[str] = None


@dataclass(frozen=True)
class SearchPage:
    total: int
    records: list[SearchRecord]
    next_position: Optional[int]


def _record_from_element(record: Element) -> Optional[SearchRecord]:
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

    xml_url = metadata_url = pdf_url = None
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
                elif manifestation == "pdf" and not pdf_url:
                    pdf_url = _text(child)
            elif name == "url":
                preferred = _text(child)
    if not xml_url and preferred.lower().endswith(".xml"):
        xml_url = preferred
    main = first("hoofddocument") or None
    return SearchRecord(official_id, metadata, dossiers, xml_url or None, metadata_url or None, pdf_url or None, main)


def page_from_response(root: Element) -> SearchPage:
    total = int(_text(_children(root, "numberOfRecords")[0]))
    records = []
    for container in _children(root, "records"):
        for element in _children(container, "record"):
            record = _record_from_element(element)
            if record is not None:
                records.append(record)
    next_elements = _children(root, "nextRecordPosition")
    next_text = _text(next_elements[0]) if next_elements else ""
    return SearchPage(total, records, int(next_text) if next_text.isdigit() else None)


def metadata_from_metadata_xml(root: Element) -> dict:
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



def parse_official_id(official_id: object) -> tuple[str, str, str]:
    text = official_id.strip() if isinstance(official_id, str) else ""
    match = OFFICIAL_ID_RE.match(text)
    if not match:
        raise FetchError(
            f"{official_id!r} is not a kamerstuk id: expected kst-<dossier>-<number>, "
            "for example kst-28676-307 or kst-21501-02-1234"
        )
    dossier, number = match.group("dossier"), match.group("number")
    return f"kst-{dossier}-{number}", dossier, number



def search_url(base_url: str, query: str, start: int, count: int) -> str:
    """The searchRetrieve URL; parameters in a fixed order so the same search hashes to the same cache entry."""
    params = [
        ("operation", "searchRetrieve"),
        ("version", SRU_VERSION),
        ("x-connection", SRU_CONNECTION),
        ("recordSchema", SRU_RECORD_SCHEMA),
        ("query", query),
        ("startRecord", str(start)),
        ("maximumRecords", str(count)),
    ]
    separator = "&" if "?" in base_url else "?"
    return base_url + separator + urllib.parse.urlencode(params, quote_via=urllib.parse.quote, safe="")

