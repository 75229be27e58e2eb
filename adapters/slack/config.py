"""The `[slack]` section of config.toml: how to reach Slack and which environment variables hold its
secrets (never the secrets themselves)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from briefings.settings import EnvName, SettingsModel, api_url, shaped


class SlackConfig(SettingsModel):
    mode: Literal["socket", "http"] = "socket"
    bot_token_env: EnvName = "SLACK_BOT_TOKEN"  # noqa: S105 (names a variable, holds no secret)
    app_token_env: EnvName = "SLACK_APP_TOKEN"  # noqa: S105
    signing_secret_env: EnvName = "SLACK_SIGNING_SECRET"  # noqa: S105
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 3000
    path: Annotated[
        str, shaped(r"^/[A-Za-z0-9/_-]*$", "a URL path: / then letters, digits, /, - and _")
    ] = "/slack/events"
    api_base_url: str = "https://slack.com/api/"
    command: Annotated[
        str, shaped(r"^/[a-z0-9_-]{1,31}$", "a slash command: / then 1 to 31 of a-z, 0-9, - and _")
    ] = "/briefing"
    requests_per_second: Annotated[float, Field(ge=0, le=100)] = 1.0

    @field_validator("api_base_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        return api_url(value)


def secrets(config: SlackConfig) -> tuple[str, ...]:
    """The environment variables Slack's secrets are read from (for `doctor`)."""
    return (config.bot_token_env, config.app_token_env, config.signing_secret_env)
