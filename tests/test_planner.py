"""`briefbot digest` and a scheduled channel plan their digests alike: the same history gives the same
posts, in the same order, with the same note, each reader keeping its own cursor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.app import engine_for
from bot.config import Settings
from briefings.models import Digest, PostParts
from briefings.store import NewPost, Store
from tests.fixtures.platform import RecordingPlatform
from tests.test_delivery import Clock, World


@pytest.fixture
async def world(migrated_db_url: str) -> AsyncIterator[World]:
    store = Store.open(migrated_db_url)
    async with engine_for(Settings(), store) as engine:
        yield World(store, engine, Clock(), RecordingPlatform(), Settings())
    store.close()


def titles(digest: Digest) -> list[str]:
    """ "Post 12" for "Post 12: talks in the Caucasus"."""
    return [item.title.split(":")[0] for item in digest.items]


def edit(world: World, number: int) -> None:
    """Store a corrected version of post `number` (same address, new body)."""
    url = f"https://irinfive.com/post-{number}/"
    post = world.store.post_by_url(url)
    assert post is not None
    parts = PostParts(
        title=post.title,
        date_line="11/25 – International News",
        category="International News",
        paragraphs=("Corrected: the delegates met on Wednesday, not Tuesday.",),
        take_label="Analysis",
        take="The correction changes little.",
        attributions=("AP News",),
    )
    result = world.store.save_posts([NewPost("irinfive", url, url, post.published, parts)])
    assert result.updated == 1


async def test_the_cli_and_a_schedule_offer_the_same_posts_for_the_same_history(
    world: World,
) -> None:
    world.add_posts(12)  # more than digest.max_items (10)
    sub = world.subscribe("C1")
    deliverer = world.deliverer()

    scheduled = await deliverer.preview(sub)
    printed = await world.engine.digest_unseen("terminal")
    assert titles(printed) == titles(scheduled)
    assert titles(printed) == [f"Post {n}" for n in range(12, 2, -1)]  # newest first
    assert printed.notes == scheduled.notes == ("2 older unseen post(s) not shown",)

    world.clock.now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    await deliverer.run_due()
    assert len(world.platform.posts_to("C1")) == 10

    # Later: a corrected old post and two new ones. Both readers get the new ones only.
    edit(world, 12)
    new = world.add_posts(2)
    sub = world.outbox.subscription("chat", "C1")  # type: ignore[assignment]
    scheduled = await deliverer.preview(sub)
    printed = await world.engine.digest_unseen("terminal")
    assert titles(printed) == titles(scheduled) == ["Post 14", "Post 13"]
    assert printed.notes == scheduled.notes == ()

    world.clock.now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    await deliverer.run_due()
    assert world.platform.posts_to("C1")[10:] == new[::-1]
    assert titles(await world.engine.digest_unseen("terminal")) == []
