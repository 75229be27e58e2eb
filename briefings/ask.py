"""Questions answered from the stored posts, with citations, or an honest "the posts don't cover that".

Posts are cut into passages of a few sentences (body and take kept apart). A question is scored two
ways with BM25 over stemmed content words: against passages (where in a post the answer sits) and
against whole posts (which post is about this); the two, each scaled to its best hit, are blended to
rank posts. Posts a thread is about (the digest it replies to, earlier turns) get a boost, so "what did
they demand?" under a digest answers from that digest's post. Whether the posts cover the question at
all is judged by coverage: the share of the question's information (idf-weighted terms) that the best
post contains. Below the threshold the answer says so and offers the closest posts instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from briefings.bm25 import BM25
from briefings.models import Answer, Citation, Post, SearchHit
from briefings.store import Store
from briefings.terms import stem, terms
from briefings.text import body_sentences, take_sentences
from briefings.urls import normalize_url

NOT_COVERED = "The posts I have don't cover that."
# Words that shape a question but say nothing about its topic.
_QUESTION_WORDS = frozenset(
    stem(w)
    for w in (
        "tell",
        "explain",
        "lately",
        "recently",
        "recent",
        "written",
        "write",
        "wrote",
        "writing",
        "post",
        "posts",
        "blog",
        "article",
        "articles",
        "irinfive",
        "ir",
        "five",
        "news",
        "happen",
        "happened",
        "happening",
        "think",
        "know",
        "anything",
        "something",
        "going",
        "latest",
        "get",
        "got",
        "wrong",
        "right",
        "mean",
        "means",
        "main",
        "point",
        "key",
        "view",
        "opinion",
        "argue",
        "argues",
        "argument",
    )
)


@dataclass(frozen=True, slots=True)
class AskSettings:
    passage_sentences: int = 3
    passage_weight: float = 0.4  # share of the blend from the best passage (rest: whole post)
    context_boost: float = 0.35  # added to the blended score of posts the thread is about
    min_coverage: float = 0.5  # below this share of the question's information: "don't cover"
    answer_sentences: int = 3


@dataclass(frozen=True, slots=True)
class Passage:
    post_id: int
    section: str  # "body" or "take"
    position: int  # index of its first sentence within the section
    sentences: tuple[str, ...]


def question_terms(question: str) -> list[str]:
    return [t for t in terms(question) if t not in _QUESTION_WORDS]


class PassageIndex:
    """In-memory index of every stored post, kept in step with the store by `sync()`."""

    def __init__(self, settings: AskSettings | None = None) -> None:
        self.settings = settings or AskSettings()
        self.posts: dict[int, Post] = {}
        self.passages: list[Passage] = []
        self._passage_index = BM25()
        self._doc_index = BM25()
        self._passage_post: list[int] = []  # passage slot -> post id
        self._post_doc_slot: dict[int, int] = {}
        self._post_passage_slots: dict[int, list[int]] = {}
        self._doc_terms: dict[int, frozenset[str]] = {}
        self._by_url: dict[str, int] = {}
        self._max_id = 0
        self._max_updated: datetime | None = None

    def __len__(self) -> int:
        return len(self.posts)

    def sync(self, store: Store) -> int:
        """Index posts stored or edited since the last sync; returns how many changed."""
        changed = store.changed_posts(self._max_id, self._max_updated)
        for post in changed:
            self.add(post)
        return len(changed)

    def add(self, post: Post) -> None:
        """Index a post, replacing an earlier version of it."""
        if post.id in self.posts:
            self._remove(post.id)
        self.posts[post.id] = post
        self._by_url[normalize_url(post.url)] = post.id
        self._max_id = max(self._max_id, post.id)
        if self._max_updated is None or post.updated_at > self._max_updated:
            self._max_updated = post.updated_at
        size = self.settings.passage_sentences
        title_terms = terms(post.title)
        words = list(title_terms)  # the whole post's terms: title once, then every passage's
        slots = []
        for section, sentences in (("body", body_sentences(post)), ("take", take_sentences(post))):
            for start in range(0, len(sentences), size):
                chunk = tuple(sentences[start : start + size])
                chunk_terms = terms(" ".join(chunk))
                words.extend(chunk_terms)
                slot = self._passage_index.add(title_terms + chunk_terms)
                self.passages.append(Passage(post.id, section, start, chunk))
                self._passage_post.append(post.id)
                slots.append(slot)
        self._post_passage_slots[post.id] = slots
        self._post_doc_slot[post.id] = self._doc_index.add(words)
        self._doc_terms[post.id] = frozenset(words)

    def _remove(self, post_id: int) -> None:
        for slot in self._post_passage_slots.pop(post_id, []):
            self._passage_index.remove(slot)
            self._passage_post[slot] = -1
        self._doc_index.remove(self._post_doc_slot.pop(post_id))
        del self.posts[post_id]

    # -- ranking ----------------------------------------------------------------------------------

    def rank(
        self, query: Sequence[str], context: Iterable[int] = (), limit: int = 5
    ) -> list[tuple[int, float, int]]:
        """(post id, blended score, best passage slot) for the best posts, best first."""
        if not query or not self.posts:
            return []
        passage_scores = self._passage_index.scores(query)
        doc_scores = self._doc_index.scores(query)
        passage_post = np.asarray(self._passage_post)
        live = passage_post >= 0
        best_passage: dict[int, tuple[float, int]] = {}
        for slot in np.flatnonzero(live & (passage_scores > 0)):
            post_id = int(passage_post[slot])
            score = float(passage_scores[slot])
            if score > best_passage.get(post_id, (0.0, -1))[0]:
                best_passage[post_id] = (score, int(slot))
        top_passage = max((s for s, _ in best_passage.values()), default=0.0) or 1.0
        top_doc = float(doc_scores.max()) or 1.0
        w = self.settings.passage_weight
        context_ids = {c for c in context if c in self.posts}
        blended: dict[int, float] = {}
        for post_id, (score, _slot) in best_passage.items():
            doc = float(doc_scores[self._post_doc_slot[post_id]])
            blended[post_id] = w * score / top_passage + (1 - w) * doc / top_doc
        for post_id in context_ids:
            if post_id in blended:
                blended[post_id] += self.settings.context_boost
        order = sorted(blended, key=lambda pid: (-blended[pid], -pid))[:limit]
        return [(pid, blended[pid], best_passage[pid][1]) for pid in order]

    def coverage(self, query: Sequence[str], post_id: int) -> float:
        """Share of the question's idf weight found in the post (unknown terms weigh the most)."""
        unique = set(query)
        total = sum(self._doc_index.idf(t) for t in unique)
        if not total:
            return 0.0
        present = self._doc_terms.get(post_id, frozenset())
        return sum(self._doc_index.idf(t) for t in unique if t in present) / total

    def top_passages(
        self, query: Sequence[str], context: Iterable[int] = (), n: int = 5
    ) -> list[Passage]:
        """The best-matching passages of the best few posts, best first (an LLM's evidence)."""
        ranked = self.rank(query, context, limit=3)
        if not ranked:
            return []
        scores = self._passage_index.scores(query)
        slots = [slot for post_id, _, _ in ranked for slot in self._post_passage_slots[post_id]]
        slots.sort(key=lambda slot: -scores[slot])
        return [self.passages[slot] for slot in slots[:n] if scores[slot] > 0]

    def post_ids_for(self, urls: Iterable[str]) -> list[int]:
        """Posts named by URL (thread context); unknown URLs are ignored."""
        found = (self._by_url.get(normalize_url(url)) for url in urls)
        return [post_id for post_id in found if post_id is not None]

    def passages_of(self, post_id: int) -> list[Passage]:
        return [self.passages[slot] for slot in self._post_passage_slots.get(post_id, [])]

    # -- answers ----------------------------------------------------------------------------------

    def search(self, query: str, limit: int = 10) -> list[SearchHit]:
        words = question_terms(query) or terms(query)
        hits = []
        for post_id, score, slot in self.rank(words, limit=limit):
            hits.append(
                SearchHit(
                    self.posts[post_id], round(score, 4), " ".join(self.passages[slot].sentences)
                )
            )
        return hits

    def ask(self, question: str, context: Iterable[int] = ()) -> Answer:
        query = question_terms(question)
        ranked = self.rank(query, context)
        if not ranked:
            return Answer(NOT_COVERED, grounded=False, citations=())
        top_id = ranked[0][0]
        if self.coverage(query, top_id) < self.settings.min_coverage:
            closest = tuple(cite(self.posts[pid]) for pid, _, _ in ranked[:3])
            return Answer(NOT_COVERED, grounded=False, citations=closest)
        facts, opinion = self._best_sentences(query, top_id)
        post = self.posts[top_id]
        text = " ".join(facts)
        opinion_text = ""
        if opinion:
            label = post.take_label or "Take"
            opinion_text = (
                f"The post's {label.lower()} (its view, not reported fact): {' '.join(opinion)}"
            )
        if not text:
            text = opinion_text
            opinion_text = ""
        others = [
            pid
            for pid, _, _ in ranked[1:3]
            if self.coverage(query, pid) >= self.settings.min_coverage
        ]
        citations = (cite(post), *(cite(self.posts[pid]) for pid in others))
        return Answer(text, grounded=True, citations=citations, opinion=opinion_text)

    def _best_sentences(self, query: Sequence[str], post_id: int) -> tuple[list[str], list[str]]:
        """Up to `answer_sentences` sentences of the post that match the question best, in reading
        order, split into reported facts (body) and the post's own view (take)."""
        wanted = set(query)
        scored: list[tuple[float, int, str, str]] = []
        order = 0
        for passage in self.passages_of(post_id):
            for sentence in passage.sentences:
                present = wanted & set(terms(sentence))
                score = sum(self._doc_index.idf(t) for t in present)
                scored.append((score, order, passage.section, sentence))
                order += 1
        if not scored:
            return [], []
        best = max(s[0] for s in scored)
        if best <= 0:
            chosen = [s for s in scored if s[2] == "body"][:1] or scored[:1]
        else:
            ranked = sorted(scored, key=lambda s: (-s[0], s[1]))
            chosen = [s for s in ranked[: self.settings.answer_sentences] if s[0] >= 0.5 * best]
        chosen.sort(key=lambda s: s[1])
        facts = [s[3] for s in chosen if s[2] == "body"]
        opinion = [s[3] for s in chosen if s[2] == "take"]
        return facts, opinion


def cite(post: Post) -> Citation:
    return Citation(post_id=post.id, url=post.url, title=post.title, published=post.published)
