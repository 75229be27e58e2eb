"""Fetching feeds and article pages over HTTP, and turning feed bytes into `FeedEntry` values.

Every failure here becomes a `FeedError` whose message a person can act on; the caller records it
against the source and carries on with the other sources.

What a feed may make us read is limited: a feed is read from a local file only when the operator
names it (the CLI's `--feed PATH`); the article pages it links to are fetched only over http(s), and
not from loopback, private or link-local addresses (every redirect hop included) unless the feed
itself is on that kind of address or `http.allow_private_pages` says so. Credentials in a feed URL
are sent as HTTP Basic auth and never appear in a message.
"""

from __future__ import annotations

import asyncio
import calendar
import functools
import ipaddress
import logging
import re
import socket
import ssl
import xml.sax
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import httpx
from pydantic import Field

from briefings.errors import FeedError as FeedError
from briefings.errors import describe
from briefings.models import FeedEntry
from briefings.settings import SettingsModel
from briefings.text import clean_inline, html_to_text
from briefings.urls import redact_credentials as redact_credentials
from briefings.urls import url_syntax_problem

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "briefbot/0.1 (+https://github.com/briefbot/briefbot; IR in Five briefings)"
_FEED_TYPES = ("xml", "rss", "atom", "rdf", "text/plain", "octet-stream")
_NOT_FEED_TYPES = ("image/", "audio/", "video/", "application/json", "application/pdf", "font/")
_EXCERPT_MARKERS = re.compile(
    r"(\[(?:\u2026|\.\.\.|&hellip;)\]|\u2026\s*$|appeared first on|read more|continue reading)",
    re.I,
)


class FetchSettings(SettingsModel):
    """The `[http]` section: how feeds and article pages are fetched."""

    timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 15.0
    max_body_bytes: Annotated[int, Field(ge=10_000, le=500_000_000)] = 10_000_000
    max_redirects: Annotated[int, Field(ge=0, le=20)] = 5
    user_agent: Annotated[str, Field(min_length=3, max_length=300)] = DEFAULT_USER_AGENT
    fetch_article_pages: bool = True
    page_concurrency: Annotated[int, Field(ge=1, le=32)] = 4
    # Article pages on loopback/private/link-local addresses are refused unless the feed is on one.
    allow_private_pages: bool = False


@dataclass(frozen=True, slots=True)
class FetchedBody:
    url: str
    body: bytes
    content_type: str
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


def make_client(settings: FetchSettings) -> httpx.AsyncClient:
    """The one HTTP client the engine uses for feeds and pages."""
    timeout = httpx.Timeout(settings.timeout_seconds, connect=min(10.0, settings.timeout_seconds))
    return httpx.AsyncClient(
        transport=_LazyTransport(lambda: httpx.AsyncHTTPTransport(verify=_tls(), trust_env=False)),
        mounts={"http://": _LazyTransport(_plain_http_transport)},
        timeout=timeout,
        follow_redirects=True,
        max_redirects=settings.max_redirects,
        headers={"User-Agent": settings.user_agent},
        trust_env=False,
    )


class _LazyTransport(httpx.AsyncBaseTransport):
    """A transport made at its first request. Making one imports httpcore and anyio, and one for
    https reads the CA bundle: ~35 ms of CPU that a command fetching nothing (digest --no-refresh,
    ask, search) never needs, and the CA bundle is read only once an https URL is fetched."""

    def __init__(self, make: Callable[[], httpx.AsyncBaseTransport]) -> None:
        self._make = make
        self._transport: httpx.AsyncBaseTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._transport is None:
            self._transport = self._make()
        return await self._transport.handle_async_request(request)

    async def aclose(self) -> None:
        if self._transport is not None:
            await self._transport.aclose()


def _plain_http_transport() -> httpx.AsyncBaseTransport:
    """For http:// URLs only, which never use TLS; its context trusts no CA, so were it ever asked to
    speak TLS, every certificate would be refused rather than accepted."""
    return httpx.AsyncHTTPTransport(verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), trust_env=False)


@functools.cache
def _tls() -> ssl.SSLContext:
    """httpx's own default TLS settings (certifi's CAs; the environment is not read), built once per
    process: reading the CA bundle costs each new client more than the rest of making it."""
    return httpx.create_ssl_context(trust_env=False)


