"""The platform-neutral command set: what admins and non-admins can do, and what each reply says."""

from __future__ import annotations

import argparse
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.contract import Caller, Invocation, Reply
from adapters.terminal import TerminalPlatform, prompt_loop
from bot.app import engine_for
from bot.cli import build_parser
from bot.commands import CLI_ONLY, REGISTRY, CommandSet
from bot.config import CommandSettings, Settings, SourceSettings
from briefings.models import PostParts, Subscription
from briefings.registry import UnknownCommand, UsageError
from briefings.store import NewPost, Store
from tests.fixtures.platform import RecordingPlatform
from tests.fixtures.story_posts import WEEK
from tests.test_delivery import Clock, World

ADMIN = Caller(platform="chat", user_id="U-admin", is_admin=True)
LISTED = Caller(platform="chat", user_id="U-listed")
MEMBER = Caller(platform="chat", user_id="U-member")


@dataclass
class Bot:
    world: World
    commands: CommandSet
    changed: list[Subscription]

    async def say(self, text: str, caller: Caller = ADMIN, channel: str = "C1") -> Reply:
        return await self.commands.handle(Invocation(caller=caller, channel=channel, text=text))


@pytest.fixture
async def bot(migrated_db_url: str) -> AsyncIterator[Bot]:
    store = Store.open(migrated_db_url)
    async with engine_for(Settings(), store) as engine:
        clock = Clock(datetime(2026, 11, 25, 7, 0, tzinfo=UTC))
        world = World(store, engine, clock, RecordingPlatform(), Settings())
        changed: list[Subscription] = []
        commands = CommandSet(
            store,
            engine,
            world.deliverer(),
            Settings(
                sources=[
                    SourceSettings(name="irinfive", url="https://irinfive.com/feed/"),
                    SourceSettings(name="other", url="https://example.org/feed/"),
                ],
                # "chat" is the test platform, which config.toml cannot name: not validated.
                commands=CommandSettings.model_construct(admins=["chat:U-listed"]),
            ),
            on_schedule_change=changed.append,
        )
        yield Bot(world, commands, changed)
    store.close()


@pytest.mark.parametrize(
    "command",
    [
        "subscribe",
        "unsubscribe",
        "schedule set daily 09:00",
        "schedule clear",
        "schedule skip-empty off",
        "SCHEDULE SET weekdays 07:30 Europe/London",
    ],
)
async def test_non_admins_cannot_change_subscriptions(bot: Bot, command: str) -> None:
    await bot.say("subscribe")
    before = bot.world.outbox.subscription("chat", "C1")
    reply = await bot.say(command, caller=MEMBER)
    assert not reply.ok and reply.ephemeral and "Only admins" in reply.text
    assert bot.world.outbox.subscription("chat", "C1") == before
    assert len(bot.changed) == 1  # only the admin's subscribe


async def test_the_config_allow_list_makes_an_admin(bot: Bot) -> None:
    reply = await bot.say("subscribe", caller=LISTED)
    assert reply.ok, reply.text
    sub = bot.world.outbox.subscription("chat", "C1")
    assert sub is not None and sub.active and sub.admin_user == "U-listed"


async def test_subscribe_schedules_the_next_run_and_tells_the_scheduler(bot: Bot) -> None:
    reply = await bot.say("subscribe")
    assert "all sources" in reply.text and "daily 08:00 (UTC)" in reply.text
    sub = bot.world.outbox.subscription("chat", "C1")
    assert sub is not None and sub.next_run_at == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    assert bot.changed == [sub]

    reply = await bot.say("schedule set weekdays 07:30 America/New_York")
    assert reply.ok and "weekdays 07:30 (America/New_York)" in reply.text
    sub = bot.world.outbox.subscription("chat", "C1")
    assert sub is not None and sub.next_run_at == datetime(2026, 11, 25, 12, 30, tzinfo=UTC)
    assert bot.changed[-1] == sub

    reply = await bot.say("schedule set 0 9 * * 1 Europe/London")
    sub = bot.world.outbox.subscription("chat", "C1")
    assert sub is not None and sub.next_run_at == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

    await bot.say("schedule clear")
    sub = bot.world.outbox.subscription("chat", "C1")
    assert sub is not None and (sub.schedule, sub.timezone) == ("", "")
    assert sub.next_run_at == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("schedule set daily 08:00 Europe/Londn", "did you mean Europe/London?"),
        ("schedule set 61 * * * *", '"30 7 * * 1-5"'),
        ("schedule set every day", '"daily 08:00"'),
        ("schedule skip-empty maybe", "schedule skip-empty on"),
        ("subscribe bbc", "Sources: irinfive, other"),
    ],
)
async def test_bad_admin_input_gets_an_example_and_changes_nothing(
    bot: Bot, command: str, expected: str
) -> None:
    await bot.say("subscribe")
    before = bot.world.outbox.subscription("chat", "C1")
    reply = await bot.say(command)
    assert not reply.ok and expected in reply.text
    assert bot.world.outbox.subscription("chat", "C1") == before


