from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from briefings.store import Store
from tests.fixtures.feed_server import FeedServer
from tests.fixtures.llm_server import LLMServer

PG_URL_ENV = "BRIEFBOT_TEST_PG_URL"

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


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema on the test PostgreSQL, dropped afterwards."""
    base = _pg_url_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
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
def migrated_db_url(db_url: str, request: pytest.FixtureRequest) -> str:
    """`db_url` with the core's and the bot's tables in place: on SQLite a copy of the session's migrated file
    (a migration per test costs more than the test); on PostgreSQL the schema is migrated by the
    first `Store.open`. Tests of migrating itself take `db_url`, which starts empty."""
    if db_url.startswith("sqlite:///"):
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, db_url.removeprefix("sqlite:///"))
    return db_url


@pytest.fixture
def store(migrated_db_url: str) -> Iterator[Store]:
    opened = Store.open(migrated_db_url)
    yield opened
    opened.close()
