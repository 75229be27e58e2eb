"""config.toml -> validated, typed settings. Unknown keys, wrong types (strict: no "10" for 10) and
bad URLs are errors that name the key and its line (bot/config_errors.py words them). Secrets never live here: the file names environment variables
instead."""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from adapters.discord.config import DiscordConfig
from adapters.platforms import PLATFORMS
from adapters.slack.config import SlackConfig
from bot.config_errors import describe, line_of_error, toml_syntax
from bot.schedules import parse_schedule, parse_timezone
from briefings.ask import AskSettings
from briefings.errors import BriefbotError, UsageError
from briefings.llm import LLMSettings
from briefings.models import SourceConfig
from briefings.settings import EnvName, SettingProblem, SettingsModel, http_url, shaped
from briefings.sources import FetchSettings
from briefings.store import db_url_problem
from briefings.summarize.extractive import ExtractiveSettings
from briefings.tags import parse_tag, parse_tags
from briefings.urls import redact_credentials

CONFIG_ENV = "BRIEFBOT_CONFIG"
DEFAULT_CONFIG_NAME = "config.toml"
IRINFIVE_FEED = "https://irinfive.com/feed/"


class ConfigError(BriefbotError):
    """The configuration cannot be used. One line: the file, line, key, what is wrong and an example
    of a valid value; several problems are joined on that line (the first few, and how many more)."""

    SHOWN = 3

    @classmethod
    def of(cls, problems: list[str]) -> ConfigError:
        shown = " | ".join(problems[: cls.SHOWN])
        more = len(problems) - cls.SHOWN
        return cls(f"{shown} (and {more} more)" if more > 0 else shown)


class DatabaseSettings(SettingsModel):
    url: str = "sqlite:///briefbot.db"
    url_env: EnvName = "BRIEFBOT_DATABASE_URL"
    busy_timeout_seconds: Annotated[float, Field(ge=0, le=3600)] = 5.0

    @field_validator("url")
    @classmethod
    def _no_password(cls, value: str) -> str:
        in_query = re.search(r"[?&]password=", value, re.I)  # sqlite:///x.db?password=...
        if re.match(r"^[a-z0-9+]+://[^/@:]*:[^/@]+@", value) or in_query:
            raise ValueError("contains a password; put the URL in the environment variable url_env")
        problem = db_url_problem(value)
        if problem is not None:
            raise ValueError(f"{value!r} is not a valid database URL ({problem})")
        return value


class SourceSettings(SettingsModel):
    name: Annotated[
        str,
        shaped(
            r"^[a-z0-9][a-z0-9_-]{0,63}$",
            "a short name: up to 64 lower-case letters, digits, - and _, not starting with - or _",
        ),
        Field(examples=["irinfive"]),
    ]
    url: Annotated[str, Field(examples=[IRINFIVE_FEED])]

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
    # "" = beside a SQLite database file; in memory for other databases
    path: Annotated[str, Field(examples=["/var/lib/briefbot/index"])] = ""


def _schedule(value: str) -> str:
    # Checked alone (a schedule reads the same in every zone), so the error names its key.
    parse_schedule(value)  # ScheduleError is a ValueError whose message shows good schedules
    return value


def _time_zone(value: str) -> str:
    if value != value.strip():  # parse_timezone forgives it; the stored zone would keep the space
        raise ValueError(
            f'{value!r} has a space before or after it; did you mean "{value.strip()}"?'
        )
    parse_timezone(value)
    return value


def _unless_unset(check: Callable[[str], str]) -> Callable[[str], str]:
    """`check` for a subscription's own value; "" is unset ([schedule]'s applies)."""
    return lambda value: check(value) if value else value


class ScheduleSettings(SettingsModel):
    when: Annotated[str, AfterValidator(_schedule)] = "daily 08:00"
    timezone: Annotated[str, AfterValidator(_time_zone)] = "UTC"
    grace_minutes: Annotated[int, Field(ge=0, le=10_080)] = 120
    skip_empty: bool = True
    refresh_minutes: Annotated[float, Field(ge=1, le=1440)] = 30.0
    refresh_jitter_seconds: Annotated[float, Field(ge=0, le=3600)] = 60.0


