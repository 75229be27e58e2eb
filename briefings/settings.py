"""The base of every settings section: one pydantic model per concept, declared once.

config.toml is validated straight into these models, and the runtime objects take them as they are,
so a new key is added in one place (its model) and cannot be dropped on the way in. Sections are
frozen and forbid unknown keys, which is what makes a typo in config.toml an error naming the key.
They are strict: TOML has real types, so `max_items = "10"` or `skip_empty = "off"` is a mistake to
report, not a value to coerce (an integer is still accepted where a float is meant: `timeout = 5`).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from briefings.errors import SettingProblem as SettingProblem
from briefings.urls import url_syntax_problem


class SettingsModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def http_url(value: str) -> str:
    """An http(s) URL with a host; a feed's may carry user:password (sent as Basic auth)."""
    problem = url_syntax_problem(value)
    if problem is not None and any(c.isspace() for c in value):
        raise ValueError(problem)
    if problem is not None:
        raise ValueError(f"{value!r} is not a valid URL ({problem})")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    try:
        port = parts.port
    except ValueError:  # not a number from 0 to 65535
        port = -1
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"{value!r} has a port that is not 1-65535")
    return value


def api_url(value: str) -> str:
    """An http(s) API base, without credentials: they would go with every call (Slack refuses a
    request carrying two), and secrets live in environment variables, never in config.toml."""
    http_url(value)
    parts = urlsplit(value)
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "contains a user name or password; drop it: secrets come from environment variables"
        )
    return value


# What each `shaped` pattern means, in words: a config error shows these, never the expression.
FORMS: dict[str, str] = {}


def shaped(pattern: str, words: str) -> Any:
    """A string field that must match `pattern`, told to a user who gets it wrong as `words`."""
    FORMS[pattern] = words
    return Field(pattern=pattern)


# The name of an environment variable (which holds a secret, so config.toml never does).
EnvName = Annotated[
    str, shaped(r"^[A-Z_][A-Z0-9_]*$", "an environment variable name (A-Z, 0-9 and _)")
]
