"""config.toml -> validated, typed settings. Unknown keys, wrong types and bad URLs are errors that
name the key and its line. Secrets never live here: the file names environment variables instead."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationError, field_validator, model_validator

from adapters.discord.config import DiscordConfig
from adapters.platforms import PLATFORMS
from adapters.slack.config import SlackConfig
from bot.schedules import parse_schedule
from briefings.ask import AskSettings
from briefings.errors import BriefbotError
from briefings.llm import LLMSettings
from briefings.models import SourceConfig
from briefings.settings import EnvName, SettingsModel, http_url
from briefings.sources import FetchSettings
from briefings.summarize.extractive import ExtractiveSettings
from briefings.tags import parse_tag, parse_tags

CONFIG_ENV = "BRIEFBOT_CONFIG"
DEFAULT_CONFIG_NAME = "config.toml"
IRINFIVE_FEED = "https://irinfive.com/feed/"


class ConfigError(BriefbotError):
    """The configuration cannot be used. The message names the file, key and line where it can."""


class DatabaseSettings(SettingsModel):
    url: str = "sqlite:///briefbot.db"
    url_env: EnvName = "BRIEFBOT_DATABASE_URL"
    busy_timeout_seconds: Annotated[float, Field(ge=0, le=3600)] = 5.0

    @field_validator("url")
    @classmethod
    def _no_password(cls, value: str) -> str:
        if re.match(r"^[a-z0-9+]+://[^/@:]*:[^/@]+@", value):
            raise ValueError("contains a password; put the URL in the environment variable url_env")
        return value


class SourceSettings(SettingsModel):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    url: str

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return http_url(value)


class DigestSettings(SettingsModel):
    max_items: Annotated[int, Field(ge=1, le=50)] = 10
    summary_sentences: Annotated[int, Field(ge=1, le=10)] = 3
    max_summary_tokens: Annotated[int, Field(ge=20, le=2000)] = 150
    take_sentences: Annotated[int, Field(ge=0, le=10)] = 2


class SummarizerSettings(ExtractiveSettings):
    backend: Literal["extractive", "llm"] = "extractive"


class IndexSettings(SettingsModel):
    path: str = ""  # "" = beside a SQLite database file; in memory for other databases


class ScheduleSettings(SettingsModel):
    when: str = "daily 08:00"
    timezone: str = "UTC"
    grace_minutes: Annotated[int, Field(ge=0, le=10_080)] = 120
    skip_empty: bool = True
    refresh_minutes: Annotated[float, Field(ge=1, le=1440)] = 30.0
    refresh_jitter_seconds: Annotated[float, Field(ge=0, le=3600)] = 60.0

    @model_validator(mode="after")
    def _check_schedule(self) -> ScheduleSettings:
        parse_schedule(self.when, self.timezone)  # ScheduleError is a ValueError: names the key
        return self


class DeliverySettings(SettingsModel):
    retry_base_seconds: Annotated[float, Field(ge=1, le=3600)] = 30.0
    retry_max_seconds: Annotated[float, Field(ge=1, le=86_400)] = 3600.0
    concurrency: Annotated[int, Field(ge=1, le=500)] = 50
    send_timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 60.0
    stop_grace_seconds: Annotated[float, Field(ge=0, le=60)] = 5.0


class CommandSettings(SettingsModel):
    admins: list[str] = []

    @field_validator("admins")
    @classmethod
    def _platform_ids(cls, values: list[str]) -> list[str]:
        platforms = "|".join(map(re.escape, PLATFORMS))
        for value in values:
            if not re.match(rf"^({platforms}):[A-Za-z0-9_.-]+$", value):
                raise ValueError(
                    f'{value!r} is not platform:user_id, e.g. "slack:U024BE7LH" or '
                    '"discord:80351110224678912"'
                )
        return values


class CoordinationSettings(SettingsModel):
    """Several processes on one PostgreSQL (bot/coordination.py); ignored on SQLite."""

    leader_check_seconds: Annotated[float, Field(gt=0, le=600)] = 10.0
    index_sync_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0


class SubscriptionConfig(SettingsModel):
    platform: str
    channel: Annotated[str, Field(min_length=1, max_length=200)]
    sources: list[str] = []
    when: str = ""
    timezone: str = ""
    skip_empty: bool | None = None
    # only posts with any of these tags (empty: every post); each bad tag is its own error
    tags: list[Annotated[str, AfterValidator(parse_tag)]] = []
    # "digest" (new posts on `when`) or "roundup" (the week's posts grouped into stories, on
    # `when`, "mon 08:00" if unset); a channel may have one of each.
    kind: Literal["digest", "roundup"] = "digest"

    @field_validator("platform")
    @classmethod
    def _known_platform(cls, value: str) -> str:
        if value not in PLATFORMS:
            raise ValueError(f"unknown platform {value!r}; platforms are {', '.join(PLATFORMS)}")
        return value

    @model_validator(mode="after")
    def _check_schedule(self) -> SubscriptionConfig:
        if self.when or self.timezone:
            schedule = parse_schedule(self.when or "daily 08:00", self.timezone or "UTC")
            if self.kind == "roundup" and self.when and not schedule.at_most_weekly():
                raise ValueError(
                    'a roundup is weekly: one day and one time, e.g. when = "mon 08:00"'
                )
        return self

    @field_validator("tags")
    @classmethod
    def _known_tags(cls, value: list[str]) -> list[str]:
        return list(parse_tags(value))  # repeats dropped; TagError (a ValueError) past the cap


class Settings(SettingsModel):
    database: DatabaseSettings = DatabaseSettings()
    sources: Annotated[list[SourceSettings], Field(min_length=1)] = [
        SourceSettings(name="irinfive", url=IRINFIVE_FEED)
    ]
    http: FetchSettings = FetchSettings()
    digest: DigestSettings = DigestSettings()
    summarizer: SummarizerSettings = SummarizerSettings()
    ask: AskSettings = AskSettings()
    index: IndexSettings = IndexSettings()
    llm: LLMSettings = LLMSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    delivery: DeliverySettings = DeliverySettings()
    commands: CommandSettings = CommandSettings()
    # One field per platform with a config section (adapters.platforms.PLATFORMS), its model
    # declared in the platform's package.
    slack: SlackConfig = SlackConfig()
    discord: DiscordConfig = DiscordConfig()
    coordination: CoordinationSettings = CoordinationSettings()
    subscriptions: list[SubscriptionConfig] = [
        SubscriptionConfig(platform="terminal", channel="terminal")
    ]

    @model_validator(mode="after")
    def _known_subscription_sources(self) -> Settings:
        names = {s.name for s in self.sources}
        for sub in self.subscriptions:
            unknown = sorted(set(sub.sources) - names)
            if unknown:
                raise ValueError(
                    f"subscription {sub.platform}:{sub.channel} names unknown source(s) "
                    f"{', '.join(unknown)}; sources are {', '.join(sorted(names))}"
                )
        channels = [(s.platform, s.channel, s.kind) for s in self.subscriptions]
        if len(channels) != len(set(channels)):
            raise ValueError(
                "each channel may be declared in [[subscriptions]] once per kind "
                "(one digest, one roundup)"
            )
        return self

    @model_validator(mode="after")
    def _coordination_within_a_poll(self) -> Settings:
        """A dead leader is replaced, and its posts searchable elsewhere, within one poll."""
        poll = self.schedule.refresh_minutes * 60
        for key in ("leader_check_seconds", "index_sync_seconds"):
            if getattr(self.coordination, key) > poll:
                raise ValueError(
                    f"coordination.{key} must not exceed schedule.refresh_minutes ({poll:g} s)"
                )
        return self

    @model_validator(mode="after")
    def _unique_source_names(self) -> Settings:
        names = [s.name for s in self.sources]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"source names must be unique; repeated: {', '.join(duplicates)}")
        return self

    @model_validator(mode="after")
    def _llm_needs_an_endpoint(self) -> Settings:
        for section in ("summarizer", "ask"):
            if getattr(self, section).backend == "llm" and not (
                self.llm.base_url and self.llm.model
            ):
                raise ValueError(f'{section}.backend = "llm" needs llm.base_url and llm.model')
        return self

    def platform_section(self, name: str) -> SettingsModel | None:
        """The validated section of a platform in the table; None for one without a section."""
        return getattr(self, name) if PLATFORMS[name].section is not None else None

    def source_configs(self) -> list[SourceConfig]:
        return [SourceConfig(name=s.name, url=s.url) for s in self.sources]

    def database_url(
        self, override: str | None = None, env: Mapping[str, str] | None = None
    ) -> str:
        """--db beats the environment variable, which beats config.toml."""
        env = os.environ if env is None else env
        return override or env.get(self.database.url_env) or self.database.url


def config_path(explicit: str | None, env: Mapping[str, str] | None = None) -> Path | None:
    """--config, then $BRIEFBOT_CONFIG, then ./config.toml; None means the embedded defaults."""
    env = os.environ if env is None else env
    chosen = explicit or env.get(CONFIG_ENV)
    if chosen:
        return Path(chosen)
    local = Path(DEFAULT_CONFIG_NAME)
    return local if local.is_file() else None


def load_settings(path: Path | None) -> Settings:
    if path is None:
        return Settings()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return parse_settings(data, source=str(path), text=text)


def parse_settings(
    data: Mapping[str, Any], *, source: str = "<config>", text: str = ""
) -> Settings:
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        lines = [_describe(error, source, text) for error in exc.errors()]
        raise ConfigError("\n".join(lines)) from None


def _describe(error: Any, source: str, text: str) -> str:
    loc = tuple(error["loc"])
    key = ".".join(str(part) for part in loc) or "(top level)"
    line = _line_of(loc, text)
    where = f"{source}:{line}" if line else source
    if error["type"] == "extra_forbidden":
        hint = ""
        if re.search(r"token|secret|key|password", str(loc[-1]), re.I):
            hint = " (secrets come from environment variables, never from config.toml)"
        return f"{where}: unknown key '{key}'{hint}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {key}: {message}"


def _line_of(loc: tuple[Any, ...], text: str) -> int | None:
    """Best-effort line number of a key: find its table header, then the key after it."""
    if not text or not loc:
        return None
    lines = text.splitlines()
    start = 0
    keys = [p for p in loc if isinstance(p, str)]
    if len(loc) >= 2 and isinstance(loc[1], int):
        headers = [i for i, ln in enumerate(lines) if re.match(rf"^\s*\[\[\s*{loc[0]}\s*\]\]", ln)]
        if loc[1] < len(headers):
            start = headers[loc[1]]
        keys = [p for p in loc[2:] if isinstance(p, str)]  # tags.1 is on the tags line
    elif len(keys) >= 2:
        for i, ln in enumerate(lines):
            if re.match(rf"^\s*\[\s*{re.escape(keys[0])}\s*\]", ln):
                start = i
                keys = keys[1:]
                break
    if not keys:
        return start + 1 if start else None
    pattern = re.compile(rf"^\s*\"?{re.escape(keys[-1])}\"?\s*=")
    for i in range(start, len(lines)):
        if pattern.match(lines[i]):
            return i + 1
    return start + 1 if start else None
