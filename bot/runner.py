"""`briefbot run`: the long-running bot. Wires engine, platforms, delivery, commands and scheduler,
then runs until Ctrl-C or SIGTERM; `--once` does the due work and returns."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

import aiohttp
import discord

from adapters.discord.bot import BriefingClient, DiscordSettings
from adapters.slack.app import (
    SlackBot,
    SlackListenError,
    SlackRefused,
    SlackSettings,
    SlackUnavailable,
)
from adapters.terminal import TerminalPlatform, prompt_loop
from bot.app import apply_declared_subscriptions, engine_for
from bot.commands import CommandSet
from bot.config import Settings
from bot.coordination import SeenEvents, leadership_for
from bot.delivery import Deliverer, RunReport, utc_now
from bot.outbox_store import OutboxStore
from bot.scheduler import BriefingScheduler
from bot.tasks import create_task
from briefings.chat import ChatPlatform
from briefings.errors import BriefbotError
from briefings.store import Store, db

log = logging.getLogger(__name__)


CLOSE_SECONDS = 3.0  # after the sends' grace, what platforms get to disconnect
LOGIN_SECONDS = 30.0  # a platform's API silent this long at start is given up on (run --once ends)


class _NoVoiceWarning(logging.Filter):
    """The bot never joins voice: discord.py's warnings that voice libraries are missing are noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "voice will NOT be supported" not in record.getMessage()


logging.getLogger("discord.client").addFilter(_NoVoiceWarning())


@dataclass(frozen=True, slots=True)
class RunResult:
    report: RunReport
    feed_errors: int
    unreachable: dict[str, int]  # platform -> runs due or owed there, with no token to send


async def run_once(
    settings: Settings, store: Store, out: TextIO, env: Mapping[str, str] | None = None
) -> RunResult:
    """Fetch, claim what is due, send it on every platform whose token is set, and return (what
    fails stays owed for the next run)."""
    platforms = Platforms(settings, os.environ if env is None else env, out, listen=False)
    async with engine_for(settings, store) as engine:
        try:
            await platforms.login()
            deliverer = Deliverer(store, engine, platforms.delivery, settings)
            await db(apply_declared_subscriptions, store, settings, deliverer, utc_now())
            reports = await engine.refresh()
            for failed in (r for r in reports if r.error):
                log.warning("feed %s: %s", failed.source, failed.error)
            report = await deliverer.run_due()
        finally:
            await platforms.close()
        return RunResult(
            report=report,
            feed_errors=sum(1 for r in reports if r.error),
            unreachable=await db(_unreachable, deliverer.outbox, platforms.delivery),
        )


def _unreachable(outbox: OutboxStore, platforms: Mapping[str, ChatPlatform]) -> dict[str, int]:
    """Runs due and deliveries owed on platforms this process could not send to."""
    now = utc_now()
    counts: dict[str, int] = {}
    for sub in outbox.due_subscriptions(now):
        if sub.platform not in platforms:
            counts[sub.platform] = counts.get(sub.platform, 0) + 1
    for platform, owed in outbox.pending_by_platform(now).items():
        if platform not in platforms:
            counts[platform] = counts.get(platform, 0) + owed
    return counts


async def run_forever(
    settings: Settings,
    store: Store,
    stdin: TextIO,
    out: TextIO,
    env: Mapping[str, str] | None = None,
) -> None:
    """Run until Ctrl-C, SIGTERM or the end of a terminal's input; raise `MissingSecret` (or
    `PlatformFailed`) when a platform refuses us or dies for good, after stopping cleanly."""
    platforms = Platforms(settings, os.environ if env is None else env, out, listen=True)
    async with engine_for(settings, store) as engine:
        deliverer = Deliverer(store, engine, platforms.delivery, settings)
        await db(apply_declared_subscriptions, store, settings, deliverer, utc_now())
        if (
            platforms.slack is not None
        ):  # Slack's retries answered once, whichever process gets them
            platforms.slack.first_seen = SeenEvents(store, "slack").first_time
        leader = leadership_for(store, settings.coordination.leader_check_seconds)
        scheduler = BriefingScheduler(store, engine, deliverer, settings, leader=leader)
        commands = CommandSet(store, engine, deliverer, settings, on_schedule_change=scheduler.sync)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            # Connecting can hang (a slow network, a busy Slack): a signal still stops it.
            if not await _unless_stopped(stop, platforms.listen(commands)):
                return
            await scheduler.start()  # catches up in the background
            engine.open_index_in_background()  # so the first question finds it ready
            subscriptions = await db(deliverer.outbox.subscriptions)
            log.info("briefbot running; %d subscription(s)", len(subscriptions))
            await _serve(commands, stdin, out, stop, platforms.failed)
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            engine.stop_index()
            await scheduler.stop(settings.delivery.stop_grace_seconds)
            try:
                await asyncio.wait_for(platforms.close(), CLOSE_SECONDS)
            except TimeoutError:
                log.warning("a platform did not disconnect in %.0f s", CLOSE_SECONDS)
        if platforms.failed.done():
            raise platforms.failed.result()


