"""A new chat platform is one package plus its row in the platform table: registered here (a small
loopback platform posting to an HTTP server the test starts), it is started, sent to, listened on,
stopped and listed by `run`, `run --once`, `doctor` and the config, with nothing else edited."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from adapters.contract import (
    Caller,
    ConnectorContext,
    EndedCallback,
    Invocation,
    MissingSecret,
    OutgoingMessage,
    PlatformFailed,
    RegisteredHandler,
    TransientDeliveryError,
)
from adapters.platforms import PLATFORMS, PlatformEntry
from bot.cli import main
from bot.config import ConfigError, load_settings, parse_settings
from bot.runner import run_forever
from briefings.models import Digest, Subscription
from briefings.store import Store
from tests.fixtures.feed_server import FeedServer
from tests.fixtures.posts import ALL_POSTS
from tests.test_run import ChatServer, due_subscriptions, write_config

NAME = "loopback"
URL_ENV = "LOOPBACK_URL"
KEY_ENV = "LOOPBACK_KEY"


class LoopbackChat:
    """Delivery to the loopback platform: each message POSTed as JSON; the server answers its id."""

    name = NAME
    requests_per_second = 0.0

    def __init__(self, url: str) -> None:
        self.url = url
        self.client: httpx.AsyncClient | None = None
        self.told: list[str] = []

    def render_digest(self, digest: Digest) -> list[OutgoingMessage]:
        text = "\n".join(item.title for item in digest.items)
        return [OutgoingMessage(tuple(i.post_id for i in digest.items), {"text": text})]

    async def send(
        self, channel: str, message: OutgoingMessage, *, key: str, since: datetime | None = None
    ) -> str:
        return await self.post(
            {"channel": channel, "post_ids": list(message.post_ids), "key": key, **message.payload}
        )

    async def post(self, body: Mapping[str, object]) -> str:
        if self.client is None:
            raise TransientDeliveryError("the loopback platform was not started")
        try:
            response = await self.client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise TransientDeliveryError(str(exc)) from exc
        return str(response.json()["id"])

    async def tell_admins(
        self, subscription: Subscription, text: str, admins: Sequence[str]
    ) -> None:
        self.told.append(text)


class LoopbackConnector:
    """The loopback platform's lifecycle; `events` records what the bot asked of it."""

    name = NAME

    def __init__(self, url: str, ended: EndedCallback, events: list[str]) -> None:
        self.platform = LoopbackChat(url)
        self.ended = ended
        self.events = events
        self.listener: asyncio.Task[None] | None = None

    async def start(self, handler: RegisteredHandler | None) -> None:
        self.events.append("start to listen" if handler is not None else "start to send")
        self.platform.client = httpx.AsyncClient(timeout=10)
        if handler is not None:
            self.listener = asyncio.get_running_loop().create_task(self.listen(handler))

    async def listen(self, handler: RegisteredHandler) -> None:
        """One command arrives from the platform and is answered there; then the platform goes
        away for good, as a connection does."""
        caller = Caller(NAME, "alice", is_admin=True)
        reply = await handler.handle(Invocation(caller=caller, channel="room-1", text="status"))
        await self.platform.post({"channel": "room-1", "reply": reply.text})
        self.ended(PlatformFailed("the loopback server went away; try again later"))

    async def stop(self) -> None:
        self.events.append("stop")
        if self.listener is not None:
            await asyncio.gather(self.listener, return_exceptions=True)
        if self.platform.client is not None:
            await self.platform.client.aclose()


