"""Feeds fetched over real HTTP from a loopback server into a real store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from briefings.ingest import ingest_source
from briefings.models import SourceConfig
from briefings.sources import FetchSettings, make_client
from briefings.store import Store
from tests.fixtures.feed_server import FeedServer, Route
from tests.fixtures.posts import (
    ALL_POSTS,
    CEASEFIRE_REACTION,
    SUDAN_AID,
    atom_feed,
    numbered_posts,
    rss_feed,
)

FAST = FetchSettings(timeout_seconds=2.0, max_body_bytes=2_000_000)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(FAST) as http:
        yield http


def source(server: FeedServer, path: str = "/feed/", name: str = "irinfive") -> SourceConfig:
    return SourceConfig(name=name, url=server.url(path))


async def test_full_text_rss_is_stored_with_its_parts(
    feed_server: FeedServer, client: httpx.AsyncClient, store: Store
) -> None:
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, ALL_POSTS))

    report = await ingest_source(store, client, source(feed_server), FAST)

    assert report.ok and report.new == 3
    post = store.post_by_url(CEASEFIRE_REACTION.link(feed_server.base))
    assert post is not None
    assert post.title == CEASEFIRE_REACTION.title
    assert post.take_label == "Analysis" and post.take.startswith("The Baltic position")
    assert post.attributions == ("Reuters", "AP News", "Politico Europe")
    assert post.paragraphs[0].startswith("Foreign ministers from Estonia")
    assert next(p.title for p in store.latest_posts(3)) == "EU and Japan Open Tariff Talks"


async def test_atom_feeds_are_read(
    feed_server: FeedServer, client: httpx.AsyncClient, store: Store
) -> None:
    feed_server.routes["/atom"] = Route(
        atom_feed(feed_server.base, ALL_POSTS), content_type="application/atom+xml"
    )
    report = await ingest_source(store, client, source(feed_server, "/atom"), FAST)
    assert report.ok and report.new == 3
    post = store.post_by_url(SUDAN_AID.link(feed_server.base))
    assert post is not None and post.take_label == "Opinion"


async def test_unchanged_feed_is_a_304_and_not_reparsed(
    feed_server: FeedServer, client: httpx.AsyncClient, store: Store
) -> None:
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, ALL_POSTS))
    await ingest_source(store, client, source(feed_server), FAST)

    again = await ingest_source(store, client, source(feed_server), FAST)

    assert again.not_modified and again.new == 0
    second = feed_server.hits("/feed/")[1]
    assert second.headers.get("if-none-match", "").startswith('"')
    assert "briefbot" in second.headers["user-agent"]


async def test_last_modified_is_sent_back(
    feed_server: FeedServer, client: httpx.AsyncClient, store: Store
) -> None:
    stamp = "Mon, 24 Mar 2025 10:00:00 GMT"
    feed_server.routes["/feed/"] = Route(
        rss_feed(feed_server.base, ALL_POSTS), etag=False, last_modified=stamp
    )
    await ingest_source(store, client, source(feed_server), FAST)
    again = await ingest_source(store, client, source(feed_server), FAST)
    assert again.not_modified
    assert feed_server.hits("/feed/")[1].headers["if-modified-since"] == stamp


async def test_edited_post_updates_its_row(
    feed_server: FeedServer, client: httpx.AsyncClient, store: Store
) -> None:
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, [SUDAN_AID]))
    await ingest_source(store, client, source(feed_server), FAST)
    edited = replace(SUDAN_AID, paragraphs=(*SUDAN_AID.paragraphs, "Talks resumed on Friday."))
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, [edited]))

    report = await ingest_source(store, client, source(feed_server), FAST)

    assert (report.new, report.updated) == (0, 1)
    assert store.count_posts() == 1
    post = store.post_by_url(SUDAN_AID.link(feed_server.base))
    assert post is not None and post.edited and "Talks resumed on Friday." in post.body


async def test_excerpt_feed_fetches_article_pages(
    feed_server: FeedServer, client: httpx.AsyncClient, store: Store
) -> None:
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, ALL_POSTS, full_text=False))
    for post in ALL_POSTS:
        feed_server.routes[f"/{post.slug}/"] = Route(
            post.page_html().encode(), content_type="text/html"
        )
    progress: list[tuple[int, int]] = []

    report = await ingest_source(
        store,
        client,
        source(feed_server),
        FAST,
        progress=lambda done, total, url: progress.append((done, total)),
    )

    assert report.ok and report.new == 3, report.warnings
    assert progress[-1] == (3, 3)
    post = store.post_by_url(CEASEFIRE_REACTION.link(feed_server.base))
    assert post is not None
    assert "verified by international monitors" in post.body
    assert post.take.startswith("The Baltic position")
    assert "Leave a comment" not in post.body + post.take
    assert "tracker" not in post.body


async def test_non_utf8_article_page_is_decoded(
    feed_server: FeedServer, client: httpx.AsyncClient, store: Store
) -> None:
    post = replace(
        SUDAN_AID,
        paragraphs=("Café talks in Genève ended without a deal. " * 3, *SUDAN_AID.paragraphs),
    )
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, [post], full_text=False))
    feed_server.routes[f"/{post.slug}/"] = Route(
        post.page_html(charset="iso-8859-1").encode("latin-1", "replace"),
        content_type="text/html; charset=iso-8859-1",
    )
    report = await ingest_source(store, client, source(feed_server), FAST)
    stored = store.post_by_url(post.link(feed_server.base))
    assert report.ok and stored is not None
    assert "Café talks in Genève" in stored.body


async def test_missing_article_page_keeps_the_excerpt(
    feed_server: FeedServer, client: httpx.AsyncClient, store: Store
) -> None:
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, [SUDAN_AID], full_text=False))
    report = await ingest_source(store, client, source(feed_server), FAST)
    assert report.ok and report.new == 1
    assert any("kept the feed's excerpt" in w and "404" in w for w in report.warnings)


@pytest.mark.parametrize(
    ("route", "message"),
    [
        (Route(b"oops", status=500, content_type="text/plain"), "HTTP 500"),
        (Route(b"gone", status=404, content_type="text/plain"), "HTTP 404"),
        (
            Route(b"<rss><channel><item><title>x</ti", content_type="application/rss+xml"),
            "not well-formed XML",
        ),
        (Route(b"\x89PNG....", content_type="image/png"), "image/png, not an RSS or Atom feed"),
        (
            Route(b"<html><body><p>Hello</p></body></html>", content_type="text/html"),
            "HTML page, not an RSS",
        ),
        (Route(b"", content_type="application/rss+xml"), "not an RSS or Atom feed"),
        (Route(rss_feed("http://x", ALL_POSTS), delay=3.0), "timed out after 0.3 s"),
        (Route(b"", stream_bytes=50_000_000), "larger than the 2,000,000-byte limit"),
        (Route(b"x" * 3_000_000), "larger than the 2,000,000-byte limit"),
    ],
    ids=[
        "500",
        "404",
        "truncated-xml",
        "image",
        "html",
        "empty",
        "timeout",
        "50MB-chunked",
        "declared-too-big",
    ],
)
async def test_bad_feeds_fail_clearly_and_lose_nothing(
    feed_server: FeedServer, client: httpx.AsyncClient, store: Store, route: Route, message: str
) -> None:
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, ALL_POSTS))
    await ingest_source(store, client, source(feed_server), FAST)
    feed_server.routes["/feed/"] = route

    # A feed slower than the timeout: a short one, so the test does not wait out two seconds.
    settings = FAST.model_copy(update={"timeout_seconds": 0.3}) if route.delay else FAST
    report = await ingest_source(store, client, source(feed_server), settings)

    assert not report.ok and message in (report.error or "")
    assert store.count_posts() == 3
    state = store.source_state("irinfive")
    assert (
        state is not None and state.last_error == report.error and state.last_success_at is not None
    )


async def test_redirect_loop_is_reported(
    feed_server: FeedServer, client: httpx.AsyncClient, store: Store
) -> None:
    feed_server.routes["/a"] = Route(b"", status=302, headers={"Location": "/b"})
    feed_server.routes["/b"] = Route(b"", status=302, headers={"Location": "/a"})
    report = await ingest_source(store, client, source(feed_server, "/a"), FAST)
    assert report.error and "redirect loop" in report.error


async def test_unreachable_host_is_reported(client: httpx.AsyncClient, store: Store) -> None:
    report = await ingest_source(
        store, client, SourceConfig("gone", "http://127.0.0.1:9/feed"), FAST
    )
    assert report.error and "cannot fetch" in report.error


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:99999/feed", "http://127.0.0.1:-1/feed", "http://xn--zz.invalid/feed"],
    ids=["port-too-big", "port-negative", "bad-idna-host"],
)
async def test_a_url_no_request_can_be_made_for_is_that_feeds_failure(
    client: httpx.AsyncClient, store: Store, url: str
) -> None:
    report = await ingest_source(store, client, SourceConfig("bad", url), FAST)
    assert not report.ok and report.error and url in report.error
    state = store.source_state("bad")
    assert state is not None and state.last_error == report.error


@pytest.mark.parametrize("full_text", [True, False], ids=["full-text", "excerpts"])
async def test_an_item_link_with_a_bad_port_loses_no_other_item(
    feed_server: FeedServer, client: httpx.AsyncClient, store: Store, full_text: bool
) -> None:
    bad_link = "http://127.0.0.1:99999/sudan/"
    feed = rss_feed(feed_server.base, ALL_POSTS, full_text=full_text)
    feed_server.routes["/feed/"] = Route(
        feed.replace(SUDAN_AID.link(feed_server.base).encode(), bad_link.encode())
    )
    for post in ALL_POSTS:
        feed_server.routes[f"/{post.slug}/"] = Route(
            post.page_html().encode(), content_type="text/html"
        )
    report = await ingest_source(store, client, source(feed_server), FAST)
    assert report.ok and report.new == 3 and store.count_posts() == 3
    assert store.post_by_url(CEASEFIRE_REACTION.link(feed_server.base)) is not None
    if not full_text:  # its page cannot be fetched: the excerpt is kept, and the reason said
        assert any(bad_link in w and "port 99999" in w for w in report.warnings)


async def test_duplicate_guids_and_missing_dates(
    feed_server: FeedServer, client: httpx.AsyncClient, store: Store
) -> None:
    undated = replace(SUDAN_AID, published=None)
    twin = replace(CEASEFIRE_REACTION, guid="same-guid")
    feed_server.routes["/feed/"] = Route(
        rss_feed(feed_server.base, [undated, twin, replace(twin, title="Other title")])
    )
    report = await ingest_source(store, client, source(feed_server), FAST)
    assert report.ok and report.new == 2 and report.skipped == 1
    stored = store.post_by_url(SUDAN_AID.link(feed_server.base))
    assert stored is not None and stored.published is None


async def test_same_post_under_two_addresses_is_one_post(
    feed_server: FeedServer, client: httpx.AsyncClient, store: Store
) -> None:
    post = replace(SUDAN_AID, guid="https://example.org/?p=77")
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, [post]))
    await ingest_source(store, client, source(feed_server), FAST)
    # Same guid, link now with tracking parameters and www: still the same post.
    moved = rss_feed(feed_server.base, [post]).replace(
        post.link(feed_server.base).encode(),
        (post.link(feed_server.base) + "?utm_source=rss").encode(),
    )
    feed_server.routes["/feed/"] = Route(moved)
    report = await ingest_source(store, client, source(feed_server), FAST)
    assert report.new == 0 and store.count_posts() == 1


async def test_mentions_in_post_text_are_kept_as_text(
    feed_server: FeedServer, client: httpx.AsyncClient, store: Store
) -> None:
    noisy = replace(
        SUDAN_AID,
        extra_html="<p>@everyone <!channel> <@U123> read this <script>evil()</script></p>",
    )
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, [noisy]))
    await ingest_source(store, client, source(feed_server), FAST)
    stored = store.post_by_url(SUDAN_AID.link(feed_server.base))
    assert stored is not None
    assert stored.paragraphs[0] == "@everyone <!channel> <@U123> read this"
    assert "evil" not in stored.body


async def test_a_feed_of_zero_items_and_one_past_every_batch_of_the_store(
    feed_server: FeedServer, client: httpx.AsyncClient, store: Store
) -> None:
    """Every item of a big feed is stored: 1,200 items are more than one insert page (SQLAlchemy
    sends 1,000 rows a statement) and their 2,400 aliases several lookup chunks (500 keys). The
    10,000-item figure is measured by `python bench/ingest.py --items 10000`."""
    feed_server.routes["/empty"] = Route(rss_feed(feed_server.base, []))
    empty = await ingest_source(store, client, source(feed_server, "/empty", "empty"), FAST)
    assert empty.ok and empty.entries == 0

    size = 1_200
    feed_server.routes["/big"] = Route(rss_feed(feed_server.base, numbered_posts(size)))
    big = await ingest_source(
        store,
        client,
        source(feed_server, "/big", "big"),
        FAST.model_copy(update={"max_body_bytes": 50_000_000}),
    )
    assert big.ok and big.new == size
    assert store.count_posts() == size
