"""Digest items' buttons on Discord, end to end: real discord.py against the fake Discord. Clicks
arrive as INTERACTION_CREATE (MESSAGE_COMPONENT, MODAL_SUBMIT) and are answered through the
interaction callback endpoint, acknowledged before any work."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from adapters.discord.bot import BriefingClient, DiscordSettings
from adapters.discord.render import ROWS_PER_MESSAGE, digest_messages
from bot.tables import deliveries
from bot.votes import VoteStore
from briefings.models import Digest
from briefings.store import Store, post_aliases
from briefings.store import posts as posts_table
from tests.fixtures.discord_server import ADMIN, CHANNEL, MANAGE_GUILD, MEMBER
from tests.fixtures.posts import digest_item
from tests.test_discord import Rig, deliver_digest
from tests.test_discord import rig as rig


def buttons(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message["components"] for c in row["components"]]


async def click(rig: Rig, message: dict[str, Any], custom_id: str, who: dict[str, Any]) -> str:
    interaction = rig.fake.component_click(message, custom_id, who)
    await rig.fake.dispatch("INTERACTION_CREATE", interaction)
    return str(interaction["id"])


def followups(rig: Rig) -> list[dict[str, Any]]:
    return [
        r.body for r in rig.fake.requests if r.method == "POST" and r.path.startswith("webhooks/")
    ]


@asynccontextmanager
async def restarted(rig: Rig) -> AsyncIterator[BriefingClient]:
    """A new client on the same commands, as after a restart: it never sent what is on screen."""
    fresh = BriefingClient(
        DiscordSettings(requests_per_second=0, guild_ready_timeout=0.01, sync_commands=False)
    )
    fresh.commands = rig.client.commands
    running = asyncio.ensure_future(fresh.start("fake.token.value"))
    try:
        await rig.fake.wait_for(fresh.is_ready)
        yield fresh
    finally:
        await fresh.close()
        await asyncio.wait_for(running, 10)


async def test_every_item_has_its_buttons_and_more_answers_privately(rig: Rig) -> None:
    posts = await deliver_digest(rig)
    [message] = rig.fake.messages[CHANNEL]
    assert buttons(message) == [
        f"briefbot:{action}:{post}"
        for post in sorted(posts, reverse=True)
        for action in ("more", "ask", "up", "down")
    ]
    first = sorted(posts)[0]  # "Post 1: talks in the Baltic"
    call = await click(rig, message, f"briefbot:more:{first}", MEMBER)
    await rig.fake.wait_for(lambda: rig.callbacks(call) and followups(rig))
    [ack] = rig.callbacks(call)
    assert ack["type"] == 5 and ack["data"]["flags"] & 64  # deferred, private
    [more] = followups(rig)
    assert more["flags"] & 64 and "More on this post" in more["content"]
    [embed] = more["embeds"]
    assert embed["title"] == "Post 1: talks in the Baltic"
    assert embed["url"] == "https://irinfive.com/post-1/"
    assert "(the post's own view)" in embed["description"]
    assert rig.fake.posted(CHANNEL)[1:] == []  # nothing public


async def test_votes_are_stored_changed_and_withdrawn_one_per_person(rig: Rig) -> None:
    posts = await deliver_digest(rig)
    [message] = rig.fake.messages[CHANNEL]
    post = sorted(posts)[0]
    votes = VoteStore(rig.world.store.engine)
    since = datetime(2000, 1, 1, tzinfo=UTC)

    async def vote(kind: str, who: dict[str, Any], expected: int) -> None:
        await click(rig, message, f"briefbot:{kind}:{post}", who)
        await rig.fake.wait_for(lambda: len(followups(rig)) >= expected)

    await vote("up", MEMBER, 1)
    await vote("up", ADMIN, 2)
    [count] = votes.counts("discord", CHANNEL, since)
    assert (count.post_id, count.up, count.down) == (post, 2, 0)
    await vote("down", MEMBER, 3)  # changed, not added
    [count] = votes.counts("discord", CHANNEL, since)
    assert (count.up, count.down) == (1, 1)
    await vote("up", ADMIN, 4)  # the same button again: withdrawn
    [count] = votes.counts("discord", CHANNEL, since)
    assert (count.up, count.down) == (0, 1)
    assert "withdrawn" in followups(rig)[-1]["content"]
    assert all(f["flags"] & 64 for f in followups(rig))  # each vote is seen by its voter only
    assert rig.fake.posted(CHANNEL)[1:] == []


async def test_ask_opens_a_form_and_the_answer_goes_to_the_digest_thread(rig: Rig) -> None:
    posts = await deliver_digest(rig)
    [message] = rig.fake.messages[CHANNEL]
    post = sorted(posts)[0]
    call = await click(rig, message, f"briefbot:ask:{post}", MEMBER)
    await rig.fake.wait_for(lambda: rig.callbacks(call))
    [form] = rig.callbacks(call)
    assert form["type"] == 9  # MODAL: the form is the acknowledgement
    custom_id = form["data"]["custom_id"]
    assert custom_id == f"briefbot:askform:{post}:{message['id']}"
    submit = rig.fake.modal_submit(custom_id, {"question": "what did delegates agree?"}, MEMBER)
    await rig.fake.dispatch("INTERACTION_CREATE", submit)
    thread = message["id"]
    await rig.fake.wait_for(lambda: rig.fake.posted(thread))
    [ack] = rig.callbacks(str(submit["id"]))
    assert ack["type"] == 5
    [answer] = rig.fake.posted(thread)
    assert "https://irinfive.com/post-1/" in answer["content"]  # cites the post asked about
    assert answer["allowed_mentions"] == {"parse": []}
    # The thread never saw the form: the answer says who asked what, markdown shown as typed.
    hostile = "@everyone **what** did [the] delegates [agree](https://evil.example/)?"
    submit = rig.fake.modal_submit(custom_id, {"question": hostile}, MEMBER)
    await rig.fake.dispatch("INTERACTION_CREATE", submit)
    await rig.fake.wait_for(lambda: len(rig.fake.posted(thread)) >= 2)
    second = rig.fake.posted(thread)[1]
    asked = second["content"].split("\n", 1)[0]
    assert asked == (
        f"<@{MEMBER['id']}> asked: "
        "“@everyone \\*\\*what\\*\\* did \\[the\\] delegates "
        "\\[agree\\]\\(https://evil.example/\\)?”"  # no link: each bracket escaped
    )
    assert second["allowed_mentions"] == {"parse": []}


async def test_buttons_still_work_after_a_restart(rig: Rig) -> None:
    """A new client (a restarted bot) never sent the digest, yet understands its buttons."""
    posts = await deliver_digest(rig)
    [message] = rig.fake.messages[CHANNEL]
    await rig.client.close()
    async with restarted(rig):
        post = sorted(posts)[-1]
        call = await click(rig, message, f"briefbot:more:{post}", MEMBER)
        await rig.fake.wait_for(lambda: rig.callbacks(call) and followups(rig))
        assert followups(rig)[0]["embeds"][0]["title"] == "Post 3: talks in the Mekong"


async def test_a_button_id_too_long_for_a_post_gets_a_clear_private_answer(rig: Rig) -> None:
    await deliver_digest(rig)
    [message] = rig.fake.messages[CHANNEL]
    tampered = "briefbot:more:" + "9" * 40  # a message edited by someone, or a future format
    edited = copy.deepcopy(message)
    edited["components"][0]["components"][0]["custom_id"] = tampered
    call = await click(rig, edited, tampered, MEMBER)
    await rig.fake.wait_for(lambda: rig.callbacks(call))
    [reply] = rig.callbacks(call)
    assert reply["type"] == 4 and reply["data"]["flags"] & 64
    assert "not one briefbot knows" in reply["data"]["content"]


async def test_an_ask_form_opened_before_a_restart_is_answered_after_it(rig: Rig) -> None:
    posts = await deliver_digest(rig)
    [message] = rig.fake.messages[CHANNEL]
    post = sorted(posts)[0]
    opened = [await click(rig, message, f"briefbot:ask:{post}", who) for who in (MEMBER, ADMIN)]
    await rig.fake.wait_for(lambda: all(rig.callbacks(call) for call in opened))
    custom_id = rig.callbacks(opened[0])[0]["data"]["custom_id"]
    await rig.client.close()  # both forms are open on people's screens when the bot restarts
    async with restarted(rig):
        for n, (who, question) in enumerate(
            ((MEMBER, "what did delegates agree?"), (ADMIN, "how many points did they agree?")),
            start=1,
        ):
            submit = rig.fake.modal_submit(custom_id, {"question": question}, who)
            await rig.fake.dispatch("INTERACTION_CREATE", submit)
            await rig.fake.wait_for(lambda n=n: len(rig.fake.posted(message["id"])) >= n)
            [ack] = rig.callbacks(str(submit["id"]))
            assert ack["type"] == 5  # acknowledged before the work
        answers = rig.fake.posted(message["id"])
        assert len(answers) == 2  # each person's question answered once, in the digest's thread
        assert all("https://irinfive.com/post-1/" in a["content"] for a in answers)


def remove_post(store: Store, post_id: int) -> None:
    """A post taken out of the store after its digest went out (as an operator might)."""
    with store.engine.begin() as conn:
        conn.execute(sa.delete(deliveries).where(deliveries.c.post_id == post_id))
        conn.execute(sa.delete(post_aliases).where(post_aliases.c.post_id == post_id))
        conn.execute(sa.delete(posts_table).where(posts_table.c.id == post_id))


async def test_a_click_on_a_post_removed_since_says_so(rig: Rig) -> None:
    posts = await deliver_digest(rig)
    [message] = rig.fake.messages[CHANNEL]
    remove_post(rig.world.store, sorted(posts)[0])
    call = await click(rig, message, f"briefbot:more:{sorted(posts)[0]}", MEMBER)
    await rig.fake.wait_for(lambda: rig.callbacks(call) and followups(rig))
    [reply] = followups(rig)
    assert "no longer available" in reply["content"] and reply["flags"] & 64


async def test_ask_on_a_post_removed_since_says_so_instead_of_opening_the_form(rig: Rig) -> None:
    posts = await deliver_digest(rig)
    [message] = rig.fake.messages[CHANNEL]
    remove_post(rig.world.store, sorted(posts)[0])
    call = await click(rig, message, f"briefbot:ask:{sorted(posts)[0]}", MEMBER)
    await rig.fake.wait_for(lambda: rig.callbacks(call))
    [reply] = rig.callbacks(call)
    assert reply["type"] == 4 and reply["data"]["flags"] & 64  # a private message, no modal
    assert "no longer available" in reply["data"]["content"]


async def test_status_shows_admins_the_weeks_votes(rig: Rig) -> None:
    posts = await deliver_digest(rig)
    [message] = rig.fake.messages[CHANNEL]
    await click(rig, message, f"briefbot:down:{sorted(posts)[0]}", MEMBER)
    await rig.fake.wait_for(lambda: followups(rig))
    status = [{"name": "status", "type": 1, "options": []}]
    admin_call = await rig.command(status, ADMIN, MANAGE_GUILD)
    member_call = await rig.command(status, MEMBER, 0)
    await rig.fake.wait_for(lambda: rig.callbacks(admin_call) and rig.callbacks(member_call))
    admin_text = rig.callbacks(admin_call)[0]["data"]["content"]
    assert "0 / 1  Post 1: talks in the Baltic" in admin_text
    assert "votes" not in rig.callbacks(member_call)[0]["data"]["content"]


def test_a_long_digest_has_at_most_five_rows_of_buttons_per_message() -> None:
    items = tuple(digest_item(n) for n in range(1, 13))
    digest = Digest(items=items, generated_at=datetime(2026, 11, 25, tzinfo=UTC) - timedelta(0))
    messages = digest_messages(digest)
    assert [len(m.post_ids) for m in messages] == [5, 5, 2]
    for m in messages:
        rows = m.payload["components"]
        assert len(rows) == len(m.post_ids) <= ROWS_PER_MESSAGE
        assert [r["components"][0]["custom_id"] for r in rows] == [
            f"briefbot:more:{p}" for p in m.post_ids
        ]
