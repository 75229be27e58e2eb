"""Every chat platform the bot knows, in one table: a platform is one adapter package plus its row here.

Platforms start in the table's order. A row names the platform, the model of its config section (declared in its package; None for a
platform without one, such as the terminal), its factory, and the environment variables its secrets
are read from. The runner starts whatever the factories return, `doctor` lists the secrets, and the
config accepts these names in `commands.admins` and `[[subscriptions]]`: none of them names a platform.
A platform's connector module (and its client library) is imported only once its token is set, so a
command or process that does not use a platform does not pay for loading it.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.contract import Connector, ConnectorContext
from adapters.discord import config as discord
from adapters.discord.config import DiscordConfig
from adapters.slack import config as slack
from adapters.slack.config import SlackConfig
from adapters.terminal import PLATFORM as TERMINAL
from adapters.terminal import terminal_connector
from briefings.settings import SettingsModel

# (its validated config section, or None; the environment; what the bot hands every platform) ->
# the platform's connector, or None when its token is not set (the platform is off). Raises
# `MissingSecret` when the platform is half configured (a token without the secret it needs).
Factory = Callable[[Any, Mapping[str, str], ConnectorContext], Connector | None]


def _no_secrets(config: Any) -> tuple[str, ...]:
    return ()


def _on_demand(module: str, factory: str, token_env: Callable[[Any], str]) -> Factory:
    """`module.factory`, imported at the first call with the platform's token set (the env variable
    `token_env` names): off, the platform costs no import of its client library."""

    def connect(config: Any, env: Mapping[str, str], context: ConnectorContext) -> Connector | None:
        if not env.get(token_env(config), ""):
            return None
        made: Connector | None = getattr(importlib.import_module(module), factory)(
            config, env, context
        )
        return made

    return connect


@dataclass(frozen=True, slots=True)
class PlatformEntry:
    name: str  # the platform's name in subscriptions, admin ids ("slack:U024BE7LH") and the store
    section: type[SettingsModel] | None  # its `[name]` section of config.toml
    connect: Factory
    secrets: Callable[[Any], tuple[str, ...]] = _no_secrets  # env variable names, given the section
    # A regular expression a whole user id must match, for `commands.admins` ("slack:U024BE7LH");
    # None: any non-empty id without spaces (Matrix's "@u:server" and Teams' "29:1a..." included).
    user_id: str | None = None
    # That form in words, for a person who wrote one wrong (the pattern itself helps no one).
    user_id_words: str = "no spaces, not empty"
    # The same for a channel id in `[[subscriptions]]`; None: any channel name is taken as it is.
    channel_id: str | None = None
    channel_id_words: str = ""
    channel_example: str = ""  # a valid one, for the error

    def accepts_user_id(self, user_id: str) -> bool:
        if self.user_id is None:
            return bool(user_id) and not any(c.isspace() for c in user_id)
        return re.fullmatch(self.user_id, user_id) is not None

    def accepts_channel_id(self, channel: str) -> bool:
        return self.channel_id is None or re.fullmatch(self.channel_id, channel) is not None


PLATFORMS: dict[str, PlatformEntry] = {
    entry.name: entry
    for entry in (
        PlatformEntry(
            "slack",
            SlackConfig,
            _on_demand("adapters.slack.connector", "slack_connector", lambda c: c.bot_token_env),
            slack.secrets,
            user_id=r"[UW][A-Z0-9]{2,}",  # U... (W... on Enterprise Grid)
            user_id_words="U or W, then capital letters and digits",
        ),
        PlatformEntry(
            "discord",
            DiscordConfig,
            _on_demand("adapters.discord.connector", "discord_connector", lambda c: c.token_env),
            discord.secrets,
            user_id=r"[0-9]{15,21}",  # a snowflake
            user_id_words="15 to 21 digits",
            channel_id=r"[0-9]{15,21}",  # a snowflake too: a channel's name ("general") is not one
            channel_id_words="15 to 21 digits, as Copy Channel ID gives",
            channel_example="80351110224678913",
        ),
        # Last: its prompt opens once the other platforms are connected.
        PlatformEntry(TERMINAL, None, terminal_connector),
    )
}


def platform_names() -> tuple[str, ...]:
    return tuple(PLATFORMS)
