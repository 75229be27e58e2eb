"""What a platform's config section is built from, so each adapter package can declare its own
section model and `bot.config` only has to include it: the same strictness as every other section
(unknown keys are errors, values frozen) and the same checks for environment variable names and URLs."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

# The name of an environment variable holding a secret; config.toml never holds the secret itself.
EnvName = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")]


class PlatformSection(BaseModel):
    """A platform's `[section]` of config.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value
