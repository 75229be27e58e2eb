"""The Discord adapter end to end: real discord.py against a fake Discord (REST + gateway) on loopback."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import discord
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.contract import Invocation, Reply
from adapters.discord.bot import BriefingClient, DiscordSettings
from adapters.discord.render import (
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_CHARS_PER_MESSAGE,
    EMBEDS_PER_MESSAGE,
    FOOTER_LIMIT,
    TITLE_LIMIT,
    digest_messages,
    escape,
    split_text,
)
from bot.app import apply_declared_subscriptions, engine_for
from bot.cli import main
from bot.commands import REGISTRY, CommandSet
from bot.config import Settings
from bot.delivery import Deliverer
from bot.runner import run_forever
from briefings.models import Digest, DigestItem
from briefings.registry import ArgKind
from briefings.store import Store
from tests.fixtures.discord_server import (
    ADMIN,
    APP,
    BOT,
    CHANNEL,
    MANAGE_GUILD,
    MEMBER,
    FakeDiscord,
)
from tests.fixtures.feed_server import FeedServer, Route
from tests.fixtures.platform import RecordingPlatform
from tests.fixtures.posts import ALL_POSTS, digest_item, rss_feed
from tests.test_delivery import Clock, World

DUE = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@dataclass
class Rig:
    fake: FakeDiscord
    client: BriefingClient
    world: World
    deliverer: Deliverer

    async def command(
        self, options: list[dict[str, object]], who: dict[str, str], permissions: int
    ) -> str:
        interaction = self.fake.interaction(options, who, permissions)
        await self.fake.dispatch("INTERACTION_CREATE", interaction)
        return str(interaction["id"])

    def callbacks(self, interaction_id: str) -> list[dict[str, object]]:
        return [r.body for r in self.fake.calls(f"interactions/{interaction_id}/")]


@pytest.fixture
async def rig(sqlite_url: str) -> AsyncIterator[Rig]:
    fake = await FakeDiscord().start()
    store = Store.open(sqlite_url)
    async with engine_for(Settings(), store) as engine:
        world = World(
            store,
            engine,
            Clock(datetime(2026, 11, 25, 7, 0, tzinfo=UTC)),
            RecordingPlatform(name="discord"),
            Settings(),
        )
        client = BriefingClient(
            DiscordSettings(message_content=True, requests_per_second=0, guild_ready_timeout=0.01)
        )
        deliverer = Deliverer(
            store, engine, {"discord": client.platform}, Settings(), clock=world.clock
        )
        client.commands = CommandSet(store, engine, deliverer, Settings())
        running = asyncio.ensure_future(client.start("fake.token.value"))
        try:
            await fake.wait_for(client.is_ready)
            yield Rig(fake, client, world, deliverer)
        finally:
            await client.close()
            await asyncio.wait_for(running, 10)
            await fake.stop()
    store.close()


async def deliver_digest(rig: Rig) -> list[int]:
    posts = rig.world.add_posts(3)
    rig.world.outbox.save_subscription(
        "discord", CHANNEL, active=True, admin_user=ADMIN["id"], next_run_at=DUE
    )
    await rig.deliverer.run_due(DUE)
    return posts


async def test_login_syncs_the_command_tree_once_in_setup_hook(rig: Rig) -> None:
    [sync] = [r for r in rig.fake.requests if r.method == "PUT"]
    assert sync.path == f"applications/{APP}/commands"
    [briefing] = sync.body
    assert briefing["name"] == "briefing"
    names = {o["name"] for o in briefing["options"]}
    assert {
        "latest",
        "ask",
        "search",
        "preview",
        "status",
        "help",
        "subscribe",
        "unsubscribe",
        "schedule",
    } <= names
    assert rig.fake.identifies == 1


async def test_a_scheduled_digest_goes_out_as_embeds_that_ping_no_one(rig: Rig) -> None:
    posts = await deliver_digest(rig)
    [message] = rig.fake.posted(CHANNEL)
    assert message["allowed_mentions"] == {"parse": []}
    # The outbox's idempotency key: Discord drops a resend of the same nonce after a crash.
    assert message["enforce_nonce"] is True and len(message["nonce"]) <= 25
    assert "IR in Five briefing" in message["content"] and "3 new posts" in message["content"]
    embeds = message["embeds"]
    assert [e["title"] for e in embeds] == [
        "Post 3: talks in the Mekong",
        "Post 2: talks in the Andes",
        "Post 1: talks in the Baltic",
    ]
    assert embeds[0]["url"] == "https://irinfive.com/post-3/"
    assert "**Analysis (the post's own view):** Round 3 changes little." in embeds[0]["description"]
    assert "timestamp" in embeds[0] and embeds[0]["footer"]["text"].startswith("IR in Five")
    # A thread opens under the digest for questions.
    message_id = rig.fake.messages[CHANNEL][0]["id"]
    assert rig.fake.calls(f"channels/{CHANNEL}/messages/{message_id}/threads")
    assert sorted(rig.world.outbox.posts_in_message("discord", CHANNEL, message_id)) == sorted(
        posts
    )


async def test_schedule_set_from_an_admin_and_from_a_member(rig: Rig) -> None:
    options = [
        {
            "name": "schedule",
            "type": 2,
            "options": [
                {
                    "name": "set",
                    "type": 1,
                    "options": [
                        {"name": "when", "type": 3, "value": "weekdays 07:30"},
                        {"name": "timezone", "type": 3, "value": "Europe/Berlin"},
                    ],
                }
            ],
        }
    ]
    admin_call = await rig.command(options, ADMIN, MANAGE_GUILD)
    await rig.fake.wait_for(lambda: rig.callbacks(admin_call))
    [reply] = rig.callbacks(admin_call)
    assert (
        reply["type"] == 4
        and "Schedule: weekdays 07:30 (Europe/Berlin)" in reply["data"]["content"]
    )
    assert not reply["data"].get("flags", 0) & 64  # public: the channel sees its new schedule
    assert reply["data"]["allowed_mentions"] == {"parse": []}
    sub = rig.world.outbox.subscription("discord", CHANNEL)
    assert sub is not None and sub.schedule == "weekdays 07:30" and sub.admin_user == ADMIN["id"]

    member_call = await rig.command(options, MEMBER, 0)
    await rig.fake.wait_for(lambda: rig.callbacks(member_call))
    [refusal] = rig.callbacks(member_call)
    assert refusal["data"]["flags"] & 64 and "Only admins" in refusal["data"]["content"]
    assert rig.world.outbox.subscription("discord", CHANNEL) == sub


async def test_a_question_in_the_digest_thread_is_answered_there_with_a_citation(rig: Rig) -> None:
    await deliver_digest(rig)
    thread = rig.fake.messages[CHANNEL][0]["id"]
    await rig.fake.wait_for(lambda: rig.client.get_channel(int(thread)) is not None)
    await rig.fake.dispatch(
        "MESSAGE_CREATE",
        rig.fake.user_message(thread, "what did the Baltic delegates agree on?", MEMBER),
    )
    await rig.fake.wait_for(lambda: rig.fake.posted(thread))
    [answer] = rig.fake.posted(thread)
    assert "https://irinfive.com/post-1/" in answer["content"] and "Source" in answer["content"]
    assert answer["allowed_mentions"]["parse"] == []
    # Bots (ourselves included) are never answered; a plain channel message is not a question.
    await rig.fake.dispatch(
        "MESSAGE_CREATE", rig.fake.user_message(thread, "what about the Andes?", BOT)
    )
    await rig.fake.dispatch(
        "MESSAGE_CREATE", rig.fake.user_message(CHANNEL, "what about the Andes?", MEMBER)
    )
    await rig.fake.dispatch(
        "MESSAGE_CREATE", rig.fake.user_message(thread, "and the Mekong delegates?", MEMBER)
    )
    await rig.fake.wait_for(lambda: len(rig.fake.posted(thread)) >= 2)
    assert len(rig.fake.posted(thread)) == 2 and rig.fake.posted(CHANNEL)[1:] == []


async def test_a_follow_up_in_the_digest_thread_is_read_with_the_earlier_turns(rig: Rig) -> None:
    """The thread's earlier question (and the post its answer cited) tell which post "they" are."""
    await deliver_digest(rig)
    thread = rig.fake.messages[CHANNEL][0]["id"]
    await rig.fake.wait_for(lambda: rig.client.get_channel(int(thread)) is not None)
    await rig.fake.dispatch(
        "MESSAGE_CREATE",
        rig.fake.user_message(thread, "what did delegates from the Andes agree on?", MEMBER),
    )
    await rig.fake.wait_for(lambda: rig.fake.posted(thread))
    await rig.fake.dispatch(
        "MESSAGE_CREATE", rig.fake.user_message(thread, "and when did they meet?", MEMBER)
    )
    await rig.fake.wait_for(lambda: len(rig.fake.posted(thread)) == 2)
    answer = rig.fake.posted(thread)[1]["content"]
    assert "Tuesday" in answer and "https://irinfive.com/post-2/" in answer
    # The Andes post is the source; other digest posts may follow it as further reading.
    cited = [answer.find(f"post-{n}/") for n in (1, 2, 3)]
    assert cited[1] == min(c for c in cited if c >= 0)
    # The thread's history was read from Discord, before the follow-up.
    assert rig.fake.calls(f"channels/{thread}/messages")


