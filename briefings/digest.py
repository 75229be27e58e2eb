"""What a reader has not seen yet, as a `Digest` of short items.

Each item carries the summarizer's sentences of the post's body and, apart from them, the opening of the
post's own Analysis/Opinion take, so a reader never mistakes the blog's view for reported fact.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from briefings.models import Digest, DigestItem, Post
from briefings.planner import DigestPlan, plan_digest
from briefings.store import Store
from briefings.summarize.base import Summary
from briefings.text import distinct_sentences, take_sentences


def take_excerpt(post: Post, count: int = 2) -> str:
    """The opening sentences of the post's own Analysis/Opinion section."""
    return " ".join(distinct_sentences(take_sentences(post))[:count])


def digest_item(post: Post, summary: Summary, *, take_sentences: int = 2) -> DigestItem:
    return DigestItem(
        post_id=post.id,
        url=post.url,
        title=post.title,
        published=post.published,
        summary=summary.text,
        take_label=post.take_label,
        take=take_excerpt(post, take_sentences),
        sources=post.attributions,
        category=post.category,
        tags=post.tags,
    )


def build_digest(
    items: Sequence[DigestItem],
    *,
    now: datetime | None = None,
    notes: Sequence[str] = (),
    first: bool = False,
) -> Digest:
    return Digest(
        items=tuple(items), generated_at=now or datetime.now(UTC), notes=tuple(notes), first=first
    )


def unseen_posts(store: Store, reader: str, *, max_items: int) -> DigestPlan:
    """Posts `reader` (the CLI's `--reader`) has not been shown, newest first (see planner.py)."""
    return plan_digest(store, store.cursor(reader), max_items=max_items)
