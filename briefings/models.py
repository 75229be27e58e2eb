"""The engine's shared vocabulary: frozen, typed values passed between sources, store, digest and adapters.

Adapters render these; they never see SQL rows or feedparser dictionaries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """One feed the engine polls. Built by the application from its settings."""

    name: str
    url: str


@dataclass(frozen=True, slots=True)
class PostParts:
    """An article's text split into the parts an IR in Five post has; other posts fill what they can."""

    title: str
    date_line: str
    category: str
    paragraphs: tuple[str, ...]
    take_label: str
    take: str
    attributions: tuple[str, ...]

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item as a feed delivered it, before it becomes a stored post."""

    guid: str
    url: str
    title: str
    published: datetime | None
    html: str
    is_excerpt: bool
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Post:
    """A stored post. `id` grows with first sight, so it doubles as the digest cursor."""

    id: int
    source: str
    url: str
    guid: str
    title: str
    published: datetime | None
    category: str
    date_line: str
    body: str
    take_label: str
    take: str
    attributions: tuple[str, ...]
    content_hash: str
    first_seen: datetime
    updated_at: datetime
    edited: bool
    # What the post is about (`briefings.tags`), recomputed whenever its text changes, and the
    # categories its feed gave it.
    tags: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def paragraphs(self) -> tuple[str, ...]:
        return tuple(p for p in self.body.split("\n\n") if p.strip())


@dataclass(frozen=True, slots=True)
class SourceState:
    """What the store remembers about a feed between polls."""

    name: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class IngestReport:
    """The outcome of polling one source; `error` is set when the poll failed and nothing changed."""

    source: str
    fetched: bool = False
    not_modified: bool = False
    entries: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    warnings: tuple[str, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One post as a reader sees it in a digest: facts and the post's own take kept apart."""

    post_id: int
    url: str
    title: str
    published: datetime | None
    summary: str
    take_label: str
    take: str
    sources: tuple[str, ...]
    category: str = ""
    tags: tuple[
        str, ...
    ] = ()  # the post's tags (`briefings.tags`); readers see countries and regions
    # The earlier post of the same story this channel was sent (briefings/followups.py), if any.
    follows_up_title: str = ""
    follows_up_url: str = ""


@dataclass(frozen=True, slots=True)
class Digest:
    items: tuple[DigestItem, ...]
    generated_at: datetime
    title: str = "IR in Five briefing"
    notes: tuple[str, ...] = field(default=())
    # Nothing was ever offered to this reader: an empty digest has no "last briefing" to speak of.
    first: bool = False

    @property
    def empty(self) -> bool:
        return not self.items


@dataclass(frozen=True, slots=True)
class Citation:
    post_id: int
    url: str
    title: str
    published: datetime | None


@dataclass(frozen=True, slots=True)
class Answer:
    """A reply to a question. `grounded` is False when the posts do not cover it; the citations are
    then the closest posts, offered as reading, not as a source."""

    text: str
    grounded: bool
    citations: tuple[Citation, ...]
    opinion: str = ""  # a sentence from a post's own take, labelled as its view, when it answers


@dataclass(frozen=True, slots=True)
class SearchHit:
    post: Post
    score: float
    snippet: str


@dataclass(frozen=True, slots=True)
class Subscription:
    """A channel that receives digests: which sources, when, and where it stands.

    `sources` empty means every configured source. `schedule` empty means the configured default.
    `next_run_at` is the scheduled run not yet handled; claiming a run moves it on in the same
    transaction that records the run's deliveries, so one run is handled once, by one process.
    """

    id: int
    platform: str
    channel: str
    workspace: str
    sources: tuple[str, ...]
    active: bool
    schedule: str
    timezone: str
    skip_empty: bool
    next_run_at: datetime | None
    cursor: int  # the newest post id considered by a claimed run
    paused: bool
    pause_reason: str
    admin_user: str  # who set it up: told when it is paused
    last_run_at: datetime | None
    last_note: str
    created_at: datetime
    updated_at: datetime
    tags: tuple[str, ...] = ()  # tag filters: only posts with any of them (empty: every post)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One post owed to one channel (or, with `post_id` None, a "nothing new" notice)."""

    id: int
    subscription_id: int
    platform: str
    channel: str
    post_id: int | None
    run_at: datetime
    status: str  # pending | sent | failed (the platform rejected its message; never retried)
    attempts: int
    next_attempt_at: datetime
    message_id: str
    last_error: str
    note: str  # shown with the run's digest, e.g. how many older posts were left out
    created_at: datetime
    sent_at: datetime | None
    first_attempt_at: datetime | None = None  # a send began (the message may be out)
    failed_at: datetime | None = None
