"""Wiring: settings -> store, HTTP client and engine. Built once per process, in `main()`, never at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.config import Settings
from briefings.engine import BriefingEngine
from briefings.models import SourceConfig
from briefings.sources import make_client
from briefings.store import Store


def open_store(settings: Settings, db_override: str | None = None) -> Store:
    return Store.open(settings.database_url(db_override))


@asynccontextmanager
async def engine_for(
    settings: Settings,
    store: Store,
    *,
    sources: list[SourceConfig] | None = None,
) -> AsyncIterator[BriefingEngine]:
    fetch_settings = settings.fetch_settings()
    async with make_client(fetch_settings) as client:
        yield BriefingEngine(
            store,
            client,
            sources if sources is not None else settings.source_configs(),
            fetch_settings,
            max_items=settings.digest.max_items,
            summary_sentences=settings.digest.summary_sentences,
        )
