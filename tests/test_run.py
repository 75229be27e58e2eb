"""`briefbot run`: the whole process, started as users start it, killed and stopped as systems do."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO

import pytest

from bot.cli import main
from bot.outbox_store import OutboxStore
from briefings.store import Store
from tests.fixtures import forkserver
from tests.fixtures.background import background_loop
from tests.fixtures.discord_server import CHANNEL as DISCORD_CHANNEL
from tests.fixtures.discord_server import FakeDiscord
from tests.fixtures.feed_server import FeedServer, Route
from tests.fixtures.posts import ALL_POSTS, rss_feed
from tests.fixtures.serving import serve_in_thread
from tests.fixtures.slack_server import SIGNING_SECRET, Canned, FakeSlack
from tests.test_delivery import World

ROOT = Path(__file__).resolve().parents[1]


class ChatServer:
    """Records messages; can hold the Nth request unanswered (the moment the test kills the sender)."""

    def __init__(self, hold_request: int = 0) -> None:
        self.received: list[dict[str, object]] = []
        self.hold_request = hold_request
        self.holding = threading.Event()
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.received.append(body)
                if len(outer.received) == outer.hold_request:
                    outer.holding.set()
                    outer.release.wait(30)
                    return
                reply = json.dumps({"id": f"msg-{len(outer.received)}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        serve_in_thread(self.server)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def child(db_url: str, chat_url: str, now: datetime, log: Path) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "tests.fixtures.outbox_child", db_url, chat_url, now.isoformat()]
    with log.open("ab") as stderr:
        return forkserver.ForkedProcess(args, cwd=ROOT, stderr=stderr)


def test_sigkill_mid_delivery_then_restart_repeats_nothing_confirmed_and_loses_nothing(
    db_url: str, world_factory: World, tmp_path: Path
) -> None:
    log = tmp_path / "child.log"
    world = world_factory
    posts = world.add_posts(3)
    channels = ["C1", "C2", "C3"]
    for channel in channels:
        world.subscribe(channel)
    due = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)

    first = ChatServer(hold_request=2)
    process = child(db_url, first.url, due, log)
    try:
        assert first.holding.wait(60), log.read_text()
        process.send_signal(signal.SIGKILL)  # the second message is in flight, unanswered
        process.wait(10)
    finally:
        first.stop()
    assert process.returncode == -signal.SIGKILL
    confirmed, in_flight = first.received

    second = ChatServer()
    try:
        restarted = child(db_url, second.url, due + timedelta(minutes=1), log)
        assert restarted.wait(60) == 0, log.read_text()
    finally:
        second.stop()

    everything = first.received + second.received
    # Nothing lost: every channel received every post.
    for channel in channels:
        got = [p for m in everything if m["channel"] == channel for p in m["post_ids"]]  # type: ignore[attr-defined]
        assert sorted(set(got)) == sorted(posts), channel
    # Nothing confirmed was repeated; only the unanswered message went again, with its key.
    assert confirmed not in second.received
    assert [m["key"] for m in second.received].count(in_flight["key"]) == 1
    assert len(second.received) == 2
    store = Store.open(db_url)
    try:
        for channel in channels:
            sub = OutboxStore(store.engine).subscription("chat", channel)
            assert sub is not None
            assert {d.status for d in OutboxStore(store.engine).deliveries_for(sub.id)} == {"sent"}
    finally:
        store.close()


@pytest.fixture
def world_factory(db_url: str) -> Iterator[World]:
    """A World without an engine: this test's deliveries happen in child processes."""
    from bot.config import Settings
    from tests.fixtures.platform import RecordingPlatform
    from tests.test_delivery import Clock

    store = Store.open(db_url)
    yield World(store, None, Clock(), RecordingPlatform(), Settings())  # type: ignore[arg-type]
    store.close()


def write_config(
    directory: Path, feed_server: FeedServer, *, drip: float = 0.0, http: str = "", more: str = ""
) -> Path:
    """A config with one feed (dripping a byte every `drip` seconds if asked); `http` adds keys to
    [http], `more` adds sections."""
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, ALL_POSTS), drip=drip)
    path = directory / "config.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{directory / "bot.db"}"\n'
        f'[[sources]]\nname = "irinfive"\nurl = "{feed_server.url("/feed/")}"\n'
        f"[http]\nfetch_article_pages = false\n{http}\n{more}",
        encoding="utf-8",
    )
    return path


