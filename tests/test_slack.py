"""The Slack adapter end to end: real slack-bolt and slack_sdk against a fake Slack on 127.0.0.1."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.errors import SlackApiError

from adapters.contract import Caller, Invocation, MissingSecret, PlatformFailed
from adapters.slack.app import SlackBot, SlackPlatform, SlackSettings, delivery_error
from adapters.slack.render import (
    CONTEXT_LIMIT,
    FALLBACK_LIMIT,
    HEADER_LIMIT,
    MAX_BLOCKS,
    MAX_MESSAGE_CHARS,
    SECTION_LIMIT,
    answer_blocks,
    digest_messages,
    escape,
    split_text,
)
from bot.app import apply_declared_subscriptions, engine_for
from bot.cli import main
from bot.commands import CommandSet
from bot.config import DeliverySettings, Settings
from bot.delivery import Deliverer
from bot.runner import run_forever
from briefings.models import Answer, Citation, Digest
from briefings.store import Store
from tests.fixtures import forkserver
from tests.fixtures.feed_server import FeedServer
from tests.fixtures.loopback import loopback_client
from tests.fixtures.platform import RecordingPlatform
from tests.fixtures.posts import digest_item
from tests.fixtures.slack_server import (
    SIGNING_SECRET,
    Canned,
    FakeSlack,
    event_callback,
    signed_headers,
    slash_command,
)
from tests.test_delivery import Clock, World
from tests.test_discord import digest_items, squashed
from tests.test_run import ROOT, write_config

DUE = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@dataclass
class Rig:
    slack: FakeSlack
    bot: SlackBot
    world: World
    deliverer: Deliverer
    url: str

    async def post(
        self, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        sign = signed_headers(body) if headers is None else headers
        async with loopback_client() as client:
            return await client.post(
                self.url, content=body, headers={"Content-Type": content_type, **sign}
            )

    async def command(self, text: str, user: str, channel: str = "C1") -> httpx.Response:
        form = slash_command(
            text, user=user, channel=channel, response_url=self.slack.response_url()
        )
        return await self.post(
            urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
        )

    async def event(self, event: dict[str, object], event_id: str) -> httpx.Response:
        body = json.dumps(event_callback(event, event_id)).encode()
        return await self.post(body, "application/json")


async def make_rig(store: Store, mode: str = "http") -> AsyncIterator[Rig]:
    slack = await FakeSlack().start()
    async with engine_for(Settings(), store) as engine:
        world = World(
            store,
            engine,
            Clock(datetime(2026, 11, 25, 7, 0, tzinfo=UTC)),
            RecordingPlatform(name="slack"),
            Settings(),
        )
        settings = SlackSettings(
            bot_token="xoxb-test",
            mode=mode,
            app_token="xapp-test",
            signing_secret=SIGNING_SECRET,
            port=0,
            api_base_url=slack.base_url,
            requests_per_second=0,
        )
        bot = SlackBot(settings)
        deliverer = Deliverer(store, engine, {"slack": bot.platform}, Settings(), clock=world.clock)
        commands = CommandSet(store, engine, deliverer, Settings())
        await bot.start(commands)
        try:
            yield Rig(slack, bot, world, deliverer, f"http://127.0.0.1:{bot.port}/slack/events")
        finally:
            await bot.stop()
            await slack.stop()


@pytest.fixture
async def rig(sqlite_url: str) -> AsyncIterator[Rig]:
    store = Store.open(sqlite_url)
    async for made in make_rig(store):
        yield made
    store.close()


async def deliver_digest(rig: Rig, channel: str = "C1") -> list[int]:
    posts = rig.world.add_posts(3)
    rig.world.subscribe(channel)
    await rig.deliverer.run_due(DUE)
    return posts


async def test_a_scheduled_digest_is_posted_as_block_kit(rig: Rig) -> None:
    posts = await deliver_digest(rig)
    [message] = rig.slack.posted("C1")
    blocks = message["blocks"]
    assert blocks[0]["type"] == "header" and "3 new posts" in blocks[0]["text"]["text"]
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(sections) == 3
    assert "*<https://irinfive.com/post-3/|Post 3: talks in the Mekong>*" in sections[0]
    assert "> *Analysis (the post's own view):* Round 3 changes little." in sections[0]
    assert "Sources: AP News" in sections[0]
    assert (
        blocks[-1]["type"] == "context"
        and "Reply in this thread" in blocks[-1]["elements"][0]["text"]
    )
    assert message["text"].startswith("IR in Five briefing: Post 3")
    assert message["unfurl_links"] is False
    sub = rig.world.outbox.subscription("slack", "C1")
    assert sub is not None
    ts = rig.world.outbox.deliveries_for(sub.id)[0].message_id
    assert sorted(rig.world.outbox.posts_in_message("slack", "C1", ts)) == sorted(posts)


async def test_schedule_set_by_an_admin_and_refused_to_a_member(rig: Rig) -> None:
    response = await rig.command("schedule set weekdays 07:30 Europe/Paris", user="UADMIN")
    assert response.status_code == 200  # acked; the reply follows through response_url
    await rig.slack.wait_for(lambda: len(rig.slack.responses) == 1)
    reply = rig.slack.responses[0]
    assert reply["response_type"] == "in_channel"
    assert "Schedule: weekdays 07:30 (Europe/Paris)" in reply["text"]
    sub = rig.world.outbox.subscription("slack", "C1")
    assert sub is not None and sub.schedule == "weekdays 07:30" and sub.admin_user == "UADMIN"

    await rig.command("schedule set daily 05:00", user="UMEMBER")
    await rig.slack.wait_for(lambda: len(rig.slack.responses) == 2)
    refusal = rig.slack.responses[1]
    assert refusal["response_type"] == "ephemeral" and "Only admins" in refusal["text"]
    assert rig.world.outbox.subscription("slack", "C1") == sub
    # users.info asked on every command: admin rights are never cached
    assert [c.body["user"] for c in rig.slack.calls if c.method == "users.info"] == [
        "UADMIN",
        "UMEMBER",
    ]


async def test_a_question_in_the_digest_thread_is_answered_there_with_a_citation(rig: Rig) -> None:
    await deliver_digest(rig)
    sub = rig.world.outbox.subscription("slack", "C1")
    assert sub is not None
    thread = rig.world.outbox.deliveries_for(sub.id)[0].message_id
    question = {
        "type": "message",
        "channel": "C1",
        "user": "UMEMBER",
        "text": "what did delegates from the Andes agree on?",
        "ts": "1800000000.000200",
        "thread_ts": thread,
    }
    assert (await rig.event(question, "Ev1")).status_code == 200
    await rig.slack.wait_for(lambda: len(rig.slack.posted("C1")) == 2)
    answer = rig.slack.posted("C1")[1]
    assert answer["thread_ts"] == thread
    text = json.dumps(answer["blocks"])
    assert "https://irinfive.com/post-2/" in text and "Source" in text

    # Slack re-sends an event it thinks was missed: answered once. Bots are never answered.
    await rig.event(question, "Ev1")
    await rig.event({**question, "bot_id": "BOTHER", "text": "what about the Andes?"}, "Ev2")
    await rig.event({**question, "thread_ts": "1700000000.999999"}, "Ev3")  # not a digest thread
    # A last, answerable question: once its answer is in, the ones before it were passed over.
    await rig.event({**question, "text": "what did the Baltic delegates agree on?"}, "Ev4")
    await rig.slack.wait_for(lambda: len(rig.slack.posted("C1")) >= 3)
    assert len(rig.slack.posted("C1")) == 3
    assert "https://irinfive.com/post-1/" in json.dumps(rig.slack.posted("C1")[2]["blocks"])


async def test_a_follow_up_in_a_digest_thread_is_read_with_the_earlier_question(rig: Rig) -> None:
    """ "And when did they meet?" names no post: the thread's earlier question (about the Andes)
    and the post its answer cited say which one it is about."""
    await deliver_digest(rig)
    sub = rig.world.outbox.subscription("slack", "C1")
    assert sub is not None
    thread = rig.world.outbox.deliveries_for(sub.id)[0].message_id
    first = {
        "type": "message",
        "channel": "C1",
        "user": "UMEMBER",
        "text": "what did delegates from the Andes agree on?",
        "ts": "1800000000.000200",
        "thread_ts": thread,
    }
    await rig.event(first, "Ev1")
    await rig.slack.wait_for(lambda: len(rig.slack.posted("C1")) == 2)
    rig.slack.said_in_thread(thread, first)  # Slack keeps people's messages in the thread too
    follow_up = {**first, "text": "and when did they meet?", "ts": "1800000000.000300"}
    await rig.event(follow_up, "Ev2")
    await rig.slack.wait_for(lambda: len(rig.slack.posted("C1")) == 3)
    text = json.dumps(rig.slack.posted("C1")[2]["blocks"])
    assert "Tuesday" in text and "https://irinfive.com/post-2/" in text
    # The Andes post is the source; other digest posts may follow it as further reading.
    cited = [text.find(f"post-{n}/") for n in (1, 2, 3)]
    assert cited[1] == min(c for c in cited if c >= 0)


async def test_a_mention_is_answered_once_in_a_thread_under_it(rig: Rig) -> None:
    await deliver_digest(rig)
    sub = rig.world.outbox.subscription("slack", "C1")
    assert sub is not None
    thread = rig.world.outbox.deliveries_for(sub.id)[0].message_id
    mention = {
        "type": "app_mention",
        "channel": "C1",
        "user": "UMEMBER",
        "text": "<@UBOT0001> what did the Mekong delegates agree on?",
        "ts": "1800000000.000300",
    }
    await rig.event(mention, "Ev10")
    await rig.slack.wait_for(lambda: len(rig.slack.posted("C1")) == 2)
    answer = rig.slack.posted("C1")[1]
    assert answer["thread_ts"] == "1800000000.000300"
    assert "https://irinfive.com/post-3/" in json.dumps(answer["blocks"])
    # In a digest thread a mention arrives twice (app_mention and message): one answer.
    in_thread = {**mention, "ts": "1800000000.000400", "thread_ts": thread}
    await rig.event({**in_thread, "type": "message"}, "Ev11")
    await rig.event(in_thread, "Ev12")
    await rig.slack.wait_for(lambda: len(rig.slack.posted("C1")) >= 3)
    await rig.event({**in_thread, "type": "message", "text": "and the Andes?"}, "Ev13")
    await rig.slack.wait_for(lambda: len(rig.slack.posted("C1")) >= 4)
    replies = rig.slack.posted("C1")[2:]
    assert len(replies) == 2 and all(r["thread_ts"] == thread for r in replies)


async def test_bad_signatures_and_stale_timestamps_are_rejected(rig: Rig) -> None:
    form = slash_command("subscribe", user="UADMIN", response_url=rig.slack.response_url())
    body = urllib.parse.urlencode(form).encode()
    forged = signed_headers(body, secret="not-the-secret")
    stale = signed_headers(body, at=int(time.time()) - 600)
    for headers in (forged, stale, {}):
        response = await rig.post(body, "application/x-www-form-urlencoded", headers)
        assert response.status_code == 401
    assert rig.world.outbox.subscription("slack", "C1") is None
    assert rig.slack.responses == []


async def test_a_429_with_retry_after_is_waited_out(rig: Rig) -> None:
    rig.slack.canned["chat.postMessage"] = [
        Canned(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
    ]
    await deliver_digest(rig)
    attempts = rig.slack.posted("C1")
    assert len(attempts) == 2  # the limited one, then the retry slack_sdk made after 1 s
    sub = rig.world.outbox.subscription("slack", "C1")
    assert sub is not None and {d.status for d in rig.world.outbox.deliveries_for(sub.id)} == {
        "sent"
    }


async def test_a_channel_slack_refuses_is_paused_and_its_admin_told(rig: Rig) -> None:
    rig.slack.canned["chat.postMessage"] = [Canned(200, {"ok": False, "error": "not_in_channel"})]
    rig.world.add_posts(1)
    rig.world.outbox.save_subscription(
        "slack", "C9", active=True, admin_user="UADMIN", next_run_at=DUE
    )
    report = await rig.deliverer.run_due(DUE)
    assert report.paused == ["C9"]
    sub = rig.world.outbox.subscription("slack", "C9")
    assert sub is not None and sub.paused and sub.pause_reason == "not_in_channel"
    [dm] = rig.slack.posted("UADMIN")
    assert "paused: not_in_channel" in dm["text"]


async def test_a_message_slack_rejects_is_dropped_told_and_the_next_digest_goes(rig: Rig) -> None:
    rig.slack.canned["chat.postMessage"] = [Canned(200, {"ok": False, "error": "invalid_blocks"})]
    first = rig.world.add_posts(3)
    rig.world.subscribe("C1")
    rig.world.outbox.save_subscription("slack", "C1", admin_user="UADMIN")
    await rig.deliverer.run_due(DUE)
    sub = rig.world.outbox.subscription("slack", "C1")
    assert sub is not None and not sub.paused
    rows = rig.world.outbox.deliveries_for(sub.id)
    assert {(r.status, r.last_error) for r in rows} == {("failed", "invalid_blocks")}
    [dm] = rig.slack.posted("UADMIN")  # whoever subscribed the channel is told
    assert "rejected" in dm["text"] and "invalid_blocks" in dm["text"]

    await rig.deliverer.flush(DUE.replace(hour=12))  # never retried
    assert len(rig.slack.posted("C1")) == 1
    later = rig.world.add_posts(1)
    await rig.deliverer.run_due(DUE.replace(day=26))  # and the channel's next digest goes
    assert len(rig.slack.posted("C1")) == 2
    assert {r.post_id for r in rig.world.outbox.deliveries_for(sub.id) if r.status == "sent"} == {
        *later
    }
    assert set(first).isdisjoint(later)
    reply = await CommandSet(rig.world.store, rig.world.engine, rig.deliverer, Settings()).handle(
        Invocation(caller=Caller("slack", "UMEMBER"), channel="C1", text="status")
    )
    assert "last rejected message: invalid_blocks (2026-11-25 07:00 UTC)" in reply.text


async def test_pausing_a_channel_from_config_toml_tells_the_configured_slack_admins(
    rig: Rig,
) -> None:
    settings = Settings.model_validate(
        {
            "commands": {"admins": ["slack:UOPS1", "discord:80351110224678912", "slack:UOPS2"]},
            "subscriptions": [{"platform": "slack", "channel": "C7"}],
        }
    )
    deliverer = Deliverer(
        rig.world.store,
        rig.world.engine,
        {"slack": rig.bot.platform},
        settings,
        clock=rig.world.clock,
    )
    apply_declared_subscriptions(rig.world.store, settings, deliverer, DUE.replace(hour=7))
    rig.world.add_posts(1)
    rig.slack.canned["chat.postMessage"] = [Canned(200, {"ok": False, "error": "is_archived"})]
    assert (await deliverer.run_due(DUE)).paused == ["C7"]
    told = [m["channel"] for m in rig.slack.posted() if m["channel"] != "C7"]
    assert told == ["UOPS1", "UOPS2"]
    assert all("paused: is_archived" in m["text"] for m in rig.slack.posted("UOPS1"))


async def test_a_slow_answer_holds_no_other_channel_and_its_retry_posts_nothing_twice(
    rig: Rig,
) -> None:
    slack, world = rig.slack, rig.world
    slack.set_clock(DUE.timestamp())
    release = slack.held["CSLOW"] = asyncio.Event()
    world.add_posts(2)
    slow = world.subscribe("CSLOW")
    world.subscribe("CFAST")
    settings = Settings(delivery=DeliverySettings(send_timeout_seconds=2.5, retry_base_seconds=1))
    platform = SlackPlatform(rig.bot.client, requests_per_second=1.0)  # Slack's own limit
    deliverer = Deliverer(
        world.store,
        world.engine,
        {"slack": platform},
        settings,
        clock=world.clock,
        hold_seconds=0.2,
    )

    running = asyncio.ensure_future(deliverer.run_due(DUE))
    # Which channel reaches Slack first depends on the load; what matters is that the other
    # channel goes while CSLOW's post is still unanswered, its send not given up on.
    await slack.wait_for(lambda: bool(slack.posted("CFAST")) and bool(slack.hanging))
    assert slack.hanging == {"CSLOW"}
    assert {(d.status, d.attempts) for d in world.outbox.deliveries_for(slow.id)} == {
        ("pending", 0)
    }
    report = await running  # CSLOW's send times out on our side; Slack has posted it
    assert report.retrying == 2 and len(slack.posted("CSLOW")) == 1
    release.set()

    await deliverer.flush(DUE.replace(minute=5))
    assert len(slack.posted("CSLOW")) == 1  # the retry found the first post: nothing twice
    searches = [c.body for c in slack.calls if c.method == "conversations.history"]
    assert [s["channel"] for s in searches] == ["CSLOW"]
    first_ts = slack.history["CSLOW"][0]["ts"]
    rows = world.outbox.deliveries_for(slow.id)
    assert {(r.status, r.message_id) for r in rows} == {("sent", first_ts)}


@pytest.fixture
async def socket_rig(sqlite_url: str) -> AsyncIterator[Rig]:
    store = Store.open(sqlite_url)
    async for made in make_rig(store, mode="socket"):
        yield made
    store.close()


async def test_socket_mode_takes_a_slash_command_over_a_local_websocket(socket_rig: Rig) -> None:
    slack = socket_rig.slack
    assert any(
        c.method == "apps.connections.open" and c.auth == "Bearer xapp-test" for c in slack.calls
    )
    payload = slash_command("status", user="UMEMBER", response_url=slack.response_url())
    envelope = {
        "envelope_id": "env-1",
        "type": "slash_commands",
        "payload": payload,
        "accepts_response_payload": True,
    }
    await slack.push(envelope)
    await slack.wait_for(lambda: bool(slack.responses))
    # bolt acks over the socket and answers over response_url concurrently: either may land first.
    await slack.wait_for(lambda: any(a.get("envelope_id") == "env-1" for a in slack.socket_acks))
    assert "Feeds:" in slack.responses[0]["text"]
    assert slack.responses[0]["response_type"] == "ephemeral"


def test_an_oversized_digest_is_split_within_every_limit_and_nothing_is_cut() -> None:
    long = " ".join(f"Sentence {i} of a very long summary about sanctions." for i in range(400))
    items = [
        digest_item(n, summary=long if n % 3 == 0 else "", take="Short take.") for n in range(1, 41)
    ]
    digest = Digest(items=tuple(items), generated_at=datetime(2026, 11, 25, tzinfo=UTC))
    messages = digest_messages(digest)
    assert len(messages) > 1
    carried = [p for m in messages for p in m.post_ids]
    assert sorted(carried) == list(range(1, 41))  # every post in exactly one message
    text = ""
    for message in messages:
        blocks = message.payload["blocks"]
        assert len(blocks) <= MAX_BLOCKS
        assert len(json.dumps(blocks, ensure_ascii=False)) <= 12_000
        for block in blocks:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= SECTION_LIMIT
                text += block["text"]["text"] + " "
    assert text.count("Sentence 399 of a very long summary") == 13  # the 13 long ones, whole


def test_mentions_and_links_in_post_text_are_inert() -> None:
    hostile = digest_item(
        1,
        title="<!channel> Breaking <@U123ADMIN>",
        summary="@everyone look at <http://evil.example|this totally safe link> & <!here>.",
        take="<!subteam^S123> should act.",
    )
    digest = Digest(items=(hostile,), generated_at=datetime(2026, 11, 25, tzinfo=UTC))
    [message] = digest_messages(digest)
    dumped = json.dumps(message.payload)
    for dangerous in ("<!channel>", "<!here>", "<@U123ADMIN>", "<http://evil.example", "<!subteam"):
        assert dangerous not in dumped
    assert "&lt;!channel&gt; Breaking &lt;@U123ADMIN&gt;" in dumped
    assert "&amp; &lt;!here&gt;" in dumped


@given(st.text(alphabet=st.sampled_from("ab &<>\n"), max_size=9000), st.integers(20, 3000))
def test_split_text_keeps_every_character_within_the_limit(text: str, limit: int) -> None:
    escaped = escape(text)
    pieces = split_text(escaped, limit)
    assert all(len(p) <= limit for p in pieces)
    assert "".join(pieces).replace(" ", "").replace("\n", "") == escaped.replace(" ", "").replace(
        "\n", ""
    )
    for piece in pieces:  # no escape cut in two
        assert not piece.endswith(("&", "&a", "&am", "&l", "&g", "&lt", "&gt", "&amp"))


def test_a_bot_token_without_the_token_its_mode_needs_is_a_clear_error(
    tmp_path: Path,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(tmp_path, feed_server)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value")
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    assert main(["--config", str(config), "run"]) == 2
    err = capsys.readouterr().err
    assert "SLACK_APP_TOKEN is not" in err and "xoxb-secret-value" not in err


async def test_briefbot_run_serves_slack_when_its_tokens_are_in_the_environment(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    slack = await FakeSlack().start()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = write_config(tmp_path, feed_server)
    with config.open("a", encoding="utf-8") as handle:
        handle.write(f'[slack]\nmode = "http"\nport = {port}\napi_base_url = "{slack.base_url}"\n')
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "PYTHONUNBUFFERED": "1",
    }
    process = forkserver.ForkedProcess(
        [sys.executable, "-m", "bot.cli", "--config", str(config), "run"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    try:
        seen = ""
        while "caught up at start" not in seen:  # feeds fetched: status shows them
            line = await asyncio.wait_for(asyncio.to_thread(process.stderr.readline), 60)
            assert line, seen
            seen += line.decode()
        form = slash_command("status", user="UMEMBER", response_url=slack.response_url())
        body = urllib.parse.urlencode(form).encode()
        async with loopback_client() as client:
            response = await client.post(
                f"http://127.0.0.1:{port}/slack/events",
                content=body,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    **signed_headers(body),
                },
            )
        assert response.status_code == 200
        await slack.wait_for(lambda: bool(slack.responses), within=30)
        assert "irinfive: last fetched" in json.dumps(slack.responses[0]["blocks"])
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 30) == 0
        process.stderr.close()
        await slack.stop()


def test_the_manifest_asks_for_what_the_adapter_uses() -> None:
    manifest = yaml.safe_load((ROOT / "adapters" / "slack" / "manifest.yml").read_text())
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/briefing"]
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {
        "chat:write",
        "commands",
        "app_mentions:read",
        "users:read",
        "channels:history",
    } <= scopes
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_mention", "message.channels", "app_home_opened"} <= events
    assert manifest["settings"]["socket_mode_enabled"] is True
    # Buttons, the Ask form and the Home tab need interactivity and the Home tab turned on.
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


async def test_a_bot_token_slack_refuses_stops_run_with_a_clear_error(tmp_path: Path) -> None:
    slack = await FakeSlack().start()
    slack.canned["auth.test"] = [Canned(200, {"ok": False, "error": "invalid_auth"})]
    settings = Settings.model_validate(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'bot.db'}"},
            "slack": {"mode": "http", "port": 0, "api_base_url": slack.base_url},
        }
    )
    store = Store.open(settings.database.url)
    env = {"SLACK_BOT_TOKEN": "xoxb-revoked", "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    try:
        with pytest.raises(
            MissingSecret, match="SLACK_BOT_TOKEN was refused by Slack: invalid_auth"
        ):
            await run_forever(settings, store, io.StringIO(), io.StringIO(), env=env)
    finally:
        store.close()
        await slack.stop()


def test_a_citation_too_long_for_a_context_block_is_kept_whole() -> None:
    title = "A very long title " * 250  # 4,500 characters: more than one context element holds
    answer = Answer(
        text="Delegates agreed.",
        grounded=True,
        citations=(Citation(1, "https://irinfive.com/p1/", title, None),),
    )
    blocks = answer_blocks(answer)
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(t) <= SECTION_LIMIT for t in texts)
    assert "".join(texts).replace(" ", "").count("Averylongtitle") == 250


def block_texts(block: dict[str, object]) -> list[str]:
    if block["type"] == "context":
        return [str(e["text"]) for e in block["elements"]]  # type: ignore[attr-defined]
    if block["type"] in ("divider", "actions"):
        return []
    return [str(block["text"]["text"])]  # type: ignore[index]


def unescaped(text: str) -> str:
    return squashed(text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(digest_items())
def test_any_digest_renders_within_every_slack_limit_and_loses_no_text(digest: Digest) -> None:
    messages = digest_messages(digest)
    written = ""
    for message in messages:
        blocks = message.payload["blocks"]
        assert 0 < len(blocks) <= MAX_BLOCKS
        assert len(json.dumps(blocks, ensure_ascii=False)) <= MAX_MESSAGE_CHARS
        assert 0 < len(message.payload["text"]) <= FALLBACK_LIMIT
        for block in blocks:
            limit = {"section": SECTION_LIMIT, "header": HEADER_LIMIT}.get(
                str(block["type"]), CONTEXT_LIMIT
            )
            for text in block_texts(block):
                assert 0 < len(text) <= limit
                if block["type"] != "header":
                    written += text + "\n"
    carried = [p for m in messages for p in m.post_ids]
    assert sorted(carried) == [item.post_id for item in digest.items]  # each exactly once
    for message in messages:  # each post's buttons ride in the message that carries it
        buttons = [
            e["action_id"]
            for b in message.payload["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
        ]
        assert buttons == [
            f"briefbot:{action}:{post_id}"
            for post_id in message.post_ids
            for action in ("more", "ask", "up", "down")
        ]
    written = unescaped(written)
    for item in digest.items:
        for field in (item.title, item.category, item.summary, item.take, *item.sources):
            assert squashed(field) in written


@pytest.mark.parametrize(
    ("method", "canned"),
    [
        ("auth.test", Canned(500, {"ok": False, "error": "fatal_error"})),
        ("auth.test", Canned(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"})),
        ("apps.connections.open", Canned(503, {"ok": False, "error": "service_unavailable"})),
    ],
)
async def test_slack_down_at_start_is_not_blamed_on_a_token(
    tmp_path: Path, method: str, canned: Canned
) -> None:
    """An outage or a rate limit is not a refused token: exit 1 (try again), not 2 (fix a
    setting), and the message says Slack did not answer rather than naming a token."""
    slack = await FakeSlack().start()
    slack.canned[method] = [canned] * 10
    settings = Settings.model_validate(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'bot.db'}"},
            "slack": {"api_base_url": slack.base_url},
        }
    )
    store = Store.open(settings.database.url)
    env = {"SLACK_BOT_TOKEN": "xoxb-fine", "SLACK_APP_TOKEN": "xapp-fine"}
    try:
        with pytest.raises(PlatformFailed) as raised:
            await run_forever(settings, store, io.StringIO(), io.StringIO(), env=env)
    finally:
        store.close()
        await slack.stop()
    message = str(raised.value)
    assert "Slack" in message and canned.body["error"] in message and "refused" not in message
    assert "\n" not in message


async def test_slack_unreachable_at_start_is_one_line_not_an_unexpected_error(
    tmp_path: Path,
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings.model_validate(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'bot.db'}"},
            "slack": {"api_base_url": f"http://127.0.0.1:{port}/api/"},
        }
    )
    store = Store.open(settings.database.url)
    env = {"SLACK_BOT_TOKEN": "xoxb-fine", "SLACK_APP_TOKEN": "xapp-fine"}
    try:
        with pytest.raises(PlatformFailed, match="cannot reach Slack"):
            await run_forever(settings, store, io.StringIO(), io.StringIO(), env=env)
    finally:
        store.close()


def test_a_slack_error_without_an_error_code_is_one_line() -> None:
    """A proxy's HTML 502 has no Slack error code; slack_sdk's message for it spans lines."""
    from slack_sdk.web.async_slack_response import AsyncSlackResponse

    response = AsyncSlackResponse(
        client=None,  # type: ignore[arg-type]
        http_verb="POST",
        api_url="https://slack.example/api/chat.postMessage",
        req_args={},
        data={},
        headers={},
        status_code=502,
    )
    error = delivery_error(SlackApiError("The request to the Slack API failed.\nmore", response))
    assert error.reason == "HTTP 502" and not error.permanent and not error.rejected


def test_bolt_does_not_warn_about_the_token_it_was_handed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """bolt reads SLACK_BOT_TOKEN itself and warns that it is unused: noise on every start."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-env")
    with caplog.at_level(logging.WARNING):
        SlackBot(SlackSettings(bot_token="xoxb-from-env", mode="socket", app_token="xapp-1"))
    assert "token" not in caplog.text