async def test_sources_can_be_added_and_removed_one_at_a_time(bot: Bot) -> None:
    await bot.say("subscribe other")
    sub = bot.world.outbox.subscription("chat", "C1")
    assert sub is not None and sub.sources == ("other",)
    await bot.say("subscribe irinfive")
    assert bot.world.outbox.subscription("chat", "C1").sources == ("irinfive", "other")  # type: ignore[union-attr]
    reply = await bot.say("unsubscribe other")
    assert "still gets irinfive" in reply.text
    reply = await bot.say("unsubscribe irinfive")
    sub = bot.world.outbox.subscription("chat", "C1")
    assert sub is not None and not sub.active and sub.next_run_at is None
    assert "no more digests" in reply.text


async def test_schedule_set_before_subscribe_does_not_start_digests(bot: Bot) -> None:
    reply = await bot.say("schedule set daily 06:00")
    assert reply.ok and "`subscribe` starts the digests" in reply.text
    sub = bot.world.outbox.subscription("chat", "C1")
    assert sub is not None and not sub.active and sub.next_run_at is None
    await bot.say("subscribe")
    sub = bot.world.outbox.subscription("chat", "C1")
    assert sub is not None and sub.next_run_at == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


async def test_preview_is_exactly_what_the_next_run_posts(bot: Bot) -> None:
    bot.world.add_posts(3)
    await bot.say("subscribe")
    terminal = TerminalPlatform()
    preview = await bot.say("preview", caller=MEMBER)
    assert preview.ok and preview.ephemeral and preview.digest is not None
    assert "Wed 25 Nov 2026 08:00 UTC" in preview.text

    bot.world.clock.now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    bot.world.platform.sent.clear()
    await bot.commands.deliverer.run_due()
    sent = bot.world.platform.sent
    assert len(sent) == 1
    assert list(sent[0].post_ids) == [item.post_id for item in preview.digest.items]
    assert [m.post_ids for m in terminal.render_digest(preview.digest)] == [sent[0].post_ids]

    after = await bot.say("preview")
    assert after.digest is None and "would be skipped" in after.text


async def test_status_shows_feeds_and_the_channel(bot: Bot) -> None:
    bot.world.store.record_fetch("irinfive", "https://irinfive.com/feed/", error="HTTP 503")
    await bot.say("subscribe")
    reply = await bot.say("status", caller=MEMBER)
    assert reply.ephemeral
    assert "irinfive: last fetched" in reply.text and "last error: HTTP 503" in reply.text
    assert "other: not fetched yet" in reply.text
    assert "next run: Wed 25 Nov 2026 08:00 UTC" in reply.text
    assert "last delivery: none yet" in reply.text
    bot.world.outbox.pause_subscription(
        bot.world.outbox.subscription("chat", "C1").id, "not_in_channel"
    )  # type: ignore[union-attr]
    assert "PAUSED: not_in_channel" in (await bot.say("status")).text
    await bot.say("subscribe")  # an admin resumes it
    assert "PAUSED" not in (await bot.say("status")).text


async def test_help_questions_and_search(bot: Bot) -> None:
    help_reply = await bot.say("help", caller=MEMBER)
    for command in ("latest", "ask", "search", "preview", "status", "subscribe", "schedule set"):
        assert command in help_reply.text
    bot.world.add_posts(3)
    reply = await bot.say("what did delegates from the Andes agree on?", caller=MEMBER)
    assert reply.answer is not None and reply.answer.grounded
    assert reply.answer.citations[0].url == "https://irinfive.com/post-2/"
    reply = await bot.say("ask who won the 1966 world cup final?", caller=MEMBER)
    assert reply.answer is not None and not reply.answer.grounded
    hits = await bot.say("search Mekong")
    assert hits.hits and hits.hits[0].post.url == "https://irinfive.com/post-3/"
    latest = await bot.say("latest", caller=MEMBER)
    assert latest.digest is not None and len(latest.digest.items) == 3
    assert not (await bot.say("ask")).ok