async def _unless_stopped(stop: asyncio.Event, work: Coroutine[Any, Any, None]) -> bool:
    """Run `work` unless `stop` is set first (then cancel it); True when it finished."""
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if task.cancelled():
        return False
    task.result()  # a start-up failure is raised here
    return True


async def _serve(
    commands: CommandSet,
    stdin: TextIO,
    out: TextIO,
    stop: asyncio.Event,
    failed: asyncio.Future[Exception],
) -> None:
    """Answer the prompt until a signal, a platform failure, or the end of a terminal's input."""
    prompt = asyncio.ensure_future(prompt_loop(commands.handle, stdin, out))
    waiter = asyncio.ensure_future(stop.wait())
    ends: set[asyncio.Future[Any]] = {prompt, waiter, failed}
    try:
        done, _ = await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
        if prompt in done and prompt.result() == "eof" and not stdin.isatty():
            # No terminal to read (a service): run until signalled or a platform fails.
            rest: set[asyncio.Future[Any]] = {waiter, failed}
            await asyncio.wait(rest, return_when=asyncio.FIRST_COMPLETED)
    finally:
        prompt.cancel()
        waiter.cancel()


class Platforms:
    """Every chat platform whose token is in the environment, for `run` and `run --once` alike:
    built before anything starts (a missing secret is a clear error), logged in to send, and
    listening only for `run`."""

    def __init__(
        self, settings: Settings, env: Mapping[str, str], out: TextIO, *, listen: bool
    ) -> None:
        self.settings = settings
        self.env = env
        self.terminal = TerminalPlatform(out=out)
        self.slack = slack_bot(settings, env, listen=listen)
        self.discord = discord_bot(settings, env, listen=listen)
        # Set to the error to stop with when a platform dies for good while running.
        self.failed: asyncio.Future[Exception] = asyncio.get_running_loop().create_future()
        self._connection: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False

    @property
    def delivery(self) -> dict[str, ChatPlatform]:
        found: dict[str, ChatPlatform] = {self.terminal.name: self.terminal}
        if self.slack is not None:
            found[self.slack.platform.name] = self.slack.platform
        if self.discord is not None:
            found[self.discord.platform.name] = self.discord.platform
        return found

    async def login(self) -> None:
        """Check each token with its platform: enough to send digests."""
        if self.slack is not None:
            try:
                await self.slack.login()
            except SlackRefused as exc:
                raise self._slack_refused(exc) from None
            except SlackUnavailable as exc:
                raise PlatformFailed(f"{exc}; try again later") from None
        if self.discord is not None:
            try:  # a bad token fails here, before anything runs, not later in a task
                await asyncio.wait_for(
                    self.discord.login(discord_token(self.settings, self.env)), LOGIN_SECONDS
                )
            except discord.LoginFailure as exc:
                raise MissingSecret(
                    f"{self.settings.discord.token_env} was refused by Discord: {exc}"
                ) from None
            except TimeoutError:
                raise PlatformFailed(
                    f"Discord did not answer at start within {LOGIN_SECONDS:g} s; try again later"
                ) from None
            except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
                reason = " ".join(str(exc).split())[:200] or type(exc).__name__
                raise PlatformFailed(
                    f"cannot reach Discord at start ({reason}); try again later"
                ) from None

    async def listen(self, commands: CommandSet) -> None:
        """Log in, then take commands and questions from every platform."""
        await self.login()
        if self.slack is not None:
            try:
                await self.slack.start(commands)
            except SlackRefused as exc:
                raise self._slack_refused(exc) from None
            except SlackUnavailable as exc:
                raise PlatformFailed(f"{exc}; try again later") from None
            except SlackListenError as exc:
                raise MissingSecret(
                    f"cannot listen on {exc.host}:{exc.port} for Slack ({exc.reason}): "
                    "set slack.port (or slack.host) to a free address"
                ) from None
        if self.discord is not None:
            self.discord.commands = commands
            self._connection = create_task(
                self.discord.connect(),
                name="discord connection",
                tasks=self._tasks,
                on_done=self._discord_ended,
            )

    def _slack_refused(self, exc: SlackRefused) -> MissingSecret:
        s = self.settings.slack
        name = s.app_token_env if exc.which == "app" else s.bot_token_env
        return MissingSecret(f"{name} was refused by Slack: {exc.error}")

    def _discord_ended(self, task: asyncio.Task[None]) -> None:
        """discord.py does not reconnect after a fatal close: stop the bot, saying what to fix."""
        if self._closing or task.cancelled() or self.failed.done():
            return
        self.failed.set_result(discord_failure(self.settings, task.exception()))

    async def close(self) -> None:
        self._closing = True
        if self.slack is not None:
            await self.slack.stop()
        if self.discord is not None:
            if self._connection is not None:
                await self.discord.close()
                await asyncio.wait({self._connection}, timeout=CLOSE_SECONDS)
            else:
                await self.discord.http.close()  # logged in (or refused), never connected


