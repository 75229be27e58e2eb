"""Several delivering processes on one database, at the same time: each channel gets each digest
exactly once, counted where the messages arrive."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import engine_for
from bot.cli import main
from bot.config import Settings
from bot.delivery import Deliverer
from bot.outbox_store import OutboxStore
from briefings.store import Store
from tests.fixtures import forkserver
from tests.fixtures.background import background_loop
from tests.fixtures.feed_server import FeedServer, Route
from tests.fixtures.limited_chat import LimitedChat
from tests.fixtures.platform import RecordingPlatform
from tests.fixtures.posts import ALL_POSTS, FixturePost, numbered_posts, rss_feed
from tests.fixtures.slack_server import FakeSlack
from tests.test_delivery import Clock, World
from tests.test_run import slack_section, write_config

ROOT = Path(__file__).resolve().parents[1]
DUE = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.fixture
def seeded(db_url: str) -> Iterator[World]:
    """A World for the parent: it seeds posts and subscriptions; children do the delivering."""
    store = Store.open(db_url)
    yield World(store, None, Clock(), RecordingPlatform(), Settings())  # type: ignore[arg-type]
    store.close()


def python(*args: str, stdin: int | None = None) -> subprocess.Popen[str]:
    return forkserver.ForkedProcess(
        [sys.executable, *args],
        cwd=ROOT,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_flushes_at_once_send_each_post_to_each_channel_exactly_once(
    db_url: str, seeded: World
) -> None:
    posts = seeded.add_posts(3)
    channels = [f"C{n:02d}" for n in range(20)]
    for channel in channels:
        seeded.subscribe(channel)
    seeded.clock.now = DUE
    children = [
        python("-m", "tests.fixtures.flush_child", db_url, DUE.isoformat(), stdin=subprocess.PIPE)
        for _ in range(2)
    ]
    try:
        _claim_runs(db_url)  # deliveries pending, none sent: both children find the same work
        for child in children:
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        outputs = [child.communicate(timeout=60) for child in children]
    finally:
        for child in children:
            child.kill()
            child.wait()
    for child, (_, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
    sent = [tuple(m) for out, _ in outputs for m in json.loads(out)]
    received = Counter((channel, post) for channel, post_ids, _ in sent for post in post_ids)
    assert received == Counter({(c, p): 1 for c in channels for p in posts})


def _claim_runs(db_url: str) -> None:
    """Claim the due runs, as a scheduler tick would (here, before either child flushes)."""

    async def claim() -> None:
        store = Store.open(db_url)
        try:
            async with engine_for(Settings(), store) as engine:
                deliverer = Deliverer(store, engine, {"chat": RecordingPlatform()})
                await deliverer.run_due(DUE, flush=False)
        finally:
            store.close()

    asyncio.run(claim())


def due_slack_channels(db_url: str, count: int) -> list[str]:
    store = Store.open(db_url)
    outbox = OutboxStore(store.engine)
    channels = [f"C{n:04d}" for n in range(count)]
    due = datetime.now(UTC) - timedelta(minutes=1)
    try:
        for channel in channels:
            outbox.save_subscription(
                "slack", channel, active=True, admin_user="config", next_run_at=due
            )
    finally:
        store.close()
    return channels


def run_once_config(tmp_path: Path, feed_server: FeedServer, slack: FakeSlack, db_url: str) -> Path:
    config = write_config(tmp_path, feed_server, more=slack_section(slack))
    text = config.read_text(encoding="utf-8").replace(
        f'url = "sqlite:///{tmp_path / "bot.db"}"', f'url = "{db_url}"'
    )
    config.write_text(text.replace("[slack]\n", "[slack]\nrequests_per_second = 0\n"))
    return config


def _assert_each_digest_once(
    slack: FakeSlack, channels: list[str], posts: Sequence[FixturePost] = ALL_POSTS
) -> None:
    """Each channel received one digest message (its posts fit in one), carrying every post."""
    per_channel = {c: slack.posted(c) for c in channels}
    assert Counter(len(m) for m in per_channel.values()) == Counter({1: len(channels)})
    for channel, [message] in per_channel.items():
        assert all(p.title in json.dumps(message["blocks"]) for p in posts), channel


@pytest.mark.parametrize("processes", [2])
def test_run_once_in_two_processes_at_once_sends_each_digest_once(
    db_url: str, tmp_path: Path, feed_server: FeedServer, processes: int
) -> None:
    with background_loop() as loop:
        slack = loop.run(FakeSlack().start())
        try:
            config = run_once_config(tmp_path, feed_server, slack, db_url)
            env = {"SLACK_BOT_TOKEN": "xoxb-test"}
            # The posts are stored first, so the processes only deliver at the same time.
            assert main(["--config", str(config), "ingest"]) == 0
            # Past two claims of 50 channels (delivery.concurrency) each, so both take part.
            channels = due_slack_channels(db_url, 120)
            runs = [_run_once(config, env) for _ in range(processes)]
            ended = [r.communicate(timeout=120) for r in runs]
        finally:
            loop.run(slack.stop())
    for run, (_, err) in zip(runs, ended, strict=True):
        assert run.returncode == 0, err
        assert "0 delivery(ies) left to retry" in err
    _assert_each_digest_once(slack, channels)
    sent = sum(int(err.split(" message(s) sent")[0].rsplit(" ", 1)[1]) for _, err in ended)
    assert sent == len(channels)


def _run_once(config: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    import os

    return forkserver.ForkedProcess(
        [sys.executable, "-m", "bot.cli", "--config", str(config), "run", "--once"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def test_run_once_sends_everything_owed_past_one_page(
    sqlite_url: str, tmp_path: Path, feed_server: FeedServer
) -> None:
    """A flush claims at most `delivery.concurrency` channels at a time (a page); run --once goes on
    claiming until nothing is owed. Here 4 a page, 25 channels owed 10 posts each: past six pages.
    The 1,050-channel figure is measured by `python bench/run_once.py`."""
    posts = numbered_posts(10)  # digest.max_items: each run owes all ten
    with background_loop() as loop:
        slack = loop.run(FakeSlack().start())
        try:
            config = run_once_config(tmp_path, feed_server, slack, sqlite_url)
            with config.open("a", encoding="utf-8") as more:
                more.write("[delivery]\nconcurrency = 4\n")
            feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, posts))
            assert main(["--config", str(config), "ingest"]) == 0
            channels = due_slack_channels(sqlite_url, 25)
            run = _run_once(config, {"SLACK_BOT_TOKEN": "xoxb-test"})
            _, err = run.communicate(timeout=120)
        finally:
            loop.run(slack.stop())
    assert run.returncode == 0, err
    assert "25 digest run(s) due, 25 message(s) sent" in err
    assert "0 delivery(ies) left to retry" in err
    _assert_each_digest_once(slack, channels, posts)


@pytest.mark.postgres
def test_three_processes_one_killed_mid_delivery_each_digest_once_within_the_limit(
    pg_url: str, tmp_path: Path
) -> None:
    world = World(Store.open(pg_url), None, Clock(), RecordingPlatform(), Settings())  # type: ignore[arg-type]
    try:
        posts = world.add_posts(2)
        channels = [f"C{n:03d}" for n in range(90)]  # 300 and more: bench/scaleout.py
        for channel in channels:
            world.subscribe(channel)
    finally:
        world.store.close()
    server = LimitedChat(rate=50)
    children = []
    try:
        # Each process is told the platform's whole limit: the limiter held in the database keeps
        # the three together under it (the server counts any request past 50 in a second).
        # Ten channels a claim each, so all three hold channels while the limit holds them back.
        args = ["--lease", "5", "--rate", "50", "--concurrency", "10"]
        for _ in range(3):
            command = ["-m", "tests.fixtures.outbox_child", pg_url, server.url, DUE.isoformat()]
            children.append(python(*command, *args))
        victim = children[0]
        deadline = time.monotonic() + 60
        while server.stats()["by_sender"].get(str(victim.pid), 0) < 10:
            assert time.monotonic() < deadline and victim.poll() is None, server.stats()
            time.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
        for child in children[1:]:
            _, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
        stats = server.stats()
    finally:
        for child in children:
            child.kill()
            child.communicate()
        server.stop()
    assert victim.returncode == -signal.SIGKILL
    messages = stats["messages"]  # distinct messages: a repeated key is the same message
    per_channel = Counter(m["channel"] for m in messages)
    assert per_channel == Counter({c: 1 for c in channels})
    assert all(sorted(m["post_ids"]) == sorted(posts) for m in messages)
    # Only a message the killed process had in flight may arrive again (same key, deduplicated
    # as Discord's nonce does); no living process ever sent what another had sent.
    first_sender = {m["key"]: m["sender"] for m in messages}
    assert {first_sender[r["key"]] for r in stats["repeats"]} <= {victim.pid}
    assert stats["violations"] == 0
