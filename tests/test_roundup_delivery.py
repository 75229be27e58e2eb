"""The weekly roundup as a subscription, end to end on the Slack fake: set by an admin with
`schedule set weekly mon 08:00 roundup`, sent once at its time with the week's stories, beside the
channel's digests (whose posts it lists again), and neither repeated nor dropped across a restart."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from bot.app import apply_declared_subscriptions
from bot.config import Settings, SubscriptionConfig
from bot.delivery import Deliverer
from briefings.models import PostParts
from briefings.store import NewPost
from tests.fixtures.slack_server import Canned
from tests.fixtures.story_posts import WEEK
from tests.test_slack import Rig
from tests.test_slack import rig as rig

WEEK_START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday
RUN = WEEK_START + timedelta(days=7)  # the next Monday, 08:00 UTC


def store_week(rig: Rig) -> dict[str, int]:
    """WEEK's seven posts, one a day from WEEK_START; their ids by fixture number."""
    rig.world.store.save_posts(
        NewPost(
            source="irinfive",
            guid=f"post-{n}",
            url=f"https://irinfive.example/{n}/",
            published=WEEK_START + timedelta(days=n - 1, hours=1),
            parts=PostParts(title, "", "", (body,), "", "", ()),
        )
        for n, title, body, _ in WEEK
    )
    return {p.url.rstrip("/").rsplit("/", 1)[1]: p.id for p in rig.world.store.latest_posts(20)}


def stories(message: dict[str, object]) -> list[list[str]]:
    """Each section's posts, by fixture number (a story's lines share one section)."""
    found = []
    for block in message["blocks"]:  # type: ignore[attr-defined]
        if block["type"] == "section":
            numbers = re.findall(r"irinfive\.example/(\d+)/", block["text"]["text"])
            if numbers:
                found.append(numbers)
    return found


async def test_a_weekly_roundup_goes_out_once_with_the_weeks_stories(rig: Rig) -> None:
    rig.world.clock.now = WEEK_START + timedelta(days=5, hours=12)  # Saturday
    store_week(rig)
    # A digest subscription too: its posts reach the channel first, the roundup lists them again.
    rig.world.subscribe("C1", "daily 09:00")
    reply = await rig.command("schedule set weekly mon 08:00 roundup", user="UADMIN")
    assert reply.status_code == 200
    await rig.slack.wait_for(lambda: rig.slack.responses)
    assert "Weekly roundup: mon 08:00 (UTC); next Mon 30 Nov 2026 08:00 UTC" in json.dumps(
        rig.slack.responses[-1]
    )
    refused = await rig.command("schedule set weekly mon 08:00 roundup", user="UMEMBER")
    assert refused.status_code == 200
    await rig.slack.wait_for(lambda: len(rig.slack.responses) >= 2)
    assert "Only admins" in json.dumps(rig.slack.responses[-1])

    await rig.deliverer.run_due(WEEK_START + timedelta(days=6, hours=1))  # Sunday 09:00 digest
    [digest] = rig.slack.posted("C1")
    assert len(stories(digest)) == 7  # every post in the digest, each on its own

    rig.world.clock.now = RUN
    await rig.deliverer.flush(RUN)
    [_, roundup] = rig.slack.posted("C1")
    found = stories(roundup)
    assert found[:2] == [["1", "2", "3"], ["4", "5"]]  # the two stories, biggest first
    assert sorted(n for lone in found[2:] for n in lone) == ["6", "7"]  # lone posts last
    text = json.dumps(roundup["blocks"])
    assert "3 posts" in text and "2 posts" in text

    # A restarted process (a new Deliverer, nothing in memory) sends nothing more.
    rig.world.clock.now = RUN + timedelta(minutes=5)
    restarted = Deliverer(
        rig.world.store,
        rig.world.engine,
        {"slack": rig.bot.platform},
        Settings(),
        clock=rig.world.clock,
    )
    await restarted.flush()
    assert len(rig.slack.posted("C1")) == 2


