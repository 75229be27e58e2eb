"""The `[discord]` section of config.toml: sharding, intents, the send rate, and the environment
variable holding the bot token (never the token itself)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from briefings.settings import EnvName, SettingsModel


class DiscordConfig(SettingsModel):
    token_env: EnvName = "DISCORD_TOKEN"  # noqa: S105 (names a variable, holds no secret)
    sharded: bool = False
    # Shards across processes: this process runs `shard_ids` of `shard_count` (all when unset).
    shard_count: Annotated[int, Field(ge=1, le=100_000)] | None = None
    shard_ids: list[Annotated[int, Field(ge=0)]] | None = None
    message_content: bool = False
    requests_per_second: Annotated[float, Field(ge=0, le=50)] = 40.0

    @model_validator(mode="after")
    def _shards_within_count(self) -> DiscordConfig:
        if self.shard_count is None:
            if self.shard_ids is not None:
                raise ValueError("shard_ids needs shard_count (the total number of shards)")
            return self
        if self.sharded:
            raise ValueError("set sharded (Discord picks the count) or shard_count, not both")
        ids = self.shard_ids if self.shard_ids is not None else []
        if self.shard_ids is not None and not ids:
            raise ValueError("shard_ids is empty; list this process's shards, e.g. [0, 1]")
        outside = sorted({i for i in ids if i >= self.shard_count})
        if outside:
            raise ValueError(
                f"shard_ids {outside} not below shard_count "
                f"{self.shard_count} (shards are numbered 0 to {self.shard_count - 1})"
            )
        if len(ids) != len(set(ids)):
            raise ValueError("shard_ids lists a shard twice")
        return self
