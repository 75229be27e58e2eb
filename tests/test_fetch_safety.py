"""What a feed can make briefbot read, and what it shows: local files, private addresses, passwords.

All traffic stays on 127.0.0.1. Other address ranges are checked through the address policy alone,
and a redirect that leaves a "public" host is staged with a resolver that calls localhost public.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from xml.sax.saxutils import escape

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import main
from briefings.sources import (
    FeedError,
    FetchedBody,
    FetchSettings,
    IPAddress,
    fetch_article_text,
    make_client,
    page_refusal,
    parse_feed,
)
from briefings.store import Store
from briefings.text import split_post
from tests.fixtures.feed_server import FeedServer, Route
from tests.fixtures.posts import ALL_POSTS, SUDAN_AID, rss_feed

FAST = FetchSettings(timeout_seconds=2.0, max_body_bytes=2_000_000)
MARKER = "LEDGER-7f3a91-SECRET"
PASSWORD = "pw-9c2e-hunter2"
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(FAST) as http:
        yield http


def excerpt_feed(links: list[str]) -> bytes:
    """An RSS feed of excerpts, one item per link, so each link's page would be fetched."""
    items = "".join(
        f"<item><title>Post {n}</title><link>{escape(link)}</link>"
        f'<guid isPermaLink="false">post-{n}</guid>'
        f"<description>Talks resumed on Monday [&#8230;]</description></item>"
        for n, link in enumerate(links)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>T</title>'
        f"<link>http://127.0.0.1/</link><description>d</description>{items}</channel></rss>"
    ).encode()


def write_config(cwd: Path, url: str, extra: str = "") -> None:
    (cwd / "config.toml").write_text(
        f'[[sources]]\nname = "irinfive"\nurl = "{url}"\n[http]\ntimeout_seconds = 2\n{extra}'
    )


def secret_page() -> str:
    """An article page, on disk, carrying a marker that must never reach the store."""
    leaky = replace(
        SUDAN_AID, paragraphs=(f"The ledger code is {MARKER}. " * 3, *SUDAN_AID.paragraphs)
    )
    return leaky.page_html()


# -- 1. article links are fetched only over http(s) -----------------------------------------------


