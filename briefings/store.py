"""The store: SQLAlchemy Core over a SQLite file (default) or PostgreSQL (by URL), one code path for both.

It owns the core's tables (sources, posts and their aliases, summaries, cursors). Their schema is
created and changed only by the Alembic revisions in `briefings/migrations/`, applied at open by
`briefings.migrate`, so a database made by any earlier release upgrades in place. The bot's tables
are declared and migrated in `bot/`.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from briefings.errors import StoreError as StoreError
from briefings.migrate import BRIEFINGS_REVISIONS, Migrator, read_heads
from briefings.models import Post, PostParts, SourceState
from briefings.tags import tag_post
from briefings.urls import post_keys, redact_credentials, shown_db_url

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite

# What the database layer raises; `Store.error` turns any of them into a StoreError with a plain reason.
DB_ERRORS: tuple[type[Exception], ...] = (sa.exc.SQLAlchemyError, sqlite3.Error)

_P = ParamSpec("_P")
_T = TypeVar("_T")


def insert_or_skip(dialect: str, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT of `table` that can take ON CONFLICT DO NOTHING, in PostgreSQL's or SQLite's words.

    The dialect is imported here, when a row is first written, not with this module: a process on
    SQLite then never loads SQLAlchemy's PostgreSQL dialect, which costs every start ~35 ms of CPU.
    """
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


async def db(call: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Run one call of the (synchronous) store in a worker thread. Every store call made from a
    coroutine goes through here: a slow or locked database then holds up only the command or send
    that waits for it, never the event loop that every adapter's heartbeat and ack run on."""
    return await asyncio.to_thread(call, *args, **kwargs)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite has no time zones of its own)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


metadata = sa.MetaData()

sources = sa.Table(
    "sources",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("last_attempt_at", UTCDateTime),
    sa.Column("last_success_at", UTCDateTime),
    sa.Column("last_error", sa.Text),
)

posts = sa.Table(
    "posts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("guid", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("published", UTCDateTime),
    sa.Column("category", sa.Text, nullable=False, default=""),
    sa.Column("date_line", sa.Text, nullable=False, default=""),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("take_label", sa.String(40), nullable=False, default=""),
    sa.Column("take", sa.Text, nullable=False, default=""),
    sa.Column("attributions", sa.JSON, nullable=False, default=list),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("edited", sa.Boolean, nullable=False, default=False),
    # Added by briefings_0011: the post's tags, written with its text; NULL in rows an earlier
    # release stored, whose tags are then computed when read (see `_to_post`).
    sa.Column("tags", sa.JSON),
    sa.Column("categories", sa.JSON),
    sa.Index("ix_posts_published", "published"),
)
# Added by briefings_0005 (the search index sync reads changes by it).
posts_updated_index = sa.Index("ix_posts_updated_at", posts.c.updated_at)

