"""Digest items' buttons, the Ask form and the App Home on Slack, end to end: real slack-bolt
(HTTP mode, requests signed as Slack signs them) against the fake Slack Web API."""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from adapters.slack.app import SlackBot
from adapters.slack.render import ASK_CALLBACK, RESUME_ACTION
from bot.tables import deliveries
from bot.votes import VoteStore
from briefings.store import post_aliases
from briefings.store import posts as posts_table
from tests.fixtures.slack_server import Canned, block_actions, signed_headers, view_submission
from tests.test_slack import Rig, deliver_digest
from tests.test_slack import rig as rig

SINCE = datetime(2000, 1, 1, tzinfo=UTC)


async def click(rig: Rig, action_id: str, user: str = "UMEMBER", url: str = "") -> tuple[int, str]:
    message = rig.slack.history["C1"][0]  # the digest as Slack keeps it (with its ts)
    stored = {k: message[k] for k in ("ts", "text", "blocks")}
    form = block_actions(
        action_id,
        user=user,
        message=stored,
        response_url=rig.slack.response_url(),
        value=action_id.rsplit(":", 1)[-1],
        block_id=f"briefbot-item-{action_id.rsplit(':', 1)[-1]}",
    )
    body = urllib.parse.urlencode(form).encode()
    if url:
        rig = Rig(rig.slack, rig.bot, rig.world, rig.deliverer, url)
    response = await rig.post(body, "application/x-www-form-urlencoded")
    return response.status_code, str(message["ts"])


def calls(rig: Rig, method: str) -> list[dict[str, Any]]:
    return [c.body for c in rig.slack.calls if c.method == method]


async def test_each_item_has_buttons_and_more_replies_only_to_the_clicker(rig: Rig) -> None:
    posts = await deliver_digest(rig)
    [message] = rig.slack.posted("C1")
    actions = [b for b in message["blocks"] if b["type"] == "actions"]
    assert [[e["action_id"] for e in b["elements"]] for b in actions] == [
        [f"briefbot:{a}:{p}" for a in ("more", "ask", "up", "down")]
        for p in sorted(posts, reverse=True)
    ]
    first = sorted(posts)[0]
    status, _ = await click(rig, f"briefbot:more:{first}")
    assert status == 200  # acknowledged; the work follows
    await rig.slack.wait_for(lambda: rig.slack.responses)
    [reply] = rig.slack.responses
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    text = json.dumps(reply["blocks"])
    assert "More on this post" in text and "Post 1: talks in the Baltic" in text
    assert "(the post's own view)" in text and "Sources: AP News" in text
    assert len(rig.slack.posted("C1")) == 1  # nothing public