async def test_a_429_with_retry_after_is_survived(rig: Rig) -> None:
    rig.fake.rate_limit_next = 1
    await deliver_digest(rig)
    assert len(rig.fake.posted(CHANNEL)) == 2  # the limited attempt, then discord.py's retry
    sub = rig.world.outbox.subscription("discord", CHANNEL)
    assert sub is not None and {d.status for d in rig.world.outbox.deliveries_for(sub.id)} == {
        "sent"
    }


async def test_missing_access_pauses_the_channel(rig: Rig) -> None:
    rig.fake.fail_channels[CHANNEL] = (403, 50001, "Missing Access")
    await deliver_digest(rig)
    sub = rig.world.outbox.subscription("discord", CHANNEL)
    assert sub is not None and sub.paused and "50001" in sub.pause_reason
    # The admin who set it up is told once, by direct message.
    [dm] = [r for r in rig.fake.requests if r.method == "POST" and r.path == "users/@me/channels"]
    assert dm.body == {"recipient_id": int(ADMIN["id"])}
    await rig.deliverer.run_due(DUE)
    assert len([r for r in rig.fake.requests if r.path == "users/@me/channels"]) == 1


async def test_a_reconnect_does_not_repost(rig: Rig) -> None:
    await deliver_digest(rig)
    before = len(rig.fake.posted(CHANNEL))
    await rig.fake.reconnect()
    await rig.fake.wait_for(lambda: rig.fake.resumes + rig.fake.identifies >= 2)
    await rig.fake.wait_for(rig.client.is_ready)
    await rig.deliverer.run_due(DUE)
    assert len(rig.fake.posted(CHANNEL)) == before
    assert len([r for r in rig.fake.requests if r.method == "PUT"]) == 1  # commands not re-synced


