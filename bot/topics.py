"""Channels that follow topics: the edited posts a tag-filtered channel's next digest also takes,
and the tags of recent posts (`topics`). Matching is `briefings.tags.matches`; planning is
`briefings.planner`; this module only reads.

A filtered channel's next digest holds its unseen posts that match, plus posts edited since its
last run that match now and were never sent to it: an edit that moves a post from one country to
another moves it into the next digest of the channels following the new one. Posts already
delivered to a channel are never offered to it again (and the outbox refuses them anyway).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from bot.outbox_store import OutboxStore
from briefings.models import Post, Subscription
from briefings.store import Store
from briefings.tags import matches

SCAN_LIMIT = 5000  # recent posts read for `topics`
TOPIC_DAYS = 30


def edited_into(store: Store, outbox: OutboxStore, sub: Subscription, newest_id: int) -> list[Post]:
    """Posts `sub` was offered before (ids up to its cursor), edited since its last run so that
    they match its filters now, and never delivered to it."""
    if not sub.tags or sub.last_run_at is None:
        return []
    edited = [
        p
        for p in store.changed_posts(newest_id, sub.last_run_at)
        if p.id <= sub.cursor
        and p.edited
        and (not sub.sources or p.source in sub.sources)
        and matches(p.tags, sub.tags)
    ]
    sent = outbox.delivered_post_ids(sub.platform, sub.channel, [p.id for p in edited])
    return [p for p in edited if p.id not in sent]


def recent_topics(store: Store, now: datetime, days: int = TOPIC_DAYS) -> list[tuple[str, int]]:
    """Tags of the posts published (or first seen) in the last `days` days, most used first."""
    since = now - timedelta(days=days)
    counts: Counter[str] = Counter()
    for post in store.latest_posts(SCAN_LIMIT):
        if (post.published or post.first_seen) < since:
            break  # newest first: the rest are older
        counts.update(post.tags)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
