"""`search` and `ask` narrowed by `tag:` terms ("tag:country:ua grain"): only posts with any of
the tags (`briefings.tags.matches`, so `tag:region:europe` covers its sub-regions) are found or
cited. The ranking is the index's own; tags only filter what it returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from briefings.ask import NOT_COVERED, PassageIndex, cite
from briefings.models import Answer, SearchHit
from briefings.store import Store
from briefings.tags import matches
from briefings.text import clip_at_word

WIDEN = 20  # ranked posts read per hit wanted, before filtering by tag
NEWEST_SCAN = 2000  # posts read for a search of tags alone
OPENING_CHARS = 300  # of a post found by tags alone, the opening shown


def tagged_hits(
    index: PassageIndex, store: Store | None, text: str, tags: Sequence[str], limit: int
) -> list[SearchHit]:
    """The best posts for `text` that have any of `tags`; with no words, the newest such posts."""
    if text.strip():
        hits = index.search(text, max(limit * WIDEN, 100))
        return [h for h in hits if matches(h.post.tags, tags)][:limit]
    if store is None:
        return []
    found = []
    for post in store.latest_posts(NEWEST_SCAN):
        if matches(post.tags, tags):
            opening = post.paragraphs[0] if post.paragraphs else ""
            found.append(SearchHit(post, 0.0, clip_at_word(opening, OPENING_CHARS)))
            if len(found) == limit:
                break
    return found


def tagged_answer(
    index: PassageIndex,
    store: Store | None,
    text: str,
    tags: Sequence[str],
    context: Sequence[int],
    history: Sequence[str] = (),
) -> Answer:
    """An answer drawn only from posts with any of `tags`: the best of them for the question is
    preferred; if the answer would still come from another post, the tagged posts are offered."""
    hits = tagged_hits(index, store, text, tags, 3)
    if not hits or not text.strip():
        return Answer(NOT_COVERED, grounded=False, citations=tuple(cite(h.post) for h in hits))
    allowed = [h.post.id for h in hits]
    answer = index.ask(text, [*context, *allowed], history)
    if answer.grounded and answer.citations and answer.citations[0].post_id in allowed:
        kept = tuple(c for c in answer.citations if c.post_id in allowed)
        return replace(answer, citations=kept)
    return Answer(NOT_COVERED, grounded=False, citations=tuple(cite(h.post) for h in hits))