async def test_a_message_discord_rejects_is_dropped_told_and_the_next_digest_goes(rig: Rig) -> None:
    rig.fake.reject_next = 1
    await deliver_digest(rig)
    sub = rig.world.outbox.subscription("discord", CHANNEL)
    assert sub is not None and not sub.paused
    rows = rig.world.outbox.deliveries_for(sub.id)
    assert {r.status for r in rows} == {"failed"} and "50035" in rows[0].last_error
    [dm] = [r for r in rig.fake.requests if r.method == "POST" and r.path == "users/@me/channels"]
    assert dm.body == {"recipient_id": int(ADMIN["id"])}
    told = [r.body for r in rig.fake.requests if r.path.startswith("channels/9100")]
    assert any("rejected" in (b or {}).get("content", "") for b in told)

    await rig.deliverer.flush(DUE.replace(hour=12))
    assert len(rig.fake.posted(CHANNEL)) == 1  # never retried
    later = rig.world.add_posts(1)
    await rig.deliverer.run_due(DUE.replace(day=26))
    assert len(rig.fake.posted(CHANNEL)) == 2  # the channel's next digest went
    sent = {r.post_id for r in rig.world.outbox.deliveries_for(sub.id) if r.status == "sent"}
    assert sent == set(later)


async def test_pausing_a_channel_from_config_toml_tells_the_configured_discord_admins(
    rig: Rig,
) -> None:
    settings = Settings.model_validate(
        {
            "commands": {"admins": [f"discord:{MEMBER['id']}", "slack:UOPS1"]},
            "subscriptions": [{"platform": "discord", "channel": CHANNEL}],
        }
    )
    deliverer = Deliverer(
        rig.world.store,
        rig.world.engine,
        {"discord": rig.client.platform},
        settings,
        clock=rig.world.clock,
    )
    apply_declared_subscriptions(rig.world.store, settings, deliverer, DUE.replace(hour=7))
    rig.world.add_posts(1)
    rig.fake.fail_channels[CHANNEL] = (403, 50001, "Missing Access")
    assert (await deliverer.run_due(DUE)).paused == [CHANNEL]
    dms = [r.body for r in rig.fake.requests if r.path == "users/@me/channels"]
    assert dms == [{"recipient_id": int(MEMBER["id"])}]


