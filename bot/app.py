"""Wiring: settings -> store, HTTP client, summarizer and engine. Built once per process, never at import."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import httpx

from bot.config import Settings, SubscriptionConfig
from bot.delivery import Deliverer
from bot.schedules import parse_schedule
from bot.tables import ensure_schema as ensure_bot_schema
from briefings.ask import PassageIndex
from briefings.ask_llm import LLMAnswerer
from briefings.engine import BriefingEngine
from briefings.index import default_index_path
from briefings.llm import ChatClient
from briefings.models import SourceConfig, Subscription
from briefings.sources import make_client
from briefings.store import Store, StoreError
from briefings.summarize.base import Summarizer
from briefings.summarize.cache import SummaryService
from briefings.summarize.extractive import ExtractiveSummarizer
from briefings.summarize.llm import LLMSummarizer


def open_store(settings: Settings, db_override: str | None = None) -> Store:
    """The store, with the core's tables and (unless the file is read-only) the bot's migrated."""
    store = Store.open(
        settings.database_url(db_override), busy_timeout=settings.database.busy_timeout_seconds
    )
    if not store.read_only:
        try:
            ensure_bot_schema(store.engine, label=store.label)
        except StoreError:
            store.close()
            raise
    return store


def index_path(settings: Settings, store: Store) -> Path | None:
    """Where the search index lives: `index.path`, else beside a SQLite file (None: in memory)."""
    if settings.index.path:
        return Path(settings.index.path).expanduser()
    return default_index_path(store)


def extractive_summarizer(settings: Settings) -> ExtractiveSummarizer:
    return ExtractiveSummarizer(settings.summarizer)


def chat_client(
    settings: Settings, client: httpx.AsyncClient, env: Mapping[str, str] | None = None
) -> ChatClient:
    """The LLM client, its API key read from the variable `llm.api_key_env` names."""
    env = os.environ if env is None else env
    return ChatClient(settings.llm, client, api_key=env.get(settings.llm.api_key_env) or None)


def make_summarizer(settings: Settings, chat: ChatClient | None) -> Summarizer:
    extractive = extractive_summarizer(settings)
    if settings.summarizer.backend != "llm" or chat is None:
        return extractive
    return LLMSummarizer(chat, extractive, max_tokens=settings.digest.max_summary_tokens)


@asynccontextmanager
async def engine_for(
    settings: Settings,
    store: Store,
    *,
    sources: list[SourceConfig] | None = None,
) -> AsyncIterator[BriefingEngine]:
    async with make_client(settings.http) as client:
        # One client for both LLM uses, so llm.max_concurrency caps the endpoint as a whole.
        uses_llm = "llm" in (settings.summarizer.backend, settings.ask.backend)
        chat = chat_client(settings, client) if uses_llm else None
        summaries = SummaryService(
            store, make_summarizer(settings, chat), max_tokens=settings.digest.max_summary_tokens
        )
        index = PassageIndex(settings.ask, store=store, path=index_path(settings, store))
        answerer = LLMAnswerer(chat, index) if settings.ask.backend == "llm" and chat else None
        yield BriefingEngine(
            store,
            client,
            sources if sources is not None else settings.source_configs(),
            settings.http,
            summaries,
            max_items=settings.digest.max_items,
            summary_sentences=settings.digest.summary_sentences,
            take_sentences=settings.digest.take_sentences,
            index=index,
            answerer=answerer,
        )


DEFAULT_ROUNDUP_WHEN = "mon 08:00"  # a declared roundup without `when`
CONFIG_OWNER = "config"  # admin_user of a subscription config.toml declared and no command changed


def apply_declared_subscriptions(
    store: Store, settings: Settings, deliverer: Deliverer, now: datetime
) -> list[Subscription]:
    """Create the [[subscriptions]] config.toml declares. A declared one that no admin command has
    changed since follows config.toml; once an admin changes it in chat, their change wins."""
    applied = []
    for declared in settings.subscriptions:
        if declared.kind == "roundup":
            apply_declared_roundup(settings, deliverer, declared, now)
            continue
        current = deliverer.outbox.subscription(declared.platform, declared.channel)
        if current is not None and current.admin_user != CONFIG_OWNER:
            continue
        skip_empty = (
            settings.schedule.skip_empty if declared.skip_empty is None else declared.skip_empty
        )
        sub = deliverer.subscriptions.save(
            declared.platform,
            declared.channel,
            now,
            sources=declared.sources,
            active=True,
            schedule=declared.when,
            timezone=declared.timezone,
            skip_empty=skip_empty,
            tags=declared.tags,
            admin_user=CONFIG_OWNER,
        )
        applied.append(sub)
    return applied


def apply_declared_roundup(
    settings: Settings, deliverer: Deliverer, declared: SubscriptionConfig, now: datetime
) -> None:
    """A `kind = "roundup"` entry: the channel's weekly roundup, unless an admin set it in chat."""
    roundups = deliverer.roundups.roundups
    current = roundups.subscription(declared.platform, declared.channel)
    if current is not None and current.admin_user != CONFIG_OWNER:
        return
    schedule = parse_schedule(
        declared.when or DEFAULT_ROUNDUP_WHEN, declared.timezone or settings.schedule.timezone
    )
    keep = current is not None and (current.schedule, current.timezone) == (
        schedule.when,
        schedule.timezone,
    )
    roundups.save(
        declared.platform,
        declared.channel,
        schedule=schedule.when,
        timezone=schedule.timezone,
        next_run_at=current.next_run_at if keep and current else schedule.next_fire(now),
        now=now,
        sources=tuple(declared.sources),
        admin_user=CONFIG_OWNER,
    )
