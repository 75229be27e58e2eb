"""Which posts a reader's next digest carries: one algorithm for `briefbot digest` and schedules.

A reader (the CLI's `--reader`, or a subscribed channel) has a cursor: the highest post id already
considered for them. Post ids grow with first sight, so the posts after the cursor are exactly the
ones they have not been offered; an edited post keeps its id and is never offered again. The digest
takes the newest of them (by publication date) up to `max_items` and counts the rest in a note, so
a first run on a long feed does not flood anyone. Where the cursor is kept is the caller's business
(`Store.cursor` for the CLI, the subscription row for schedules); the caller stores `cursor` once the
digest has been shown or claimed.
"""

from __future__ import annotations

from dataclasses import dataclass

from briefings.models import Post
from briefings.store import Store


@dataclass(frozen=True, slots=True)
class PostFilter:
    """Which posts a reader wants. Empty means all. Hashable: readers alike share one plan."""

    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DigestPlan:
    posts: list[Post]  # newest first
    cursor: int  # to store once these have been shown: every post up to it was considered
    left_out: int  # unseen posts beyond `max_items`

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
) -> DigestPlan:
    """The posts after `cursor` that `only` admits, up to `newest_id` (default: the newest stored
    now, fixed first so posts stored meanwhile stay unseen for next time). Blocking."""
    if newest_id is None:
        newest_id = store.max_post_id()
    posts = store.latest_posts(max_items, after_id=cursor, up_to_id=newest_id, sources=only.sources)
    total = store.count_posts(after_id=cursor, up_to_id=newest_id, sources=only.sources)
    return DigestPlan(posts=posts, cursor=max(cursor, newest_id), left_out=total - len(posts))
