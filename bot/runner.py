"""`briefbot run`: the long-running bot. Wires engine, platforms, delivery, commands and scheduler,
then runs until Ctrl-C or SIGTERM; `--once` does the due work and returns."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

import discord
from slack_sdk.errors import SlackApiError

from adapters.discord.bot import BriefingClient, DiscordSettings
from adapters.slack.app import SlackBot, SlackSettings
from adapters.terminal import TerminalPlatform, prompt_loop
from bot.app import (
    apply_declared_subscriptions,
    command_settings,
    delivery_settings,
    engine_for,
    scheduler_settings,
)
from bot.commands import CommandSet
from bot.config import Settings
from bot.delivery import Deliverer, RunReport, utc_now
from bot.scheduler import BriefingScheduler
from briefings.chat import ChatPlatform
from briefings.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunResult:
    report: RunReport
    feed_errors: int


async def run_once(settings: Settings, store: Store, out: TextIO) -> RunResult:
    """Fetch, claim what is due, send it, and return (what fails stays owed for the next run)."""
    async with engine_for(settings, store) as engine:
        deliverer = Deliverer(store, engine, _platforms(out), delivery_settings(settings))
        apply_declared_subscriptions(store, settings, deliverer, utc_now())
        reports = await engine.refresh()
        for failed in (r for r in reports if r.error):
            log.warning("feed %s: %s", failed.source, failed.error)
        report = await deliverer.run_due()
        return RunResult(report=report, feed_errors=sum(1 for r in reports if r.error))


async def run_forever(
    settings: Settings,
    store: Store,
    stdin: TextIO,
    out: TextIO,
    env: Mapping[str, str] | None = None,
) -> None:
    env = os.environ if env is None else env
    slack = slack_bot(settings, env)  # before anything starts: a missing token is a clear error
    discord_client = discord_bot(settings, env)
    async with engine_for(settings, store) as engine:
        platforms = dict(_platforms(out))
        if slack is not None:
            platforms[slack.platform.name] = slack.platform
        if discord_client is not None:
            platforms[discord_client.platform.name] = discord_client.platform
        deliverer = Deliverer(store, engine, platforms, delivery_settings(settings))
        apply_declared_subscriptions(store, settings, deliverer, utc_now())
        scheduler = BriefingScheduler(store, engine, deliverer, scheduler_settings(settings))
        commands = CommandSet(
            store, engine, deliverer, command_settings(settings), on_schedule_change=scheduler.sync
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        discord_connected = False
        try:
            if slack is not None:
                try:
                    await slack.start(commands)
                except SlackApiError as exc:  # e.g. invalid_auth: say which token, not its value
                    error = exc.response.get("error", "refused") if exc.response else "refused"
                    raise MissingSecret(
                        f"{settings.slack.bot_token_env} was refused by Slack: {error}"
                    ) from None
            if discord_client is not None:
                discord_client.commands = commands
                try:  # a bad token fails here, before anything runs, not later in a task
                    await discord_client.login(discord_token(settings, env))
                except discord.LoginFailure as exc:
                    raise MissingSecret(
                        f"{settings.discord.token_env} was refused by Discord: {exc}"
                    ) from None
                connection = asyncio.ensure_future(discord_client.connect())
                connection.add_done_callback(_report_discord_exit)
                discord_connected = True
            await scheduler.start()
            log.info("briefbot running; %d subscription(s)", len(store.subscriptions()))
            prompt = asyncio.ensure_future(prompt_loop(commands.handle, stdin, out))
            waiter = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({prompt, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if prompt in done and prompt.result() == "eof" and not stdin.isatty():
                await waiter  # no terminal to read (a service): run until signalled
            prompt.cancel()
            waiter.cancel()
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            await scheduler.stop()
            if slack is not None:
                await slack.stop()
            if discord_client is not None and discord_connected:
                await discord_client.close()
            elif discord_client is not None:
                await discord_client.http.close()  # logged in or refused, never connected


class MissingSecret(Exception):
    """A platform is configured but a token or secret it needs is not in the environment."""


def slack_bot(settings: Settings, env: Mapping[str, str]) -> SlackBot | None:
    """The Slack adapter when its bot token is in the environment, else None (Slack is off)."""
    s = settings.slack
    token = env.get(s.bot_token_env, "")
    if not token:
        return None
    app_token = env.get(s.app_token_env, "")
    secret = env.get(s.signing_secret_env, "")
    if s.mode == "socket" and not app_token:
        raise MissingSecret(
            f"{s.bot_token_env} is set but {s.app_token_env} is not: Socket Mode needs an "
            'app-level token (xapp-...), or set slack.mode = "http" with a signing secret'
        )
    if s.mode == "http" and not secret:
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


def discord_bot(settings: Settings, env: Mapping[str, str]) -> BriefingClient | None:
    """The Discord client when its token is in the environment, else None (Discord is off)."""
    if not discord_token(settings, env):
        return None
    d = settings.discord
    return BriefingClient(
        DiscordSettings(
            sharded=d.sharded,
            message_content=d.message_content,
            requests_per_second=d.requests_per_second,
        )
    )


def _report_discord_exit(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("discord: the client stopped: %s", task.exception())


def _platforms(out: TextIO) -> Mapping[str, ChatPlatform]:
    terminal = TerminalPlatform(out=out)
    return {terminal.name: terminal}