def is_local_path(location: str) -> bool:
    return not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", location) or location.startswith("file://")


FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"
PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
_REDIRECTS = (301, 302, 303, 307, 308)

# Called with each URL before it is requested (the first and every redirect hop); raises FeedError.
HopCheck = Callable[[httpx.URL], Awaitable[None]]


async def fetch(
    client: httpx.AsyncClient,
    location: str,
    settings: FetchSettings,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    accept: str = FEED_ACCEPT,
) -> FetchedBody:
    """GET a feed URL (or read a local feed file) with conditional headers and a hard size cap.

    `settings.timeout_seconds` bounds the whole request, body included: httpx's own timeouts are
    per read, so a server sending a byte a second would otherwise never time out."""
    if is_local_path(location):
        return _read_local(location, settings)
    problem = url_syntax_problem(location)  # config.toml refuses these; `--feed` comes here
    if problem is not None:
        raise FeedError(redact_credentials(f"{location} is not a valid URL: {problem}"))
    headers = {"Accept": accept}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return await _fetch_http(client, location, settings, headers, etag, last_modified)


async def _fetch_http(
    client: httpx.AsyncClient,
    location: str,
    settings: FetchSettings,
    headers: dict[str, str],
    etag: str | None = None,
    last_modified: str | None = None,
    check: HopCheck | None = None,
) -> FetchedBody:
    """Follow redirects here, not in httpx, so that `check` sees every hop before it is requested.

    Credentials in `location` leave the URL (so no log line or message can show them) and go as
    Basic auth, to the URL's own origin only.
    """
    shown = redact_credentials(location)
    try:
        url, auth = _without_credentials(httpx.URL(location))
        origin = (url.scheme, url.host, url.port)
        async with asyncio.timeout(settings.timeout_seconds):
            for hop in range(settings.max_redirects + 1):
                if url.port is not None and not 0 < url.port < 65536:
                    where = shown if hop == 0 else str(url)
                    raise FeedError(f"{where} is not a valid URL: port {url.port} is not 1-65535")
                if check is not None:
                    await check(url)
                hop_auth = auth if (url.scheme, url.host, url.port) == origin else None
                async with client.stream(
                    "GET", url, headers=headers, auth=hop_auth, follow_redirects=False
                ) as response:
                    target = response.headers.get("Location")
                    if response.status_code in _REDIRECTS and target:
                        url, _ = _without_credentials(response.url.join(target))
                        continue
                    return await _read_response(response, shown, settings, etag, last_modified)
        raise httpx.TooManyRedirects("too many redirects")
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise FeedError(f"{shown} timed out after {settings.timeout_seconds:g} s") from exc
    except httpx.TooManyRedirects as exc:
        raise FeedError(
            f"{shown} redirected more than {settings.max_redirects} times (a redirect loop?)"
        ) from exc
    except httpx.InvalidURL as exc:
        raise FeedError(redact_credentials(f"{shown} is not a valid URL: {exc}")) from exc
    except httpx.HTTPError as exc:
        raise FeedError(
            redact_credentials(f"cannot fetch {shown}: {type(exc).__name__}: {exc}")
        ) from exc
    except FeedError:
        raise
    except Exception as exc:
        # Whatever else building or sending the request raised (a host name IDNA refuses, a socket
        # error wrapped in an ExceptionGroup by the connection pool): this URL's failure, never the
        # caller's, which polls the other feeds concurrently with this one.
        log.debug("fetching %s failed", shown, exc_info=True)
        raise FeedError(
            redact_credentials(f"cannot fetch {shown}: {describe(_leaf(exc))}")
        ) from exc


