"""Several bot processes on one database: one polls, the others answer; facts shared in the store."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from adapters.contract import Caller, Invocation
from adapters.discord.bot import BriefingClient, DiscordSettings
from adapters.slack.app import SlackBot, SlackSettings
from bot.app import engine_for
from bot.commands import CommandSet
from bot.config import ConfigError, CoordinationSettings, Settings, parse_settings
from bot.coordination import SeenEvents, leadership_for
from bot.delivery import Deliverer
from bot.scheduler import BriefingScheduler
from briefings.models import SourceConfig
from briefings.store import Store
from tests.fixtures import forkserver
from tests.fixtures.feed_server import FeedServer, Route
from tests.fixtures.limited_chat import LimitedChat
from tests.fixtures.platform import RecordingPlatform
from tests.fixtures.posts import ALL_POSTS, rss_feed
from tests.fixtures.slack_server import SIGNING_SECRET, FakeSlack, event_callback, signed_headers
from tests.fixtures.waiting import eventually
from tests.test_run import ROOT, Output, run_bot

pytestmark = pytest.mark.postgres
LEADER = "leader: this process now polls feeds"


def wait_until(check: Callable[[], bool], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def pg_config(directory: Path, pg_url: str, feed_server: FeedServer) -> Path:
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, ALL_POSTS))
    path = directory / "config.toml"
    path.write_text(
        f'[database]\nurl = "{pg_url}"\n'
        f'[[sources]]\nname = "irinfive"\nurl = "{feed_server.url("/feed/")}"\n'
        "[http]\nfetch_article_pages = false\n"
        "[coordination]\nleader_check_seconds = 0.2\n",
        encoding="utf-8",
    )
    return path


def test_one_process_polls_and_another_takes_over_when_it_is_killed(
    tmp_path: Path, pg_url: str, feed_server: FeedServer
) -> None:
    config = pg_config(tmp_path, pg_url, feed_server)
    Store.open(pg_url).close()  # migrated once, before the replicas start
    first = Output(run_bot(config, subprocess.DEVNULL))
    second = None
    try:
        first.wait_for(LEADER, stream="err")
        first.wait_for("caught up at start", stream="err")
        fetched = len(feed_server.hits("/feed/"))
        assert fetched == 1
        second = Output(run_bot(config, subprocess.DEVNULL))
        second.wait_for("briefbot running", stream="err")
        time.sleep(0.5)  # a few leader checks of the second process
        assert LEADER not in second.text  # it answers, but does not poll
        assert len(feed_server.hits("/feed/")) == fetched

        first.process.send_signal(signal.SIGKILL)
        second.wait_for(LEADER, stream="err", within=10)
        wait_until(lambda: len(feed_server.hits("/feed/")) == fetched + 1)  # it catches up
    finally:
        first.close()
        if second is not None:
            second.close()


async def test_a_retried_slack_event_is_answered_once_across_two_processes(pg_url: str) -> None:
    slack = await FakeSlack().start()
    stores = [Store.open(pg_url), Store.open(pg_url)]  # one database, two processes' stores
    bots: list[SlackBot] = []
    engines = contextlib.AsyncExitStack()
    try:
        for store in stores:
            engine = await engines.enter_async_context(engine_for(Settings(), store))
            bot = SlackBot(
                SlackSettings(
                    bot_token="xoxb-test",
                    mode="http",
                    signing_secret=SIGNING_SECRET,
                    port=0,
                    api_base_url=slack.base_url,
                    requests_per_second=0,
                )
            )
            bot.first_seen = SeenEvents(store, "slack").first_time
            deliverer = Deliverer(store, engine, {"slack": bot.platform}, Settings())
            await bot.start(CommandSet(store, engine, deliverer, Settings()))
            bots.append(bot)
        mention = {
            "type": "app_mention",
            "channel": "C1",
            "user": "UMEMBER",
            "text": "<@UBOT0001> what did the delegates agree?",
            "ts": "1800000000.000100",
        }
        body = json.dumps(event_callback(mention, "Ev1")).encode()
        async with httpx.AsyncClient() as client:
            for bot in bots:  # Slack's retry reaches the other replica behind the load balancer
                url = f"http://127.0.0.1:{bot.port}/slack/events"
                sign = signed_headers(body)
                headers = {"Content-Type": "application/json", **sign}
                response = await client.post(url, content=body, headers=headers)
                assert response.status_code == 200
            later = {**mention, "ts": "1800000000.000200"}
            body = json.dumps(event_callback(later, "Ev2")).encode()
            sign = signed_headers(body)
            await client.post(
                f"http://127.0.0.1:{bots[1].port}/slack/events",
                content=body,
                headers={"Content-Type": "application/json", **sign},
            )
        await slack.wait_for(lambda: len(slack.posted("C1")) >= 2)
        await asyncio.sleep(0.2)
        answers = [m["thread_ts"] for m in slack.posted("C1")]
        assert sorted(answers) == ["1800000000.000100", "1800000000.000200"]
    finally:
        for bot in bots:
            await bot.stop()
        await engines.aclose()
        for store in stores:
            store.close()
        await slack.stop()


def test_limiters_in_separate_processes_keep_the_platform_limit_together(pg_url: str) -> None:
    Store.open(pg_url).close()
    rate, processes, each = 20, 3, 12
    server = LimitedChat(rate)  # counts a request past 20 in any second as a violation
    args = [sys.executable, "-m", "tests.fixtures.limited_sender", pg_url, server.url]
    children = [
        forkserver.ForkedProcess(
            [*args, str(rate), str(each)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    try:
        for child in children:
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        for child in children:
            assert child.wait(60) == 0
        stats = server.stats()
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
            child.communicate()
        server.stop()
    assert stats["violations"] == 0
    assert len(stats["messages"]) == processes * each


async def test_a_process_that_does_not_poll_still_indexes_what_another_fetched(
    tmp_path: Path, pg_url: str, feed_server: FeedServer
) -> None:
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, ALL_POSTS))
    sources = [SourceConfig("irinfive", feed_server.url("/feed/"))]
    settings = Settings.model_validate({"http": {"fetch_article_pages": False}})
    leading, following = Store.open(pg_url), Store.open(pg_url)
    quick = Settings(coordination=CoordinationSettings(index_sync_seconds=0.1))
    async with (
        engine_for(settings, leading, sources=sources) as engine_a,
        engine_for(settings, following, sources=sources) as engine_b,
    ):
        schedulers = []
        for store, engine in ((leading, engine_a), (following, engine_b)):
            deliverer = Deliverer(store, engine, {"chat": RecordingPlatform()}, Settings())
            leader = leadership_for(store, check_seconds=0.1)
            schedulers.append(BriefingScheduler(store, engine, deliverer, quick, leader=leader))
        try:
            await schedulers[0].start()
            await schedulers[1].start()
            assert schedulers[0].leader.is_leader and not schedulers[1].leader.is_leader
            assert schedulers[0].caught_up is not None
            await schedulers[0].caught_up
            assert len(feed_server.hits("/feed/")) == 1  # the follower fetched nothing
            # No question asked there: the index job alone brings in the leader's posts.
            await eventually(lambda: len(engine_b.index.search_index) == len(ALL_POSTS))
        finally:
            for scheduler in schedulers:
                await scheduler.stop()
    leading.close()
    following.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_questions_right_after_start_and_concurrent_refreshes_index_every_post_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, feed_server: FeedServer
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'b.db'}"
        if backend == "sqlite"
        else str(request.getfixturevalue("pg_url"))
    )
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, ALL_POSTS))
    sources = [SourceConfig("irinfive", feed_server.url("/feed/"))]
    settings = Settings.model_validate({"http": {"fetch_article_pages": False}})
    store = Store.open(url)
    async with engine_for(settings, store, sources=sources) as engine:
        deliverer = Deliverer(store, engine, {"chat": RecordingPlatform()}, Settings())
        scheduler = BriefingScheduler(
            store, engine, deliverer, leader=leadership_for(store, check_seconds=1)
        )
        commands = CommandSet(store, engine, deliverer, Settings())
        caller = Caller("chat", "U1")
        await scheduler.start()
        try:
            replies = await asyncio.gather(
                *(
                    commands.handle(Invocation(caller, "C1", "ask what happened?"))
                    for _ in range(8)
                ),
                *(scheduler.refresh(sources) for _ in range(4)),
                *(scheduler.sync_index() for _ in range(4)),
            )
            assert all(r is None or r.answer is not None for r in replies)
            assert scheduler.caught_up is not None
            await scheduler.caught_up
            await engine.sync_index()
            assert len(engine.index.search_index) == store.count_posts() == len(ALL_POSTS)
        finally:
            await scheduler.stop()
    store.close()


def test_discord_shards_are_checked_against_their_count() -> None:
    for bad, says in (
        ({"shard_ids": [0]}, "discord.shard_ids: needs shard_count"),
        ({"shard_count": 2, "shard_ids": [0, 2]}, "discord.shard_ids: [2] not below shard_count 2"),
        ({"shard_count": 2, "shard_ids": [1, 1]}, "discord.shard_ids: lists a shard twice"),
        ({"shard_count": 2, "sharded": True}, "discord.sharded: set sharded .* not both"),
    ):
        with pytest.raises(ConfigError, match=says.replace("[", r"\[").replace("]", r"\]")):
            parse_settings({"discord": bad})
    with pytest.raises(ConfigError, match=r"coordination\.leader_check_seconds: must not exceed"):
        parse_settings(
            {"coordination": {"leader_check_seconds": 120}, "schedule": {"refresh_minutes": 1}}
        )


async def test_a_process_runs_only_its_own_shards() -> None:
    settings = parse_settings({"discord": {"shard_count": 4, "shard_ids": [1, 3]}})
    d = settings.discord
    assert d.shard_ids is not None
    client = BriefingClient(
        DiscordSettings(shard_count=d.shard_count, shard_ids=tuple(d.shard_ids))
    )
    try:
        assert (client.shard_count, client.shard_ids) == (4, [1, 3])
    finally:
        await client.http.close()  # never connected
