"""Schema migrations (Alembic, briefings and bot branches) on real SQLite files and PostgreSQL:
new databases, databases the old in-house migrator made (adopted, nothing lost), processes
starting together, and a database newer than this code."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import tables as bot_tables
from bot.outbox_store import OutboxStore
from briefings import migrate
from briefings import store as core_store
from briefings.migrate import BRIEFINGS_REVISIONS, Migrator
from briefings.models import PostParts
from briefings.store import NewPost, Store, StoreError
from tests.fixtures import forkserver, legacy_schema

ROOT = Path(__file__).resolve().parent.parent


def heads() -> list[str]:
    engine = sa.create_engine("sqlite://")
    briefings = Migrator(engine, "briefings", [BRIEFINGS_REVISIONS]).head()
    return sorted([briefings, bot_tables.migrator(engine).head()])


def open_both(url: str) -> Store:
    """What the bot does at start: the core's store, then the bot's tables."""
    store = Store.open(url)
    OutboxStore(store.engine)
    return store


def schema_of(engine: sa.Engine) -> dict[str, object]:
    """Tables, columns (nullability, JSON or not), indexes and unique constraints, as the database
    reports them. (SQLite keeps JSON as text either way, so there JSON-ness is not compared.)"""
    found: dict[str, object] = {}
    inspector = sa.inspect(engine)
    sqlite = engine.dialect.name == "sqlite"
    for table in sorted(inspector.get_table_names()):
        if table in ("alembic_version", "schema_version"):
            continue
        columns = {
            c["name"]: (c["nullable"], isinstance(c["type"], sa.JSON) and not sqlite)
            for c in inspector.get_columns(table)
        }
        indexes = {
            i["name"]: tuple(i["column_names"])
            for i in inspector.get_indexes(table)
            if not i.get("duplicates_constraint")  # PostgreSQL lists unique constraints here too
        }
        uniques = sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table))
        found[table] = (columns, indexes, uniques)
    return found


def declared_schema(dialect: str) -> dict[str, object]:
    """The same, from the tables the code declares (core and bot)."""
    declared: dict[str, object] = {}
    tables = [*core_store.metadata.sorted_tables, *bot_tables.metadata.sorted_tables]
    for table in sorted(tables, key=lambda t: t.name):
        columns = {
            c.name: (c.nullable, isinstance(c.type, sa.JSON) and dialect != "sqlite")
            for c in table.columns
        }
        indexes = {str(i.name): tuple(c.name for c in i.columns) for i in table.indexes}
        uniques = sorted(
            tuple(c.name for c in u.columns)
            for u in table.constraints
            if isinstance(u, sa.UniqueConstraint)
        )
        declared[table.name] = (columns, indexes, uniques)
    return declared


def test_a_new_database_gets_both_branches_and_the_declared_schema(db_url: str) -> None:
    store = open_both(db_url)
    try:
        assert store.schema_revisions() == heads()
        assert schema_of(store.engine) == declared_schema(store.engine.dialect.name)
        assert store.migrate() == []  # reopening finds nothing to do
    finally:
        store.close()
    again = Store.open(db_url)  # the core alone, beside the bot's revisions it does not know
    assert again.migrate() == [] and again.schema_revisions() == heads()
    again.close()


@pytest.mark.parametrize("version", [7, 5, 3, 1])
def test_an_old_database_is_adopted_and_upgraded_losing_nothing(db_url: str, version: int) -> None:
    engine = sa.create_engine(core_store.normalize_db_url(db_url))
    legacy_schema.make_legacy_database(engine, version)
    legacy_schema.write_old_rows(engine, version)
    engine.dispose()

    store = open_both(db_url)
    try:
        assert store.schema_revisions() == heads()
        assert schema_of(store.engine) == declared_schema(store.engine.dialect.name)
        post = store.post(1)
        assert post is not None and post.attributions == ("Reuters", "AP News")
        assert (post.title, post.take, post.published) == (
            "An old post",
            "An old take.",
            datetime(2025, 3, 1, 9, 0, tzinfo=UTC),
        )
        assert store.post_by_url("https://irinfive.com/old-post/") == post
        assert store.cursor("terminal") == 1
        state = store.source_state("irinfive")
        assert state is not None and state.etag == '"e1"'
        outbox = OutboxStore(store.engine)
        if version >= 2:
            cached = store.cached_summary("0" * 64, ("extractive", "", "1"), 3)
            assert cached == ["Old body.", "Two sentences here."]
        if version >= 3:
            sub = outbox.subscription("slack", "C1")
            assert sub is not None and sub.sources == ("irinfive",) and sub.active
            assert [d.status for d in outbox.deliveries_for(sub.id)] == ["sent"]
        # New rows go in beside the old ones.
        parts = PostParts("New post", "", "", ("A new post.",), "", "", ("Reuters",))
        fresh = NewPost("irinfive", "urn:new", "https://irinfive.com/new/", None, parts)
        assert store.save_posts([fresh]).new == 1
        assert store.latest_posts(5)[0].attributions == ("Reuters",)
        sub = outbox.save_subscription("discord", "D1", active=True, sources=["b", "a"])
        assert sub.sources == ("a", "b")
    finally:
        store.close()


def test_the_search_index_identity_of_an_adopted_database_is_kept(db_url: str) -> None:
    """The index on disk belongs to the database by its creation time; adopting keeps it."""
    from briefings.index import store_identity

    engine = sa.create_engine(core_store.normalize_db_url(db_url))
    legacy_schema.make_legacy_database(engine, 7)
    engine.dispose()
    store = Store.open(db_url)
    try:
        created = legacy_schema.CREATED.replace(tzinfo=UTC).isoformat()
        assert store_identity(store) == f"{store.engine.dialect.name}:{created}"
    finally:
        store.close()


def _opener(url: str) -> str:
    return (
        "import sys\n"
        "from bot.outbox_store import OutboxStore\n"
        "from briefings.store import Store\n"
        f"store = Store.open({url!r})\n"
        "OutboxStore(store.engine)\n"
        "print(' '.join(store.schema_revisions()))\n"
    )


@pytest.mark.parametrize("version", [0, 3])
def test_two_processes_starting_at_once_migrate_once(db_url: str, version: int) -> None:
    if version:
        engine = sa.create_engine(core_store.normalize_db_url(db_url))
        legacy_schema.make_legacy_database(engine, version)
        legacy_schema.write_old_rows(engine, version)
        engine.dispose()
    procs = [
        forkserver.ForkedProcess(
            [sys.executable, "-c", _opener(db_url)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert out.split() == heads()
    store = open_both(db_url)
    try:
        assert schema_of(store.engine) == declared_schema(store.engine.dialect.name)
        if version:
            with store.engine.connect() as conn:
                count = conn.execute(sa.text("SELECT count(*) FROM deliveries")).scalar()
            assert count == 1 and store.count_posts() == 1
    finally:
        store.close()


@pytest.mark.postgres
def test_replicas_starting_together_on_an_empty_database_migrate_once(pg_url: str) -> None:
    start = threading.Barrier(3)
    errors: list[BaseException] = []
    opened: list[Store] = []

    def open_store() -> None:
        start.wait()
        try:
            opened.append(open_both(pg_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in opened:
        s.close()
    assert not errors, errors[0]
    assert len(opened) == 3


def _record_revision(url: str, old: str, new: str) -> None:
    engine = sa.create_engine(core_store.normalize_db_url(url))
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE alembic_version SET version_num = :new WHERE version_num = :old"),
            {"new": new, "old": old},
        )
    engine.dispose()


def test_a_database_newer_than_the_code_is_refused_in_one_line(db_url: str) -> None:
    open_both(db_url).close()
    core_head, bot_head = sorted(heads(), reverse=True)
    _record_revision(db_url, core_head, "briefings_9999")
    with pytest.raises(StoreError) as caught:
        Store.open(db_url)
    message = str(caught.value)
    assert "briefings_9999, newer than this briefbot knows" in message
    assert "\n" not in message

    _record_revision(db_url, "briefings_9999", core_head)
    _record_revision(db_url, bot_head, "bot_9999")
    store = Store.open(db_url)  # the core's own tables are current: it works on
    try:
        with pytest.raises(StoreError, match="bot_9999, newer than this briefbot knows"):
            OutboxStore(store.engine)
    finally:
        store.close()


def test_an_old_database_newer_than_the_old_migrator_we_know_is_refused(db_url: str) -> None:
    engine = sa.create_engine(core_store.normalize_db_url(db_url))
    legacy_schema.make_legacy_database(engine, 7, extra=(8,))
    engine.dispose()
    with pytest.raises(StoreError, match="schema version 8, newer than this briefbot knows"):
        Store.open(db_url)


def posts_fails(url: str) -> list[str]:
    """`briefbot posts` run on `url` as a person would: it must fail (exit 1); its stderr lines."""
    result = forkserver.run(
        [sys.executable, "-m", "bot.cli", "--db", url, "posts"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    return result.stderr.strip().splitlines()


def test_a_newer_database_stops_the_cli_with_one_line(cwd: Path) -> None:
    url = f"sqlite:///{cwd / 'briefbot.db'}"
    open_both(url).close()
    _record_revision(url, sorted(heads())[1], "briefings_9999")
    lines = posts_fails(url)
    assert len(lines) == 1 and "briefings_9999, newer than this briefbot knows" in lines[0]


def test_every_revision_id_starts_with_its_branch_label() -> None:
    script = bot_tables.migrator(sa.create_engine("sqlite://")).script
    for revision in script.walk_revisions():
        labels = set(revision.branch_labels)
        label = labels.pop() if len(labels) == 1 else ""
        # label_number: a higher number is a newer briefbot's; other ids are no briefbot's
        assert revision.revision.startswith(f"{label}_") and label
        assert revision.revision.removeprefix(f"{label}_").isdigit()
        assert Path(revision.path).parent.name == "migrations"
        # Its file is named for its number: a start reads the newest revision from the names.
        assert Path(revision.path).name.startswith(
            f"r{revision.revision.removeprefix(label + '_')}_"
        )


@pytest.mark.parametrize(
    ("recorded", "replaces"),
    [
        ("deadbeef", "briefings"),  # junk
        ("ae1027a6acf", "bot"),  # another project's Alembic revision (12 hex digits)
        ("briefings_0003", "briefings"),  # briefbot's form, a number below the head it never had
        ("bot_junk", "bot"),
        ("abc_0001", "bot"),  # another project's id in briefbot's form, a label briefbot never used
    ],
)
def test_a_revision_no_briefbot_wrote_is_named_as_unknown_not_as_newer(
    db_url: str, recorded: str, replaces: str
) -> None:
    open_both(db_url).close()
    head = next(h for h in heads() if h.startswith(f"{replaces}_"))
    _record_revision(db_url, head, recorded)
    with pytest.raises(StoreError) as caught:
        open_both(db_url).close()
    message = str(caught.value)
    assert f"holds schema revision {recorded!r}, which this briefbot does not know" in message
    assert "newer" not in message.replace("no newer briefbot", "")
    assert "\n" not in message
    # Stopped before touching anything: the row is as it was, no table made again.
    engine = sa.create_engine(core_store.normalize_db_url(db_url))
    with engine.connect() as conn:
        assert recorded in migrate.read_heads(conn)
    engine.dispose()


def test_an_unknown_revision_stops_the_cli_with_one_line(cwd: Path) -> None:
    url = f"sqlite:///{cwd / 'briefbot.db'}"
    open_both(url).close()
    _record_revision(url, sorted(heads())[1], "ae1027a6acf")
    lines = posts_fails(url)
    assert len(lines) == 1 and "'ae1027a6acf', which this briefbot does not know" in lines[0]
