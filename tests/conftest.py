from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from briefings.store import Store
from tests.fixtures.feed_server import FeedServer
from tests.fixtures.llm_server import LLMServer
from tests.fixtures.pg_schemas import SchemaPool, drop, new_schema_name, schema_url

PG_URL_ENV = "BRIEFBOT_TEST_PG_URL"

# Modules whose tests start processes, wait on them or step a clock through days, slowest first:
# collected first, they start first, so no xdist worker is left running one of them alone at the end.
SLOW_FIRST = (
    "test_scaleout",
    "test_run",
    "test_delivery",
    "test_coordination",
    "test_migrations",
    "test_cli_errors",
    "test_slack",
)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """An xdist worker ends without tearing its interpreter down: by the time its last exit handler
    runs it has sent every report, and freeing a worker's objects one by one kept the whole run
    waiting about a second at the end. Registered first, so it runs after every other exit handler
    (the fork server's included)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        atexit.register(_exit_now)


def _exit_now() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(0)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        stem = item.path.stem
        return SLOW_FIRST.index(stem) if stem in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: each module's tests keep their order


# slack_sdk and httpx read proxy variables; tests talk to loopback only.
for _name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    os.environ.pop(_name, None)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    yield server
    server.stop()


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    server = LLMServer()
    yield server
    server.stop()


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working directory, as a user running `briefbot` in an empty folder has: no
    config.toml and no database variables from the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BRIEFBOT_CONFIG", raising=False)
    monkeypatch.delenv("BRIEFBOT_DATABASE_URL", raising=False)
    return tmp_path


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'briefbot.db'}"


def _pg_url_or_skip() -> str:
    url = os.environ.get(PG_URL_ENV)
    if not url:
        pytest.skip(
            f"PostgreSQL tests need {PG_URL_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)"
        )
    return url


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[sa.Engine]:
    """One connection pool per session (per xdist worker) that makes and drops test schemas."""
    admin = sa.create_engine(_pg_url_or_skip().replace("postgresql://", "postgresql+psycopg://", 1))
    yield admin
    admin.dispose()


@contextmanager
def _pg_schema(admin: sa.Engine) -> Iterator[tuple[str, str]]:
    """A fresh schema on the test PostgreSQL and a URL whose search path is it; dropped after."""
    schema = new_schema_name()
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema, schema_url(_pg_url_or_skip(), schema)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def pg_url(pg_admin: sa.Engine) -> Iterator[str]:
    """A fresh schema on the test PostgreSQL, dropped afterwards."""
    with _pg_schema(pg_admin) as (_schema, url):
        yield url


@pytest.fixture(scope="session")
def pg_schemas(pg_admin: sa.Engine) -> Iterator[SchemaPool]:
    """Migrated schemas for `migrated_db_url`, emptied and reused (tests/fixtures/pg_schemas.py).

    The first is migrated by the code (the core's tables and the bot's), and what that sends is
    recorded; the others are made by replaying it: the same statements in the same order, without
    Alembic reading and planning the revisions again. The first stays untouched, as the model the
    others are emptied back to."""
    from bot.tables import ensure_schema

    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("SELECT", "SHOW")):  # reads change nothing
            sent.append((statement, parameters))

    def replayed() -> str:
        schema = new_schema_name()
        with pg_admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            conn.exec_driver_sql(f'SET LOCAL search_path TO "{schema}"')
            for statement, parameters in sent:
                conn.exec_driver_sql(statement, parameters)
        return schema

    pristine = new_schema_name()
    with pg_admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{pristine}"'))
    try:
        store = Store.open(schema_url(_pg_url_or_skip(), pristine), migrate=False)
        sa.event.listen(store.engine, "before_cursor_execute", record)
        store.migrate()
        ensure_schema(store.engine)
        store.close()
        assert sent and not any(pristine in statement for statement, _ in sent)
        pool = SchemaPool(pg_admin, pristine, replayed)
    except BaseException:
        drop(pg_admin, pristine)
        raise
    yield pool
    pool.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """The database a test runs on: each test taking `db_url` or `migrated_db_url` runs on both."""
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a new SQLite file, or a fresh PostgreSQL schema."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'briefbot.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session (per xdist worker), copied by `migrated_db_url`."""
    from bot.tables import ensure_schema

    path = tmp_path_factory.mktemp("template") / "migrated.db"
    store = Store.open(f"sqlite:///{path}")
    ensure_schema(store.engine)  # and the bot's, which every engine in the bot brings up
    store.close()
    return path


@pytest.fixture
def migrated_db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with the core's and the bot's tables in place, empty (a migration per test
    costs more than the test): on SQLite a copy of the session's migrated file; on PostgreSQL a
    migrated schema of the session's, emptied since its last test and under a name of its own, whose
    identity (when the database was made) is then its own. Tests of migrating take `db_url`."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "briefbot.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    pool: SchemaPool = request.getfixturevalue("pg_schemas")
    with pool.schema() as schema:
        with pool.admin.begin() as conn:
            conn.execute(
                sa.text(f'UPDATE "{schema}".database_identity SET created_at = :now'),
                {"now": datetime.now(UTC).replace(tzinfo=None)},
            )
        yield schema_url(_pg_url_or_skip(), schema)


@pytest.fixture
def store(migrated_db_url: str) -> Iterator[Store]:
    opened = Store.open(migrated_db_url)
    yield opened
    opened.close()