def test_an_oversized_digest_is_split_within_every_discord_limit() -> None:
    long = " ".join(f"Sentence {i} about the negotiations." for i in range(600))
    items = [
        digest_item(n, title="T" * 300 if n == 2 else "", summary=long if n % 4 == 0 else "")
        for n in range(1, 31)
    ]
    digest = Digest(items=tuple(items), generated_at=datetime(2026, 11, 25, tzinfo=UTC))
    messages = digest_messages(digest)
    assert sorted(p for m in messages for p in m.post_ids) == list(range(1, 31))
    text = ""
    for message in messages:
        embeds = message.payload["embeds"]
        assert len(message.payload["content"]) <= CONTENT_LIMIT
        assert len(embeds) <= EMBEDS_PER_MESSAGE
        assert sum(len(discord.Embed.from_dict(e)) for e in embeds) <= EMBED_CHARS_PER_MESSAGE
        for embed in embeds:
            assert (
                len(embed["title"]) <= TITLE_LIMIT
                and len(embed["description"]) <= DESCRIPTION_LIMIT
            )
            text += embed["description"] + " "
    assert text.count("Sentence 599 about the negotiations.") == 7  # each long summary whole
    assert "T" * 300 in text  # the long title is kept in full in the text


def test_mentions_and_markdown_in_posts_are_inert() -> None:
    hostile = digest_item(
        1,
        title="@everyone **BREAKING**",
        summary="See [this](http://evil.example) <@123> @here",
        take="# shout",
    )
    [message] = digest_messages(
        Digest(items=(hostile,), generated_at=datetime(2026, 11, 25, tzinfo=UTC))
    )
    embed = message.payload["embeds"][0]
    assert embed["title"] == "@everyone \\*\\*BREAKING\\*\\*"
    assert "\\[this\\]\\(http://evil.example\\)" in embed["description"]
    assert "\\# shout" in embed["description"]


async def test_the_synced_tree_is_the_command_registry(rig: Rig) -> None:
    """What Discord is given matches the registry the command set runs: a command added, renamed
    or retyped in one and not the other fails here."""
    [sync] = [r for r in rig.fake.requests if r.method == "PUT"]
    [briefing] = sync.body
    synced: dict[str, dict[str, Any]] = {}
    for option in briefing["options"]:
        if option["type"] == 2:  # a sub-group: /briefing schedule ...
            assert option["name"] in REGISTRY.groups and len(option["description"]) <= 100
            synced.update({f"{option['name']} {o['name']}": o for o in option["options"]})
        else:
            synced[option["name"]] = option
    assert set(synced) == {spec.name for spec in REGISTRY.commands}
    option_type = {ArgKind.SWITCH: 5}  # boolean; every other kind is a string (3)
    for spec in REGISTRY.commands:
        command = synced[spec.name]
        assert command["type"] == 1, spec.name
        assert command["description"].startswith("(admin) ") == spec.admin, spec.name
        assert spec.summary in command["description"] and len(command["description"]) <= 100
        expected = [
            (arg.name, option_type.get(arg.kind, 3), arg.required, arg.kind is ArgKind.ZONE)
            for arg in spec.args
        ]
        options = command.get("options", [])
        assert [
            (o["name"], o["type"], o.get("required", False), o.get("autocomplete", False))
            for o in options
        ] == expected, spec.name
        assert all(0 < len(o["description"]) <= 100 for o in options)


@given(st.text(alphabet=st.sampled_from("ab *_[]\\\n"), max_size=9000), st.integers(20, 4096))
def test_split_text_keeps_everything_within_the_limit(text: str, limit: int) -> None:
    escaped = escape(text)
    pieces = split_text(escaped, limit)
    assert all(len(p) <= limit for p in pieces)
    squeeze = lambda s: s.replace(" ", "").replace("\n", "")  # noqa: E731
    assert squeeze("".join(pieces)) == squeeze(escaped)
    assert json.dumps(pieces)  # plain strings