def _leaf(exc: BaseException) -> BaseException:
    """The first error inside an exception group (the one that says what went wrong)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _without_credentials(url: httpx.URL) -> tuple[httpx.URL, httpx.BasicAuth | None]:
    if not url.userinfo:
        return url, None
    return url.copy_with(userinfo=b""), httpx.BasicAuth(url.username, url.password)


async def _read_response(
    response: httpx.Response,
    shown: str,
    settings: FetchSettings,
    etag: str | None,
    last_modified: str | None,
) -> FetchedBody:
    if response.status_code == 304:
        return FetchedBody(
            url=str(response.url),
            body=b"",
            content_type="",
            etag=etag,
            last_modified=last_modified,
            not_modified=True,
        )
    if response.status_code >= 400:
        raise FeedError(f"{shown} answered HTTP {response.status_code} {response.reason_phrase}")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > settings.max_body_bytes:
        raise FeedError(_too_big(shown, settings.max_body_bytes))
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > settings.max_body_bytes:
            raise FeedError(_too_big(shown, settings.max_body_bytes))
        chunks.append(chunk)
    return FetchedBody(
        url=str(response.url),
        body=b"".join(chunks),
        content_type=response.headers.get("Content-Type", ""),
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
    )


def _too_big(location: str, limit: int) -> str:
    return f"{location} is larger than the {limit:,}-byte limit (http.max_body_bytes)"


def _read_local(location: str, settings: FetchSettings) -> FetchedBody:
    path = Path(location.removeprefix("file://")).expanduser()
    try:
        size = path.stat().st_size
        if size > settings.max_body_bytes:
            raise FeedError(_too_big(str(path), settings.max_body_bytes))
        body = path.read_bytes()
    except OSError as exc:
        raise FeedError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return FetchedBody(url=str(path.resolve()), body=body, content_type="")


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    entries: list[FeedEntry]
    # Said in the ingest report: skipped items, and XML errors that were recovered from.
    warnings: list[str]
    skipped: int = 0


def parse_feed(fetched: FetchedBody) -> ParsedFeed:
    """Entries of an RSS 2.0 or Atom document, plus warnings about what was skipped or repaired.

    One stray byte (a control character, a bad entity) makes the XML ill-formed, but feedparser's
    loose parser still reads the items around it; they are kept, with a warning. A document that
    yields no usable item is refused.
    """
    content_type = fetched.content_type.split(";")[0].strip().lower()
    if content_type.startswith(_NOT_FEED_TYPES):
        raise FeedError(f"{fetched.url} sent {content_type}, not an RSS or Atom feed")
    headers = {"content-type": fetched.content_type} if fetched.content_type else {}
    import feedparser  # here, not at start: commands that fetch no feed skip its ~20 ms import

    parsed: Any = feedparser.parse(fetched.body, response_headers=headers, sanitize_html=False)
    problem = parsed.get("bozo_exception")
    malformed = problem if isinstance(problem, xml.sax.SAXException) else None
    if malformed is None and not parsed.get("version") and not parsed.entries:
        what = (
            "an HTML page" if b"<html" in fetched.body[:2048].lower() else "empty or unrecognised"
        )
        raise FeedError(f"{fetched.url} is {what}, not an RSS or Atom feed")
    entries: list[FeedEntry] = []
    warnings: list[str] = []
    for index, raw in enumerate(parsed.entries):
        entry = _entry(raw)
        if entry is None:
            warnings.append(f"item {index + 1} has neither a link nor a guid; skipped")
            continue
        entries.append(entry)
    skipped = len(warnings)
    if malformed is not None:
        if not entries:
            raise FeedError(f"{fetched.url} is not well-formed XML: {_describe_sax(malformed)}")
        warnings.insert(
            0,
            f"recovered {len(entries)} item(s) from malformed XML: {_describe_sax(malformed)}",
        )
    return ParsedFeed(entries, warnings, skipped)


def _describe_sax(problem: xml.sax.SAXException) -> str:
    if isinstance(problem, xml.sax.SAXParseException):
        return f"{problem.getMessage()} at line {problem.getLineNumber()}"
    return str(problem)


def _entry(raw: Any) -> FeedEntry | None:
    link = str(raw.get("link") or "").strip()
    guid = str(raw.get("id") or "").strip()
    if not link and not guid:
        return None
    if not link and guid.startswith(("http://", "https://")):
        link = guid
    contents = [c for c in raw.get("content") or [] if c.get("value")]
    full = max((str(c["value"]) for c in contents), key=len, default="")
    excerpt = str(raw.get("summary") or "")
    html = full or excerpt
    return FeedEntry(
        guid=guid or link,
        url=link or guid,
        title=clean_inline(html_to_text(str(raw.get("title") or ""))) or "(untitled)",
        published=_when(raw),
        html=html,
        is_excerpt=not full and looks_like_excerpt(excerpt),
        categories=tuple(str(t.get("term")) for t in raw.get("tags") or [] if t.get("term")),
    )


def looks_like_excerpt(html: str, max_chars: int = 1200) -> bool:
    """Feeds without `content:encoded` carry a teaser: short, often ending in "[…]"."""
    text = html_to_text(html)
    return not text or len(text) < max_chars or bool(_EXCERPT_MARKERS.search(text))


def _when(raw: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = raw.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, TypeError):
                continue
    return None


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
PUBLIC = "public"


def address_kind(address: IPAddress) -> str:
    """The kind of network an address belongs to: "public", or what makes it not public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_reserved:
        return "reserved"
    if address.is_private or not address.is_global:
        return "private"
    return PUBLIC