def discord_failure(settings: Settings, exc: BaseException | None) -> Exception:
    """The error to stop with when the Discord connection ends: what to fix, when a setting can."""
    d = settings.discord
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return MissingSecret(
            "Discord refused the Message Content intent (gateway close 4014): enable it for the "
            "bot in the Developer Portal (Bot > Privileged Gateway Intents), or set "
            "discord.message_content = false"
        )
    if isinstance(exc, discord.ConnectionClosed) and exc.code == 4004:
        return MissingSecret(f"{d.token_env} was refused by Discord (gateway close 4004)")
    if isinstance(exc, discord.ConnectionClosed) and exc.code == 4013:
        return MissingSecret(
            "Discord refused the gateway intents this bot asks for (gateway close 4013: invalid "
            "intents); check discord.message_content and the bot's intents in the Developer Portal"
        )
    if isinstance(exc, discord.ConnectionClosed):
        return PlatformFailed(f"Discord closed the connection for good (code {exc.code})")
    if exc is None:
        return PlatformFailed("the Discord connection ended")
    return PlatformFailed(f"the Discord connection failed: {type(exc).__name__}: {exc}")


class MissingSecret(BriefbotError):
    """A platform cannot run as configured: a token or secret is missing or refused, an intent is
    not allowed, an address is taken. The message names the setting to fix (exit 2)."""


class PlatformFailed(BriefbotError):
    """A platform's connection ended for good for a reason no setting explains (exit 1)."""


def slack_bot(
    settings: Settings, env: Mapping[str, str], *, listen: bool = True
) -> SlackBot | None:
    """The Slack adapter when its bot token is in the environment, else None (Slack is off).
    Sending needs only the bot token; listening also needs the token or secret of the mode."""
    s = settings.slack
    token = env.get(s.bot_token_env, "")
    if not token:
        return None
    app_token = env.get(s.app_token_env, "")
    secret = env.get(s.signing_secret_env, "")
    if listen and s.mode == "socket" and not app_token:
        raise MissingSecret(
            f"{s.bot_token_env} is set but {s.app_token_env} is not: Socket Mode needs an "
            'app-level token (xapp-...), or set slack.mode = "http" with a signing secret'
        )
    if listen and s.mode == "http" and not secret:
        raise MissingSecret(
            f"{s.bot_token_env} is set but {s.signing_secret_env} is not: HTTP mode verifies "
            "every request with the app's signing secret"
        )
    return SlackBot(
        SlackSettings(
            bot_token=token,
            mode=s.mode,
            app_token=app_token,
            signing_secret=secret,
            host=s.host,
            port=s.port,
            path=s.path,
            api_base_url=s.api_base_url,
            command=s.command,
            requests_per_second=s.requests_per_second,
        )
    )


def discord_token(settings: Settings, env: Mapping[str, str]) -> str:
    return env.get(settings.discord.token_env, "")


def discord_bot(
    settings: Settings, env: Mapping[str, str], *, listen: bool = True
) -> BriefingClient | None:
    """The Discord client when its token is in the environment, else None (Discord is off).
    Commands are synced only by a client that listens for them."""
    if not discord_token(settings, env):
        return None
    d = settings.discord
    return BriefingClient(
        DiscordSettings(
            sharded=d.sharded,
            shard_count=d.shard_count,
            shard_ids=tuple(d.shard_ids) if d.shard_ids is not None else None,
            message_content=d.message_content,
            requests_per_second=d.requests_per_second,
            sync_commands=listen,
        )
    )