@pytest.mark.parametrize(
    "line", ["@everyone", "<!channel>", "ask @here <@U123>", "@everyone?", "<!here>!!", "ask ?"]
)
async def test_a_question_of_mentions_alone_gets_the_blank_question_hint(
    bot: Bot, line: str
) -> None:
    """A ping is no question: after a real one, it is not answered as its follow-up either."""
    bot.world.add_posts(3)
    stdin = io.StringIO(f"what did delegates from the Andes agree on?\n{line}\n")
    out = io.StringIO()
    assert await prompt_loop(bot.commands.handle, stdin, out) == "eof"
    said = out.getvalue()
    assert said.count("post-2/") == 1  # the first question's citation only
    assert said.rstrip().endswith("Ask a question, e.g. `ask what did the post say about tariffs?`")


@pytest.mark.parametrize("line", ["search", "search @everyone", "search <!channel> ?"])
async def test_a_search_of_mentions_alone_gets_the_search_hint(bot: Bot, line: str) -> None:
    """A ping is not words to look for: the hint, not "No posts match '@everyone'"."""
    bot.world.add_posts(3)
    reply = await bot.say(line)
    assert not reply.ok and not reply.hits
    assert reply.text == "Search for some words, e.g. `search ceasefire`"


async def test_a_command_line_command_typed_at_the_prompt_gets_a_hint_not_an_answer(
    bot: Bot,
) -> None:
    bot.world.add_posts(3)
    out = io.StringIO()
    assert await prompt_loop(bot.commands.handle, io.StringIO("posts\nDoctor\n"), out) == "eof"
    assert out.getvalue().splitlines() == [
        "`posts` is a command of the `briefbot` command line; here try `latest`, or ask a question.",
        "`doctor` is a command of the `briefbot` command line; here try `status`, or ask a question.",
    ]
    # With more words it is a question as before.
    reply = await bot.say("posts about the Andes?")
    assert reply.answer is not None


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        (
            "posts --limit 3",
            "`posts` is a command of the `briefbot` command line; here try `latest`",
        ),
        ("ingest --feed http://x/f", "`ingest` is a command of the `briefbot` command line; here"),
        (
            "briefbot posts",
            "`posts` is a command of the `briefbot` command line; here try `latest`",
        ),
        ("Briefbot doctor --json", "`doctor` is a command of the `briefbot` command line; here"),
        ("briefbot latest", "`briefbot latest` is the command line; here type `latest` without"),
        ("briefbot schedule set daily 08:00", "`briefbot schedule` is the command line; here"),
    ],
)
async def test_a_command_line_with_options_typed_at_the_prompt_gets_a_hint_not_an_answer(
    bot: Bot, line: str, hint: str
) -> None:
    bot.world.add_posts(3)
    out = io.StringIO()
    assert await prompt_loop(bot.commands.handle, io.StringIO(f"{line}\n"), out) == "eof"
    [said] = out.getvalue().splitlines()
    assert said.startswith(hint) and said.endswith(", or ask a question.")
    # Other words after such a command, or after the bot's name, make a question.
    for question in (
        "posts about the Andes?",
        "briefbot what did delegates from the Andes agree on?",
    ):
        assert (await bot.say(question)).answer is not None


def test_every_command_line_only_command_has_a_chat_command_to_try() -> None:
    choices = next(
        a.choices for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    )
    assert choices is not None
    assert set(CLI_ONLY) == {name for name in choices if REGISTRY.get(name) is None}
    assert all(REGISTRY.parse(instead) is not None for instead in CLI_ONLY.values())


async def test_help_is_built_from_the_registry(bot: Bot) -> None:
    help_reply = await bot.say("help", caller=MEMBER)
    assert help_reply.ephemeral
    lines = help_reply.text.splitlines()
    for spec in REGISTRY.commands:  # one line each: its usage, then its handler's docstring
        [line] = [x for x in lines if x.split("  ")[1:2] == [spec.usage]]
        assert line.endswith(spec.summary) and ("(admin)" in line) == spec.admin
    assert "schedule set <when> [timezone]" in help_reply.text
    assert "(admin) Send digests here" in help_reply.text
    for same in ("?", "  "):
        assert (await bot.say(same, caller=MEMBER)).text == help_reply.text


