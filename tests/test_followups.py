"""'Follows up on: <earlier post>' on a digest item whose story already reached that channel,
through the Slack adapter and the fake Slack."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from briefings.models import PostParts
from briefings.store import NewPost
from tests.fixtures.story_posts import WEEK
from tests.test_slack import Rig
from tests.test_slack import rig as rig

START = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # a Monday


def store(rig: Rig, numbers: list[int]) -> None:
    rig.world.store.save_posts(
        NewPost(
            source="irinfive",
            guid=f"post-{n}",
            url=f"https://irinfive.example/{n}/",
            published=START + timedelta(days=n - 1),
            parts=PostParts(title, "", "", (body,), "", "", ()),
        )
        for n, title, body, _ in WEEK
        if n in numbers
    )


def item_text(message: dict[str, object], number: int) -> str:
    """The section of the digest item of WEEK's post `number`."""
    for block in message["blocks"]:  # type: ignore[attr-defined]
        text = block.get("text", {}).get("text", "") if block["type"] == "section" else ""
        if f"irinfive.example/{number}/|" in text.split("\n", 1)[0]:
            return str(text)
    raise AssertionError(f"post {number} is not in the digest")


async def test_a_post_whose_story_reached_the_channel_says_what_it_follows_up(rig: Rig) -> None:
    rig.world.clock.now = START
    store(rig, [1])
    rig.world.subscribe("C1", "daily 08:00")
    await rig.deliverer.run_due(START + timedelta(hours=2))  # Monday 08:00: post 1 alone
    [first] = rig.slack.posted("C1")
    assert "Follows up on" not in json.dumps(first["blocks"])

    store(rig, [2, 3, 4, 5, 6, 7])
    rig.world.subscribe("C2", "daily 08:00")  # a channel that never got post 1
    rig.world.clock.now = START + timedelta(days=6)
    await rig.deliverer.run_due(START + timedelta(days=6, hours=2))
    [_, second] = rig.slack.posted("C1")
    earlier = "Follows up on: <https://irinfive.example/1/|Kyiv and Moscow agree to ceasefire talks"
    assert earlier in item_text(second, 2) and earlier in item_text(second, 3)
    for other in (4, 5, 6, 7):  # Sudan, EU-Japan tariffs, Chile: other stories
        assert "Follows up on" not in item_text(second, other)
    [elsewhere] = rig.slack.posted("C2")
    assert "Follows up on" not in json.dumps(elsewhere["blocks"])
