"""Schema migrations: Alembic revisions, applied at open, configured here in code (no alembic.ini).

Each layer owns its tables and a branch of revisions: `briefings/migrations/` (branch "briefings":
sources, posts, aliases, cursors, summaries) and `bot/migrations/` (branch "bot": subscriptions,
deliveries, coordination tables; its first revision depends on the briefings baseline). Both record
their heads in the one `alembic_version` table. A revision's id starts with its branch label and an
underscore and a number (`briefings_0009`, `bot_0010`): a layer that knows only its own revisions
(the core never imports `bot`) can then tell another layer's rows from a revision newer than this
code (same label, higher number) and from one that is no briefbot's (anything else: junk, another
project's id, a number of this branch that it never had). The labels of briefbot's layers are
listed here (`BRANCHES`), so an id of that form with any other label is another project's too.

Databases made by the in-house migrator before Alembic (table `schema_version`, versions 1..7) are
adopted: each revision that matches an old step says so with `legacy_version = N`, the branch is
stamped at the newest revision whose old steps are all recorded, and the rest is applied as usual.

Several processes may start at once: on PostgreSQL the migration runs under an advisory transaction
lock; on SQLite under the database's write lock (BEGIN IMMEDIATE). The plan is read again once the
lock is held, so the second process finds nothing left to do.

Every start opens the database, and nearly always its schema is already current: that case is told
from the version table and the revision files' names (`rNNNN_*.py` holds revision `LABEL_NNNN`)
without loading Alembic or the revisions, which would cost each start a tenth of a second.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from briefings.errors import StoreError
from briefings.urls import shown_db_url

if TYPE_CHECKING:  # Alembic is imported only when a schema needs reading or changing
    from alembic.script import Script, ScriptDirectory

BRIEFINGS_REVISIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"
LEGACY_TABLE = "schema_version"
LEGACY_NEWEST = 7  # the last step of the in-house migrator
MIGRATION_LOCK = 0x62726566  # advisory lock key held while migrating (PostgreSQL)
# Every revision id is its branch label, an underscore and a number that only grows: "bot_0010".
_REVISION_ID = re.compile(r"([a-z]+)_(\d+)")
# ... and lives in a file named for that number: bot_0010 in r0010_json_sources.py.
_REVISION_FILE = re.compile(r"r(\d+)_\w+\.py")
BRANCHES = frozenset({"briefings", "bot"})  # the labels of briefbot's layers (core, bot)

# Alembic's own definition of its version table, so an adopted database can be stamped before the
# first revision runs (Alembic creates the same table when it starts from nothing).
_version_table = sa.Table(
    VERSION_TABLE,
    sa.MetaData(),
    sa.Column("version_num", sa.String(32), nullable=False),
    sa.PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"),
)
_legacy_table = sa.Table(LEGACY_TABLE, sa.MetaData(), sa.Column("version", sa.Integer))


@dataclass(frozen=True, slots=True)
class Plan:
    """What bringing one branch to its head takes: a stamp (adopting an old database), then steps."""

    stamp: str | None
    steps: tuple[str, ...]

    def __bool__(self) -> bool:
        return self.stamp is not None or bool(self.steps)


class Migrator:
    """Brings one branch of the schema to its head on one database."""

    def __init__(
        self,
        engine: Engine,
        branch: str,
        locations: Sequence[Path],
        *,
        label: str = "",
        read_only: bool = False,
    ) -> None:
        self.engine = engine
        self.branch = branch
        self.locations = tuple(str(p) for p in locations)  # the branch's own revisions first
        self.label = label or shown_db_url(engine.url)
        self.read_only = read_only

    @functools.cached_property
    def script(self) -> ScriptDirectory:
        return _script(self.locations)

    def plan(self) -> Plan:
        with self.engine.connect() as conn:
            return self._plan(conn)[0]

    def upgrade(self) -> list[str]:
        """Apply what is pending; returns the revisions applied. A current schema is only read."""
        if self.is_current() or not self.plan():
            return []
        if self.read_only:
            raise StoreError(
                f"the database {self.label} is read-only and needs upgrading (schema {self.branch} "
                f"to {self.head()}); run briefbot once with write access to it"
            )
        with self.engine.connect() as conn:
            _lock(conn)
            from alembic.operations import Operations
            from alembic.runtime.migration import MigrationContext

            plan, steps = self._plan(conn)  # again: another process may have migrated meanwhile
            if plan.stamp is not None:
                _version_table.create(conn, checkfirst=True)
                conn.execute(_version_table.insert().values(version_num=plan.stamp))
            context = MigrationContext.configure(
                conn,
                opts={
                    "fn": lambda _heads, _context: steps,
                    # SQLite cannot ALTER most things in place: revisions use batch operations.
                    "render_as_batch": conn.dialect.name == "sqlite",
                },
            )
            with Operations.context(context):
                context.run_migrations()
            conn.commit()
        return list(plan.steps)

    def is_current(self) -> bool:
        """True when the database records this branch's newest revision and nothing but that and
        other briefbot layers' revisions (read without Alembic). False: the full plan decides, and
        names anything wrong."""
        head = _newest_file(self.locations[0], self.branch)
        with self.engine.connect() as conn:
            recorded = read_heads(conn)
        others = [_id_parts(r)[0] for r in recorded if r != head]
        return head in recorded and all(f in BRANCHES and f != self.branch for f in others)

    def head(self) -> str:
        return str(self.script.revision_map.get_current_head(self.branch))

    def _plan(self, conn: Connection) -> tuple[Plan, list[Any]]:
        current, stamp = self._current(conn)
        steps = self.script._upgrade_revs(f"{self.branch}@head", cast(Any, tuple(current)))
        return Plan(stamp=stamp, steps=tuple(step.revision.revision for step in steps)), steps

    def _current(self, conn: Connection) -> tuple[list[str], str | None]:
        """The recorded heads this script knows, plus the stamp an old database needs (if any)."""
        known = _known(self.script)
        newest = _newest(known)
        heads = []
        for head in read_heads(conn):
            family, number = _id_parts(head)
            if head in known:
                heads.append(head)
            elif family in BRANCHES and family not in newest:
                continue  # another layer's revision (the core does not know the bot's)
            elif family in newest and number is not None and number > newest[family]:
                raise StoreError(
                    f"the database {self.label} has schema revision {head}, newer than this "
                    f"briefbot knows ({self.head()}); upgrade briefbot to use it"
                )
            else:
                raise StoreError(
                    f"the database {self.label} holds schema revision {head!r}, which this "
                    "briefbot does not know and no newer briefbot would write (this one's "
                    f"revisions end at {self.head()}): it is another program's database, or its "
                    f"{VERSION_TABLE} table was edited; point briefbot at its own database"
                )
        if any(h.split("_", 1)[0] == self.branch for h in heads):
            return heads, None
        stamp = self._adopted(conn)
        return ([*heads, stamp] if stamp else heads), stamp

    def _adopted(self, conn: Connection) -> str | None:
        """For a database of the old migrator: the newest revision of this branch all of whose
        old steps it records (None: a new database, or none of this branch's steps were run)."""
        if not sa.inspect(conn).has_table(LEGACY_TABLE):
            return None
        done = set(conn.execute(sa.select(_legacy_table.c.version)).scalars())
        if done and max(done) > LEGACY_NEWEST:
            raise StoreError(
                f"the database {self.label} has schema version {max(done)}, newer than this "
                f"briefbot knows (v{LEGACY_NEWEST}); upgrade briefbot to use it"
            )
        stamp = None
        for script in _chain(self.script, self.branch):
            version = getattr(script.module, "legacy_version", None)
            if version is None or version not in done:
                break
            stamp = script.revision
        return stamp


def _id_parts(revision: str) -> tuple[str | None, int | None]:
    """("bot", 10) for "bot_0010"; (None, None) for an id not of that form (not briefbot's)."""
    match = _REVISION_ID.fullmatch(revision)
    return (match[1], int(match[2])) if match else (None, None)


def _newest(known: frozenset[str]) -> dict[str, int]:
    """The highest revision number of each branch in `known`: a higher one is a newer briefbot's."""
    newest: dict[str, int] = {}
    for revision in known:
        family, number = _id_parts(revision)
        if family is not None and number is not None:
            newest[family] = max(number, newest.get(family, 0))
    return newest


def read_heads(conn: Connection) -> list[str]:
    """Every revision recorded in the version table (any branch), sorted; none for a new database."""
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return []
    return sorted(str(v) for v in conn.execute(sa.select(_version_table.c.version_num)).scalars())


def _lock(conn: Connection) -> None:
    """Serialise migrations across processes until `conn` commits."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK)))
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # DDL too runs inside this write transaction


@functools.cache
def _newest_file(location: str, branch: str) -> str:
    """The branch's newest revision id, from the numbers in its revision files' names."""
    numbers = [int(m[1]) for name in os.listdir(location) if (m := _REVISION_FILE.fullmatch(name))]
    return f"{branch}_{max(numbers):04d}"


@functools.cache
def _script(locations: tuple[str, ...]) -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(locations[0], version_locations=list(locations))


@functools.cache
def _known_ids(locations: tuple[str, ...]) -> frozenset[str]:
    return frozenset(s.revision for s in _script(locations).walk_revisions())


def _known(script: ScriptDirectory) -> frozenset[str]:
    return _known_ids(tuple(script.version_locations))


def _chain(script: ScriptDirectory, branch: str) -> list[Script]:
    """The branch's revisions from its base to its head."""
    revisions = script.iterate_revisions(f"{branch}@head", "base")
    from alembic.script import Script

    return [r for r in reversed(list(revisions)) if isinstance(r, Script) and branch in _labels(r)]


def _labels(script: Script) -> set[str]:
    return set(script.branch_labels)