@pytest.mark.parametrize(
    ("line", "name", "args"),
    [
        (
            "schedule set weekdays 07:30 Europe/London",
            "schedule set",
            {"when": "weekdays 07:30", "timezone": "Europe/London"},
        ),
        (
            "SCHEDULE SET hourly Asia/Tokyo",
            "schedule set",
            {"when": "hourly", "timezone": "Asia/Tokyo"},
        ),
        ("schedule set 30 7 * * 1-5", "schedule set", {"when": "30 7 * * 1-5"}),
        (
            "schedule set 0 9 * * 1 Europe/Paris",
            "schedule set",
            {"when": "0 9 * * 1", "timezone": "Europe/Paris"},
        ),
        ("schedule", "schedule show", {}),
        ("schedule skip-empty OFF", "schedule skip-empty", {"on": False}),
        ("subscribe irinfive", "subscribe", {"source": "irinfive"}),
        ("unsubscribe", "unsubscribe", {}),
        ("ask what did Russia demand?", "ask", {"question": "what did Russia demand?"}),
        ("search Mekong talks", "search", {"words": "Mekong talks"}),
        ("status please", "status", {}),
        ("?", "help", {}),
    ],
)
def test_a_typed_line_becomes_a_command_and_typed_arguments(
    line: str, name: str, args: dict[str, Any]
) -> None:
    parsed = REGISTRY.parse(line)
    assert parsed is not None and (parsed.spec.name, parsed.args) == (name, args)


def test_lines_that_name_no_command_are_questions_and_bad_ones_say_how() -> None:
    assert REGISTRY.parse("what did the Baltic delegates agree on?") is None
    with pytest.raises(UnknownCommand, match="'schedule sett'"):
        REGISTRY.parse("schedule sett daily 08:00")
    with pytest.raises(UsageError, match="use `unsubscribe \\[source\\]`"):
        REGISTRY.parse("unsubscribe irinfive other")
    with pytest.raises(UsageError, match="`schedule skip-empty on`"):
        REGISTRY.parse("schedule skip-empty")


async def test_typed_arguments_go_straight_to_the_handler_after_the_admin_check(bot: Bot) -> None:
    async def typed(name: str, caller: Caller = ADMIN, **args: Any) -> Reply:
        invocation = Invocation(caller=caller, channel="C1", text=name, args=args)
        return await bot.commands.handle(invocation)

    refused = await typed("subscribe", caller=MEMBER, source=None)
    assert not refused.ok and "Only admins can use `subscribe`" in refused.text
    assert bot.world.outbox.subscription("chat", "C1") is None

    assert (await typed("subscribe", source=None)).ok
    reply = await typed("schedule set", when="hourly", timezone="Asia/Tokyo")
    assert reply.ok and not reply.ephemeral and "hourly (Asia/Tokyo)" in reply.text
    await typed("schedule skip-empty", on=False)
    sub = bot.world.outbox.subscription("chat", "C1")
    assert sub is not None and (sub.schedule, sub.timezone) == ("hourly", "Asia/Tokyo")
    assert not sub.skip_empty and bot.changed[-1] == sub
    status = await typed("schedule show", caller=MEMBER)
    assert status.ephemeral and "hourly (Asia/Tokyo)" in status.text


async def test_preview_roundup_lists_the_weeks_stories(bot: Bot) -> None:
    now = bot.world.clock.now
    bot.world.store.save_posts(
        NewPost(
            source="irinfive",
            guid=f"story-{post_id}",
            url=f"https://irinfive.example/{post_id}/",
            published=now - timedelta(days=8 if post_id == 7 else 7 - post_id),
            parts=PostParts(title, "", "", (body,), "", "", ()),
        )
        for post_id, title, body, _ in WEEK
    )
    reply = await bot.say("preview roundup", caller=MEMBER)
    assert reply.ok and reply.ephemeral and reply.roundup is not None
    assert "6 posts" in reply.roundup.heading  # post 7 is older than a week
    stories = [s for section in reply.roundup.sections for s in section.stories]
    assert [p.url for p in max(stories, key=lambda s: len(s.posts)).posts] == [
        f"https://irinfive.example/{n}/" for n in (1, 2, 3)
    ]
    assert not any("Chile" in p.title for p in reply.roundup.posts)
    refused = await bot.say("preview weekly", caller=MEMBER)
    assert not refused.ok and "preview roundup" in refused.text


async def test_the_terminal_reads_a_follow_up_with_its_last_exchange(bot: Bot) -> None:
    """At the prompt, "and when did they meet?" is about what the last answer was about."""
    bot.world.add_posts(3)
    stdin = io.StringIO("what did delegates from the Andes agree on?\nand when did they meet?\n")
    out = io.StringIO()
    assert await prompt_loop(bot.commands.handle, stdin, out) == "eof"
    replies: list[list[str]] = [[]]  # each reply ends with its citation lines ("  - ...")
    for line in out.getvalue().splitlines():
        if replies[-1] and replies[-1][-1].startswith("  - ") and not line.startswith("  - "):
            replies.append([])
        replies[-1].append(line)
    follow_up = "\n".join(replies[1])
    assert "Tuesday" in follow_up
    cited = [follow_up.find(f"post-{n}/") for n in (1, 2, 3)]
    assert cited[1] >= 0 and cited[1] == min(c for c in cited if c >= 0)
