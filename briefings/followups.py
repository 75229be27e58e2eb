"""Which earlier post a new one follows up: a digest item whose story (briefings/stories.py) already
reached the channel says "follows up on: <earlier post>". Pure: the caller supplies the posts the
channel was sent before and the new ones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from briefings.models import Post
from briefings.stories import group_stories

FOLLOW_UP_DAYS = 14  # how far back a channel's earlier posts are looked at
FOLLOW_UP_EARLIER = (
    40  # at most this many of them (the newest): grouping costs grow with the square
)


def follow_ups(new: Sequence[Post], earlier: Sequence[Post]) -> dict[int, Post]:
    """For each new post in a story with earlier posts, the newest earlier one (by publication,
    else first sight) that came before it."""
    if not new or not earlier:
        return {}
    new_ids = {p.id for p in new}
    pool = [*new, *(p for p in earlier if p.id not in new_ids)]
    by_id = {p.id: p for p in pool}
    tags = {p.id: p.tags for p in pool}
    found: dict[int, Post] = {}
    for story in group_stories(pool, tags):
        if story.size < 2:
            continue
        for post_id in story.post_ids:
            if post_id not in new_ids:
                continue
            when = _when(by_id[post_id])
            before = [
                by_id[i] for i in story.post_ids if i not in new_ids and _when(by_id[i]) <= when
            ]
            if before:
                found[post_id] = max(before, key=lambda p: (_when(p), p.id))
    return found


def _when(post: Post) -> datetime:
    return post.published or post.first_seen
