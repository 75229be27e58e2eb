"""Fetching feeds and article pages over HTTP, and turning feed bytes into `FeedEntry` values.

Every failure here becomes a `FeedError` whose message a person can act on; the caller records it
against the source and carries on with the other sources.
"""

from __future__ import annotations

import asyncio
import calendar
import re
import xml.sax
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import httpx

from briefings.models import FeedEntry
from briefings.text import clean_inline, html_to_text

DEFAULT_USER_AGENT = "briefbot/0.1 (+https://github.com/briefbot/briefbot; IR in Five briefings)"
_FEED_TYPES = ("xml", "rss", "atom", "rdf", "text/plain", "octet-stream")
_NOT_FEED_TYPES = ("image/", "audio/", "video/", "application/json", "application/pdf", "font/")
_EXCERPT_MARKERS = re.compile(
    r"(\[(?:\u2026|\.\.\.|&hellip;)\]|\u2026\s*$|appeared first on|read more|continue reading)",
    re.I,
)


class FeedError(Exception):
    """A feed or page could not be fetched or understood. The message says why, in plain words."""


@dataclass(frozen=True, slots=True)
class FetchSettings:
    timeout_seconds: float = 15.0
    max_body_bytes: int = 10_000_000
    max_redirects: int = 5
    user_agent: str = DEFAULT_USER_AGENT
    fetch_article_pages: bool = True
    page_concurrency: int = 4


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
        timeout=timeout,
        follow_redirects=True,
        max_redirects=settings.max_redirects,
        headers={"User-Agent": settings.user_agent},
        trust_env=False,
    )


def is_local_path(location: str) -> bool:
    return not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", location) or location.startswith("file://")


async def fetch(
    client: httpx.AsyncClient,
    location: str,
    settings: FetchSettings,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    accept: str = "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5",
) -> FetchedBody:
    """GET a URL (or read a local file) with conditional headers and a hard size cap.

    `settings.timeout_seconds` bounds the whole request, body included: httpx's own timeouts are
    per read, so a server sending a byte a second would otherwise never time out."""
    if is_local_path(location):
        return _read_local(location, settings)
    headers = {"Accept": accept}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        async with (
            asyncio.timeout(settings.timeout_seconds),
            client.stream("GET", location, headers=headers) as response,
        ):
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
                raise FeedError(
                    f"{location} answered HTTP {response.status_code} {response.reason_phrase}"
                )
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > settings.max_body_bytes:
                raise FeedError(_too_big(location, settings.max_body_bytes))
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > settings.max_body_bytes:
                    raise FeedError(_too_big(location, settings.max_body_bytes))
                chunks.append(chunk)
            return FetchedBody(
                url=str(response.url),
                body=b"".join(chunks),
                content_type=response.headers.get("Content-Type", ""),
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
            )
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise FeedError(f"{location} timed out after {settings.timeout_seconds:g} s") from exc
    except httpx.TooManyRedirects as exc:
        raise FeedError(
            f"{location} redirected more than {settings.max_redirects} times (a redirect loop?)"
        ) from exc
    except httpx.InvalidURL as exc:
        raise FeedError(f"{location} is not a valid URL: {exc}") from exc
    except httpx.HTTPError as exc:
        raise FeedError(f"cannot fetch {location}: {type(exc).__name__}: {exc}") from exc


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


def parse_feed(fetched: FetchedBody) -> tuple[list[FeedEntry], list[str]]:
    """Entries of an RSS 2.0 or Atom document, plus warnings about entries that were skipped."""
    content_type = fetched.content_type.split(";")[0].strip().lower()
    if content_type.startswith(_NOT_FEED_TYPES):
        raise FeedError(f"{fetched.url} sent {content_type}, not an RSS or Atom feed")
    headers = {"content-type": fetched.content_type} if fetched.content_type else {}
    parsed: Any = feedparser.parse(fetched.body, response_headers=headers, sanitize_html=False)
    problem = parsed.get("bozo_exception")
    if isinstance(problem, xml.sax.SAXException):
        raise FeedError(f"{fetched.url} is not well-formed XML: {_describe_sax(problem)}")
    if not parsed.get("version") and not parsed.entries:
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
    return entries, warnings


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


async def fetch_article_text(client: httpx.AsyncClient, url: str, settings: FetchSettings) -> str:
    """Main text of an article page (trafilatura), paragraphs separated by blank lines."""
    fetched = await fetch(
        client, url, settings, accept="text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
    )
    if fetched.not_modified or not fetched.body:
        raise FeedError(f"{url} returned no page")
    text = await asyncio.to_thread(_extract_main_text, fetched.body)
    if not text:
        raise FeedError(f"{url}: no article text found on the page")
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