def page_refusal(addresses: list[IPAddress], feed_kinds: frozenset[str]) -> str | None:
    """Why a page on these addresses may not be fetched for a feed on `feed_kinds`, or None.

    Every address counts: a name that resolves to one public and one private address is refused,
    since the connection may use either.
    """
    for address in addresses:
        kind = address_kind(address)
        if kind != PUBLIC and kind not in feed_kinds:
            return (
                f"{address} is a {kind} address and the feed is not "
                "(http.allow_private_pages = true allows it)"
            )
    return None


# Answers "which addresses does this host name have?"; `resolve` asks the system resolver.
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for `host`."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FeedError(f"cannot resolve {host}: {exc}") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


async def _addresses(url: httpx.URL, resolver: Resolver) -> list[IPAddress]:
    """The addresses a request to `url` may connect to: the host itself when it is an address."""
    try:
        return [ipaddress.ip_address(url.host.split("%")[0])]
    except ValueError:
        return await resolver(url.host, url.port or (443 if url.scheme == "https" else 80))


async def feed_address_kinds(feed_url: str) -> frozenset[str]:
    """The non-public kinds of address a feed is on; a local feed file is on none."""
    if is_local_path(feed_url):
        return frozenset()
    try:
        addresses = await _addresses(httpx.URL(feed_url), resolve)
    except (FeedError, httpx.InvalidURL):
        return frozenset()
    return frozenset(address_kind(a) for a in addresses) - {PUBLIC}


def _page_check(feed_kinds: frozenset[str], resolver: Resolver) -> HopCheck:
    async def check(url: httpx.URL) -> None:
        if url.scheme not in ("http", "https"):
            raise FeedError(f"refused to fetch {url}: article pages are fetched only over http(s)")
        reason = page_refusal(await _addresses(url, resolver), feed_kinds)
        if reason:
            raise FeedError(f"refused to fetch {url}: {reason}")

    return check


async def fetch_article_text(
    client: httpx.AsyncClient,
    url: str,
    settings: FetchSettings,
    feed_kinds: frozenset[str] = frozenset(),
    *,
    resolver: Resolver = resolve,
) -> str:
    """Main text of an article page (trafilatura), paragraphs separated by blank lines.

    Only http(s) pages, on public addresses or on the kinds of address in `feed_kinds` (those of
    the feed that links to the page, see `feed_address_kinds`): a feed must not make us read
    local files or reach services that only this machine's network can.
    """
    if is_local_path(url) or urlsplit(url).scheme.lower() not in ("http", "https"):
        raise FeedError("not fetched: article pages are fetched only over http(s)")
    check = None if settings.allow_private_pages else _page_check(feed_kinds, resolver)
    fetched = await _fetch_http(client, url, settings, {"Accept": PAGE_ACCEPT}, check=check)
    if fetched.not_modified or not fetched.body:
        raise FeedError(f"{redact_credentials(url)} returned no page")
    text = await asyncio.to_thread(_extract_main_text, fetched.body)
    if not text:
        raise FeedError(f"{redact_credentials(url)}: no article text found on the page")
    return text


def _extract_main_text(body: bytes) -> str:
    import trafilatura  # imported here: it is slow to import and only needed for excerpt feeds

    text = trafilatura.extract(
        body,
        include_comments=False,
        include_tables=False,
        include_images=False,
        favor_precision=True,
        deduplicate=False,
    )
    if not text:
        return ""
    return "\n\n".join(line.strip() for line in str(text).splitlines() if line.strip())