async def test_a_follow_up_after_a_declined_question_is_read_with_the_last_answered_turn(
    rig: Rig,
) -> None:
    """The declined question and the closest posts offered with it are no context: "they" are
    still the Andes delegates of the last answered turn."""
    await deliver_digest(rig)
    sub = rig.world.outbox.subscription("slack", "C1")
    assert sub is not None
    thread = rig.world.outbox.deliveries_for(sub.id)[0].message_id
    turns = (
        "what did delegates from the Andes agree on?",
        "who won the rowing race on the Mekong river?",
        "and when did they meet?",
    )
    for number, text in enumerate(turns, 2):
        event = {
            "type": "message",
            "channel": "C1",
            "user": "UMEMBER",
            "text": text,
            "ts": f"1800000000.00{number}00",
            "thread_ts": thread,
        }
        rig.slack.said_in_thread(thread, event)  # listed in the thread before the bot's reply
        await rig.event(event, f"Ev{number}")
        await rig.slack.wait_for(lambda n=number: len(rig.slack.posted("C1")) == n)  # type: ignore[misc]
    declined = json.dumps(rig.slack.posted("C1")[2]["blocks"])
    assert "don't cover that" in declined and "post-3/" in declined  # offered as reading
    answer = json.dumps(rig.slack.posted("C1")[3]["blocks"])
    assert "Tuesday" in answer and "https://irinfive.com/post-2/" in answer
    assert "post-3/" not in answer
