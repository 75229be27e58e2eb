"""Polling one source: fetch (conditional), parse, fill excerpts from article pages, split, store.

Order matters for "nothing lost": posts are saved before the source's validators are, so a crash
in between only makes the next poll fetch the whole feed again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import httpx

from briefings.models import FeedEntry, IngestReport, SourceConfig
from briefings.sources import (
    FeedError,
    FetchSettings,
    feed_address_kinds,
    fetch,
    fetch_article_text,
    parse_feed,
    redact_credentials,
)
from briefings.store import NewPost, Store, db
from briefings.text import split_post

log = logging.getLogger(__name__)

# Called as progress(done, total, url) while article pages are fetched.
Progress = Callable[[int, int, str], None]


async def ingest_source(
    store: Store,
    client: httpx.AsyncClient,
    source: SourceConfig,
    settings: FetchSettings,
    *,
    progress: Progress | None = None,
) -> IngestReport:
    """Poll one source. Never raises for feed problems: they come back in `IngestReport.error`."""
    state = await db(store.source_state, source.name)
    # The store keeps the URL with its password hidden (see Store.record_fetch).
    same_url = state is not None and state.url == redact_credentials(source.url)
    try:
        fetched = await fetch(
            client,
            source.url,
            settings,
            etag=state.etag if same_url and state else None,
            last_modified=state.last_modified if same_url and state else None,
        )
        if fetched.not_modified:
            await db(
                store.record_fetch,
                source.name,
                source.url,
                etag=fetched.etag,
                last_modified=fetched.last_modified,
            )
            return IngestReport(source=source.name, fetched=True, not_modified=True)
        parsed = await asyncio.to_thread(parse_feed, fetched)
    except FeedError as exc:
        await db(store.record_fetch, source.name, source.url, error=str(exc))
        log.info("source %s: %s", source.name, exc)
        return IngestReport(source=source.name, error=str(exc))

    entries = parsed.entries
    texts, page_warnings = await _article_texts(client, entries, settings, progress, source.url)
    # Parsing and cleaning HTML is CPU work (a multi-megabyte post takes a while): off the event loop.
    items = await asyncio.to_thread(_new_posts, source.name, entries, texts)
    saved = await db(store.save_posts, items)
    await db(
        store.record_fetch,
        source.name,
        source.url,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
    )
    all_warnings = (*parsed.warnings, *page_warnings)
    if saved.duplicates:
        all_warnings += (
            f"{saved.duplicates} item(s) repeated a guid or link already in this feed",
        )
    return IngestReport(
        source=source.name,
        fetched=True,
        entries=len(entries),
        new=saved.new,
        updated=saved.updated,
        unchanged=saved.unchanged,
        skipped=saved.duplicates + parsed.skipped,
        warnings=all_warnings,
    )


def _new_posts(source: str, entries: list[FeedEntry], texts: list[str]) -> list[NewPost]:
    return [
        NewPost(
            source=source,
            guid=entry.guid,
            url=entry.url,
            published=entry.published,
            parts=split_post(text, title_hint=entry.title),
            categories=entry.categories,
        )
        for entry, text in zip(entries, texts, strict=True)
    ]


async def _article_texts(
    client: httpx.AsyncClient,
    entries: list[FeedEntry],
    settings: FetchSettings,
    progress: Progress | None,
    feed_url: str,
) -> tuple[list[str], list[str]]:
    """The text to split for each entry: the feed's full text, or the article page for excerpts.

    Pages may be on the kinds of private address the feed itself is on (see `fetch_article_text`).
    """
    texts = [entry.html for entry in entries]
    wanted = [
        i for i, entry in enumerate(entries) if entry.is_excerpt and settings.fetch_article_pages
    ]
    warnings: list[str] = []
    if not wanted:
        return texts, warnings
    feed_kinds = await feed_address_kinds(feed_url)
    limit = asyncio.Semaphore(max(1, settings.page_concurrency))
    done = 0

    async def fill(index: int) -> None:
        nonlocal done
        entry = entries[index]
        async with limit:
            try:
                texts[index] = await fetch_article_text(client, entry.url, settings, feed_kinds)
            except FeedError as exc:
                warnings.append(f"kept the feed's excerpt for {entry.url}: {exc}")
            done += 1
            if progress:
                progress(done, len(wanted), entry.url)

    await asyncio.gather(*(fill(i) for i in wanted))
    return texts, warnings
