"""Bounded work: a multi-megabyte post is summarized and indexed from its opening, the event loop keeps
running while posts are summarized and split, and a runaway title still renders as one message."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

import briefings.ingest
from adapters.discord.render import digest_messages as discord_messages
from adapters.slack.render import digest_messages as slack_messages
from bot.cli import main
from briefings.ask import PassageIndex
from briefings.digest import build_digest, digest_item
from briefings.ingest import ingest_source
from briefings.models import Post, PostParts, SourceConfig
from briefings.sources import FetchSettings, make_client
from briefings.store import NewPost, Store
from briefings.summarize.base import Summary
from briefings.summarize.extractive import ExtractiveSummarizer
from briefings.text import split_post
from tests.fixtures.feed_server import FeedServer, Route
from tests.fixtures.posts import SUDAN_AID, rss_feed

_LETTERS = "bcdfhjkmpqrtvwxz"


def _word(n: int) -> str:
    """A made-up word of its own for each n, so opening sentences share almost nothing."""
    out = ""
    for _ in range(4):
        n, digit = divmod(n, len(_LETTERS))
        out += _LETTERS[digit]
    return "zo" + out


def opening_sentence(i: int) -> str:
    w = [_word(5 * i + k) for k in range(5)]
    return f"Envoy {w[0]} met {w[1]} and {w[2]} in {w[3]}, officials from {w[4]} said."


# One long sentence repeated through the rest of the post: on its own it would be the most "central"
# sentence of the whole text, so a summary that considered the whole post would pick it.
REPEATED = "The harbour committee debated the port budget, " * 50 + "and adjourned again."


def huge_paragraphs(opening: int = 800, repeats: int = 1000) -> list[str]:
    """About 2.5 MB: `opening` short distinct sentences (well past the considered opening), then one
    long sentence repeated `repeats` times."""
    sentences = [opening_sentence(i) for i in range(opening)]
    paragraphs = [" ".join(sentences[i : i + 5]) for i in range(0, opening, 5)]
    return paragraphs + [REPEATED] * repeats


def stored(store: Store, parts: PostParts, url: str = "https://example.com/huge/") -> Post:
    store.save_posts([NewPost("irinfive", url, url, datetime(2025, 4, 2, tzinfo=UTC), parts)])
    post = store.post_by_url(url)
    assert post is not None
    return post


@pytest.fixture
def huge_store(tmp_path: Path) -> Iterator[tuple[Store, Post]]:
    store = Store.open(f"sqlite:///{tmp_path / 'huge.db'}")
    paragraphs = huge_paragraphs()
    post = stored(store, split_post(paragraphs, title_hint="A very long post"))
    assert len(post.body) > 2_000_000
    # Nothing is cut from storage: the stored post keeps every paragraph.
    assert post.paragraphs == tuple(paragraphs)
    yield store, post
    store.close()


def test_huge_post_is_summarized_and_indexed_from_its_opening(
    huge_store: tuple[Store, Post], tmp_path: Path
) -> None:
    store, huge_post = huge_store
    summary = ExtractiveSummarizer().summarize_post(huge_post, 3)
    assert summary == [opening_sentence(0), opening_sentence(1), opening_sentence(2)]

    index = PassageIndex(store=store, path=tmp_path / "index")
    index.sync()
    word = _word(5 * 20 + 1)
    # Not "who met …": the made-up names are lower-case words, which in a cased post are no
    # names, and a who-question is declined when no sentence names someone.
    answer = index.ask(f"What did officials say about envoy {_word(5 * 20)} and {word}?")
    assert answer.grounded and answer.citations[0].url == huge_post.url
    assert word in answer.text
    hits = index.search(f"{_word(5 * 7)} {_word(5 * 7 + 2)}")
    assert hits and hits[0].post.url == huge_post.url


def test_summarize_command_takes_the_opening_of_a_huge_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "\n\n".join(huge_paragraphs())
    source = tmp_path / "huge.jsonl"
    source.write_text(json.dumps({"id": "huge", "text": text}) + "\n", encoding="utf-8")

    assert main(["summarize", str(source)]) == 0

    line = json.loads(capsys.readouterr().out)
    assert line == {
        "id": "huge",
        "summary": "\n".join(opening_sentence(i) for i in range(3)),
    }


class Heartbeat:
    """A task that counts its turns on the event loop: if it cannot tick, every channel waits."""

    def __init__(self) -> None:
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        while True:
            self.ticks += 1
            await asyncio.sleep(0)

    async def __aenter__(self) -> Heartbeat:
        self._task = asyncio.create_task(self._beat())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self._task


async def test_the_event_loop_keeps_running_while_a_huge_post_is_summarized(
    huge_store: tuple[Store, Post],
) -> None:
    async with Heartbeat() as heart:
        before = heart.ticks
        summary = await ExtractiveSummarizer().summarize(huge_store[1], 3)
        during = heart.ticks - before
    assert summary.sentences[0] == opening_sentence(0)
    assert during > 0


BIG = FetchSettings(timeout_seconds=10.0, max_body_bytes=20_000_000)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(BIG) as http:
        yield http


async def test_the_event_loop_keeps_running_while_a_huge_post_is_ingested(
    feed_server: FeedServer,
    client: httpx.AsyncClient,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    huge = replace(SUDAN_AID, paragraphs=tuple(huge_paragraphs(repeats=400)))
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, [huge]))
    heart = Heartbeat()
    ticks_while_splitting: list[int] = []
    real_split = briefings.ingest.split_post

    # Observe, do not replace: the real splitter runs, and we count the loop's ticks meanwhile.
    def watched_split(*args: Any, **kwargs: Any) -> PostParts:
        before = heart.ticks
        parts = real_split(*args, **kwargs)
        ticks_while_splitting.append(heart.ticks - before)
        return parts

    monkeypatch.setattr(briefings.ingest, "split_post", watched_split)
    source = SourceConfig(name="irinfive", url=feed_server.url("/feed/"))
    async with heart:
        report = await ingest_source(store, client, source, BIG)

    assert report.ok and report.new == 1
    post = store.post_by_url(huge.link(feed_server.base))
    assert post is not None and len(post.body) > 1_000_000
    assert ticks_while_splitting and ticks_while_splitting[0] > 0


def _rendered(title: str, renderer: Callable[..., list[Any]], tmp_path: Path) -> list[Any]:
    store = Store.open(f"sqlite:///{tmp_path / 'render.db'}")
    try:
        html = SUDAN_AID.content_html()
        post = stored(store, split_post(html, title_hint=title), url=SUDAN_AID.link("https://x.io"))
    finally:
        store.close()
    summary = Summary(tuple(ExtractiveSummarizer().summarize_post(post, 3)), "extractive")
    digest = build_digest([digest_item(post, summary)])
    return renderer(digest)


def test_a_100kb_title_renders_as_one_slack_message_with_its_link_whole(tmp_path: Path) -> None:
    title = "Sanctions " * 10_000
    messages = _rendered(title, slack_messages, tmp_path)
    assert len(messages) == 1
    texts = [block["text"]["text"] for block in messages[0].payload["blocks"] if "text" in block]
    link = next(text for text in texts if SUDAN_AID.link("https://x.io") in text)
    # The whole <url|title> link sits in one section, its title shortened with an ellipsis.
    start = link.index("<" + SUDAN_AID.link("https://x.io") + "|")
    assert "\u2026>" in link[start:]


def test_a_100kb_title_renders_as_one_discord_message(tmp_path: Path) -> None:
    messages = _rendered("Sanctions " * 10_000, discord_messages, tmp_path)
    assert len(messages) == 1
    embed = messages[0].payload["embeds"][0]
    assert embed["title"].startswith("Sanctions Sanctions") and embed["title"].endswith("\u2026")