def test_article_links_to_local_files_are_never_read(
    cwd: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = cwd / "secret.html"
    secret.write_text(secret_page())
    links = [str(secret), f"file://{secret}", "secret.html"]
    feed_server.routes["/feed/"] = Route(excerpt_feed(links))
    write_config(cwd, feed_server.url("/feed/"))

    assert main(["ingest"]) == 0
    assert main(["posts", "--json"]) == 0
    out, err = capsys.readouterr()

    assert MARKER not in out + err
    assert MARKER.encode() not in (cwd / "briefbot.db").read_bytes()
    assert out.count("article pages are fetched only over http(s)") == 3
    assert len(json.loads(out[out.index("[") :])) == 3  # the excerpts are kept


# -- 2. no page fetches to loopback, private or link-local addresses ------------------------------


def test_a_local_feed_file_cannot_make_pages_be_fetched_from_loopback(
    cwd: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_server.routes["/page/"] = Route(secret_page().encode(), content_type="text/html")
    feed = cwd / "feed.xml"
    feed.write_bytes(excerpt_feed([feed_server.url("/page/")]))

    assert main(["ingest", "--feed", str(feed)]) == 0
    out = capsys.readouterr().out

    assert feed_server.requests == []
    assert f"refused to fetch {feed_server.url('/page/')}: 127.0.0.1 is a loopback address" in out
    assert "http.allow_private_pages" in out
    assert MARKER.encode() not in (cwd / "briefbot.db").read_bytes()


def test_allow_private_pages_lets_a_local_feed_fetch_loopback_pages(
    cwd: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_server.routes["/page/"] = Route(secret_page().encode(), content_type="text/html")
    feed = cwd / "feed.xml"
    feed.write_bytes(excerpt_feed([feed_server.url("/page/")]))
    write_config(cwd, "https://irinfive.com/feed/", "allow_private_pages = true\n")

    assert main(["ingest", "--feed", str(feed)]) == 0
    assert "refused" not in capsys.readouterr().out
    assert len(feed_server.hits("/page/")) == 1
    assert MARKER.encode() in (cwd / "briefbot.db").read_bytes()


async def test_a_redirect_hop_to_loopback_is_refused(
    feed_server: FeedServer, client: httpx.AsyncClient
) -> None:
    async def public_dns(host: str, port: int) -> list[IPAddress]:
        # localhost plays a public site here; an address in a URL is taken as it is.
        return [ipaddress.ip_address("93.184.216.34")]

    inner = feed_server.url("/admin/")
    feed_server.routes["/article/"] = Route(b"", status=302, headers={"Location": inner})
    feed_server.routes["/admin/"] = Route(secret_page().encode(), content_type="text/html")
    public_url = feed_server.url("/article/").replace("127.0.0.1", "localhost")

    with pytest.raises(FeedError, match=rf"refused to fetch {inner}: 127.0.0.1 is a loopback"):
        await fetch_article_text(client, public_url, FAST, frozenset(), resolver=public_dns)

    assert len(feed_server.hits("/article/")) == 1
    assert feed_server.hits("/admin/") == []


@pytest.mark.parametrize(
    ("address", "feed_kinds", "refused_as"),
    [
        ("93.184.216.34", frozenset(), None),
        ("2606:4700::1111", frozenset(), None),
        ("127.0.0.1", frozenset(), "loopback"),
        ("::1", frozenset(), "loopback"),
        ("10.1.2.3", frozenset(), "private"),
        ("192.168.0.7", frozenset(), "private"),
        ("fd00::5", frozenset(), "private"),
        ("100.64.0.1", frozenset(), "private"),
        ("169.254.169.254", frozenset(), "link-local"),
        ("fe80::1", frozenset(), "link-local"),
        ("::ffff:169.254.169.254", frozenset(), "link-local"),
        ("0.0.0.0", frozenset(), "unspecified"),
        ("224.0.0.1", frozenset(), "multicast"),
        ("240.0.0.1", frozenset(), "reserved"),
        # A feed on loopback may have loopback pages, and nothing else that is not public.
        ("127.0.0.1", frozenset({"loopback"}), None),
        ("10.1.2.3", frozenset({"loopback"}), "private"),
        ("169.254.169.254", frozenset({"loopback"}), "link-local"),
        ("fe80::1", frozenset({"loopback"}), "link-local"),
        # A feed on a private network may have pages there.
        ("10.1.2.3", frozenset({"private"}), None),
    ],
)
def test_address_policy(address: str, feed_kinds: frozenset[str], refused_as: str | None) -> None:
    reason = page_refusal([ipaddress.ip_address(address)], feed_kinds)
    if refused_as is None:
        assert reason is None
    else:
        assert reason is not None and f"is a {refused_as} address" in reason


def test_a_host_with_one_private_address_among_public_ones_is_refused() -> None:
    addresses = [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.1")]
    assert page_refusal(addresses, frozenset()) is not None


# -- 3. credentials in feed URLs are never shown ------------------------------------------------


def test_a_feed_password_is_sent_but_never_shown(
    cwd: Path,
    feed_server: FeedServer,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    feed_server.routes["/feed/"] = Route(
        rss_feed(feed_server.base, ALL_POSTS), basic_auth=("reader", PASSWORD)
    )
    write_config(cwd, feed_server.url("/feed/").replace("://", f"://reader:{PASSWORD}@"))

    assert main(["-v", "ingest"]) == 0
    assert main(["doctor"]) == 0
    shown = capsys.readouterr()
    assert "3 new" in shown.out and "feed irinfive: ok (http://reader:***@127.0.0.1" in shown.out
    assert feed_server.hits("/feed/")[0].headers["authorization"].startswith("Basic ")

    feed_server.routes["/feed/"] = Route(b"", basic_auth=("reader", "another-password"))
    assert main(["-v", "ingest"]) == 1
    assert main(["doctor"]) == 1
    failed = capsys.readouterr()
    assert "http://reader:***@127.0.0.1" in failed.out and "HTTP 401" in failed.out

    store = Store.open(f"sqlite:///{cwd / 'briefbot.db'}")
    state = store.source_state("irinfive")
    store.close()
    assert state is not None and state.last_error and "reader:***@" in state.last_error
    assert state.url.startswith("http://reader:***@")
    everything = shown.out + shown.err + failed.out + failed.err
    everything += "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert caplog.records and PASSWORD not in everything
    assert PASSWORD.encode() not in (cwd / "briefbot.db").read_bytes()


# -- 4. tolerant parsing --------------------------------------------------------------------------


def test_one_stray_control_character_does_not_reject_the_feed(
    cwd: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = rss_feed(feed_server.base, ALL_POSTS)
    feed = feed.replace(b"<description><![CDATA[", b"<description><![CDATA[\x0b", 1)
    feed = feed.replace(b"<item><title>", b"<item><title>\x01", 1)
    feed_server.routes["/feed/"] = Route(feed)
    write_config(cwd, feed_server.url("/feed/"))

    assert main(["ingest"]) == 0
    out = capsys.readouterr().out
    assert "3 item(s): 3 new" in out
    assert "warning: recovered 3 item(s) from malformed XML: not well-formed" in out
    assert main(["posts", "--json"]) == 0
    posts = json.loads(capsys.readouterr().out)
    assert len(posts) == 3 and not any(CONTROL.search(p["title"]) for p in posts)


ITEM_TEXT = st.text(
    alphabet=st.sampled_from(
        [*"ab <&>'\"", *(chr(c) for c in range(32) if c not in (9, 10, 13)), "\x7f"]
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(ITEM_TEXT, ITEM_TEXT), min_size=1, max_size=4))
def test_control_characters_in_item_text_never_lose_items_or_reach_the_store(
    texts: list[tuple[str, str]],
) -> None:
    items = "".join(
        f"<item><title>Post {n} {escape(title)}</title><link>https://example.org/{n}/</link>"
        f"<description>{escape(body)} [&#8230;]</description></item>"
        for n, (title, body) in enumerate(texts)
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>T</title>'
        f"{items}</channel></rss>"
    ).encode()
    try:
        parsed = parse_feed(FetchedBody("https://example.org/feed/", body, "application/rss+xml"))
    except FeedError:
        pytest.fail("a feed whose items all have links was rejected")
    assert [e.url for e in parsed.entries] == [
        f"https://example.org/{n}/" for n in range(len(texts))
    ]
    for entry in parsed.entries:
        parts = split_post(entry.html, title_hint=entry.title)
        stored = [entry.title, parts.title, parts.take, *parts.paragraphs, *parts.attributions]
        assert not any(CONTROL.search(text) for text in stored)
