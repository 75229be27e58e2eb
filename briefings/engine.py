"""`BriefingEngine`: the one object adapters and the CLI talk to. It holds no platform knowledge."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import partial

import httpx

from briefings.digest import SummarizeFn, lead_sentences, unseen_digest
from briefings.ingest import Progress, ingest_source
from briefings.models import Digest, IngestReport, SourceConfig
from briefings.sources import FetchSettings
from briefings.store import Store


class BriefingEngine:
    def __init__(
        self,
        store: Store,
        client: httpx.AsyncClient,
        sources: Sequence[SourceConfig],
        fetch_settings: FetchSettings,
        *,
        max_items: int = 10,
        summary_sentences: int = 3,
        summarize: SummarizeFn | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.sources = tuple(sources)
        self.fetch_settings = fetch_settings
        self.max_items = max_items
        self.summarize: SummarizeFn = summarize or partial(lead_sentences, count=summary_sentences)

    async def refresh(
        self, sources: Sequence[SourceConfig] | None = None, *, progress: Progress | None = None
    ) -> list[IngestReport]:
        """Poll sources concurrently; one failing source never stops the others."""
        chosen = self.sources if sources is None else tuple(sources)
        return list(
            await asyncio.gather(
                *(
                    ingest_source(
                        self.store, self.client, source, self.fetch_settings, progress=progress
                    )
                    for source in chosen
                )
            )
        )

    def digest_unseen(self, reader: str, *, mark_seen: bool = True) -> Digest:
        return unseen_digest(
            self.store, reader, self.summarize, max_items=self.max_items, mark_seen=mark_seen
        )