post_aliases = sa.Table(
    "post_aliases",
    metadata,
    sa.Column("alias", sa.Text, primary_key=True),
    sa.Column("post_id", sa.Integer, sa.ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
)

cursors = sa.Table(
    "cursors",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("last_post_id", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)


summaries = sa.Table(
    "summaries",
    metadata,
    sa.Column("content_hash", sa.String(64), primary_key=True),
    sa.Column("summarizer", sa.String(40), primary_key=True),
    sa.Column("model", sa.String(200), primary_key=True),
    sa.Column("prompt_version", sa.String(40), primary_key=True),
    sa.Column("sentences", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("summary", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)


# When the database was created (briefings_0008): tells a search index which database it belongs to.
database_identity = sa.Table(
    "database_identity",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

_POSTS_WRITE_LOCK = 0x62726567  # held by a transaction that writes posts (PostgreSQL)


@dataclass(frozen=True, slots=True)
class NewPost:
    """A post ready to store: feed metadata plus its split text."""

    source: str
    guid: str
    url: str
    published: datetime | None
    parts: PostParts
    categories: tuple[str, ...] = ()

    @property
    def tags(self) -> tuple[str, ...]:
        return post_tags(self.parts.title, self.parts.body, self.parts.take, self.categories)

    @property
    def content_hash(self) -> str:
        parts = self.parts
        text = "\x1f".join((parts.title, parts.date_line, parts.body, parts.take_label, parts.take))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class SaveResult:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0


def normalize_db_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def redact_db_url(url: str) -> str:
    """The URL with any password hidden, for logs and `doctor`."""
    try:
        return shown_db_url(sa.engine.make_url(normalize_db_url(url)))
    except sa.exc.ArgumentError:
        return "<unparseable database URL>"


def db_url_problem(url: str) -> str | None:
    """Why `url` is not a database URL at all (None when it reads as one), so that a typo in it is
    a usage error before any connection is tried."""
    try:
        port = sa.engine.make_url(normalize_db_url(url)).port
    except sa.exc.ArgumentError:
        return "not of the form dialect://user@host:port/database"
    except ValueError:  # SQLAlchemy's int() of what follows a colon: "[::1/db", ":99x"
        return "its host or port cannot be read"
    if port is not None and not 0 < port < 65536:
        return f"port {port} is not 1-65535"
    return None


class Store:
    """All reads and writes of briefbot state. Methods are short transactions; safe to share."""

    def __init__(
        self, engine: Engine, *, read_only: bool = False, label: str = "", file: str | None = None
    ) -> None:
        self.engine = engine
        self.read_only = read_only
        self.label = label or shown_db_url(engine.url)
        self.file = file  # the SQLite file, whatever URI form it was opened through

    @classmethod
    def open(cls, url: str, *, migrate: bool = True, busy_timeout: float = 5.0) -> Store:
        """Open (and by default migrate) the database at `url`.

        A SQLite file this process cannot write is opened read-only, so reading commands still work
        on it; `busy_timeout` is how long a SQLite write waits for another process's lock.
        """
        try:
            parsed = sa.engine.make_url(normalize_db_url(url))
        except sa.exc.ArgumentError as exc:
            raise StoreError(f"cannot use database {redact_db_url(url)}: {exc}") from exc
        label, read_only = redact_db_url(url), False
        connect_args: dict[str, Any] = {}
        path = None
        if parsed.get_backend_name() == "sqlite":
            path = _sqlite_path(parsed)
            if path is not None:
                label = path
                if os.path.isdir(path):
                    raise StoreError(
                        f"{path} is a folder; the database URL needs a file in it, "
                        f"e.g. sqlite:///{os.path.join(path, 'briefbot.db')}"
                    )
                parsed, read_only = _sqlite_read_mode(parsed, path)
            if "timeout" not in parsed.query:
                connect_args["timeout"] = busy_timeout
        try:
            engine = sa.create_engine(parsed, connect_args=connect_args)
        except (sa.exc.ArgumentError, ImportError, ValueError, TypeError) as exc:
            raise StoreError(f"cannot use database {label}: {exc}") from exc
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas(read_only=read_only))
        store = cls(engine, read_only=read_only, label=label, file=path)
        if migrate:
            try:
                store.migrate()
            except StoreError:
                store.close()
                raise
        return store

    def close(self) -> None:
        self.engine.dispose()

    # -- errors -----------------------------------------------------------------------------------

    def error(self, exc: BaseException, doing: str = "") -> StoreError:
        """`exc` from the database as a StoreError with a plain reason (see `describe_db_error`)."""
        return StoreError(describe_db_error(exc, self.label, doing))

    @contextmanager
    def plain_errors(self) -> Iterator[None]:
        """Database failures inside the block surface as StoreError with a plain reason."""
        try:
            yield
        except DB_ERRORS as exc:
            raise self.error(exc) from exc

    def check_integrity(self) -> None:
        """Raise StoreError if SQLite's quick check finds damage anywhere in the file (for doctor)."""
        if self.engine.dialect.name != "sqlite":
            return
        try:
            with self.engine.connect() as conn:
                problems = [str(r) for r in conn.exec_driver_sql("PRAGMA quick_check").scalars()]
        except DB_ERRORS as exc:
            raise self.error(exc) from exc
        if problems != ["ok"]:
            raise StoreError(_damaged(self.label, "database disk image is malformed"))

    # -- schema -----------------------------------------------------------------------------------

    def migrator(self) -> Migrator:
        """The core's branch of the schema (Alembic branch "briefings") on this database."""
        return Migrator(
            self.engine,
            "briefings",
            [BRIEFINGS_REVISIONS],
            label=self.label,
            read_only=self.read_only,
        )

    def schema_revisions(self) -> list[str]:
        """The schema revisions this database records, every branch (empty: not yet migrated)."""
        try:
            with self.engine.connect() as conn:
                return read_heads(conn)
        except DB_ERRORS as exc:
            raise self.error(exc, "cannot read") from exc

    def migrate(self) -> list[str]:
        """Bring the core's tables to the newest revision; returns the revisions applied. A
        current schema is only read; an old in-house-migrated database is adopted first.
        Processes starting together migrate once (see `briefings.migrate`)."""
        try:
            return self.migrator().upgrade()
        except DB_ERRORS as exc:
            raise self.error(exc, "cannot migrate") from exc

    def describe(self) -> str:
        return shown_db_url(self.engine.url)

    # -- sources ----------------------------------------------------------------------------------

    def source_state(self, name: str) -> SourceState | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(sources).where(sources.c.name == name)).mappings().first()
        return None if row is None else SourceState(**dict(row))

    def source_states(self) -> list[SourceState]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(sources).order_by(sources.c.name)).mappings().all()
        return [SourceState(**dict(row)) for row in rows]

    def record_fetch(
        self,
        name: str,
        url: str,
        *,
        error: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Remember a poll. Validators change only on success, so a failed poll is retried in full.

        A password in the URL (or quoted in the error) is stored as `***`: `status` shows both.
        """
        at = at or _now()
        url = redact_credentials(url)
        error = redact_credentials(error) if error is not None else None
        values: dict[str, Any] = {"url": url, "last_attempt_at": at, "last_error": error}
        if error is None:
            values.update(last_success_at=at, etag=etag, last_modified=last_modified)
        with self.engine.begin() as conn:
            old_url = conn.execute(sa.select(sources.c.url).where(sources.c.name == name)).scalar()
            if old_url is None:
                # Another process polling the same new source may insert it first: then update.
                added = conn.execute(
                    insert_or_skip(conn.dialect.name, sources)
                    .values(name=name, **values)
                    .on_conflict_do_nothing()
                    .returning(sources.c.name)
                ).scalar()
                if added is not None:
                    return
                old_url = url
            if old_url != url and error is not None:
                # Validators belong to the URL they came from; a new URL starts afresh.
                values.update(etag=None, last_modified=None)
            conn.execute(sources.update().where(sources.c.name == name).values(**values))

    # -- posts ------------------------------------------------------------------------------------

    def save_posts(self, items: Iterable[NewPost], *, at: datetime | None = None) -> SaveResult:
        """Insert new posts and update edited ones, in one transaction.

        A post is known by every alias it has been seen under (normalised link and guid), so a
        re-published or re-addressed post updates its row instead of becoming a second post. Lookups
        and inserts are batched: a 10,000-item feed costs a handful of round trips, not 40,000.
        """
        batch = [(item, post_keys(item.guid, item.url)) for item in items]
        tries = 3
        while True:
            try:
                return self._save_batch(batch, at)
            except sa.exc.IntegrityError:
                # Another writer stored some of these posts after we looked them up (two polls of
                # one feed at once); the whole batch was rolled back, and the retry sees theirs.
                tries -= 1
                if not tries:
                    raise

    def _save_batch(
        self, batch: list[tuple[NewPost, list[str]]], at: datetime | None
    ) -> SaveResult:
        updated = unchanged = duplicates = 0
        with self.engine.begin() as conn:
            at = at or _write_stamp(conn)
            known = _aliases_of(conn, [key for _, keys in batch for key in keys])
            hashes = _hashes_of(conn, set(known.values()))
            # Resolve every item to an existing post id, a pending new post (negative index), or a
            # repeat of something already handled in this batch.
            fresh: list[NewPost] = []
            handled: set[int] = set()
            new_aliases: list[tuple[str, int]] = []
            for item, keys in batch:
                target = next((known[k] for k in keys if k in known), None)
                if target is not None and target in handled:
                    duplicates += 1
                    continue
                if target is None:
                    target = -(len(fresh) + 1)
                    fresh.append(item)
                elif hashes.get(target) == item.content_hash:
                    unchanged += 1
                else:
                    conn.execute(
                        posts.update()
                        .where(posts.c.id == target)
                        .values(**_post_values(item), updated_at=at, edited=True)
                    )
                    updated += 1
                handled.add(target)
                for key in keys:
                    if key not in known:
                        known[key] = target
                        new_aliases.append((key, target))
            pending: dict[int, int] = {}
            if fresh:
                rows = [
                    {**_post_values(item), "first_seen": at, "updated_at": at, "edited": False}
                    for item in fresh
                ]
                ids = conn.execute(
                    posts.insert().returning(posts.c.id, sort_by_parameter_order=True), rows
                ).scalars()
                pending = {-(i + 1): int(post_id) for i, post_id in enumerate(ids)}
            if new_aliases:
                conn.execute(
                    post_aliases.insert(),
                    [{"alias": k, "post_id": pending.get(t, t)} for k, t in new_aliases],
                )
        return SaveResult(
            new=len(fresh), updated=updated, unchanged=unchanged, duplicates=duplicates
        )

    def post(self, post_id: int) -> Post | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(posts).where(posts.c.id == post_id)).mappings().first()
        return None if row is None else _to_post(row)

    def post_by_url(self, url: str) -> Post | None:
        with self.engine.connect() as conn:
            post_id = _find_alias(conn, post_keys("", url))
        return None if post_id is None else self.post(post_id)

    def count_posts(
        self, *, after_id: int = 0, up_to_id: int | None = None, sources: Sequence[str] = ()
    ) -> int:
        query = (
            sa.select(sa.func.count())
            .select_from(posts)
            .where(_post_filter(after_id, up_to_id, sources))
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def max_post_id(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(posts.c.id))).scalar() or 0)

    def latest_posts(
        self,
        limit: int = 10,
        *,
        after_id: int = 0,
        up_to_id: int | None = None,
        sources: Sequence[str] = (),
    ) -> list[Post]:
        """Newest first by publication date (first sight when a feed gave none); `sources` empty
        means every source."""
        newest = sa.func.coalesce(posts.c.published, posts.c.first_seen)
        query = (
            sa.select(posts)
            .where(_post_filter(after_id, up_to_id, sources))
            .order_by(newest.desc(), posts.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_to_post(row) for row in conn.execute(query).mappings()]

    def posts_between(
        self, since: datetime, until: datetime, *, sources: Sequence[str] = ()
    ) -> list[Post]:
        """Posts published (or first seen, when a feed gave no date) from `since` to before
        `until`, oldest first: a week's posts for the roundup."""
        when = sa.func.coalesce(posts.c.published, posts.c.first_seen)
        query = (
            sa.select(posts)
            .where(_post_filter(0, None, sources), when >= since, when < until)
            .order_by(when, posts.c.id)
        )
        with self.engine.connect() as conn:
            return [_to_post(row) for row in conn.execute(query).mappings()]

    def post_ids_between(self, since: datetime, until: datetime) -> list[int]:
        """Ids of the posts published (or first seen, when a feed gave no date) from `since` to
        before `until`: the posts a question naming a period ("this week") may be answered from.
        Ids only: a year's posts are not read to answer one question."""
        when = sa.func.coalesce(posts.c.published, posts.c.first_seen)
        query = sa.select(posts.c.id).where(when >= since, when < until).order_by(posts.c.id)
        with self.engine.connect() as conn:
            return [int(i) for (i,) in conn.execute(query)]

    def changed_posts(self, after_id: int, updated_after: datetime | None) -> list[Post]:
        """Posts first seen after `after_id` or updated after `updated_after` (index sync)."""
        condition = posts.c.id > after_id
        if updated_after is not None:
            condition = sa.or_(condition, posts.c.updated_at > updated_after)
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(posts).where(condition).order_by(posts.c.id)).mappings()
            return [_to_post(row) for row in rows]

    def changed_post_ids(
        self, after_id: int, updated_after: datetime | None
    ) -> list[tuple[int, datetime]]:
        """(id, updated_at) of posts first seen after `after_id` or updated after `updated_after`,
        in id order: what a search index must re-read. Indexed on both columns, so a process that
        is up to date pays one index probe, not a table scan."""
        condition = posts.c.id > after_id
        if updated_after is not None:
            condition = sa.or_(condition, posts.c.updated_at > updated_after)
        query = sa.select(posts.c.id, posts.c.updated_at).where(condition).order_by(posts.c.id)
        with self.engine.connect() as conn:
            return [(int(i), at) for i, at in conn.execute(query)]

    def iter_posts(self, batch: int = 500) -> Iterator[Post]:
        """Every post in id order, streamed in batches (for index builds)."""
        last = 0
        while True:
            query = sa.select(posts).where(posts.c.id > last).order_by(posts.c.id).limit(batch)
            with self.engine.connect() as conn:
                rows = [_to_post(row) for row in conn.execute(query).mappings()]
            if not rows:
                return
            yield from rows
            last = rows[-1].id

    def posts_by_ids(self, post_ids: Sequence[int]) -> list[Post]:
        """The posts with these ids, in the order given (missing ones left out)."""
        if not post_ids:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(posts).where(posts.c.id.in_(list(post_ids)))).mappings()
            found = {row["id"]: _to_post(row) for row in rows}
        return [found[i] for i in post_ids if i in found]

    # -- summaries --------------------------------------------------------------------------------

    def cached_summary(
        self, content_hash: str, key: tuple[str, str, str], sentences: int
    ) -> list[str] | None:
        """Summary sentences made before for this exact text by this summarizer, model and prompt."""
        summarizer, model, prompt_version = key
        query = sa.select(summaries.c.summary).where(
            summaries.c.content_hash == content_hash,
            summaries.c.summarizer == summarizer,
            summaries.c.model == model,
            summaries.c.prompt_version == prompt_version,
            summaries.c.sentences == sentences,
        )
        with self.engine.connect() as conn:
            found = conn.execute(query).scalar()
        return None if found is None else [str(s) for s in found]

    def cache_summary(
        self, content_hash: str, key: tuple[str, str, str], sentences: int, summary: Sequence[str]
    ) -> None:
        summarizer, model, prompt_version = key
        row = {
            "content_hash": content_hash,
            "summarizer": summarizer,
            "model": model,
            "prompt_version": prompt_version,
            "sentences": sentences,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    summaries.insert().values(**row, summary=list(summary), created_at=_now())
                )
        except sa.exc.IntegrityError:
            pass  # already cached (first write wins, whichever process made it)

    # -- cursors ----------------------------------------------------------------------------------

    def cursor(self, name: str) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(cursors.c.last_post_id).where(cursors.c.name == name)
            ).scalar()
        return int(value or 0)

    def advance_cursor(self, name: str, post_ids: Sequence[int]) -> None:
        """Mark posts as shown to `name`. Never moves backwards."""
        if not post_ids:
            return
        target = max(post_ids)
        with self.engine.begin() as conn:
            current = conn.execute(
                sa.select(cursors.c.last_post_id).where(cursors.c.name == name)
            ).scalar()
            if current is None:
                conn.execute(
                    cursors.insert().values(name=name, last_post_id=target, updated_at=_now())
                )
            elif target > current:
                conn.execute(
                    cursors.update()
                    .where(cursors.c.name == name)
                    .values(last_post_id=target, updated_at=_now())
                )


