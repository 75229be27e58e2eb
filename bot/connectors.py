"""The configured chat platforms, started and stopped together: one loop over the platform table
(`adapters.platforms.PLATFORMS`) for `run` and `run --once` alike, so neither names a platform."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from adapters.contract import (
    ChatPlatform,
    Connector,
    ConnectorContext,
    RegisteredHandler,
)
from adapters.platforms import PLATFORMS
from bot.config import Settings
from briefings.errors import describe

log = logging.getLogger(__name__)


class Connectors:
    """Every platform whose factory returns a connector (its token is set): built before anything
    starts (a half-configured platform is a clear error), logged in to send, and listening only
    when started with a handler."""

    def __init__(
        self,
        settings: Settings,
        env: Mapping[str, str],
        context: ConnectorContext,
    ) -> None:
        self.connectors: list[Connector] = []
        for entry in PLATFORMS.values():
            connector = entry.connect(settings.platform_section(entry.name), env, context)
            if connector is not None:
                self.connectors.append(connector)

    @property
    def delivery(self) -> dict[str, ChatPlatform]:
        return {c.name: c.platform for c in self.connectors}

    async def start(self, handler: RegisteredHandler | None) -> None:
        """Start each in turn; the first refusal is raised (`stop` still stops them all)."""
        for connector in self.connectors:
            await connector.start(handler)

    async def stop(self) -> None:
        """Stop every connector, built or started; one that fails to stop does not keep the
        others connected."""
        for connector in self.connectors:
            try:
                await connector.stop()
            except Exception as exc:
                log.warning("%s did not stop cleanly: %s", connector.name, describe(exc))


class Ended:
    """The first word of a connector ending by itself: None for an end as asked (`quit`), else
    the error the bot stops with."""

    def __init__(self) -> None:
        self.future: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()

    def __call__(self, error: Exception | None) -> None:
        if not self.future.done():
            self.future.set_result(error)