def test_run_once_sends_what_is_due_and_only_once(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(write_config(tmp_path, feed_server))
    assert main(["--config", config, "run", "--once"]) == 0
    assert "0 digest run(s) due" in capsys.readouterr().err  # subscribed, next run tomorrow 08:00

    store = Store.open(f"sqlite:///{tmp_path / 'bot.db'}")
    sub = OutboxStore(store.engine).subscription("terminal", "terminal")
    assert sub is not None and sub.active and sub.admin_user == "config"
    OutboxStore(store.engine).save_subscription(
        "terminal", "terminal", next_run_at=datetime.now(UTC) - timedelta(minutes=5)
    )
    store.close()

    assert main(["--config", config, "run", "--once"]) == 0
    captured = capsys.readouterr()
    assert "IR in Five briefing" in captured.out
    assert all(p.title in captured.out for p in ALL_POSTS)
    assert "1 digest run(s) due, 1 message(s) sent" in captured.err

    assert main(["--config", config, "run", "--once"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "0 digest run(s) due" in captured.err


def run_bot(
    config: Path, stdin: int | None, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    return forkserver.ForkedProcess(
        [sys.executable, "-m", "bot.cli", "--config", str(config), "run"],
        cwd=ROOT,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )


class Output:
    """A running process's stdout and stderr, collected by threads so a test can wait for a line."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.out: list[str] = []
        self.err: list[str] = []
        self.threads = []
        for stream, lines in ((process.stdout, self.out), (process.stderr, self.err)):
            assert stream is not None
            thread = threading.Thread(target=self._collect, args=(stream, lines), daemon=True)
            thread.start()
            self.threads.append(thread)

    def close(self) -> None:
        """Kill the process if it still runs, and close its pipes once read to the end."""
        self.process.kill()
        self.process.wait()
        for thread in self.threads:
            thread.join(5)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()

    @staticmethod
    def _collect(stream: IO[str], lines: list[str]) -> None:
        for line in stream:
            lines.append(line)

    def wait_for(self, text: str, *, stream: str = "out", within: float = 30.0) -> None:
        lines = self.out if stream == "out" else self.err
        deadline = time.monotonic() + within
        while not any(text in line for line in lines):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} in {''.join(lines)!r} (stderr: {self.text})")
            time.sleep(0.02)

    @property
    def text(self) -> str:
        return "".join(self.err)


def test_the_prompt_takes_commands_and_questions(tmp_path: Path, feed_server: FeedServer) -> None:
    process = run_bot(write_config(tmp_path, feed_server), subprocess.PIPE)
    assert process.stderr is not None
    while "caught up at start" not in (line := process.stderr.readline()):  # feeds fetched
        assert line, "the bot ended before fetching the feeds"
    out, err = process.communicate(
        "status\nschedule set weekdays 07:30 Europe/Paris\nschedule show\n"
        "what did the Baltic states say about the ceasefire?\nquit\n",
        timeout=60,
    )
    assert process.returncode == 0, err
    assert "irinfive: last fetched" in out and "last error" not in out
    assert "Schedule: weekdays 07:30 (Europe/Paris); next digest" in out
    assert "schedule: weekdays 07:30 (Europe/Paris)" in out
    assert "baltic-states-weigh-ceasefire-terms" in out  # the answer cites the post


def test_the_end_of_piped_input_ends_the_prompt_quietly_and_the_bot_runs_on(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    process = run_bot(write_config(tmp_path, feed_server), subprocess.PIPE)  # `echo help | …`
    output = Output(process)
    assert process.stdin is not None
    try:
        process.stdin.write("help\n")
        process.stdin.close()
        output.wait_for("schedule skip-empty on|off")
        output.wait_for("caught up at start", stream="err")
        assert process.poll() is None, output.text  # still running: digests go out on schedule
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0, output.text
    finally:
        output.close()
    assert "Traceback" not in output.text and "closed file" not in output.text


def test_sigterm_stops_a_running_bot_cleanly(tmp_path: Path, feed_server: FeedServer) -> None:
    process = run_bot(write_config(tmp_path, feed_server), subprocess.DEVNULL)
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    lines = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        lines.append(line)
        if "briefbot running" in line or not line:
            break
    assert any("briefbot running" in line for line in lines), lines
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "Traceback" not in err


def test_a_feed_that_drips_a_byte_at_a_time_times_out_as_a_whole(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    # Every byte comes within httpx's read timeout; the whole feed would take minutes.
    config = write_config(tmp_path, feed_server, drip=0.2, http="timeout_seconds = 1")
    assert len(feed_server.routes["/feed/"].body) * 0.2 > 30
    ingest = forkserver.run(
        [sys.executable, "-m", "bot.cli", "--config", str(config), "ingest"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert ingest.returncode == 1, ingest.stderr
    assert f"irinfive: FAILED: {feed_server.url('/feed/')} timed out after 1 s" in ingest.stdout


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_commands_are_answered_while_a_slow_feed_is_fetched_and_a_signal_ends_it(
    tmp_path: Path, feed_server: FeedServer, signum: signal.Signals
) -> None:
    # The feed takes minutes to arrive (a byte every 0.2 s, a 60 s deadline).
    config = write_config(tmp_path, feed_server, drip=0.2, http="timeout_seconds = 60")
    process = run_bot(config, subprocess.PIPE)
    output = Output(process)
    assert process.stdin is not None
    try:
        process.stdin.write("help\nstatus\n")
        process.stdin.flush()
        output.wait_for("schedule skip-empty on|off")
        output.wait_for("irinfive: not fetched yet")
        deadline = time.monotonic() + 30
        while not feed_server.hits("/feed/"):  # the fetch is under way, and far from done
            assert time.monotonic() < deadline, output.text
            time.sleep(0.02)
        process.send_signal(signum)
        assert process.wait(timeout=10) == 0, output.text
    finally:
        output.close()
    assert "Traceback" not in output.text
    assert "caught up at start" not in output.text


def slack_section(fake: FakeSlack, *, mode: str = "http", port: int = 0) -> str:
    return f'[slack]\nmode = "{mode}"\nport = {port}\napi_base_url = "{fake.base_url}"\n'


async def test_a_stop_during_a_send_that_never_answers_leaves_the_digest_owed(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    slack = await FakeSlack().start()
    slack.hold = {"chat.postMessage"}  # the send is in flight until the bot gives up on it
    config = write_config(
        tmp_path,
        feed_server,
        more=slack_section(slack) + "[delivery]\nstop_grace_seconds = 0.5\n",
    )
    store = Store.open(f"sqlite:///{tmp_path / 'bot.db'}")
    sub = OutboxStore(store.engine).save_subscription(
        "slack", "C1", active=True, admin_user="UADMIN", next_run_at=datetime.now(UTC)
    )
    store.close()
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    process = run_bot(config, subprocess.DEVNULL, env)
    output = Output(process)
    try:
        await slack.wait_for(lambda: slack.posted("C1"), within=30)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 10) == 0, output.text
    finally:
        output.close()
        await slack.stop()
    assert "Traceback" not in output.text
    store = Store.open(f"sqlite:///{tmp_path / 'bot.db'}")
    try:
        owed = OutboxStore(store.engine).deliveries_for(sub.id)
    finally:
        store.close()
    assert owed and {d.status for d in owed} == {"pending"}  # sent at the next start


async def run_to_exit(
    config: Path, env: dict[str, str], within: float = 20
) -> subprocess.CompletedProcess[str]:
    """`briefbot run` to its end (stdin closed, so only an error or a signal ends it)."""
    process = run_bot(config, subprocess.DEVNULL, env)
    try:
        out, err = await asyncio.to_thread(process.communicate, None, within)
    finally:
        process.kill()
        await asyncio.to_thread(process.communicate)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


@pytest.mark.parametrize("error", ["invalid_auth", "not_allowed_token_type"])
async def test_an_app_token_slack_refuses_stops_run_with_exit_2_naming_the_variable(
    tmp_path: Path, feed_server: FeedServer, error: str
) -> None:
    slack = await FakeSlack().start()
    slack.canned["apps.connections.open"] = [Canned(200, {"ok": False, "error": error})] * 50
    config = write_config(tmp_path, feed_server, more=slack_section(slack, mode="socket"))
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-1-secret-value"}
    try:
        ended = await run_to_exit(config, env)
    finally:
        await slack.stop()
    assert ended.returncode == 2, ended.stderr
    last = ended.stderr.splitlines()[-1]
    assert last == f"briefbot: SLACK_APP_TOKEN was refused by Slack: {error}"
    assert "secret-value" not in ended.stderr and "Traceback" not in ended.stderr


async def test_a_busy_port_in_slack_http_mode_is_one_line_naming_it(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    slack = await FakeSlack().start()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path, feed_server, more=slack_section(slack, port=port))
        env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SIGNING_SECRET}
        try:
            ended = await run_to_exit(config, env)
        finally:
            await slack.stop()
    assert ended.returncode == 2, ended.stderr
    line = ended.stderr.splitlines()[-1]
    assert line.startswith(f"briefbot: cannot listen on 127.0.0.1:{port}")
    assert "slack.port" in line and "Traceback" not in ended.stderr


@contextmanager
def sigterm_after(seconds: float) -> Iterator[None]:
    """Bound an in-process `briefbot run`: a bot that does not stop by itself gets SIGTERM."""
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


@pytest.fixture
def service_stdin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Standard input as a service has it: nothing to read."""
    with open(os.devnull, encoding="utf-8") as handle:
        monkeypatch.setattr(sys, "stdin", handle)
        yield


@pytest.mark.parametrize(
    ("code", "says"),
    [
        (4014, "enable it for the bot in the Developer Portal"),
        (4004, "DISCORD_TOKEN was refused by Discord (gateway close 4004)"),
        (4013, "gateway close 4013: invalid intents"),
    ],
)
def test_a_fatal_discord_gateway_close_stops_run_with_exit_2_saying_what_to_fix(
    tmp_path: Path,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    service_stdin: None,
    code: int,
    says: str,
) -> None:
    config = write_config(tmp_path, feed_server, more="[discord]\nmessage_content = true\n")
    monkeypatch.setenv("DISCORD_TOKEN", "fake.token.value")
    with background_loop() as loop:
        fake = loop.run(FakeDiscord(close_code=code).start())
        try:
            with sigterm_after(20):
                code_returned = main(["--config", str(config), "run"])
        finally:
            loop.run(fake.stop())
    err = capsys.readouterr().err
    assert code_returned == 2, err
    assert "briefbot: " in err and says in err and "Traceback" not in err
    assert "fake.token.value" not in err


def due_subscriptions(tmp_path: Path, *channels: tuple[str, str]) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'bot.db'}")
    try:
        for platform, channel in channels:
            OutboxStore(store.engine).save_subscription(
                platform, channel, active=True, admin_user="config", next_run_at=datetime.now(UTC)
            )
    finally:
        store.close()


def test_run_once_delivers_to_slack_and_discord(
    tmp_path: Path,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")  # no app token: sending needs none
    monkeypatch.setenv("DISCORD_TOKEN", "fake.token.value")
    with background_loop() as loop:
        slack = loop.run(FakeSlack().start())
        discord_fake = loop.run(FakeDiscord().start())
        try:
            config = write_config(tmp_path, feed_server, more=slack_section(slack))
            due_subscriptions(tmp_path, ("slack", "C1"), ("discord", DISCORD_CHANNEL))
            code = main(["--config", str(config), "run", "--once"])
        finally:
            loop.run(discord_fake.stop())
            loop.run(slack.stop())
    err = capsys.readouterr().err
    assert code == 0, err
    assert "2 digest run(s) due" in err and "0 delivery(ies) left to retry" in err
    [to_slack] = slack.posted("C1")
    assert ALL_POSTS[0].title in json.dumps(to_slack["blocks"])
    [to_discord] = discord_fake.posted(DISCORD_CHANNEL)
    assert ALL_POSTS[0].title in json.dumps(to_discord["embeds"])
    assert not discord_fake.calls("applications/")  # no command sync for a one-off send


def test_run_once_exits_1_when_a_due_digest_has_no_token_to_go_out_with(
    tmp_path: Path,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    config = write_config(tmp_path, feed_server)
    due_subscriptions(tmp_path, ("slack", "C1"))
    assert main(["--config", str(config), "run", "--once"]) == 1
    err = capsys.readouterr().err
    assert "1 digest run(s) or delivery(ies) for slack left owed: its token is not set" in err


@contextmanager
def silent_server() -> Iterator[int]:
    """A port that takes connections and never answers (a hung API behind a load balancer)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


@pytest.mark.parametrize("answers", [False, True])
def test_discord_unreachable_or_silent_at_start_is_one_line_within_a_deadline(
    tmp_path: Path,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    answers: bool,
) -> None:
    """`run --once` from cron must end: a Discord API that never answers is given up on, and
    one that cannot be reached is said plainly (exit 1), not as an unexpected error."""
    import discord

    import adapters.discord.connector

    monkeypatch.setattr(adapters.discord.connector, "LOGIN_SECONDS", 1.0)
    monkeypatch.setenv("DISCORD_TOKEN", "fake.token.value")
    config = write_config(tmp_path, feed_server)
    due_subscriptions(tmp_path, ("discord", DISCORD_CHANNEL))
    with silent_server() as port:
        if not answers:
            port = 1  # nothing listens there
        monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{port}/api/v10")
        code = main(["--config", str(config), "run", "--once"])
    err = capsys.readouterr().err
    assert code == 1, err
    [line] = [line for line in err.splitlines() if line.startswith("briefbot:")]
    assert "Discord" in line and "unexpected" not in line and "fake.token.value" not in err


def test_starting_discord_prints_no_warning_about_voice(caplog: pytest.LogCaptureFixture) -> None:
    """The bot never joins voice: discord.py's "PyNaCl is not installed" warnings are noise."""
    from adapters.contract import ConnectorContext
    from adapters.platforms import PLATFORMS
    from bot.config import Settings

    context = ConnectorContext(listen=True, stdin=sys.stdin, out=sys.stdout, ended=print)
    with caplog.at_level(logging.WARNING):
        entry = PLATFORMS["discord"]
        entry.connect(Settings().discord, {"DISCORD_TOKEN": "fake.token.value"}, context)
    assert "voice" not in caplog.text