def _sqlite_pragmas(*, read_only: bool) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        if not read_only:  # switching to WAL writes the file header
            cur.execute("PRAGMA journal_mode=WAL")
        cur.close()

    return on_connect


def _sqlite_path(url: sa.URL) -> str | None:
    """The file a plain SQLite URL names; None for memory databases and `file:` URIs."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:") or url.query.get("uri"):
        return None
    return os.path.abspath(database)


def _sqlite_read_mode(url: sa.URL, path: str) -> tuple[sa.URL, bool]:
    """`url` unchanged for a file we can write (or create); else a read-only URI for it.

    `mode=ro` still needs the WAL index (`-shm`) beside the file; when that cannot be created and no
    WAL is pending, the file is opened `immutable`, which reads it without any lock or side file.
    """
    folder = os.path.dirname(path) or "."
    if not os.path.exists(path) or (os.access(path, os.W_OK) and os.access(folder, os.W_OK)):
        return url, False
    # immutable ignores a -wal file, so it is only safe when there is none (nothing unmerged).
    cannot_index = not os.access(folder, os.W_OK) and not os.path.exists(path + "-shm")
    no_wal = not os.path.exists(path + "-wal")
    mode = {"immutable": "1"} if cannot_index and no_wal else {"mode": "ro"}
    query = {**url.query, **mode, "uri": "true"}
    return url.set(database="file:" + quote(path, safe="/"), query=query), True


def describe_db_error(exc: BaseException, where: str, doing: str = "") -> str:
    """A plain reason for a database failure: locked, read-only, damaged, cannot open or connect.

    The driver's own words are kept in brackets; anything unrecognised keeps its first line.
    """
    orig = getattr(exc, "orig", None) or exc
    reason = _short(orig)
    text = reason.lower()
    if "locked" in text:
        return f"the database {where} is locked by another process; try again when it has finished"
    if "readonly database" in text or "read-only" in text:
        return f"the database {where} is read-only ({reason})"
    if "malformed" in text:
        return _damaged(where, reason)
    if "not a database" in text:
        return (
            f"{where} is not a SQLite database, or is damaged ({reason}); check the path, "
            "or restore the file from a backup"
        )
    if "unable to open database file" in text:
        return (
            f"cannot open the database file {where} ({reason}); check that its folder exists "
            "and that briefbot may write there"
        )
    if isinstance(exc, sa.exc.OperationalError) and "connect" in text:
        return f"cannot connect to the database {where} ({reason})"
    return f"{doing or 'error in'} database {where}: {reason}"


def _damaged(where: str, reason: str) -> str:
    return f"{where} is damaged ({reason}); restore it from a backup or move it aside"


def _now() -> datetime:
    return datetime.now(UTC)


def _write_stamp(conn: Connection) -> datetime:
    """The `updated_at` of the posts this transaction writes, taken once no other writer of posts
    can commit before it (SQLite's write lock; a transaction-scoped advisory lock and the server's
    clock on PostgreSQL, so hosts' clocks need not agree). Stamps then rise in commit order, and a
    search index that reads "changed after the newest stamp I have" misses no edit."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_POSTS_WRITE_LOCK)))
        stamp: datetime = conn.execute(sa.select(sa.func.clock_timestamp())).scalar_one()
        return stamp.astimezone(UTC)
    if conn.dialect.name == "sqlite":
        conn.execute(sa.text("UPDATE posts SET id = id WHERE 0"))  # takes the write lock
    return _now()


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:300]