@pytest.fixture
def loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Register the loopback platform (on when LOOPBACK_URL is set) for this test only."""
    events: list[str] = []

    def connect(
        config: None, env: Mapping[str, str], context: ConnectorContext
    ) -> LoopbackConnector | None:
        url = env.get(URL_ENV, "")
        if not url:
            return None
        if context.listen and not env.get(KEY_ENV):
            raise MissingSecret(f"{URL_ENV} is set but {KEY_ENV} is not: listening needs it")
        return LoopbackConnector(url, context.ended, events)

    entry = PlatformEntry(NAME, None, connect, lambda _: (URL_ENV, KEY_ENV))
    monkeypatch.setitem(PLATFORMS, NAME, entry)
    yield events


def test_run_once_delivers_to_a_registered_platform_and_stops_it(
    tmp_path: Path,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    loopback: list[str],
) -> None:
    config = write_config(tmp_path, feed_server)
    due_subscriptions(tmp_path, (NAME, "room-1"))
    server = ChatServer()
    try:
        monkeypatch.delenv(URL_ENV, raising=False)  # off: what is due stays owed
        assert main(["--config", str(config), "run", "--once"]) == 1
        err = capsys.readouterr().err
        assert f"1 digest run(s) or delivery(ies) for {NAME} left owed" in err
        assert loopback == [] and server.received == []

        monkeypatch.setenv(URL_ENV, server.url)
        assert main(["--config", str(config), "run", "--once"]) == 0, capsys.readouterr().err
    finally:
        server.stop()
    assert "1 message(s) sent" in capsys.readouterr().err
    [message] = server.received
    assert message["channel"] == "room-1"
    assert all(post.title in str(message["text"]) for post in ALL_POSTS)
    assert loopback == ["start to send", "stop"]


async def test_run_hands_commands_to_a_registered_platform_and_stops_when_it_ends(
    tmp_path: Path, feed_server: FeedServer, loopback: list[str]
) -> None:
    settings = load_settings(write_config(tmp_path, feed_server))
    store = Store.open(settings.database.url)
    server = ChatServer()
    env = {URL_ENV: server.url, KEY_ENV: "key"}
    try:
        with pytest.raises(PlatformFailed, match="loopback server went away"):
            await run_forever(settings, store, io.StringIO(), io.StringIO(), env=env)
    finally:
        store.close()
        await asyncio.to_thread(server.stop)
    [answer] = server.received
    assert answer["channel"] == "room-1" and "irinfive" in str(answer["reply"])  # `status`
    assert loopback == ["start to listen", "stop"]


def test_a_half_configured_registered_platform_stops_run_with_exit_2_naming_it(
    tmp_path: Path,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    loopback: list[str],
) -> None:
    monkeypatch.setenv(URL_ENV, "http://127.0.0.1:9/send")
    monkeypatch.delenv(KEY_ENV, raising=False)
    config = write_config(tmp_path, feed_server)
    assert main(["--config", str(config), "run"]) == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last == f"briefbot: {URL_ENV} is set but {KEY_ENV} is not: listening needs it"
    assert loopback == []  # refused before anything started


def test_doctor_and_the_config_know_a_registered_platform(
    tmp_path: Path,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    loopback: list[str],
) -> None:
    monkeypatch.setenv(URL_ENV, "http://127.0.0.1:9/send")
    monkeypatch.delenv(KEY_ENV, raising=False)
    assert main(["--config", str(write_config(tmp_path, feed_server)), "doctor"]) == 0
    out = capsys.readouterr().out
    assert f"env {URL_ENV}: set" in out and f"env {KEY_ENV}: not set" in out

    declared = {
        "commands": {"admins": [f"{NAME}:alice"]},
        "subscriptions": [{"platform": NAME, "channel": "room-1"}],
    }
    assert parse_settings(declared).subscriptions[0].platform == NAME
    monkeypatch.delitem(PLATFORMS, NAME)
    with pytest.raises(ConfigError) as raised:
        parse_settings(declared)
    assert "loopback:alice" in str(raised.value) and "unknown platform 'loopback'" in str(
        raised.value
    )


def test_every_platform_section_in_the_table_is_a_section_of_the_config() -> None:
    """A platform's section model is declared in its package; the config holds it under the
    platform's name, so `[name]` in config.toml is validated by that model (unknown keys too)."""
    from bot.config import Settings

    for name, entry in PLATFORMS.items():
        if entry.section is None:
            assert name not in Settings.model_fields
            continue
        assert Settings.model_fields[name].annotation is entry.section, name
        with pytest.raises(ConfigError, match=rf"unknown key '{name}\.no_such_key'"):
            parse_settings({name: {"no_such_key": 1}})


def test_a_platform_is_loaded_only_when_its_token_is_set(tmp_path: Path) -> None:
    """A command run with no platform token never loads discord.py or slack-bolt (each costs a
    start-up); the table names each platform as its adapter does."""
    import os
    import subprocess
    import sys

    from adapters.discord.bot import PLATFORM as DISCORD
    from adapters.slack.app import PLATFORM as SLACK

    probe = (
        "import sys\n"
        "from bot.cli import main\n"
        "code = main(['--db', sys.argv[1], 'posts'])\n"
        "print(sorted(m for m in ('discord', 'slack_bolt', 'aiohttp') if m in sys.modules))\n"
        "raise SystemExit(code)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "DISCORD_TOKEN")}
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    done = subprocess.run(
        [sys.executable, "-c", probe, url], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert {SLACK, DISCORD} <= set(PLATFORMS)
