"""What a reader has not seen yet, as a `Digest` of short items.

The summary here is the lead of the post's body (its first sentences, sub-headings skipped), which is
faithful by construction; the post's own take is carried apart from it, never mixed into the facts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from briefings.models import Digest, DigestItem, Post
from briefings.sentences import split_sentences
from briefings.store import Store
from briefings.text import is_heading, strip_attributions

# Turns a post into its summary sentences; the summarizer issue plugs its own in here.
SummarizeFn = Callable[[Post], list[str]]


def lead_sentences(post: Post, count: int = 3) -> list[str]:
    """The first `count` sentences of the body, bracketed source credits removed."""
    out: list[str] = []
    for paragraph in post.paragraphs:
        if is_heading(paragraph):
            continue
        for sentence in split_sentences(paragraph):
            cleaned = strip_attributions(sentence)
            if cleaned:
                out.append(cleaned)
            if len(out) >= count:
                return out
    return out


def take_excerpt(post: Post, count: int = 2) -> str:
    """The opening of the post's own Analysis/Opinion section."""
    if not post.take:
        return ""
    sentences: list[str] = []
    for paragraph in post.take.split("\n\n"):
        sentences.extend(strip_attributions(s) for s in split_sentences(paragraph))
        if len(sentences) >= count:
            break
    return " ".join(sentences[:count])


def digest_item(post: Post, summarize: SummarizeFn) -> DigestItem:
    return DigestItem(
        post_id=post.id,
        url=post.url,
        title=post.title,
        published=post.published,
        summary=" ".join(summarize(post)),
        take_label=post.take_label,
        take=take_excerpt(post),
        sources=post.attributions,
        category=post.category,
    )


def build_digest(
    posts: Sequence[Post],
    summarize: SummarizeFn,
    *,
    now: datetime | None = None,
    notes: Sequence[str] = (),
) -> Digest:
    return Digest(
        items=tuple(digest_item(post, summarize) for post in posts),
        generated_at=now or datetime.now(UTC),
        notes=tuple(notes),
    )


def unseen_digest(
    store: Store, reader: str, summarize: SummarizeFn, *, max_items: int, mark_seen: bool = True
) -> Digest:
    """Posts `reader` has not been shown, newest first; marks them shown unless told not to.

    When more are unseen than fit, the newest `max_items` are shown and the rest are counted in a note,
    so a first run on a long feed does not flood the reader.
    """
    cursor = store.cursor(reader)
    newest_id = store.max_post_id()  # fixed first, so posts stored meanwhile stay unseen
    unseen = store.latest_posts(limit=max_items, after_id=cursor, up_to_id=newest_id)
    total_unseen = store.count_posts(after_id=cursor, up_to_id=newest_id)
    notes = []
    if total_unseen > len(unseen):
        notes.append(f"{total_unseen - len(unseen)} older unseen post(s) not shown")
    digest = build_digest(unseen, summarize, notes=notes)
    if mark_seen and total_unseen:
        store.advance_cursor(reader, [newest_id])
    return digest
