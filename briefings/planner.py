"""Which posts a reader's next digest carries: one algorithm for `briefbot digest` and schedules.

A reader (the CLI's `--reader`, or a subscribed channel) has a cursor: the highest post id already
considered for them. Post ids grow with first sight, so the posts after the cursor are exactly the
ones they have not been offered; an edited post keeps its id and is not offered again, except to a
reader following topics whose filter it matches only since the edit (the caller passes those as
`also`, having checked they never reached that reader). The digest
takes the newest of them (by publication date) up to `max_items` and counts the rest in a note, so
a first run on a long feed does not flood anyone. Where the cursor is kept is the caller's business
(`Store.cursor` for the CLI, the subscription row for schedules); the caller stores `cursor` once the
digest has been shown or claimed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from briefings.models import Post
from briefings.store import Store
from briefings.tags import matches

SCAN_LIMIT = 5000  # unseen posts read to fill one topic-filtered digest


@dataclass(frozen=True, slots=True)
class PostFilter:
    """Which posts a reader wants. Empty means all. Hashable: readers alike share one plan."""

    sources: tuple[str, ...] = ()
    tags: tuple[
        str, ...
    ] = ()  # any of these (`briefings.tags.matches`, regions include sub-regions)

    def admits(self, post: Post) -> bool:
        return (not self.sources or post.source in self.sources) and matches(post.tags, self.tags)


@dataclass(frozen=True, slots=True)
class DigestPlan:
    posts: list[Post]  # newest first
    cursor: int  # to store once these have been shown: every post up to it was considered
    left_out: int  # unseen posts beyond `max_items`
    first: bool = False  # the reader had never been offered a post (their cursor was 0)

    @property
    def note(self) -> str:
        return f"{self.left_out} older unseen post(s) not shown" if self.left_out else ""

    @property
    def notes(self) -> tuple[str, ...]:
        return (self.note,) if self.left_out else ()


def plan_digest(
    store: Store,
    cursor: int,
    *,
    max_items: int,
    only: PostFilter = PostFilter(),
    newest_id: int | None = None,
    also: Sequence[Post] = (),
) -> DigestPlan:
    """The posts after `cursor` that `only` admits, up to `newest_id` (default: the newest stored
    now, fixed first so posts stored meanwhile stay unseen for next time), plus those of `also`
    it admits. Blocking."""
    if newest_id is None:
        newest_id = store.max_post_id()
    cursor_after = max(cursor, newest_id)
    if not only.tags and not also:  # the database filters and counts
        posts = store.latest_posts(
            max_items, after_id=cursor, up_to_id=newest_id, sources=only.sources
        )
        total = store.count_posts(after_id=cursor, up_to_id=newest_id, sources=only.sources)
        return DigestPlan(
            posts=posts, cursor=cursor_after, left_out=total - len(posts), first=not cursor
        )
    unseen = store.latest_posts(
        SCAN_LIMIT, after_id=cursor, up_to_id=newest_id, sources=only.sources
    )
    wanted = {p.id: p for p in [*unseen, *also] if only.admits(p)}
    ordered = sorted(
        wanted.values(),
        key=lambda p: ((p.published or p.first_seen).timestamp(), p.id),
        reverse=True,
    )
    return DigestPlan(
        posts=ordered[:max_items],
        cursor=cursor_after,
        left_out=len(ordered) - len(ordered[:max_items]),
        first=not cursor,
    )
