"""The search index of the stored posts: Tantivy indexes kept on disk beside the store, updated
incrementally as posts are stored or edited.

Two indexes: one document per passage (a few sentences of the body or of the take, with the post's
title) and one per post (the title and every passage). Documents hold stemmed terms and numbers only
(post id; section and first sentence of a passage), never text: answers quote the post fetched from
the store, so a process holds no post bodies. `meta.json` says what the index reflects: its format,
the passage size, the database it was built from, and that database's change position (highest post
id and newest `updated_at` indexed). Syncing asks the store for posts changed since that position and
re-indexes only those, deleting a post's old documents first, so nothing is indexed twice even when
two processes share the directory (Tantivy lets one writer in at a time; readers never wait).

Tantivy scores with BM25 (k1 1.2, b 0.75) and gives document frequencies, so the idf-weighted
coverage gate needs nothing of its own. Its scores are close, not exact: it keeps each document's
length as a one-byte approximation (exact below 40 terms, then up to about 1/8 short). Each document
therefore also keeps its exact length (a fast field). From it, each hit carries the band its exact
score lies in (`exact_floor`: a few percent wide), so a ranking rescores only the candidates whose
bands overlap where it is decided; their exact BM25 (`ExactScorer`) comes from the term counts in
Tantivy's explanation of their score and the exact length, as a full in-memory BM25 would score them,
with no stored text (format 2 stored every document's terms: 3.5 times the size and the memory). Syncs commit
every `_COMMIT_EVERY` posts, so a large catch-up keeps memory flat and a stop can end it between posts.
A missing, outdated or unreadable index is rebuilt from the store, with a log line.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
import tantivy

from briefings.errors import SearchIndexError as SearchIndexError
from briefings.models import Post
from briefings.store import Store, database_identity
from briefings.terms import terms
from briefings.text import body_sentences, has_body, is_heading, take_sentences

log = logging.getLogger(__name__)

INDEX_FORMAT = 4  # bump when documents, fields or terms change: older indexes are then rebuilt
# (4: runs of Han, kana and Thai are indexed as two-character pieces, see `briefings.terms`)
_WRITER_HEAP = 32_000_000
_LOCK_WAIT_SECONDS = 30.0
_BATCH = 200
_COMMIT_EVERY = 2000  # posts per commit while syncing: memory stays flat however many changed
_FIELD = "terms"
K1, B = 1.2, 0.75  # BM25 parameters, Tantivy's and ours
# A document's exact BM25 lies within [low, score] of Tantivy's score (see `Hit`) up to 32-bit float
# rounding and the drift of deleted documents not yet merged away (Tantivy still counts them in its
# averages): this factor widens both sides for those.
SCORE_SLACK = 1.02


class Hit(NamedTuple):
    """One document found: its post, its passage's place (0 for a whole post), Tantivy's score,
    where it is (for `ExactScorer`), and the least its exact score can be (`exact_floor`)."""

    post: int
    spot: int
    score: float
    address: tantivy.DocAddress
    low: float


def scored_length(length: int) -> int:
    """The length Tantivy scores a document of `length` terms by: it keeps lengths in one byte,
    exact below 40 and above that the largest value at or below the length on a scale that keeps
    the four leading bits of (length - 24)."""
    if length < 24:
        return length
    rest = length - 24
    shift = max(rest.bit_length() - 4, 0)
    return 24 + ((rest >> shift) << shift)


def exact_floor(score: float, length: int, average: float) -> float:
    """The least exact BM25 a document of `length` terms can have when Tantivy scores it `score`.

    Per term, Tantivy's score over the exact one is (tf + K) / (tf + K') with K, K' the length
    normalisations of the exact and the (shorter) scored length: between 1 and K / K'. So the exact
    score lies in [score * K' / K, score], a band a few percent wide for most lengths."""
    exact = 1 - B + B * length / average
    scored = 1 - B + B * scored_length(length) / average
    return score * scored / exact / SCORE_SLACK if exact > 0 else score / SCORE_SLACK


@dataclass(frozen=True, slots=True)
class Unit:
    """One passage of a post as indexed: derived from the post's text, never stored."""

    section: str  # "body" or "take"
    position: int  # index of its first sentence within the section
    sentences: tuple[str, ...]
    terms: list[str]


def post_sections(post: Post) -> tuple[tuple[str, list[str]], ...]:
    """The sentences of the post's body and take, as indexed and quoted."""
    return ("body", body_sentences(post)), ("take", take_sentences(post))


def post_units(post: Post, size: int) -> tuple[list[str], list[Unit]]:
    """The post's title terms and passages, the same way at indexing and at answering time. The
    sub-headings count with the title: they are not quoted, but a word only they hold ("Outlook",
    a place named in one) must still find the post."""
    units = []
    for section, sentences in post_sections(post):
        for start in range(0, len(sentences), size):
            chunk = tuple(sentences[start : start + size])
            units.append(Unit(section, start, chunk, terms(" ".join(chunk))))
    headings = [p for p in post.paragraphs if is_heading(p)] if has_body(post.paragraphs) else []
    return terms(" ".join([post.title, *headings])), units


def spot(section: str, position: int) -> int:
    """A passage's place in its post as one number (a fast field)."""
    return position * 2 + (section == "take")


def unspot(value: int) -> tuple[str, int]:
    return ("take" if value % 2 else "body"), value // 2


@dataclass(frozen=True, slots=True)
class Meta:
    format: int
    passage_sentences: int
    store: str
    max_id: int = 0
    max_updated: datetime | None = None

    def to_json(self) -> str:
        updated = self.max_updated.isoformat() if self.max_updated else None
        return json.dumps({**self._fields(), "max_updated": updated})

    def _fields(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "passage_sentences": self.passage_sentences,
            "store": self.store,
            "max_id": self.max_id,
        }

    @classmethod
    def from_json(cls, text: str) -> Meta:
        raw = json.loads(text)
        updated = raw.get("max_updated")
        return cls(
            format=int(raw["format"]),
            passage_sentences=int(raw["passage_sentences"]),
            store=str(raw["store"]),
            max_id=int(raw["max_id"]),
            max_updated=datetime.fromisoformat(updated) if updated else None,
        )


def store_identity(store: Store) -> str:
    """Which database this is: its dialect and when its schema was created (a replaced or other
    database gets its own index, not a stale one)."""
    with store.engine.connect() as conn:
        created = conn.execute(sa.select(sa.func.min(database_identity.c.created_at))).scalar()
    return f"{store.engine.dialect.name}:{created.isoformat() if created else ''}"


def default_index_path(store: Store) -> Path | None:
    """Beside a SQLite file (`briefbot.db.index/`); None (in memory) for anything else, and for a
    read-only file whose folder has no writable index beside it (reading commands still work)."""
    if store.file is None:
        return None
    path = Path(f"{store.file}.index")
    if store.read_only and not os.access(path if path.exists() else path.parent, os.W_OK):
        return None
    return path


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("post", stored=False, indexed=True, fast=True)
    builder.add_integer_field("spot", stored=False, indexed=False, fast=True)
    builder.add_integer_field("len", stored=False, indexed=False, fast=True)
    builder.add_text_field(_FIELD, stored=False, tokenizer_name="whitespace", index_option="freq")
    return builder.build()


def _manual(index: tantivy.Index) -> tantivy.Index:
    """Readers see a commit only when we reload them (after reading `meta.json`), so the averages
    cached for exact scoring always match the documents searched."""
    index.config_reader(reload_policy="Manual")
    return index


class ExactScorer:
    """Exact BM25 of documents of one index, for one question's terms.

    Each term's count in a document comes from Tantivy's own explanation of the document's score
    (the postings hold exact counts; only lengths are approximate there), so documents keep no
    stored text; the exact length comes from the "len" fast field."""

    def __init__(
        self,
        searcher: tantivy.Searcher | None,
        query: tantivy.Query | None,
        idf: dict[str, float],
        average: float,
    ) -> None:
        self.searcher = searcher
        self.query = query
        self.idf = idf
        self.average = average

    def __call__(self, addresses: Sequence[tantivy.DocAddress]) -> list[float]:
        if self.searcher is None or self.query is None or not addresses:
            return [0.0] * len(addresses)
        lengths = self.searcher.fast_field_values("len", list(addresses))
        out = []
        for address, length in zip(addresses, lengths, strict=True):
            norm = K1 * (1 - B + B * int(length or 0) / self.average)
            score = 0.0
            for word, tf in self.counts(address).items():
                score += self.idf.get(word, 0.0) * tf * (K1 + 1) / (tf + norm)
            out.append(score)
        return out

    def counts(self, address: tantivy.DocAddress) -> dict[str, float]:
        """How often each query term occurs in the document (terms it lacks are left out)."""
        assert self.searcher is not None and self.query is not None
        try:
            text = self.query.explain(self.searcher, address).to_json()
        except ValueError:  # the document matches none of the terms
            return {}
        return explained_counts(text)


# In Tantivy's explanation (JSON) of a term query's score, the term's count ("freq, occurrences of
# term within document") comes before the term itself ("Term=Term(field=.., type=Str, "word")").
_FREQ = re.compile(r'"value": ([0-9.eE+-]+),\s*"description": "freq,')
_TERM = re.compile(r'"Term=Term\(field=\d+, type=Str, \\"((?:[^"\\]|\\.)*)\\"\)"')


def explained_counts(text: str) -> dict[str, float]:
    """Each term's count in a document, from Tantivy's explanation of its score."""
    freqs = _FREQ.findall(text)
    words = _TERM.findall(text)
    if len(freqs) != len(words) or any("\\" in word for word in words):
        counts: dict[str, float] = {}  # not the usual shape: walk the tree instead
        _collect_counts(json.loads(text), counts)
        return counts
    return {word: float(freq) for word, freq in zip(words, freqs, strict=True) if float(freq)}


_TERM_CONTEXT = re.compile(r'^Term=Term\(.*"(.*)"\)$')


def _collect_counts(node: dict[str, Any], counts: dict[str, float]) -> None:
    """Walk an explanation tree: each term query's node names its term (in "context") and holds
    the term's count in a "freq, ..." detail."""
    for context in node.get("context", ()):
        match = _TERM_CONTEXT.match(context)
        if match:
            freq = _find_freq(node)
            if freq:
                counts[match.group(1)] = freq
            return
    for child in node.get("details", ()):
        _collect_counts(child, counts)


def _find_freq(node: dict[str, Any]) -> float:
    if str(node.get("description", "")).startswith("freq,"):
        return float(node.get("value", 0.0))
    for child in node.get("details", ()):
        found = _find_freq(child)
        if found:
            return found
    return 0.0


class SearchIndex:
    """Passage and post indexes at `path` (in memory when None), synced from a store."""

    def __init__(self, path: Path | None, passage_sentences: int = 3) -> None:
        self.path = path
        self.passage_sentences = passage_sentences
        self._schema = _schema()
        self._passages: tantivy.Index | None = None
        self._posts: tantivy.Index | None = None
        self._meta: Meta | None = None  # in-memory indexes keep their position here
        self._seen: Meta | None = None  # the position this process's readers reflect
        self._lock = threading.Lock()
        self._avg_len: dict[str, float] = {}  # per index, over live documents; reset on reload
        self.stopping = threading.Event()  # set to end a sync or rebuild at the next post

    # -- opening and syncing --------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._posts is not None

    def open(self, store: Store) -> None:
        """Open the index, rebuilding it from the store if it is missing, outdated or unreadable."""
        with self._lock:
            if not self.is_open:
                self._open(store)
                self._sync(store)

    def sync(self, store: Store) -> int:
        """Index posts stored or edited since the position the index reflects; returns how many."""
        with self._lock:
            if not self.is_open:
                self._open(store)
            return self._sync(store)

    def rebuild(self, store: Store) -> int:
        """Index every stored post afresh (`briefbot reindex`); returns how many."""
        with self._lock:
            if not self.is_open:
                self._open(store)
            identity = store_identity(store)
            with self._writers() as (passages, posts):
                passages.delete_all_documents()
                posts.delete_all_documents()
                meta = Meta(INDEX_FORMAT, self.passage_sentences, identity)
                return self._index(passages, posts, store.iter_posts(), meta)

    def _open(self, store: Store) -> None:
        identity = store_identity(store)
        fresh = Meta(INDEX_FORMAT, self.passage_sentences, identity)
        if self.path is None:
            self._passages = _manual(tantivy.Index(self._schema))
            self._posts = _manual(tantivy.Index(self._schema))
            self._meta = fresh
            return
        reason = self._unusable(identity, store)
        if reason is None:
            return
        if reason == "missing":
            log.info("building the search index at %s from the store", self.path)
        else:
            log.warning("search index at %s %s; rebuilding it from the store", self.path, reason)
        self._create(fresh)

    def _unusable(self, identity: str, store: Store) -> str | None:
        """Why the index on disk cannot be used as it is (None: opened and usable)."""
        assert self.path is not None
        meta_file = self.path / "meta.json"
        if not meta_file.exists():
            return "missing"
        try:
            meta = Meta.from_json(meta_file.read_text(encoding="utf-8"))
            if meta.format != INDEX_FORMAT:
                return f"has format {meta.format}, not {INDEX_FORMAT}"
            if meta.passage_sentences != self.passage_sentences:
                return f"was built with {meta.passage_sentences}-sentence passages"
            if meta.store != identity:
                return "was built from another database"
            if meta.max_id > store.max_post_id():
                return "is ahead of the database"
            self._passages = _manual(tantivy.Index.open(str(self.path / "passages")))
            self._posts = _manual(tantivy.Index.open(str(self.path / "posts")))
            return None
        except (ValueError, KeyError, TypeError, OSError) as exc:
            self._passages = self._posts = None
            return f"is unreadable ({str(exc).splitlines()[0][:200]})"

    def _create(self, meta: Meta) -> None:
        """A new, empty index on disk; only our own files are removed from the directory."""
        assert self.path is not None
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            (self.path / "meta.json").unlink(missing_ok=True)
            indexes = []
            for name in ("passages", "posts"):
                shutil.rmtree(self.path / name, ignore_errors=True)
                (self.path / name).mkdir()
                indexes.append(_manual(tantivy.Index(self._schema, path=str(self.path / name))))
            self._passages, self._posts = indexes
            self._write_meta(meta)
        except (OSError, ValueError) as exc:
            raise SearchIndexError(f"cannot create the search index at {self.path}: {exc}") from exc

    def _sync(self, store: Store) -> int:
        meta = self._read_meta()
        if meta != self._seen:  # another process committed since: read its segments
            self._reload(meta)
        if not store.changed_post_ids(*self._position(meta)):
            return 0
        with self._writers() as (passages, posts):
            meta = self._read_meta()  # another process may have synced while we waited
            changed = store.changed_post_ids(*self._position(meta))
            if not changed:
                return 0
            return self._index(passages, posts, self._fetch(store, changed), meta)

    @staticmethod
    def _position(meta: Meta) -> tuple[int, datetime | None]:
        return meta.max_id, meta.max_updated

    @staticmethod
    def _fetch(store: Store, changed: Sequence[tuple[int, datetime]]) -> Iterator[Post]:
        """The changed posts, in id order, read a batch at a time."""
        for start in range(0, len(changed), _BATCH):
            ids = [post_id for post_id, _ in changed[start : start + _BATCH]]
            found = {post.id: post for post in store.posts_by_ids(ids)}
            yield from (found[post_id] for post_id in ids if post_id in found)

    def _index(
        self,
        passages: tantivy.IndexWriter,
        posts: tantivy.IndexWriter,
        items: Iterable[Post],
        meta: Meta,
    ) -> int:
        """Index the posts (in id order), replacing their old documents, committing every
        `_COMMIT_EVERY` posts with the position reached: every post not yet indexed has a higher
        id, so an interrupted sync resumes where it stopped. Returns how many were indexed."""
        count, pending = 0, 0
        max_id, max_updated = meta.max_id, meta.max_updated
        for post in items:
            if self.stopping.is_set():
                break
            passages.delete_documents_by_term("post", post.id)
            posts.delete_documents_by_term("post", post.id)
            self._add(passages, posts, post)
            count += 1
            pending += 1
            max_id = max(max_id, post.id)
            if max_updated is None or post.updated_at > max_updated:
                max_updated = post.updated_at
            if pending == _COMMIT_EVERY:
                meta = Meta(meta.format, meta.passage_sentences, meta.store, max_id, max_updated)
                self._commit(passages, posts, meta)
                pending = 0
        meta = Meta(meta.format, meta.passage_sentences, meta.store, max_id, max_updated)
        if pending or meta != self._read_meta():
            self._commit(passages, posts, meta)
        return count

    def _add(self, passages: tantivy.IndexWriter, posts: tantivy.IndexWriter, post: Post) -> None:
        title, units = post_units(post, self.passage_sentences)
        words = list(title)
        for unit in units:
            words.extend(unit.terms)
            passage = title + unit.terms
            passages.add_document(
                tantivy.Document(
                    post=post.id,
                    spot=spot(unit.section, unit.position),
                    len=len(passage),
                    terms=" ".join(passage),
                )
            )
        posts.add_document(
            tantivy.Document(post=post.id, spot=0, len=len(words), terms=" ".join(words))
        )

    def _commit(
        self, passages: tantivy.IndexWriter, posts: tantivy.IndexWriter, meta: Meta
    ) -> None:
        """Commit both indexes, then record the position: a crash in between only means the
        same posts are re-indexed (replacing themselves) next time."""
        passages.commit()
        posts.commit()
        self._write_meta(meta)
        self._reload(meta)

    def _reload(self, meta: Meta) -> None:
        assert self._passages is not None and self._posts is not None
        self._passages.reload()
        self._posts.reload()
        self._avg_len = {}
        self._seen = meta

    @contextmanager
    def _writers(self) -> Iterator[tuple[tantivy.IndexWriter, tantivy.IndexWriter]]:
        """Both writers, waiting while another process holds them; released on leaving."""
        assert self._passages is not None and self._posts is not None
        passages = self._writer(self._passages)
        try:
            posts = self._writer(self._posts)
        except BaseException:
            passages.rollback()
            passages.wait_merging_threads()
            raise
        try:
            yield passages, posts
        finally:
            for writer in (passages, posts):
                writer.wait_merging_threads()  # also releases the directory's writer lock

    def _writer(self, index: tantivy.Index) -> tantivy.IndexWriter:
        deadline = time.monotonic() + _LOCK_WAIT_SECONDS
        while True:
            try:
                return index.writer(heap_size=_WRITER_HEAP, num_threads=1)
            except ValueError as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise SearchIndexError(f"cannot write the search index: {exc}") from exc
                time.sleep(0.05)

    def _read_meta(self) -> Meta:
        if self.path is None:
            assert self._meta is not None
            return self._meta
        try:
            return Meta.from_json((self.path / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError) as exc:
            raise SearchIndexError(f"cannot read {self.path / 'meta.json'}: {exc}") from exc

    def _write_meta(self, meta: Meta) -> None:
        if self.path is None:
            self._meta = meta
            return
        tmp = self.path / "meta.json.tmp"
        tmp.write_text(meta.to_json(), encoding="utf-8")
        os.replace(tmp, self.path / "meta.json")

    # -- querying ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        """Posts indexed."""
        return 0 if self._posts is None else self._posts.searcher().num_docs

    def _query(self, words: Iterable[str], within: Sequence[int] | None) -> tantivy.Query:
        should = [
            (tantivy.Occur.Should, tantivy.Query.term_query(self._schema, _FIELD, w))
            for w in sorted(set(words))
        ]
        query = tantivy.Query.boolean_query(should)
        if within is None:
            return query
        posts = tantivy.Query.term_set_query(self._schema, "post", list(within))
        return tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Must, tantivy.Query.const_score_query(posts, 0.0)),
                (tantivy.Occur.Must, query),
            ]
        )

    def top_posts(
        self, words: Sequence[str], limit: int, within: Sequence[int] | None = None
    ) -> list[Hit]:
        """Whole posts by Tantivy's BM25, best first."""
        return self._top("posts", words, limit, within)

    def top_passages(
        self, words: Sequence[str], limit: int, within: Sequence[int] | None = None
    ) -> list[Hit]:
        """Passages by Tantivy's BM25, best first."""
        return self._top("passages", words, limit, within)

    def _top(
        self,
        kind: str,
        words: Sequence[str],
        limit: int,
        within: Sequence[int] | None,
    ) -> list[Hit]:
        index = self._posts if kind == "posts" else self._passages
        if index is None or not words or within == [] or limit < 1:
            return []
        searcher = index.searcher()
        hits = searcher.search(self._query(words, within), limit, count=False).hits
        addresses = [address for _, address in hits]
        ids = searcher.fast_field_values("post", addresses)
        spots = searcher.fast_field_values("spot", addresses)
        lengths = searcher.fast_field_values("len", addresses)
        average = self._average_length(kind, searcher)
        return [
            Hit(
                int(i or 0),
                int(s or 0),
                float(score),
                address,
                exact_floor(float(score), int(n or 0), average),
            )
            for (score, address), i, s, n in zip(hits, ids, spots, lengths, strict=True)
        ]

    def exact_scorer(self, kind: str, words: Iterable[str]) -> ExactScorer:
        """Exact BM25 (k1 1.2, b 0.75) of documents of the "posts" or "passages" index, from their
        exact lengths and stored terms, the average length over live documents and the index's
        document frequencies: as an in-memory BM25 scores them."""
        index = self._posts if kind == "posts" else self._passages
        if index is None:
            return ExactScorer(None, None, {}, 1.0)
        searcher = index.searcher()
        return ExactScorer(
            searcher,
            self._query(words, None),
            self._idf(searcher, words),
            self._average_length(kind, searcher),
        )

    def _average_length(self, kind: str, searcher: tantivy.Searcher) -> float:
        """Average document length (terms) over the live documents, once per reload."""
        if kind not in self._avg_len:
            total = searcher.aggregate(tantivy.Query.all_query(), {"t": {"sum": {"field": "len"}}})
            value = float(total["t"]["value"] or 0.0)
            self._avg_len[kind] = value / searcher.num_docs if searcher.num_docs and value else 1.0
        return self._avg_len[kind]

    def containing(self, words: Iterable[str], post_ids: Sequence[int]) -> dict[int, set[str]]:
        """Which of the terms each of these posts contains (from the index, not the text): one
        search for the posts, then the terms each one's score is made of."""
        found: dict[int, set[str]] = {post_id: set() for post_id in post_ids}
        unique = sorted(set(words))
        hits = self.top_posts(unique, len(found), list(found))
        scorer = self.exact_scorer("posts", unique)
        for hit in hits:
            found[hit.post] = set(scorer.counts(hit.address)) & set(unique)
        return found

    def idf(self, words: Iterable[str]) -> dict[str, float]:
        """BM25 idf of each term over whole posts; a term no post has gets the highest value."""
        if self._posts is None:
            return {w: 0.0 for w in words}
        return self._idf(self._posts.searcher(), words)

    @staticmethod
    def _idf(searcher: tantivy.Searcher, words: Iterable[str]) -> dict[str, float]:
        n = max(searcher.num_docs, 1)
        out = {}
        for word in set(words):
            df = min(searcher.doc_freq(_FIELD, word), n)
            out[word] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return out