async def test_a_roundup_slack_failed_is_sent_once_after_a_restart(rig: Rig) -> None:
    rig.world.clock.now = WEEK_START + timedelta(days=6, hours=12)
    store_week(rig)
    settings = Settings(
        subscriptions=[SubscriptionConfig(platform="slack", channel="C1", kind="roundup")]
    )
    apply_declared_subscriptions(rig.world.store, settings, rig.deliverer, rig.world.clock.now)
    rig.slack.canned["chat.postMessage"] = [Canned(500, {"ok": False, "error": "fatal_error"})]
    rig.world.clock.now = RUN
    report = await rig.deliverer.flush(RUN)
    assert report.retrying == 1 and rig.slack.posted("C1")[1:] == []  # failed, still owed

    rig.world.clock.now = RUN + timedelta(hours=2)  # after the backoff, in a new process
    restarted = Deliverer(
        rig.world.store,
        rig.world.engine,
        {"slack": rig.bot.platform},
        settings,
        clock=rig.world.clock,
    )
    await restarted.flush()
    await restarted.flush()
    sent = [m for m in rig.slack.posted("C1") if stories(m)]
    assert len(sent) == 2  # the refused attempt, then the roundup once
    assert stories(sent[-1])[:2] == [["1", "2", "3"], ["4", "5"]]
    [run] = restarted.roundups.roundups.runs("slack", "C1")
    assert run.status == "sent" and run.run_at == RUN


async def test_a_roundup_paused_by_slack_tells_who_set_it_up_once(rig: Rig) -> None:
    rig.world.clock.now = WEEK_START + timedelta(days=5, hours=12)
    store_week(rig)
    await rig.command("schedule set weekly mon 08:00 roundup", user="UADMIN")
    await rig.slack.wait_for(lambda: rig.slack.responses)
    gone = Canned(200, {"ok": False, "error": "channel_not_found"})
    rig.slack.canned["chat.postMessage"] = [gone, gone]
    rig.world.clock.now = RUN
    await rig.deliverer.flush(RUN)
    rig.world.clock.now = RUN + timedelta(days=7)  # the next week's run fails the same way
    await rig.deliverer.flush(RUN + timedelta(days=7))
    told = [m for m in rig.slack.posted() if m["channel"] == "UADMIN"]
    assert len(told) == 1  # once, when it was paused
    assert "weekly roundup in channel C1 is paused: channel_not_found" in told[0]["text"]
    assert "`resume roundup`" in told[0]["text"]
    roundup = rig.deliverer.roundups.roundups.subscription("slack", "C1")
    assert roundup is not None and roundup.paused


async def test_a_roundup_schedule_that_fires_more_than_weekly_is_refused(rig: Rig) -> None:
    for n, when in enumerate(("hourly", "daily 08:00", "mon,thu 09:00", "*/30 8 * * 1"), start=1):
        await rig.command(f"schedule set {when} roundup", user="UADMIN")
        await rig.slack.wait_for(lambda n=n: len(rig.slack.responses) >= n)
        assert "A roundup is weekly" in rig.slack.responses[-1]["text"]
    assert rig.deliverer.roundups.roundups.subscription("slack", "C1") is None
    await rig.command("schedule set 0 7 1 * * roundup", user="UADMIN")  # monthly is fine
    await rig.slack.wait_for(lambda: len(rig.slack.responses) >= 5)
    assert rig.deliverer.roundups.roundups.subscription("slack", "C1") is not None


async def test_preview_roundup_on_slack_shows_the_blocks_the_roundup_posts(rig: Rig) -> None:
    rig.world.clock.now = WEEK_START + timedelta(days=5, hours=12)
    store_week(rig)
    await rig.command("schedule set weekly mon 08:00 roundup", user="UADMIN")
    await rig.slack.wait_for(lambda: rig.slack.responses)
    rig.world.clock.now = RUN
    await rig.command("preview roundup", user="UMEMBER")
    await rig.slack.wait_for(lambda: len(rig.slack.responses) >= 2)
    [preview] = rig.slack.responses[1:]
    await rig.deliverer.flush(RUN)
    [roundup] = rig.slack.posted("C1")
    assert preview["blocks"] == roundup["blocks"]  # the stories, linked, as the channel gets them
    assert preview["response_type"] == "ephemeral"