@pytest.fixture
def devnull() -> Iterator[TextIO]:
    """Standard input as a service has it: nothing to read."""
    with open(os.devnull, encoding="utf-8") as handle:
        yield handle


async def test_briefbot_run_starts_discord_from_the_environment(
    tmp_path: Path, devnull: TextIO, feed_server: FeedServer
) -> None:
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, ALL_POSTS))
    fake = await FakeDiscord().start()
    settings = Settings.model_validate(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'bot.db'}"},
            "sources": [{"name": "irinfive", "url": feed_server.url("/feed/")}],
            "http": {"fetch_article_pages": False},
        }
    )
    store = Store.open(settings.database.url)
    out = io.StringIO()
    try:
        running = asyncio.ensure_future(
            run_forever(settings, store, devnull, out, env={"DISCORD_TOKEN": "fake.token.value"})
        )
        await fake.wait_for(lambda: fake.identifies == 1, within=30)
        call = fake.interaction([{"name": "status", "type": 1}], MEMBER, 0)
        await fake.dispatch("INTERACTION_CREATE", call)
        await fake.wait_for(lambda: fake.calls(f"interactions/{call['id']}/"), within=30)
        [reply] = [r.body for r in fake.calls(f"interactions/{call['id']}/")]
        assert "Feeds:" in reply["data"]["content"] and reply["data"]["flags"] & 64
        os.kill(os.getpid(), signal.SIGTERM)  # what a service manager sends
        await asyncio.wait_for(running, 30)
    finally:
        store.close()
        await fake.stop()
    assert not [r for r in fake.requests if r.path.startswith("channels/")]  # nothing was due
    assert feed_server.hits("/feed/")  # the feed was polled at start, over loopback


def test_a_token_discord_refuses_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def refuse(self: object, token: str) -> None:
        raise discord.LoginFailure("Improper token has been passed.")

    monkeypatch.setattr(BriefingClient, "login", refuse)  # Discord itself is not reachable here
    monkeypatch.setenv("DISCORD_TOKEN", "not-a-token")
    monkeypatch.chdir(tmp_path)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "DISCORD_TOKEN was refused by Discord" in err and "not-a-token" not in err


def test_the_readme_permissions_integer_is_what_the_bot_needs() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    needed = discord.Permissions(
        view_channel=True,
        send_messages=True,
        send_messages_in_threads=True,
        create_public_threads=True,
        embed_links=True,
        read_message_history=True,
    )
    assert f"permissions={needed.value}" in readme


