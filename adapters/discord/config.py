"""The `[discord]` section of config.toml: sharding, intents, the send rate, and the environment
variable holding the bot token (never the token itself)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from briefings.settings import EnvName, SettingProblem, SettingsModel


class DiscordConfig(SettingsModel):
    token_env: EnvName = "DISCORD_TOKEN"  # noqa: S105 (names a variable, holds no secret)
    sharded: bool = False
    # Shards across processes: this process runs `shard_ids` of `shard_count` (all when unset).
    shard_count: Annotated[int | None, Field(ge=1, le=100_000, examples=[4])] = None
    shard_ids: Annotated[list[Annotated[int, Field(ge=0)]] | None, Field(examples=[[0, 1]])] = None
    message_content: bool = False
    requests_per_second: Annotated[float, Field(ge=0, le=50)] = 40.0

    @model_validator(mode="after")
    def _shards_within_count(self) -> DiscordConfig:
        if self.shard_count is None:
            if self.shard_ids is not None:
                raise SettingProblem(
                    "needs shard_count (the total number of shards), e.g. shard_count = 4",
                    key=("shard_ids",),
                )
            return self
        if self.sharded:
            raise SettingProblem(
                "set sharded (Discord picks the count) or shard_count, not both; "
                "e.g. sharded = false",
                key=("sharded",),
            )
        ids = self.shard_ids if self.shard_ids is not None else []
        if self.shard_ids is not None and not ids:
            raise SettingProblem(
                "is empty; list this process's shards, e.g. shard_ids = [0, 1]",
                key=("shard_ids",),
            )
        outside = sorted({i for i in ids if i >= self.shard_count})
        if outside:
            raise SettingProblem(
                f"{outside} not below shard_count {self.shard_count} (shards are numbered 0 to "
                f"{self.shard_count - 1}), e.g. shard_ids = [0]",
                key=("shard_ids",),
            )
        if len(ids) != len(set(ids)):
            raise SettingProblem("lists a shard twice, e.g. shard_ids = [0, 1]", key=("shard_ids",))
        return self


def secrets(config: DiscordConfig) -> tuple[str, ...]:
    """The environment variable the bot token is read from (for `doctor`)."""
    return (config.token_env,)
