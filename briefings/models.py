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


@dataclass(frozen=True, slots=True)
class Digest:
    items: tuple[DigestItem, ...]
    generated_at: datetime
    title: str = "IR in Five briefing"
    notes: tuple[str, ...] = field(default=())

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
