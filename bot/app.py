"""Wiring: settings -> store, HTTP client, summarizer and engine. Built once per process, never at import."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

from bot.commands import CommandSettings
from bot.config import Settings
from bot.delivery import Deliverer, DeliverySettings
from bot.scheduler import SchedulerSettings
from bot.tables import ensure_schema as ensure_bot_schema
from briefings.ask import AskSettings, PassageIndex
from briefings.ask_llm import LLMAnswerer
from briefings.engine import BriefingEngine
from briefings.index import default_index_path
from briefings.llm import ChatClient, LLMConfig
from briefings.models import SourceConfig, Subscription
from briefings.sources import make_client
from briefings.store import Store, StoreError
from briefings.summarize.base import Summarizer
from briefings.summarize.cache import SummaryService
from briefings.summarize.extractive import ExtractiveSettings, ExtractiveSummarizer
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
    s = settings.summarizer
    return ExtractiveSummarizer(
        ExtractiveSettings(
            position_weight=s.position_weight,
            centrality_weight=s.centrality_weight,
            redundancy=s.redundancy,
            min_words=s.min_words,
        )
    )


def llm_config(settings: Settings, env: Mapping[str, str] | None = None) -> LLMConfig:
    env = os.environ if env is None else env
    llm = settings.llm
    return LLMConfig(
        base_url=llm.base_url,
        model=llm.model,
        api_key=env.get(llm.api_key_env) or None,
        timeout_seconds=llm.timeout_seconds,
        max_retries=llm.max_retries,
        max_concurrency=llm.max_concurrency,
        max_prompt_tokens=llm.max_prompt_tokens,
        max_output_tokens=llm.max_output_tokens,
    )


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
    fetch_settings = settings.fetch_settings()
    async with make_client(fetch_settings) as client:
        # One client for both LLM uses, so llm.max_concurrency caps the endpoint as a whole.
        uses_llm = "llm" in (settings.summarizer.backend, settings.ask.backend)
        chat = ChatClient(llm_config(settings), client) if uses_llm else None
        summaries = SummaryService(
            store, make_summarizer(settings, chat), max_tokens=settings.digest.max_summary_tokens
        )
        a = settings.ask
        index = PassageIndex(
            AskSettings(
                passage_sentences=a.passage_sentences,
                answer_sentences=a.answer_sentences,
                min_coverage=a.min_coverage,
                context_boost=a.context_boost,
            ),
            store=store,
            path=index_path(settings, store),
        )
        answerer = LLMAnswerer(chat, index) if a.backend == "llm" and chat else None
        yield BriefingEngine(
            store,
            client,
            sources if sources is not None else settings.source_configs(),
            fetch_settings,
            summaries,
            max_items=settings.digest.max_items,
            summary_sentences=settings.digest.summary_sentences,
            take_sentences=settings.digest.take_sentences,
            index=index,
            answerer=answerer,
        )


def delivery_settings(settings: Settings) -> DeliverySettings:
    d, s = settings.delivery, settings.schedule
    return DeliverySettings(
        default_when=s.when,
        default_timezone=s.timezone,
        grace=timedelta(minutes=s.grace_minutes),
        max_items=settings.digest.max_items,
        retry_base_seconds=d.retry_base_seconds,
        retry_max_seconds=d.retry_max_seconds,
        concurrency=d.concurrency,
        send_timeout_seconds=d.send_timeout_seconds,
        admins=tuple(settings.commands.admins),
    )


def scheduler_settings(settings: Settings) -> SchedulerSettings:
    s = settings.schedule
    return SchedulerSettings(
        refresh_minutes=s.refresh_minutes,
        refresh_jitter_seconds=s.refresh_jitter_seconds,
        misfire_grace_seconds=max(1, s.grace_minutes * 60),
        index_sync_seconds=settings.coordination.index_sync_seconds,
    )


def command_settings(settings: Settings) -> CommandSettings:
    return CommandSettings(
        admins=frozenset(settings.commands.admins),
        source_names=tuple(s.name for s in settings.sources),
    )


CONFIG_OWNER = "config"  # admin_user of a subscription config.toml declared and no command changed


def apply_declared_subscriptions(
    store: Store, settings: Settings, deliverer: Deliverer, now: datetime
) -> list[Subscription]:
    """Create the [[subscriptions]] config.toml declares. A declared one that no admin command has
    changed since follows config.toml; once an admin changes it in chat, their change wins."""
    applied = []
    for declared in settings.subscriptions:
        current = deliverer.outbox.subscription(declared.platform, declared.channel)
        if current is not None and current.admin_user != CONFIG_OWNER:
            continue
        skip_empty = (
            settings.schedule.skip_empty if declared.skip_empty is None else declared.skip_empty
        )
        sub = deliverer.outbox.save_subscription(
            declared.platform,
            declared.channel,
            sources=declared.sources,
            active=True,
            schedule=declared.when,
            timezone=declared.timezone,
            skip_empty=skip_empty,
            admin_user=CONFIG_OWNER,
        )
        moved = current is None or (current.schedule, current.timezone) != (
            sub.schedule,
            sub.timezone,
        )
        if moved or sub.next_run_at is None:
            sub = deliverer.outbox.save_subscription(
                sub.platform, sub.channel, next_run_at=deliverer.next_run_after(sub, now)
            )
        applied.append(sub)
    return applied
