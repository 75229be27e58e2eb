"""Summaries made once per post text: cached in the store by (content hash, summarizer, model, prompt
version, sentence count), however many channels receive the post."""

from __future__ import annotations

import logging

from briefings.models import Post
from briefings.store import Store, db
from briefings.summarize.base import Summarizer, Summary
from briefings.summarize.budget import fit_sentences
from briefings.text import distinct_sentences

log = logging.getLogger(__name__)


class SummaryService:
    def __init__(self, store: Store, summarizer: Summarizer, *, max_tokens: int = 150) -> None:
        self.store = store
        self.summarizer = summarizer
        self.max_tokens = max_tokens

    async def for_post(self, post: Post, sentences: int, *, budget_factor: int = 1) -> Summary:
        """`budget_factor` widens the token budget (a fuller briefing's longer summary); the
        cache key's sentence count keeps the two lengths apart."""
        key = self.summarizer.key
        max_tokens = self.max_tokens * budget_factor
        cached = await db(self.store.cached_summary, post.content_hash, key, sentences)
        if cached is not None:
            return Summary(tuple(distinct_sentences(cached)), method=key[0], note="cached")
        summary = await self.summarizer.summarize(post, sentences)
        # Whatever the summarizer (an LLM may say a line twice), a summary never repeats a sentence.
        kept, dropped = fit_sentences(distinct_sentences(summary.sentences), max_tokens)
        if dropped:
            log.info(
                "post %s: %d summary sentence(s) over the %d-token budget left out",
                post.id,
                dropped,
                max_tokens,
            )
        if tuple(kept) != summary.sentences:
            summary = Summary(tuple(kept), summary.method, summary.note)
        # A fallback (the LLM failed) is not cached under the LLM's key, so it is tried again later.
        if summary.method == key[0]:
            await db(self.store.cache_summary, post.content_hash, key, sentences, summary.sentences)
        return summary
