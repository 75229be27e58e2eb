"""Slack's connector: the bot token decides whether Slack is on; the token or secret of the connection
mode is checked before anything starts; and what Slack says at start becomes one line naming the
setting to fix (`MissingSecret`) or saying to try later (`PlatformFailed`)."""

from __future__ import annotations

from collections.abc import Mapping

from adapters.contract import (
    ChatPlatform,
    ConnectorContext,
    MissingSecret,
    PlatformFailed,
    RegisteredHandler,
)
from adapters.slack.app import (
    PLATFORM,
    SlackBot,
    SlackListenError,
    SlackRefused,
    SlackSettings,
    SlackUnavailable,
)
from adapters.slack.config import SlackConfig


class SlackConnector:
    """`SlackBot` behind the one lifecycle; Slack's own errors mapped to the bot's two."""

    name = PLATFORM

    def __init__(self, config: SlackConfig, bot: SlackBot) -> None:
        self.config = config
        self.bot = bot
        self.platform: ChatPlatform = bot.platform

    async def start(self, handler: RegisteredHandler | None) -> None:
        try:
            if handler is None:
                await self.bot.login()
            else:
                await self.bot.start(handler)
        except SlackRefused as exc:
            raise self._refused(exc) from None
        except SlackUnavailable as exc:
            raise PlatformFailed(f"{exc}; try again later") from None
        except SlackListenError as exc:
            raise MissingSecret(
                f"cannot listen on {exc.host}:{exc.port} for Slack ({exc.reason}): "
                "set slack.port (or slack.host) to a free address"
            ) from None

    async def stop(self) -> None:
        await self.bot.stop()

    def _refused(self, exc: SlackRefused) -> MissingSecret:
        c = self.config
        name = c.app_token_env if exc.which == "app" else c.bot_token_env
        return MissingSecret(f"{name} was refused by Slack: {exc.error}")


def slack_connector(
    config: SlackConfig, env: Mapping[str, str], context: ConnectorContext
) -> SlackConnector | None:
    """Slack when its bot token is in the environment, else None (Slack is off). Sending needs only
    the bot token; listening also needs the token or secret of the connection mode."""
    token = env.get(config.bot_token_env, "")
    if not token:
        return None
    app_token = env.get(config.app_token_env, "")
    secret = env.get(config.signing_secret_env, "")
    if context.listen and config.mode == "socket" and not app_token:
        raise MissingSecret(
            f"{config.bot_token_env} is set but {config.app_token_env} is not: Socket Mode needs "
            'an app-level token (xapp-...), or set slack.mode = "http" with a signing secret'
        )
    if context.listen and config.mode == "http" and not secret:
        raise MissingSecret(
            f"{config.bot_token_env} is set but {config.signing_secret_env} is not: HTTP mode "
            "verifies every request with the app's signing secret"
        )
    bot = SlackBot(
        SlackSettings(
            bot_token=token,
            mode=config.mode,
            app_token=app_token,
            signing_secret=secret,
            host=config.host,
            port=config.port,
            path=config.path,
            api_base_url=config.api_base_url,
            command=config.command,
            requests_per_second=config.requests_per_second,
        )
    )
    if context.first_seen is not None:  # Slack's retries answered once, whichever process gets them
        bot.first_seen = context.first_seen(PLATFORM)
    return SlackConnector(config, bot)