def _post_filter(
    after_id: int, up_to_id: int | None, sources: Sequence[str]
) -> sa.ColumnElement[bool]:
    conditions = [posts.c.id > after_id]
    if up_to_id is not None:
        conditions.append(posts.c.id <= up_to_id)
    if sources:
        conditions.append(posts.c.source.in_(list(sources)))
    return sa.and_(*conditions)


def _find_alias(conn: Connection, keys: list[str]) -> int | None:
    if not keys:
        return None
    query = sa.select(post_aliases.c.post_id).where(post_aliases.c.alias.in_(keys))
    found = conn.execute(query).scalars().first()
    return None if found is None else int(found)


def _aliases_of(conn: Connection, keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    unique = list(dict.fromkeys(keys))
    for i in range(0, len(unique), 500):
        chunk = unique[i : i + 500]
        query = sa.select(post_aliases.c.alias, post_aliases.c.post_id).where(
            post_aliases.c.alias.in_(chunk)
        )
        found.update({alias: int(pid) for alias, pid in conn.execute(query)})
    return found


def _hashes_of(conn: Connection, post_ids: set[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    ids = sorted(post_ids)
    for i in range(0, len(ids), 500):
        query = sa.select(posts.c.id, posts.c.content_hash).where(posts.c.id.in_(ids[i : i + 500]))
        found.update({int(pid): str(h) for pid, h in conn.execute(query)})
    return found


def _post_values(item: NewPost) -> dict[str, Any]:
    parts = item.parts
    return {
        "source": item.source,
        "url": item.url,
        "guid": item.guid,
        "title": parts.title,
        "published": item.published,
        "category": parts.category,
        "date_line": parts.date_line,
        "body": parts.body,
        "take_label": parts.take_label,
        "take": parts.take,
        "attributions": list(parts.attributions),
        "content_hash": item.content_hash,
        "tags": list(item.tags),
        "categories": list(item.categories),
    }


def post_tags(title: str, body: str, take: str, categories: Sequence[str]) -> tuple[str, ...]:
    """A post's tags from its parts: the title, then body and take read as one text."""
    return tag_post(title, f"{body}\n\n{take}" if take else body, categories)


def _to_post(row: sa.RowMapping) -> Post:
    tags, text = row["tags"], (row["title"], row["body"], row["take"])
    categories = tuple(row["categories"] or ())
    return Post(
        id=row["id"],
        source=row["source"],
        url=row["url"],
        guid=row["guid"],
        title=row["title"],
        published=row["published"],
        category=row["category"],
        date_line=row["date_line"],
        body=row["body"],
        take_label=row["take_label"],
        take=row["take"],
        attributions=tuple(row["attributions"]),
        content_hash=row["content_hash"],
        first_seen=row["first_seen"],
        updated_at=row["updated_at"],
        edited=bool(row["edited"]),
        tags=tuple(tags) if tags is not None else post_tags(*text, categories),
        categories=categories,
    )