class DeliverySettings(SettingsModel):
    retry_base_seconds: Annotated[float, Field(ge=1, le=3600)] = 30.0
    retry_max_seconds: Annotated[float, Field(ge=1, le=86_400)] = 3600.0
    concurrency: Annotated[int, Field(ge=1, le=500)] = 50
    send_timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 60.0
    stop_grace_seconds: Annotated[float, Field(ge=0, le=60)] = 5.0


def _platform_id(value: str) -> str:
    """ "platform:user_id", the id in the form its platform's row (adapters.platforms) gives. Checked
    per entry, so each bad id in `commands.admins` is its own error."""
    example = 'e.g. "slack:U024BE7LH" or "discord:80351110224678912"'
    name, colon, user = value.partition(":")
    entry = PLATFORMS.get(name)
    if colon and entry is not None and not user:
        raise ValueError(f"{value!r} has no user id after the colon; {example}")
    if not colon or entry is None:
        raise ValueError(
            f"{value!r} is not platform:user_id with a platform of {', '.join(PLATFORMS)}; "
            f"{example}"
        )
    if not entry.accepts_user_id(user):
        raise ValueError(f"{user!r} is not a {name} user id ({entry.user_id_words}); {example}")
    return value


class CommandSettings(SettingsModel):
    admins: Annotated[
        list[Annotated[str, AfterValidator(_platform_id)]],
        Field(examples=[["slack:U024BE7LH", "discord:80351110224678912"]]),
    ] = []


class CoordinationSettings(SettingsModel):
    """Several processes on one PostgreSQL (bot/coordination.py); ignored on SQLite."""

    leader_check_seconds: Annotated[float, Field(gt=0, le=600)] = 10.0
    index_sync_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0


