"""The search index and the event loop: searches run off it, `briefbot run` opens the index at start
without waiting, and an index sync can be stopped between posts and resumed later."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

import briefings.index
from adapters.contract import Caller, Invocation
from bot.app import engine_for
from bot.commands import CommandSet
from bot.config import Settings
from briefings.ask import PassageIndex
from briefings.index import SearchIndex
from briefings.models import Post, PostParts
from briefings.store import NewPost, Store
from tests.fixtures.feed_server import FeedServer
from tests.fixtures.platform import RecordingPlatform
from tests.test_bounded import Heartbeat, _word
from tests.test_delivery import Clock, World
from tests.test_run import Output, run_bot, write_config


def _posts(count: int, start: int = 0) -> list[NewPost]:
    return [
        NewPost(
            "irinfive",
            f"https://example.com/{n}/",
            f"https://example.com/{n}/",
            datetime(2025, 4, 1, tzinfo=UTC),
            PostParts(
                f"Harbour talks with {_word(n)}",
                "",
                "",
                (f"Envoys met {_word(n)} in the harbour for talks. Tariffs were raised.",),
                "",
                "",
                (),
            ),
        )
        for n in range(start, start + count)
    ]


async def test_a_search_command_leaves_the_event_loop_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a search ranks, other channels' work (here a heartbeat task) keeps running."""
    store = Store.open(f"sqlite:///{tmp_path / 'b.db'}")
    store.save_posts(_posts(300))
    ticked: list[bool] = []
    heart = Heartbeat()
    search = PassageIndex.search

    def watched(self: PassageIndex, query: str, limit: int = 10) -> list[object]:
        """The real search, which first waits (up to 5 s) to see the event loop take a turn."""
        before = heart.ticks
        deadline = time.monotonic() + 5.0
        while heart.ticks == before and time.monotonic() < deadline:
            time.sleep(0.001)
        ticked.append(heart.ticks > before)
        return search(self, query, limit)  # type: ignore[return-value]

    monkeypatch.setattr(PassageIndex, "search", watched)
    async with engine_for(Settings(), store) as engine:
        world = World(
            store,
            engine,
            Clock(datetime(2026, 1, 5, tzinfo=UTC)),
            RecordingPlatform(),
            Settings(),
        )
        commands = CommandSet(store, engine, world.deliverer(), Settings())
        await engine.sync_index()
        async with heart:
            reply = await commands.handle(
                Invocation(Caller("chat", "U1", is_admin=True), "C1", f"search harbour {_word(7)}")
            )
    store.close()
    assert ticked == [True]
    assert reply.hits and reply.hits[0].post.url == "https://example.com/7/"


def test_run_builds_the_index_at_start_before_any_question(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """`briefbot run` opens (here: builds) the index in the background at start and keeps it
    current as feeds are fetched, so the first question does not pay for it."""
    config = write_config(tmp_path, feed_server)
    store = Store.open(f"sqlite:///{tmp_path / 'bot.db'}")
    store.save_posts(_posts(5))
    store.close()
    meta = tmp_path / "bot.db.index" / "meta.json"
    process = run_bot(config, subprocess.DEVNULL)
    output = Output(process)
    try:
        output.wait_for("caught up at start", stream="err")
        store = Store.open(f"sqlite:///{tmp_path / 'bot.db'}")
        stored = store.max_post_id()
        store.close()
        assert stored > 5  # the feed's posts came in too
        deadline = time.monotonic() + 30
        while not (meta.is_file() and json.loads(meta.read_text())["max_id"] == stored):
            assert time.monotonic() < deadline, f"index not built: {output.text}"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0, output.text
    finally:
        output.close()


def test_a_stopped_sync_keeps_what_it_indexed_and_the_next_one_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stop ends indexing at the next post, committing what was done; syncs commit in batches,
    and the next sync (another process) indexes only what is left."""
    monkeypatch.setattr(briefings.index, "_COMMIT_EVERY", 2)
    store = Store.open(f"sqlite:///{tmp_path / 'b.db'}")
    store.save_posts(_posts(7))
    first = PassageIndex(store=store, path=tmp_path / "index")
    add = SearchIndex._add
    added: list[int] = []

    def stop_after_three(self: SearchIndex, passages: object, posts: object, post: Post) -> None:
        add(self, passages, posts, post)  # type: ignore[arg-type]
        added.append(post.id)
        if len(added) == 3:
            self.stopping.set()

    monkeypatch.setattr(SearchIndex, "_add", stop_after_three)
    assert first.sync() == 3
    monkeypatch.setattr(SearchIndex, "_add", add)

    second = PassageIndex(store=store, path=tmp_path / "index")
    assert second.sync() == 4  # only the posts the stopped sync did not reach
    assert len(second) == 7
    hits = second.search(f"harbour {_word(6)}")
    assert hits and hits[0].post.url == "https://example.com/6/"
    store.close()
