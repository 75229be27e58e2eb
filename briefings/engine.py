"""`BriefingEngine`: the one object adapters and the CLI talk to. It holds no platform knowledge."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

import httpx

from briefings.ask import PassageIndex
from briefings.ask_llm import LLMAnswerer
from briefings.digest import build_digest, digest_item, unseen_posts
from briefings.errors import TagError
from briefings.fuller import FULLER_BUDGET_FACTOR, FULLER_SENTENCES, fuller_item
from briefings.index import SearchIndexError
from briefings.ingest import Progress, ingest_source
from briefings.models import (
    Answer,
    Digest,
    DigestItem,
    IngestReport,
    Post,
    SearchHit,
    SourceConfig,
)
from briefings.question import is_blank_question, without_mentions
from briefings.sources import FetchSettings
from briefings.store import Store, db
from briefings.summarize.cache import SummaryService
from briefings.tag_search import tagged_answer, tagged_hits
from briefings.tags import split_tag_terms

log = logging.getLogger(__name__)


# A question of tag: filters alone has nothing to answer; `search` is what lists tagged posts.
ONLY_TAGS = (
    "a question needs words besides its tag: filters, e.g. tag:region:europe what was agreed? "
    "(search with tags alone lists the newest such posts)"
)


class BriefingEngine:
    def __init__(
        self,
        store: Store,
        client: httpx.AsyncClient,
        sources: Sequence[SourceConfig],
        fetch_settings: FetchSettings,
        summaries: SummaryService,
        *,
        max_items: int = 10,
        summary_sentences: int = 3,
        take_sentences: int = 2,
        index: PassageIndex | None = None,
        answerer: LLMAnswerer | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.sources = tuple(sources)
        self.fetch_settings = fetch_settings
        self.summaries = summaries
        self.max_items = max_items
        self.summary_sentences = summary_sentences
        self.take_sentences = take_sentences
        self.index = index if index is not None else PassageIndex(store=store)
        if self.index.store is None:
            self.index.store = store
        self._index_live = False
        self._opening: asyncio.Task[None] | None = None  # kept so it is not collected mid-way
        self.answerer = answerer
        # Single flight: a sync requested while one runs waits and shares the next one.
        self._sync_turn = asyncio.Lock()
        self._sync_asked = 0  # requests so far
        self._sync_covered = 0  # requests the last finished sync was started after
        self._sync_count = 0
        # Sync threads still running: cancelling their caller does not stop a thread, which holds a
        # connection of the store until it ends (see `index_idle`).
        self._syncing: set[asyncio.Future[int]] = set()

    async def refresh(
        self, sources: Sequence[SourceConfig] | None = None, *, progress: Progress | None = None
    ) -> list[IngestReport]:
        """Poll sources concurrently; one failing source never stops the others."""
        chosen = self.sources if sources is None else tuple(sources)
        reports = list(
            await asyncio.gather(
                *(
                    ingest_source(
                        self.store, self.client, source, self.fetch_settings, progress=progress
                    )
                    for source in chosen
                )
            )
        )
        if self._index_live:
            try:
                await self.sync_index()
            except SearchIndexError as exc:  # the posts are stored; the next sync catches up
                log.warning("search index not updated: %s", exc)
        return reports

    async def sync_index(self) -> int:
        """Bring the search index up to date with the store, in a worker thread. The first call
        opens the index (building it if missing or outdated); after it, each refresh keeps the index
        current (a digest-only run never pays for it)."""
        self._index_live = True
        self._sync_asked += 1
        mine = self._sync_asked
        async with self._sync_turn:
            if self._sync_covered >= mine:  # a sync begun after this request has finished
                return self._sync_count
            started = self._sync_asked
            work = asyncio.ensure_future(asyncio.to_thread(self.index.sync, self.store))
            self._syncing.add(work)
            work.add_done_callback(self._syncing.discard)
            self._sync_count = await asyncio.shield(work)
            self._sync_covered = started
            return self._sync_count

    def ask(
        self,
        question: str,
        *,
        context_urls: Sequence[str] = (),
        context_ids: Sequence[int] = (),
        history: Sequence[str] = (),
    ) -> Answer:
        """Answer from the indexed posts; `context_*` name the posts a thread is about, `history`
        its earlier questions (oldest first). `tag:` terms narrow the posts it may cite (TagError
        for a bad one)."""
        text, tags = split_tag_terms(question)
        if tags and is_blank_question(text):  # "tag:country:ua @everyone ?" asks nothing either
            raise TagError(ONLY_TAGS)
        context = self._context(context_urls, context_ids)
        if tags:
            return tagged_answer(self.index, self.store, text, tags, context, history)
        return self.index.ask(question, context, history)

    async def answer(
        self,
        question: str,
        *,
        context_urls: Sequence[str] = (),
        context_ids: Sequence[int] = (),
        history: Sequence[str] = (),
    ) -> Answer:
        """Like `ask`, off the event loop, and through the LLM when one is configured (it falls
        back to `ask` itself)."""
        if self.answerer is None or split_tag_terms(question)[1]:  # tag: narrowed: extractive
            return await asyncio.to_thread(
                self.ask,
                question,
                context_urls=context_urls,
                context_ids=context_ids,
                history=history,
            )
        context = await asyncio.to_thread(self._context, context_urls, context_ids)
        return await self.answerer.ask(question, context, history)

    def _context(self, urls: Sequence[str], ids: Sequence[int]) -> list[int]:
        return [*ids, *self.index.post_ids_for(urls)]

    async def search(self, query: str, limit: int = 10) -> list[SearchHit]:
        """Posts matching the query, best first, ranked in a worker thread: on a large index a
        search takes milliseconds that every other channel would otherwise wait for. `tag:` terms
        narrow the posts (TagError for a bad one); with no other words, the newest with the tags."""
        # A ping is no word to look for: "<!channel>" would find "back-channel", and "tag:… @here"
        # would look for "here" among the tagged posts instead of listing them.
        text, tags = split_tag_terms(without_mentions(query))
        if not tags:
            return await asyncio.to_thread(self.index.search, text, limit)
        text = "" if is_blank_question(text) else text
        return await asyncio.to_thread(tagged_hits, self.index, self.store, text, tags, limit)

    def open_index_in_background(self) -> asyncio.Task[None]:
        """Open the search index (building it if missing or outdated) and sync it in a worker
        thread, without waiting: `briefbot run` starts this so the first question finds the index
        ready. A question asked meanwhile waits for it in its own thread, never on the event loop;
        a failure is logged, and the next question tries again."""
        self._opening = asyncio.create_task(self._open_index(), name="open search index")
        return self._opening

    async def _open_index(self) -> None:
        try:
            count = await self.sync_index()
        except SearchIndexError as exc:
            log.warning("search index not opened: %s", exc)
        else:
            log.info("search index ready (%d post(s) indexed at start)", count)

    def stop_index(self) -> None:
        """End an index build or sync in progress at its next post, keeping what it committed,
        so a stop is never held up by indexing (the rest is indexed at the next start)."""
        self.index.search_index.stopping.set()

    async def index_idle(self) -> None:
        """Wait for index syncs whose callers were cancelled (a stop): their threads let go of the
        store's connections only when they end, and a store closed before that leaks them."""
        await asyncio.gather(*self._syncing, return_exceptions=True)

    async def digest_of(
        self, posts: Sequence[Post], notes: Sequence[str] = (), *, first: bool = False
    ) -> Digest:
        summaries = await asyncio.gather(
            *(self.summaries.for_post(post, self.summary_sentences) for post in posts)
        )
        items = [
            digest_item(post, summary, take_sentences=self.take_sentences)
            for post, summary in zip(posts, summaries, strict=True)
        ]
        return build_digest(items, notes=notes, first=first)

    async def fuller_briefing(self, post_id: int) -> DigestItem | None:
        """The post's fuller briefing (a digest's "More"); None when the post is gone."""
        post = await db(self.store.post, post_id)
        if post is None:
            return None
        sentences = max(FULLER_SENTENCES, self.summary_sentences * 2)
        summary = await self.summaries.for_post(post, sentences, budget_factor=FULLER_BUDGET_FACTOR)
        return fuller_item(post, summary)

    async def digest_unseen(
        self,
        reader: str,
        *,
        mark_seen: bool = True,
        show: Callable[[Digest], object] | None = None,
    ) -> Digest:
        """The digest of posts `reader` has not been shown, then (with `mark_seen`) marked shown.

        The reader's cursor moves only after `show` returns, so a digest that could not be shown
        (a closed pipe, a failed print) stays unseen for next time.
        """
        unseen = await db(unseen_posts, self.store, reader, max_items=self.max_items)
        digest = await self.digest_of(unseen.posts, unseen.notes, first=unseen.first)
        if show is not None:
            show(digest)
        if mark_seen:
            await db(self.store.advance_cursor, reader, [unseen.cursor])
        return digest
