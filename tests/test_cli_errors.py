"""What a user sees when the database, the output or the input goes wrong: one line, a known exit code.

Each test damages something real (a SQLite file's page, its permissions, a lock held by another
connection, a pipe whose reader has gone) and runs the command as a person would.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from briefings.store import Store
from tests.fixtures import forkserver
from tests.fixtures.feed_server import FeedServer, Route
from tests.fixtures.legacy_schema import make_legacy_database
from tests.fixtures.posts import ALL_POSTS, rss_feed

BRIEFBOT = Path(sys.executable).with_name("briefbot")
EXIT_PIPE = 141  # README "Exit codes": output closed early
QUESTION = "What are the EU and Japan negotiating about?"


@pytest.fixture
def db(cwd: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]) -> Path:
    """briefbot.db in the working directory, holding the three fixture posts; config.toml reads a
    loopback feed, so `doctor` and `digest` never leave the machine."""
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, ALL_POSTS))
    (cwd / "config.toml").write_text(
        f'[[sources]]\nname = "irinfive"\nurl = "{feed_server.url("/feed/")}"\n'
    )
    assert main(["ingest"]) == 0
    capsys.readouterr()
    path = cwd / "briefbot.db"
    assert not (cwd / "briefbot.db-wal").exists()  # checkpointed at close: the file is whole
    return path


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("briefbot: "), err
    return lines[0]


def damage_page_of(path: Path, table: str) -> None:
    """Overwrite the head of the page holding `table`'s rows, as a failing disk might."""
    with sqlite3.connect(path) as conn:
        page = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)
        ).fetchone()
        page_size, pages = (
            conn.execute("PRAGMA page_size").fetchone()[0],
            conn.execute("PRAGMA page_count").fetchone()[0],
        )
    conn.close()
    assert 1 < page[0] < pages  # a page in the middle of the file
    with path.open("r+b") as f:
        f.seek((page[0] - 1) * page_size)
        f.write(b"\xff" * 64)


# -- a damaged file -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", [["posts"], ["digest", "--no-refresh"], ["ask", QUESTION], ["search", "tariff"]]
)
def test_a_damaged_file_is_one_line_naming_it(
    db: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    damage_page_of(db, "posts")
    assert main(command) == 1
    line = one_error_line(capsys.readouterr().err)
    assert line == (
        f"briefbot: database error: {db} is damaged (database disk image is malformed); "
        "restore it from a backup or move it aside"
    )


def test_doctor_reports_a_damaged_file_as_failed(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An index page: counting posts still works, so only a real check of the file finds this.
    damage_page_of(db, "post_aliases")
    assert main(["doctor"]) == 1
    out, err = capsys.readouterr()
    assert err == ""
    assert f"database: FAILED: {db} is damaged" in out
    assert "feed irinfive: ok" in out


# -- a read-only file -----------------------------------------------------------------------------


def unprivileged(probe: Path) -> bool:
    """Whether commands must drop root's capabilities for file modes to bind (root ignores
    chmod 444 otherwise). Skips when even that leaves `probe` writable here."""
    if os.geteuid() != 0:
        return False
    check = (
        "import sys\n"
        "try:\n"
        f"    open({str(probe)!r}, 'ab').close()\n"
        "except PermissionError:\n"
        "    sys.exit(0)\n"
        "sys.exit(1)\n"
    )
    if forkserver.run([sys.executable, "-c", check], without_capabilities=True).returncode:
        pytest.skip("root's capabilities could not be dropped here, so nothing is read-only")
    return True


def run_cli(drop: bool, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return forkserver.run(
        [str(BRIEFBOT), *args],
        without_capabilities=drop,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={k: v for k, v in os.environ.items() if not k.startswith("BRIEFBOT_")},
    )


@pytest.fixture
def read_only_db(db: Path) -> Iterator[tuple[bool, Path]]:
    """The database file and its folder made read-only (so no -wal or -shm can be created)."""
    folder = db.parent / "ro"
    folder.mkdir()
    path = folder / "briefbot.db"
    shutil.copy(db, path)
    shutil.copy(db.parent / "config.toml", folder / "config.toml")
    path.chmod(0o444)
    folder.chmod(0o555)
    try:
        yield unprivileged(path), path
    finally:
        folder.chmod(0o755)


def digest_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["posts", "--json"], "EU and Japan Open Tariff Talks"),
        (["search", "tariff"], "EU and Japan Open Tariff Talks"),
        (["ask", QUESTION], "tariffs"),
    ],
)
def test_reading_commands_work_on_a_read_only_file(
    read_only_db: tuple[bool, Path], command: list[str], expected: str
) -> None:
    drop, path = read_only_db
    before = digest_of(path), sorted(os.listdir(path.parent))
    result = run_cli(drop, path.parent, *command)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout
    assert result.stderr == ""
    assert (digest_of(path), sorted(os.listdir(path.parent))) == before  # nothing written