class SubscriptionConfig(SettingsModel):
    platform: Annotated[str, Field(examples=["slack"])]
    channel: Annotated[str, Field(min_length=1, max_length=200, examples=["C024BE91L"])]
    sources: Annotated[list[str], Field(examples=[["irinfive"]])] = []
    when: Annotated[
        str, AfterValidator(_unless_unset(_schedule)), Field(examples=["daily 08:00"])
    ] = ""
    timezone: Annotated[
        str, AfterValidator(_unless_unset(_time_zone)), Field(examples=["Europe/London"])
    ] = ""
    skip_empty: Annotated[bool | None, Field(examples=[True])] = None
    # only posts with any of these tags (empty: every post); each bad tag is its own error
    tags: Annotated[
        list[Annotated[str, AfterValidator(parse_tag)]], Field(examples=[["country:de"]])
    ] = []
    # "digest" (new posts on `when`) or "roundup" (the week's posts grouped into stories, on
    # `when`, "mon 08:00" if unset); a channel may have one of each.
    kind: Literal["digest", "roundup"] = "digest"

    @field_validator("platform")
    @classmethod
    def _known_platform(cls, value: str) -> str:
        if value not in PLATFORMS:
            raise ValueError(f"unknown platform {value!r}; platforms are {', '.join(PLATFORMS)}")
        return value

    @field_validator("channel")
    @classmethod
    def _channel_in_its_platforms_form(cls, value: str, info: ValidationInfo) -> str:
        # A field check (after `platform`, declared first), not a model one: it is then told
        # beside the entry's other problems (a bad `timezone`) instead of only once they are fixed.
        platform = info.data.get("platform")
        if platform is None:  # the platform itself is wrong: that is the problem to tell
            return value
        entry = PLATFORMS[platform]
        if not entry.accepts_channel_id(value):
            raise ValueError(
                f"{value!r} is not a {platform} channel id ({entry.channel_id_words})"
                f'; e.g. channel = "{entry.channel_example}"'
            )
        return value

    @model_validator(mode="after")
    def _check_roundup_is_weekly(self) -> SubscriptionConfig:
        is_roundup = self.kind == "roundup" and bool(self.when)
        if is_roundup and not parse_schedule(self.when, self.timezone or "UTC").at_most_weekly():
            raise SettingProblem(
                'a roundup is weekly: one day and one time, e.g. when = "mon 08:00"', key=("when",)
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
    def _coordination_within_a_poll(self) -> Settings:
        """A dead leader is replaced, and its posts searchable elsewhere, within one poll."""
        poll = self.schedule.refresh_minutes * 60
        for key in ("leader_check_seconds", "index_sync_seconds"):
            if getattr(self.coordination, key) > poll:
                raise SettingProblem(
                    f"must not exceed schedule.refresh_minutes ({poll:g} s); "
                    f"e.g. {key} = {min(poll, 10.0):g}",
                    key=("coordination", key),
                )
        return self

    # The checks over a whole list are field checks, not model checks: a model check runs only once
    # every field passes, so a bad `[schedule] when` would hide a repeated source name until fixed.
    @field_validator("sources")
    @classmethod
    def _unique_source_names(cls, sources: list[SourceSettings]) -> list[SourceSettings]:
        names = [s.name for s in sources]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise SettingProblem(
                    f"source names must be unique; repeated: {name} (entries {names.index(name)} "
                    f'and {i}), e.g. name = "{name}-2"',
                    key=(i, "name"),
                )
        return sources

    @field_validator("subscriptions")
    @classmethod
    def _known_subscription_sources(
        cls, subscriptions: list[SubscriptionConfig], info: ValidationInfo
    ) -> list[SubscriptionConfig]:
        """Sources named by a subscription exist (checked once `sources` itself passed), and a
        channel has at most one digest and one roundup."""
        sources: list[SourceSettings] | None = info.data.get("sources")
        names = {s.name for s in sources or []}
        for i, sub in enumerate(subscriptions):
            unknown = sorted(set(sub.sources) - names)
            if sources is not None and unknown:
                raise SettingProblem(
                    f"{sub.platform}:{sub.channel} names unknown source(s) {', '.join(unknown)}; "
                    f"sources are {', '.join(sorted(names))}, e.g. sources = "
                    f"{json.dumps(sorted(names)[:1])}",
                    key=(i, "sources"),
                )
        first: dict[tuple[str, str, str], int] = {}
        for i, sub in enumerate(subscriptions):
            earlier = first.setdefault((sub.platform, sub.channel, sub.kind), i)
            if earlier != i:
                other = "digest" if sub.kind == "roundup" else "roundup"
                raise SettingProblem(
                    f"{sub.platform}:{sub.channel} is declared as a {sub.kind} twice (entries "
                    f"{earlier} and {i}); a channel may have one digest and one roundup: drop one, "
                    f'e.g. kind = "{other}" or another channel',
                    key=(i,),
                )
        return subscriptions

    @model_validator(mode="after")
    def _llm_needs_an_endpoint(self) -> Settings:
        for section in ("summarizer", "ask"):
            if getattr(self, section).backend == "llm" and not (
                self.llm.base_url and self.llm.model
            ):
                raise SettingProblem(
                    '"llm" needs llm.base_url and llm.model, e.g. base_url = '
                    '"http://127.0.0.1:8000/v1" under [llm]; or backend = "extractive"',
                    key=(section, "backend"),
                )
        return self

    def platform_section(self, name: str) -> SettingsModel | None:
        """The validated section of a platform in the table; None for one without a section."""
        return getattr(self, name) if PLATFORMS[name].section is not None else None

    def source_configs(self) -> list[SourceConfig]:
        return [SourceConfig(name=s.name, url=s.url) for s in self.sources]

    def database_url(
        self, override: str | None = None, env: Mapping[str, str] | None = None
    ) -> str:
        """--db beats the environment variable, which beats config.toml. A URL that cannot be read
        as one is a usage error naming where it came from (its password masked)."""
        env = os.environ if env is None else env
        from_env = env.get(self.database.url_env)
        url = override or from_env or self.database.url
        problem = db_url_problem(url)
        if problem is not None:
            where = "--db" if override else self.database.url_env if from_env else "database.url"
            shown = redact_credentials(repr(url))
            raise UsageError(f"{where}: {shown} is not a valid database URL ({problem})")
        return url


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
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}:{line}: not UTF-8 text (byte {exc.start + 1}); save the file as UTF-8"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(toml_syntax(str(exc), str(path), text, Settings)) from None
    return parse_settings(data, source=str(path), text=text)


def parse_settings(
    data: Mapping[str, Any], *, source: str = "<config>", text: str = ""
) -> Settings:
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        # In the file's order (pydantic's is the model's); those without a line last.
        errors = sorted(exc.errors(), key=lambda e: line_of_error(e, text) or len(text) + 1)
        problems = [describe(error, Settings, source, text) for error in errors]
        raise ConfigError.of(problems) from None