async def test_a_rate_limited_or_expired_response_url_loses_no_reply(rig: Rig) -> None:
    posts = await deliver_digest(rig)
    post = sorted(posts)[0]
    limited = Canned(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
    rig.slack.canned["response_url"] = [limited]  # once: waited out, then delivered there
    await click(rig, f"briefbot:more:{post}")
    await rig.slack.wait_for(lambda: rig.slack.responses)
    assert "More on this post" in json.dumps(rig.slack.responses[0]["blocks"])
    expired = Canned(404, {"ok": False, "error": "expired_url"})
    rig.slack.canned["response_url"] = [limited, limited]
    await click(rig, f"briefbot:up:{post}")  # 429 twice: the Web API instead
    await rig.slack.wait_for(lambda: calls(rig, "chat.postEphemeral"))
    rig.slack.canned["response_url"] = [expired]
    await click(rig, f"briefbot:down:{post}")  # expired: the Web API at once
    await rig.slack.wait_for(lambda: len(calls(rig, "chat.postEphemeral")) >= 2)
    texts = sorted(c["text"] for c in calls(rig, "chat.postEphemeral"))
    assert all(
        c["user"] == "UMEMBER" and c["channel"] == "C1" for c in calls(rig, "chat.postEphemeral")
    )
    assert any("👍" in t for t in texts) and any("👎" in t for t in texts)
    assert len(rig.slack.posted("C1")) == 1  # nothing public


async def test_votes_are_stored_changed_and_withdrawn(rig: Rig) -> None:
    posts = await deliver_digest(rig)
    post = sorted(posts)[0]
    votes = VoteStore(rig.world.store.engine)

    async def vote(kind: str, user: str, expected: int) -> None:
        status, _ = await click(rig, f"briefbot:{kind}:{post}", user)
        assert status == 200
        await rig.slack.wait_for(lambda: len(rig.slack.responses) >= expected)

    await vote("up", "UMEMBER", 1)
    [count] = votes.counts("slack", "C1", SINCE)
    assert (count.post_id, count.up, count.down) == (post, 1, 0)
    await vote("down", "UMEMBER", 2)
    [count] = votes.counts("slack", "C1", SINCE)
    assert (count.up, count.down) == (0, 1)
    await vote("down", "UMEMBER", 3)
    assert votes.counts("slack", "C1", SINCE) == []
    assert [r["response_type"] for r in rig.slack.responses] == ["ephemeral"] * 3
    assert "withdrawn" in rig.slack.responses[-1]["text"]


async def test_ask_opens_a_form_and_its_answer_goes_to_the_digest_thread(rig: Rig) -> None:
    posts = await deliver_digest(rig)
    post = sorted(posts)[0]
    status, ts = await click(rig, f"briefbot:ask:{post}")
    assert status == 200
    await rig.slack.wait_for(lambda: calls(rig, "views.open"))
    [opened] = calls(rig, "views.open")
    assert opened["trigger_id"] == "12345.98765.abcd"
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    assert view["callback_id"] == ASK_CALLBACK and "Post 1: talks in the Baltic" in json.dumps(view)
    values = {"question": {"question": {"type": "plain_text_input", "value": "what was agreed?"}}}
    form = view_submission(ASK_CALLBACK, view["private_metadata"], values, user="UMEMBER")
    response = await rig.post(
        urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
    )
    assert response.status_code == 200  # the form closes at once
    await rig.slack.wait_for(lambda: rig.slack.threads.get(ts))
    [answer] = rig.slack.threads[ts]
    assert "https://irinfive.com/post-1/" in json.dumps(answer["blocks"])  # cites the post


async def test_the_thread_shows_who_asked_what_above_the_answer_and_pings_no_one(rig: Rig) -> None:
    posts = await deliver_digest(rig)
    post = sorted(posts)[0]
    _, ts = await click(rig, f"briefbot:ask:{post}")
    await rig.slack.wait_for(lambda: calls(rig, "views.open"))
    view = calls(rig, "views.open")[0]["view"]
    view = view if isinstance(view, dict) else json.loads(view)
    question = "<!channel> *what* was agreed?"
    values = {"question": {"question": {"type": "plain_text_input", "value": question}}}
    form = view_submission(ASK_CALLBACK, view["private_metadata"], values, user="UMEMBER")
    await rig.post(urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded")
    await rig.slack.wait_for(lambda: rig.slack.threads.get(ts))
    [answer] = rig.slack.threads[ts]  # one message: the question, then its answer
    first = answer["blocks"][0]["text"]["text"]
    assert first == "<@UMEMBER> asked: “&lt;!channel&gt; *what* was agreed?”"
    assert "<!channel>" not in json.dumps(answer)
    assert "https://irinfive.com/post-1/" in json.dumps(answer["blocks"][1:])


async def test_a_blank_question_keeps_the_ask_form_open_with_the_field_marked(rig: Rig) -> None:
    posts = await deliver_digest(rig)
    await click(rig, f"briefbot:ask:{sorted(posts)[0]}")
    await rig.slack.wait_for(lambda: calls(rig, "views.open"))
    view = calls(rig, "views.open")[0]["view"]
    view = view if isinstance(view, dict) else json.loads(view)
    values = {"question": {"question": {"type": "plain_text_input", "value": "  \n "}}}
    form = view_submission(ASK_CALLBACK, view["private_metadata"], values, user="UMEMBER")
    response = await rig.post(
        urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert response.json() == {
        "response_action": "errors",
        "errors": {"question": "Type a question about the post."},
    }
    assert calls(rig, "chat.postEphemeral") == [] and rig.slack.threads == {}


async def test_buttons_work_on_a_bot_started_after_the_digest_was_sent(rig: Rig) -> None:
    posts = await deliver_digest(rig)
    fresh = SlackBot(rig.bot.settings)  # a restarted process: nothing in memory
    await fresh.start(rig.bot.commands)  # type: ignore[arg-type]
    try:
        url = f"http://127.0.0.1:{fresh.port}/slack/events"
        status, _ = await click(rig, f"briefbot:more:{sorted(posts)[-1]}", url=url)
        assert status == 200
        await rig.slack.wait_for(lambda: rig.slack.responses)
        assert "Post 3: talks in the Mekong" in json.dumps(rig.slack.responses[0]["blocks"])
    finally:
        await fresh.stop()


async def test_a_click_on_a_post_removed_since_says_so(rig: Rig) -> None:
    posts = await deliver_digest(rig)
    post = sorted(posts)[0]
    with rig.world.store.engine.begin() as conn:
        conn.execute(sa.delete(deliveries).where(deliveries.c.post_id == post))
        conn.execute(sa.delete(post_aliases).where(post_aliases.c.post_id == post))
        conn.execute(sa.delete(posts_table).where(posts_table.c.id == post))
    await click(rig, f"briefbot:more:{post}")
    await rig.slack.wait_for(lambda: rig.slack.responses)
    [reply] = rig.slack.responses
    assert reply["response_type"] == "ephemeral" and "no longer available" in reply["text"]


async def test_a_tampered_button_id_gets_a_clear_private_answer(rig: Rig) -> None:
    await deliver_digest(rig)
    for n, action_id in enumerate(
        ("briefbot:more:" + "9" * 40, "briefbot:up:²", "briefbot:more:abc", "briefbot:nope:1"),
        start=1,
    ):
        status, _ = await click(rig, action_id)
        assert status == 200  # acknowledged, not an unhandled request
        await rig.slack.wait_for(lambda n=n: len(rig.slack.responses) >= n)
        reply = rig.slack.responses[-1]
        assert reply["response_type"] == "ephemeral" and "not one briefbot knows" in reply["text"]
    assert len(rig.slack.posted("C1")) == 1


async def test_ask_on_a_post_removed_since_says_so_instead_of_opening_the_form(rig: Rig) -> None:
    posts = await deliver_digest(rig)
    post = sorted(posts)[0]
    with rig.world.store.engine.begin() as conn:
        conn.execute(sa.delete(deliveries).where(deliveries.c.post_id == post))
        conn.execute(sa.delete(post_aliases).where(post_aliases.c.post_id == post))
        conn.execute(sa.delete(posts_table).where(posts_table.c.id == post))
    status, _ = await click(rig, f"briefbot:ask:{post}")
    assert status == 200
    await rig.slack.wait_for(lambda: rig.slack.responses)
    [reply] = rig.slack.responses
    assert reply["response_type"] == "ephemeral" and "no longer available" in reply["text"]
    assert calls(rig, "views.open") == []  # no form to type a question into for nothing


async def test_forged_stale_and_malformed_signatures_are_refused_quietly(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    posts = await deliver_digest(rig)
    form = block_actions(
        f"briefbot:up:{sorted(posts)[0]}",
        user="UMEMBER",
        message={"ts": "1.2", "text": "", "blocks": []},
        response_url=rig.slack.response_url(),
    )
    body = urllib.parse.urlencode(form).encode()
    kind = "application/x-www-form-urlencoded"
    stale = signed_headers(body, at=int(time.time()) - 301)
    forged = signed_headers(body, secret="not-the-secret")
    malformed = {**signed_headers(body), "X-Slack-Request-Timestamp": "abc"}
    for headers in (stale, forged, malformed, {}):
        assert (await rig.post(body, kind, headers)).status_code == 401
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert rig.slack.responses == [] and calls(rig, "chat.postEphemeral") == []
    assert VoteStore(rig.world.store.engine).counts("slack", "C1", SINCE) == []


async def open_home(rig: Rig, user: str, event_id: str) -> dict[str, Any]:
    before = len(calls(rig, "views.publish"))
    event = {"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"}
    await rig.event(event, event_id)
    await rig.slack.wait_for(lambda: len(calls(rig, "views.publish")) > before)
    published = calls(rig, "views.publish")[-1]
    assert published["user_id"] == user
    view = published["view"]
    return view if isinstance(view, dict) else json.loads(view)  # type: ignore[no-any-return]


async def test_app_home_shows_admins_every_channel_with_resume_and_members_the_latest(
    rig: Rig,
) -> None:
    await deliver_digest(rig, "C1")
    rig.world.subscribe("C2", "weekdays 07:30", tags=("region:europe",))
    sub = rig.world.outbox.subscription("slack", "C2")
    assert sub is not None
    rig.world.outbox.pause_subscription(sub.id, "not_in_channel")

    admin = json.dumps(await open_home(rig, "UADMIN", "EvHome1"))
    assert "<#C1>" in admin and "<#C2>" in admin
    assert "not_in_channel" in admin and "region:europe" in admin
    assert RESUME_ACTION in admin and "Post 3: talks in the Mekong" in admin

    member = json.dumps(await open_home(rig, "UMEMBER", "EvHome2"))
    assert "<#C1>" not in member and RESUME_ACTION not in member
    assert "Post 3: talks in the Mekong" in member and "/briefing help" in member

    # Resume re-checks the clicker: a member's click changes nothing, an admin's resumes.
    await click_resume(rig, "UMEMBER", "C2")
    paused = rig.world.outbox.subscription("slack", "C2")
    assert paused is not None and paused.paused
    await click_resume(rig, "UADMIN", "C2")
    resumed = rig.world.outbox.subscription("slack", "C2")
    assert resumed is not None and not resumed.paused and resumed.tags == ("region:europe",)


async def click_resume(rig: Rig, user: str, value: str) -> None:
    """App Home's Resume button clicked (a view container, as Slack sends it)."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "team_id": "T1"},
        "team": {"id": "T1"},
        "api_app_id": "A1",
        "token": "legacy",
        "container": {"type": "view", "view_id": "V1"},
        "trigger_id": "1.2.3",
        "view": {"id": "V1", "type": "home"},
        "actions": [
            {
                "type": "button",
                "action_id": RESUME_ACTION,
                "block_id": f"resume-{value}",
                "value": value,
                "action_ts": "1",
            }
        ],
    }
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    before = len(calls(rig, "views.publish"))
    assert (await rig.post(body, "application/x-www-form-urlencoded")).status_code == 200
    await rig.slack.wait_for(lambda: len(calls(rig, "views.publish")) > before)


def resume_values(view: dict[str, Any]) -> list[str]:
    return [
        e["value"]
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == RESUME_ACTION
    ]


async def test_a_stale_resume_never_subscribes_a_channel_unsubscribed_since(rig: Rig) -> None:
    await deliver_digest(rig, "C1")
    rig.world.subscribe("C2", "weekdays 07:30")
    sub = rig.world.outbox.subscription("slack", "C2")
    assert sub is not None
    rig.world.outbox.pause_subscription(sub.id, "not_in_channel")
    assert resume_values(await open_home(rig, "UADMIN", "EvStale1")) == ["C2"]
    await rig.command("unsubscribe", user="UADMIN", channel="C2")  # another admin, meanwhile
    await rig.slack.wait_for(lambda: rig.slack.responses)
    await click_resume(rig, "UADMIN", "C2")  # the Home tab shown before it
    after = rig.world.outbox.subscription("slack", "C2")
    assert after is not None and not after.active  # still unsubscribed
    await click_resume(rig, "UADMIN", "C9")  # a channel never subscribed
    assert rig.world.outbox.subscription("slack", "C9") is None
    told = [c for c in calls(rig, "chat.postMessage") if c["channel"] == "UADMIN"]
    assert len(told) == 2 and all("nothing to resume" in c["text"] for c in told)


async def test_a_paused_roundup_has_a_resume_button_that_keeps_its_schedule(rig: Rig) -> None:
    await deliver_digest(rig, "C1")
    await rig.command("schedule set weekly fri 17:00 roundup Europe/Paris", user="UADMIN")
    await rig.slack.wait_for(lambda: rig.slack.responses)
    roundups = rig.deliverer.roundups.roundups
    roundup = roundups.subscription("slack", "C1")
    assert roundup is not None
    roundups.pause(roundup.id, "not_in_channel")
    view = await open_home(rig, "UADMIN", "EvRoundup1")
    assert resume_values(view) == ["roundup:C1"]
    assert "next: paused" in json.dumps(view)
    await click_resume(rig, "UMEMBER", "roundup:C1")  # re-checked: a member changes nothing
    still = roundups.subscription("slack", "C1")
    assert still is not None and still.paused
    await click_resume(rig, "UADMIN", "roundup:C1")
    resumed = roundups.subscription("slack", "C1")
    assert resumed is not None and not resumed.paused
    assert (resumed.schedule, resumed.timezone) == (roundup.schedule, "Europe/Paris")
    assert resume_values(await open_home(rig, "UADMIN", "EvRoundup2")) == []


async def test_status_shows_admins_the_weeks_votes_per_post(rig: Rig) -> None:
    posts = await deliver_digest(rig)
    await click(rig, f"briefbot:up:{sorted(posts)[0]}")
    await rig.slack.wait_for(lambda: rig.slack.responses)
    await rig.command("status", user="UADMIN")
    await rig.command("status", user="UMEMBER")
    await rig.slack.wait_for(lambda: len(rig.slack.responses) >= 3)
    texts = [json.dumps(r) for r in rig.slack.responses[1:]]
    admin = next(t for t in texts if "votes in the last 7 days" in t)
    assert "1 / 0  Post 1: talks in the Baltic" in admin
    assert sum("votes in the last" in t for t in texts) == 1  # members do not see them