def test_digest_on_a_read_only_file_says_so(read_only_db: tuple[bool, Path]) -> None:
    drop, path = read_only_db
    result = run_cli(drop, path.parent, "digest", "--no-refresh")
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert f"the database {path} is read-only" in line
    assert "digest records which posts it has shown" in line
    assert "cannot migrate" not in line
    assert result.stdout == ""


def test_a_read_only_file_that_needs_upgrading_says_so(cwd: Path) -> None:
    old = Store.open(f"sqlite:///{cwd / 'old.db'}", migrate=False)
    make_legacy_database(old.engine, 1)  # as the in-house migrator's first release left it
    old.close()
    (cwd / "old.db").chmod(0o444)
    drop = unprivileged(cwd / "old.db")
    result = run_cli(drop, cwd, "--db", "sqlite:///old.db", "posts")
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert f"the database {cwd / 'old.db'} is read-only and needs upgrading" in line
    assert "cannot migrate" not in line


def test_a_read_only_file_without_wal_in_a_writable_folder_is_read(db: Path) -> None:
    """A file in rollback-journal mode (made by the sqlite3 tool, say) is read as it is: switching
    it to WAL would be a write."""
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    db.chmod(0o444)
    drop = unprivileged(db)
    before = digest_of(db)
    result = run_cli(drop, db.parent, "posts")
    assert result.returncode == 0, result.stderr
    assert "EU and Japan Open Tariff Talks" in result.stdout
    assert digest_of(db) == before


# -- a lock held by another process ---------------------------------------------------------------


