"""The fuller briefing of one post, as a digest item's "More" button shows it: more summary
sentences than the digest had room for, the post's whole take (still labelled as its own view), its
bracketed sources and link. Pure: the engine supplies the post and its longer summary."""

from __future__ import annotations

from briefings.models import DigestItem, Post
from briefings.summarize.base import Summary
from briefings.text import take_sentences

FULLER_SENTENCES = 6  # summary sentences in a fuller briefing (a digest item has 3 by default)
FULLER_BUDGET_FACTOR = 2  # its token budget, as a multiple of the digest's


def fuller_item(post: Post, summary: Summary) -> DigestItem:
    """`post` as a fuller briefing: the same shape as a digest item, so every renderer that draws
    an item draws this one, with the whole take rather than its opening."""
    return DigestItem(
        post_id=post.id,
        url=post.url,
        title=post.title,
        published=post.published,
        summary=summary.text,
        take_label=post.take_label,
        take=" ".join(take_sentences(post)),
        sources=post.attributions,
        category=post.category,
        tags=post.tags,
    )
