"""Discord's connector: the token decides whether Discord is on; logging in checks it before anything
runs; and how a connection ends (a gateway close code, a network failure) becomes one line naming the
setting to fix (`MissingSecret`) or saying to try later (`PlatformFailed`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import aiohttp
import discord

from adapters.contract import (
    ChatPlatform,
    ConnectorContext,
    EndedCallback,
    MissingSecret,
    PlatformFailed,
    RegisteredHandler,
)
from adapters.discord.bot import PLATFORM, BriefingClient, DiscordSettings
from adapters.discord.config import DiscordConfig

log = logging.getLogger(__name__)

LOGIN_SECONDS = 30.0  # Discord's API silent this long at start is given up on (run --once ends)
CLOSE_SECONDS = 3.0  # what the gateway connection gets to close once asked


class _NoVoiceWarning(logging.Filter):
    """The bot never joins voice: discord.py's warnings that voice libraries are missing are noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "voice will NOT be supported" not in record.getMessage()


logging.getLogger("discord.client").addFilter(_NoVoiceWarning())


class DiscordConnector:
    """`BriefingClient` behind the one lifecycle: a login, then (for `run`) a gateway connection
    running as a task, whose end is reported as the error to stop with."""

    name = PLATFORM

    def __init__(
        self, config: DiscordConfig, token: str, client: BriefingClient, ended: EndedCallback
    ) -> None:
        self.config = config
        self.client = client
        self.platform: ChatPlatform = client.platform
        self._token = token
        self._ended = ended
        self._connection: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self, handler: RegisteredHandler | None) -> None:
        try:  # a bad token fails here, before anything runs, not later in a task
            await asyncio.wait_for(self.client.login(self._token), LOGIN_SECONDS)
        except discord.LoginFailure as exc:
            raise MissingSecret(f"{self.config.token_env} was refused by Discord: {exc}") from None
        except TimeoutError:
            raise PlatformFailed(
                f"Discord did not answer at start within {LOGIN_SECONDS:g} s; try again later"
            ) from None
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            reason = " ".join(str(exc).split())[:200] or type(exc).__name__
            raise PlatformFailed(
                f"cannot reach Discord at start ({reason}); try again later"
            ) from None
        if handler is None:
            return
        self.client.commands = handler
        self._connection = asyncio.get_running_loop().create_task(
            self.client.connect(), name="discord connection"
        )
        self._connection.add_done_callback(self._connection_ended)

    def _connection_ended(self, task: asyncio.Task[None]) -> None:
        """discord.py does not reconnect after a fatal close: stop the bot, saying what to fix."""
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.debug("the Discord connection failed", exc_info=exc)
        if not self._stopping:
            self._ended(discord_failure(self.config, exc))

    async def stop(self) -> None:
        self._stopping = True
        if self._connection is not None:
            await self.client.close()
            await asyncio.wait({self._connection}, timeout=CLOSE_SECONDS)
        else:
            await self.client.http.close()  # logged in (or refused), never connected


def discord_failure(config: DiscordConfig, exc: BaseException | None) -> Exception:
    """The error to stop with when the Discord connection ends: what to fix, when a setting can."""
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return MissingSecret(
            "Discord refused the Message Content intent (gateway close 4014): enable it for the "
            "bot in the Developer Portal (Bot > Privileged Gateway Intents), or set "
            "discord.message_content = false"
        )
    if isinstance(exc, discord.ConnectionClosed) and exc.code == 4004:
        return MissingSecret(f"{config.token_env} was refused by Discord (gateway close 4004)")
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


def discord_connector(
    config: DiscordConfig, env: Mapping[str, str], context: ConnectorContext
) -> DiscordConnector | None:
    """Discord when its token is in the environment, else None (Discord is off). Commands are
    synced only by a client that listens for them."""
    token = env.get(config.token_env, "")
    if not token:
        return None
    client = BriefingClient(
        DiscordSettings(
            sharded=config.sharded,
            shard_count=config.shard_count,
            shard_ids=tuple(config.shard_ids) if config.shard_ids is not None else None,
            message_content=config.message_content,
            requests_per_second=config.requests_per_second,
            sync_commands=context.listen,
        )
    )
    return DiscordConnector(config, token, client, context.ended)