def test_a_locked_database_is_one_line_and_loses_nothing(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (db.parent / "config.toml").open("a") as config:
        config.write("[database]\nbusy_timeout_seconds = 0.5\n")
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        assert main(["digest", "--no-refresh"]) == 1  # waits database.busy_timeout_seconds
        assert one_error_line(capsys.readouterr().err) == (
            f"briefbot: database error: the database {db} is locked by another process; "
            "try again when it has finished"
        )
    finally:
        holder.rollback()
        holder.close()
    assert main(["digest", "--no-refresh", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["items"]) == 3


# -- output closed early --------------------------------------------------------------------------


def run_into_closed_pipe(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run with stdout a pipe nobody reads any more, as `briefbot ... | head` after head exits."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return forkserver.run(
            [str(BRIEFBOT), *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            cwd=cwd,
            env={k: v for k, v in os.environ.items() if not k.startswith("BRIEFBOT_")},
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize("command", [["posts", "--json"], ["search", "tariff"], ["ask", QUESTION]])
def test_a_closed_pipe_ends_quietly(db: Path, command: list[str]) -> None:
    result = run_into_closed_pipe(db.parent, *command)
    assert (result.returncode, result.stderr) == (EXIT_PIPE, "")


def test_a_digest_that_could_not_be_printed_stays_unseen(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_into_closed_pipe(db.parent, "digest", "--no-refresh")
    assert (result.returncode, result.stderr) == (EXIT_PIPE, "")
    assert main(["digest", "--no-refresh", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["items"]) == 3


# -- careless input -------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["summarize"], ["ask", "--batch"]])
def test_a_line_that_is_not_utf8_is_skipped_with_its_number(
    db: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    batch = db.parent / "in.jsonl"
    good = {"id": "a", "text": "The talks opened in Tokyo on Monday.", "question": QUESTION}
    batch.write_bytes(json.dumps(good).encode() + b'\n{"id": "b", "text": "caf\xe9"}\n')
    assert main([*command, str(batch)]) == 1
    out, err = capsys.readouterr()
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["a"]
    assert one_error_line(err) == f"briefbot: {batch}:2: skipped: not UTF-8 text (byte 25)"


@pytest.mark.parametrize("command", [["summarize"], ["ask", "--batch"], ["tags"]])
def test_a_lone_surrogate_is_shown_as_a_replacement_character(
    db: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """JSON can escape half a UTF-16 pair, which no UTF-8 output holds: in text it reads as
    U+FFFD, in an id the line is skipped, and every other line is answered."""
    batch = db.parent / "in.jsonl"
    lines = [
        r'{"id": "a", "text": "Odd \ud800 here. Fine.", "question": "What did \ud800 say?",'
        r' "posts": ["https://irinfive.com/p/\udfff"], "title": "\ud800"}',
        r'{"id": "\ud800", "text": "The talks opened.", "question": "Where?"}',
        json.dumps({"id": "b", "text": "Later line about the talks.", "question": QUESTION}),
    ]
    batch.write_text("\n".join(lines) + "\n")
    assert main([*command, str(batch)]) == 1
    out, err = capsys.readouterr()
    out.encode("utf-8")  # what a real standard output does: no lone surrogate is left to fail it
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["a", "b"]
    assert one_error_line(err) == (
        f'briefbot: {batch}:2: skipped: "id" holds a lone surrogate'
        r" (a \u escape of half a UTF-16 pair), not text"
    )
    if command == ["summarize"]:
        assert json.loads(out.splitlines()[0])["summary"] == "Odd \ufffd here.\nFine."


@pytest.mark.parametrize("command", [["posts"], ["search", "tariff"]])
def test_a_huge_limit_is_a_usage_error(
    db: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--limit", str(2**64)])
    assert exit_.value.code == 2
    assert "argument --limit: must be from 1 to 1,000,000" in capsys.readouterr().err


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///{tmp}", "{tmp} is a folder; the database URL needs a file in it"),
        (
            "sqlite:///{tmp}/no-such-dir/x.db",
            "cannot open the database file {tmp}/no-such-dir/x.db",
        ),
        ("sqlite:///{tmp}/config.toml", "{tmp}/config.toml is not a SQLite database"),
        ("sqlite:///{tmp}/x.db?timeout=soon", "cannot use database {tmp}/x.db: could not convert"),
        ("postgresql://bot@127.0.0.1:{port}/db", "cannot connect to the database"),
    ],
)
def test_a_bad_database_url_is_one_line(
    db: Path, url: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tmp, port = db.parent, closed_port()
    assert main(["--db", url.format(tmp=tmp, port=port), "posts"]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert expected.format(tmp=tmp) in line


@pytest.mark.parametrize(
    "question",
    [
        "   ",
        "\t \n",
        "@everyone",
        "<!channel> @here",
        "@everyone ?",
        "<!channel>!!",
        "@here, ",
        "?",
    ],
)
def test_a_blank_question_is_the_same_usage_error_as_an_empty_one(
    db: Path, question: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", question]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert one_error_line(err) == "briefbot: ask needs a question, or --batch FILE.jsonl"


@pytest.mark.parametrize("query", ["", "   ", "\t \n", "@everyone", "<!channel> @here ?"])
def test_a_blank_search_is_a_usage_error_like_a_blank_question(
    db: Path, query: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", query]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert one_error_line(err) == "briefbot: search needs words or tag: terms"


@pytest.mark.parametrize(
    "secret_in", ["?password=Zq9SECRET", "?sslmode=disable&PassWord=Zq9SECRET"]
)
def test_a_password_in_a_database_url_query_is_never_shown(
    db: Path, secret_in: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"postgresql://ann@127.0.0.1:{closed_port()}/db{secret_in}"
    assert main(["--db", url, "posts"]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert "Zq9SECRET" not in line
    assert "password=***" in line.lower()
    monkeypatch.setenv("BRIEFBOT_DATABASE_URL", url)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "database: FAILED" in out
    assert "Zq9SECRET" not in out


@pytest.mark.parametrize(
    ("url", "shown", "why"),
    [
        ("postgresql://ann:pw@[::1/db", "postgresql://ann:***@[::1/db", "host or port"),
        ("postgresql://ann:pw@127.0.0.1:123456/db", "127.0.0.1:123456/db", "port 123456"),
        ("nonsense", "nonsense", "dialect://"),
    ],
)
def test_a_malformed_database_url_is_a_usage_error_naming_it(
    db: Path,
    url: str,
    shown: str,
    why: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert main(["--db", url, "posts"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith("briefbot: --db: '")
    assert shown in line and "is not a valid database URL" in line and why in line
    assert ":pw@" not in line
    monkeypatch.setenv("BRIEFBOT_DATABASE_URL", url)
    assert main(["doctor"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith("briefbot: BRIEFBOT_DATABASE_URL: ") and shown in line