async def test_a_slow_command_is_deferred_then_followed_up(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("adapters.discord.bot.ANSWER_WITHIN", 0.05)
    release = asyncio.Event()
    commands = rig.client.commands
    assert commands is not None
    original = commands.handle

    async def slow(invocation: Invocation) -> Reply:
        await release.wait()  # slower than the deadline, however fast the machine
        return await original(invocation)

    monkeypatch.setattr(commands, "handle", slow)
    call = await rig.command([{"name": "help", "type": 1}], MEMBER, 0)
    await rig.fake.wait_for(lambda: rig.callbacks(call))
    [deferred] = rig.callbacks(call)
    assert (
        deferred["type"] == 5 and deferred["data"]["flags"] & 64
    )  # "thinking", only to the caller
    release.set()
    await rig.fake.wait_for(lambda: rig.fake.calls(f"webhooks/{APP}/"))
    [followup] = [r.body for r in rig.fake.calls(f"webhooks/{APP}/")]
    assert "/briefing" in followup["content"] or "latest" in followup["content"]


async def test_sharded_mode_connects_every_shard_discord_recommends(sqlite_url: str) -> None:
    fake = await FakeDiscord().start()
    client = BriefingClient(
        DiscordSettings(
            sharded=True, requests_per_second=0, guild_ready_timeout=0.01, identify_interval=0
        )
    )
    running = asyncio.ensure_future(client.start("fake.token.value"))
    try:
        await fake.wait_for(lambda: fake.identifies == 2 and client.is_ready())
        assert client.shard_count == 2 and sorted(client.shards) == [0, 1]
    finally:
        await client.close()
        await asyncio.wait_for(running, 10)
        await fake.stop()


# Post text as hostile as it gets: markdown, mentions, Slack's control characters, quotes and
# backslashes (which double in JSON), other scripts; short, or repeated out to many thousands.
HOSTILE = 'ab c\n*_~`|>#[]()-\\<>&@!"é字'
_chunk = st.text(alphabet=HOSTILE, max_size=40)
_text = st.one_of(
    _chunk,
    st.tuples(_chunk, st.integers(1, 400)).map(lambda t: t[0] * t[1]),
    st.sampled_from(["@everyone <@123> <!channel> [x](http://evil)", ""]),
)


@st.composite
def digest_items(draw: st.DrawFn, max_items: int = 4) -> Digest:
    count = draw(st.integers(1, max_items))
    items = tuple(
        DigestItem(
            post_id=n + 1,
            url=f"https://irinfive.com/p{n}/",
            title=draw(_text),
            published=datetime(2026, 11, 1, tzinfo=UTC),
            summary=draw(_text),
            take_label=draw(st.sampled_from(["Analysis", "Opinion", ""])),
            take=draw(_text),
            sources=tuple(draw(st.lists(_text, max_size=3))),
            category=draw(_text),
        )
        for n in range(count)
    )
    return Digest(items=items, generated_at=datetime(2026, 11, 25, tzinfo=UTC))


def squashed(text: str) -> str:
    return "".join(text.split())


def unescaped(text: str) -> str:
    return squashed(re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(digest_items())
def test_any_digest_renders_within_every_discord_limit_and_loses_no_text(digest: Digest) -> None:
    messages = digest_messages(digest)
    described, labels = "", []  # descriptions continue across embeds; titles, footers stand alone
    for message in messages:
        content, embeds = message.payload["content"], message.payload["embeds"]
        assert content or embeds
        assert len(content) <= CONTENT_LIMIT and len(embeds) <= EMBEDS_PER_MESSAGE
        assert sum(len(discord.Embed.from_dict(e)) for e in embeds) <= EMBED_CHARS_PER_MESSAGE
        # One row of buttons per post carried, at most 5 rows; labels within Discord's 80.
        rows = message.payload.get("components", [])
        assert len(rows) == len(message.post_ids) <= 5
        assert all(
            len(b["label"]) <= 80 and len(b["custom_id"]) <= 100
            for r in rows
            for b in r["components"]
        )
        for embed in embeds:
            assert len(embed.get("title", "")) <= TITLE_LIMIT
            assert 0 < len(embed.get("description", "x")) <= DESCRIPTION_LIMIT
            assert len(embed.get("footer", {}).get("text", "")) <= FOOTER_LIMIT
            described += embed.get("description", "")
            labels += [
                unescaped(embed.get("title", "")),
                unescaped(embed.get("footer", {}).get("text", "")),
            ]
    carried = [p for m in messages for p in m.post_ids]
    assert sorted(carried) == [item.post_id for item in digest.items]  # each exactly once
    described = unescaped(described)
    for item in digest.items:
        for field in (item.title, item.category, item.summary, item.take, *item.sources):
            assert squashed(field) in described or any(squashed(field) in x for x in labels)


async def test_a_follow_up_after_a_declined_question_is_read_with_the_last_answered_turn(
    rig: Rig,
) -> None:
    """The declined question and the closest posts offered with it are no context: "they" are
    still the Andes delegates of the last answered turn."""
    await deliver_digest(rig)
    thread = rig.fake.messages[CHANNEL][0]["id"]
    await rig.fake.wait_for(lambda: rig.client.get_channel(int(thread)) is not None)
    turns = (
        "what did delegates from the Andes agree on?",
        "who won the rowing race on the Mekong river?",
        "and when did they meet?",
    )
    for number, text in enumerate(turns, 1):
        await rig.fake.dispatch("MESSAGE_CREATE", rig.fake.user_message(thread, text, MEMBER))
        await rig.fake.wait_for(lambda n=number: len(rig.fake.posted(thread)) == n)  # type: ignore[misc]
    declined = rig.fake.posted(thread)[1]["content"]
    assert "don't cover that" in declined and "post-3/" in declined  # offered as reading
    answer = rig.fake.posted(thread)[2]["content"]
    assert "Tuesday" in answer and "https://irinfive.com/post-2/" in answer
    assert "post-3/" not in answer
