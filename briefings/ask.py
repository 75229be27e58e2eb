"""Questions answered from the stored posts, with citations, or an honest "the posts don't cover that".

Ranking runs on the persistent search index (`index.py`); the text quoted comes from the store, for
the few posts an answer needs. Posts are cut into passages of a few sentences (body and take kept apart). A question is scored two
ways with BM25 over stemmed content words: against passages (where in a post the answer sits) and
against whole posts (which post is about this); the two, each scaled to its best hit, are blended to
rank posts. Posts a thread is about (the digest it replies to, earlier turns) get a boost, so "what did
they demand?" under a digest answers from that digest's post. Whether the posts cover the question at
all is judged by coverage: the share of the question's information (idf-weighted terms) that the best
post contains. Below the threshold the answer says so and offers the closest posts instead.

What is quoted depends on what is asked (`question.py`): the sentences holding the kind of fact
wanted, near the question's words (`answer_select.py`); the summary and take for "summarize" and
"what does the post think"; one quote per post, newest first, for a question over several posts.
A follow-up in a thread is read with the thread's last question.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from briefings.answer_select import (
    Row,
    aged_names,
    choose,
    normal,
    rows,
    states_count,
    states_deed,
    states_event,
    states_fact,
    states_named,
    states_saying,
    unique,
)
from briefings.index import (
    SCORE_SLACK,
    ExactScorer,
    Hit,
    SearchIndex,
    post_sections,
    post_units,
    unspot,
)
from briefings.models import Answer, Citation, Post, SearchHit
from briefings.paraphrase import alternatives, expand, plain_words
from briefings.periods import Period, period_in, without_period
from briefings.question import (
    LIGHT_VERBS,
    Kind,
    Measure,
    QuestionShape,
    digits_for_number_words,
    form_words,
    shape,
    without_mentions,
)
from briefings.settings import SettingsModel
from briefings.store import Store
from briefings.summarize.extractive import ExtractiveSummarizer
from briefings.terms import stem, terms

NOT_COVERED = "The posts I have don't cover that."
NO_POSTS_THEN = "No posts published"  # + the period: "No posts published today cover that; …"


def other_dates_note(answer: Answer) -> str:
    """The line that opens an answer from other dates than the period asked about ("" if none)."""
    first = answer.text.split("\n", 1)[0]
    return first if answer.grounded and first.startswith(NO_POSTS_THEN) else ""


def is_refusal(text: str) -> bool:
    """Whether a message the bot sent is an answer declining a question: a thread's follow-up
    is read with the turns that were answered, never with one the posts did not cover."""
    return NOT_COVERED in text


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
        "summarize",
        "summarise",
        "summary",
        "sum",
        "gist",
        "overview",
        "brief",
        "conclude",
        "conclusion",
        "concludes",
        "section",
        "part",
        "posts",
        "lately",
        "month",
        "week",
    )
)
# The next posts' blended scores within this share of the best: the question is answered from each.
CLOSE_SCORES = 0.97
# Coverage a post lacking the question's most specific term needs (see `share_found`).
WITHOUT_RAREST = 0.7
# A term with an idf below this is in more than about one post in 20: common enough that a post
# lacking it may still answer, when it holds the question's other terms.
COMMON_IDF = 3.0


class AskSettings(SettingsModel):
    """The `[ask]` section: how questions are answered."""

    backend: Literal["extractive", "llm"] = "extractive"
    passage_sentences: Annotated[int, Field(ge=1, le=10)] = 3
    answer_sentences: Annotated[int, Field(ge=1, le=5)] = 3
    # Below this share of the question's information: "the posts don't cover that".
    min_coverage: Annotated[float, Field(ge=0, le=1)] = 0.5
    # Added to the blended score of posts the thread is about.
    context_boost: Annotated[float, Field(ge=0, le=5)] = 0.35


# Share of a post's blended score from its best passage (the rest: the whole post).
PASSAGE_WEIGHT = 0.4


@dataclass(frozen=True, slots=True)
class Passage:
    post_id: int
    section: str  # "body" or "take"
    position: int  # index of its first sentence within the section
    sentences: tuple[str, ...]


Ranked = tuple[
    int, float, tuple[str, int]
]  # post id, blended score, best passage (section, position)

# Candidates fetched from the index per question; widened while a post outside them could still
# reach the requested top ranks.
_FIRST_POSTS, _FIRST_PASSAGES, _MAX_POSTS = 50, 200, 3200
# A post's indexed opening has at most 400 sentences: fewer passages than this, take included.
_MAX_PASSAGES_PER_POST = 200


def _high(hit: Hit) -> float:
    """The most a hit's exact score can be (its least is `hit.low`)."""
    return hit.score * SCORE_SLACK


def _floor(hits: Sequence[Hit]) -> float:
    """The least the best exact score among these hits can be."""
    return max((hit.low for hit in hits), default=0.0)


def _near(hits: list[Hit]) -> list[Hit]:
    """The hits whose exact score could be the best among them."""
    floor = _floor(hits)
    return [hit for hit in hits if _high(hit) >= floor]


class _Exact:
    """Exact BM25 of hits for one question, each document scored once."""

    def __init__(self, index: SearchIndex, words: list[str]) -> None:
        self.index = index
        self.words = words
        self._scorers: dict[str, ExactScorer] = {}
        self._known: dict[tuple[str, int, int], float] = {}

    def scores(self, kind: str, hits: Sequence[Hit]) -> list[float]:
        keys = [(kind, h.address.segment_ord, h.address.doc) for h in hits]
        todo = {key: h.address for key, h in zip(keys, hits, strict=True) if key not in self._known}
        if todo:
            if kind not in self._scorers:
                self._scorers[kind] = self.index.exact_scorer(kind, self.words)
            values = self._scorers[kind](list(todo.values()))
            self._known.update(zip(todo, values, strict=True))
        return [self._known[key] for key in keys]

    def best(self, kind: str, hits: Sequence[Hit]) -> float:
        return max(self.scores(kind, hits), default=0.0) or 1.0


# Phrases that only say a thing happened ("where did the summit take place?").
_HAPPENED = re.compile(r"\b(?:take|takes|took|taken|taking) place\b", re.I)


def question_terms(question: str) -> list[str]:
    text = _HAPPENED.sub(" ", digits_for_number_words(plain_words(question)))
    return [t for t in terms(text) if t not in _QUESTION_WORDS]


@dataclass(frozen=True, slots=True)
class Reading:
    """How a question is answered: what it asks, the terms it is matched on, and the period its
    posts must be from (None: any time)."""

    form: QuestionShape
    query: list[str]
    period: Period | None
    names: tuple[str, ...] = ()  # the question's proper nouns (stemmed): see `proper_nouns`


class PassageIndex:
    """Questions and searches over the search index, quoting posts read from the store.

    `store` is given here or by the first `sync`; `path` is where the index lives (None: in memory,
    rebuilt from the store by each process)."""

    def __init__(
        self,
        settings: AskSettings | None = None,
        *,
        store: Store | None = None,
        path: Path | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings or AskSettings()
        self.store = store
        # "This week" in a question is the week of this clock's now (tests fix it).
        self.clock = clock or (lambda: datetime.now(UTC))
        self.search_index = SearchIndex(path, self.settings.passage_sentences)

    def __len__(self) -> int:
        self._ready()
        return len(self.search_index)

    def sync(self, store: Store | None = None) -> int:
        """Index posts stored or edited since the last sync (every post the first time)."""
        return self.search_index.sync(self._bind(store))

    def rebuild(self, store: Store | None = None) -> int:
        return self.search_index.rebuild(self._bind(store))

    def _bind(self, store: Store | None) -> Store:
        if store is not None and self.store is None:
            self.store = store
        chosen = store or self.store
        if chosen is None:
            raise ValueError("PassageIndex needs a store")
        return chosen

    def _ready(self) -> Store | None:
        if self.store is not None and not self.search_index.is_open:
            self.search_index.open(self.store)
        return self.store

    def _posts(self, post_ids: Sequence[int]) -> dict[int, Post]:
        """The posts an answer quotes or cites, read from the store (never kept)."""
        store = self._ready()
        if store is None or not post_ids:
            return {}
        return {post.id: post for post in store.posts_by_ids(list(dict.fromkeys(post_ids)))}

    def _passage(self, post: Post, section: str, position: int) -> Passage | None:
        for name, sentences in post_sections(post):
            if name == section and position < len(sentences):
                chunk = sentences[position : position + self.settings.passage_sentences]
                return Passage(post.id, section, position, tuple(chunk))
        return None

    # -- ranking ----------------------------------------------------------------------------------

    def rank(
        self,
        query: Sequence[str],
        context: Iterable[int] = (),
        limit: int = 5,
        within: Sequence[int] | None = None,
    ) -> list[Ranked]:
        """(post id, blended score, best passage) for the best posts, best first.

        Blend: `PASSAGE_WEIGHT` x the post's best passage score + the rest x its whole-post score,
        each scaled to the best hit of its kind, plus `context_boost` for thread posts. Candidates
        come from the index's top hits (Tantivy's BM25, close to exact); posts among them missing
        one kind of score get it from a query restricted to them. The posts that could still reach
        the ranks returned, and the best hits the scores are scaled to, are then rescored with
        exact BM25, so a near-tie falls as exact scores say. The top hits are widened until no
        post outside them could outrank the last post returned. `within`: only these posts."""
        words = sorted(set(query))
        if not words or self._ready() is None or (within is not None and not within):
            return []
        context_ids = set(context)
        if within is not None:
            context_ids &= set(within)
        k_posts, k_passages = _FIRST_POSTS, _FIRST_PASSAGES
        while True:
            ranked = self._rank_within(words, context_ids, limit, k_posts, k_passages, within)
            if ranked is not None:
                return ranked
            k_posts, k_passages = k_posts * 4, k_passages * 4

    def _rank_within(
        self,
        words: list[str],
        context_ids: set[int],
        limit: int,
        k_posts: int,
        k_passages: int,
        within: Sequence[int] | None = None,
    ) -> list[Ranked] | None:
        """The ranking from the top `k_*` hits, or None when more hits are needed to be sure."""
        index = self.search_index
        docs = index.top_posts(words, k_posts, within)
        passages = index.top_passages(words, k_passages, within)
        if not docs or not passages:
            return []
        widen = k_posts < _MAX_POSTS
        full_docs, full_passages = len(docs) == k_posts, len(passages) == k_passages
        best: dict[int, Hit] = {}  # each post's best passage by Tantivy's score
        for hit in passages:
            best.setdefault(hit.post, hit)
        doc_hit = {hit.post: hit for hit in docs}
        missing = sorted((set(doc_hit) | context_ids) - set(best))
        for hit in index.top_passages(words, 50 * len(missing), missing):
            best.setdefault(hit.post, hit)
        doc_hit.update(
            (hit.post, hit)
            for hit in index.top_posts(words, len(best), sorted(set(best) - set(doc_hit)))
        )
        exact = _Exact(index, words)
        # The best exact scores lie among the hits Tantivy puts within its margin of its best.
        top_passage = exact.best("passages", _near(passages))
        top_doc = exact.best("posts", _near(docs))
        if widen and (
            (full_passages and _high(passages[-1]) >= _floor(passages))
            or (full_docs and _high(docs[-1]) >= _floor(docs))
        ):
            return None
        w, boost = PASSAGE_WEIGHT, self.settings.context_boost

        def blend(passage: float, doc: float, post_id: int) -> float:
            value = w * passage / top_passage + (1 - w) * doc / top_doc
            return value + (boost if post_id in context_ids else 0.0)

        def reach(post_id: int, high: bool) -> float:
            """The post's highest (or lowest) possible blend of exact scores."""
            hit = doc_hit.get(post_id)
            doc = (_high(hit) if high else hit.low) if hit else 0.0
            passage = best[post_id]
            return blend(_high(passage) if high else passage.low, doc, post_id)

        # Rescore every post whose highest possible blend reaches the `limit`-th best lowest one.
        # (A post's best passage by exact score may be another of its passages than Tantivy's
        # best, but none can score above the highest bound of Tantivy's best.)
        lows = sorted((reach(pid, False) for pid in best), reverse=True)
        floor = lows[limit - 1] if len(lows) >= limit else float("-inf")
        chosen = [pid for pid in best if reach(pid, True) >= floor]
        spots, scores = self._exact_posts(exact, words, chosen, doc_hit)
        blended = {pid: blend(*scores[pid], pid) for pid in chosen}
        order = sorted(blended, key=lambda pid: (-blended[pid], -pid))[:limit]
        if widen and full_passages:
            bound = w * passages[-1].score / top_passage
            if full_docs:
                bound += (1 - w) * docs[-1].score / top_doc
            if len(order) < limit or blended[order[-1]] <= bound * SCORE_SLACK:
                return None
        return [(pid, blended[pid], unspot(spots[pid])) for pid in order]

    def _exact_posts(
        self, exact: _Exact, words: list[str], chosen: list[int], doc_hit: dict[int, Hit]
    ) -> tuple[dict[int, int], dict[int, tuple[float, float]]]:
        """For each chosen post: its best passage's spot, and exact (best passage, whole post)."""
        mine: dict[int, list[Hit]] = {pid: [] for pid in chosen}
        for hit in self.search_index.top_passages(
            words, _MAX_PASSAGES_PER_POST * len(chosen), chosen
        ):
            mine[hit.post].append(hit)
        near = {pid: _near(hits) for pid, hits in mine.items()}
        exact.scores("passages", [hit for hits in near.values() for hit in hits])  # one batch
        exact.scores("posts", [doc_hit[pid] for pid in chosen if pid in doc_hit])
        spots, scores = {}, {}
        for pid, hits in near.items():
            values = exact.scores("passages", hits)
            top = max(range(len(hits)), key=lambda i: (values[i], -i), default=-1)
            doc = doc_hit.get(pid)
            doc_score = exact.scores("posts", [doc])[0] if doc else 0.0
            spots[pid] = hits[top].spot if top >= 0 else 0
            scores[pid] = (values[top] if top >= 0 else 0.0, doc_score)
        return spots, scores

    def coverage(self, query: Sequence[str], post_id: int) -> float:
        """Share of the question's idf weight found in the post (unknown terms weigh the most); a
        term counts as found when the post has it or one of its paraphrases (see `share_found`)."""
        return self._coverages(query, [post_id], self.search_index.idf(query), expand(query))[
            post_id
        ]

    def _coverages(
        self,
        query: Sequence[str],
        post_ids: Sequence[int],
        idf: dict[str, float],
        expanded: Mapping[str, frozenset[str]],
        loose: frozenset[str] = frozenset(),
    ) -> dict[int, float]:
        every = {alt for t in set(query) for alt in expanded.get(t, frozenset({t}))}
        found = self.search_index.containing(every, post_ids)
        return {
            post_id: share_found(query, idf, expanded, words, loose)
            for post_id, words in found.items()
        }

    def top_passages(
        self,
        query: Sequence[str],
        context: Iterable[int] = (),
        n: int = 5,
        within: Sequence[int] | None = None,
    ) -> list[Passage]:
        """The best-matching passages of the best few posts, best first (an LLM's evidence)."""
        ranked = self.rank(query, context, limit=3, within=within)
        if not ranked:
            return []
        ids = [post_id for post_id, _, _ in ranked]
        hits = self.search_index.top_passages(sorted(set(query)), n, ids)
        posts = self._posts(ids)
        out = []
        for hit in hits:
            post = posts.get(hit.post)
            passage = self._passage(post, *unspot(hit.spot)) if post and hit.score > 0 else None
            if passage is not None:
                out.append(passage)
        return out

    def post_ids_for(self, urls: Iterable[str]) -> list[int]:
        """Posts named by URL (thread context); unknown URLs are ignored."""
        if self.store is None:
            return []
        found = (self.store.post_by_url(url) for url in urls)
        return [post.id for post in found if post is not None]

    def passages_of(self, post_id: int) -> list[Passage]:
        post = self._posts([post_id]).get(post_id)
        if post is None:
            return []
        units = post_units(post, self.settings.passage_sentences)[1]
        return [Passage(post_id, u.section, u.position, u.sentences) for u in units]

    def citations(self, post_ids: Sequence[int]) -> tuple[Citation, ...]:
        """Citations of these posts, in the order given."""
        if self.store is None:
            return ()
        return tuple(cite(post) for post in self.store.posts_by_ids(list(post_ids)))

    # -- answers ----------------------------------------------------------------------------------

    def search(self, query: str, limit: int = 10) -> list[SearchHit]:
        words = question_terms(query) or terms(query)
        ranked = self.rank(words, limit=limit)
        posts = self._posts([pid for pid, _, _ in ranked])
        hits = []
        for post_id, score, (section, position) in ranked:
            post = posts.get(post_id)
            passage = self._passage(post, section, position) if post else None
            if post is not None and passage is not None:
                hits.append(SearchHit(post, round(score, 4), " ".join(passage.sentences)))
        return hits

    def ask(
        self, question: str, context: Iterable[int] = (), history: Sequence[str] = ()
    ) -> Answer:
        """Answer from the best post (or one quote from each of up to three, when the question
        spans posts or the best are about as good). `history` holds the thread's earlier
        questions, oldest first: a follow-up ("and what happens next?") borrows the last one's
        terms, as the thread's cited posts (in `context`) are boosted. A period the question names
        ("this week", "in October") keeps the answer to posts published then; when none of them
        covers it, the answer says so and comes from the posts of other dates, if any covers it
        (the period may be when the thing happened, not when it was written about)."""
        reading = self.read(question, history)
        if reading.period is None:
            return self._answer(reading, context, None)
        within = self._published_in(reading.period)
        if within:
            answer = self._answer(reading, context, within)
            if answer.grounded:
                return answer
        wider = self._answer(self.read(question, history, narrow=False), context, None)
        if not wider.grounded:
            return wider
        note = f"{NO_POSTS_THEN} {reading.period.label} cover that; from other dates:"
        return replace(wider, text=f"{note}\n{wider.text}" if wider.text else note)

    def _answer(
        self, reading: Reading, context: Iterable[int], within: Sequence[int] | None
    ) -> Answer:
        """The answer from the posts `within` (None: every post)."""
        form, query = reading.form, reading.query
        context = list(dict.fromkeys(context))
        if within is not None:
            allowed = set(within)
            context = [pid for pid in context if pid in allowed]
        if not set(query) and context:
            # "What does the post conclude?" in a digest's thread: about the thread's posts.
            return self._about(context[0], form)
        ranked = self.rank(query, context, within=within)
        if not ranked:
            return Answer(NOT_COVERED, grounded=False, citations=())
        top3 = [pid for pid, _, _ in ranked[:3]]
        idf = self.search_index.idf(query)
        expanded = expand(query)
        loose = role_words(query, reading.names)
        covers = self._coverages(query, top3, idf, expanded, loose)
        enough = self.settings.min_coverage
        posts = self._posts(top3)
        post = posts.get(top3[0])
        if post is None:  # gone from the store since it was indexed
            return Answer(NOT_COVERED, grounded=False, citations=())
        if covers[top3[0]] < enough:
            # The index holds the body's sub-headings only among the post's terms, and not the
            # take's: a question short of coverage there is judged once more on the post's own
            # text, every sub-heading included.
            covers[top3[0]] = text_coverage(post, expanded, idf, loose)
            if covers[top3[0]] < enough:
                return Answer(NOT_COVERED, grounded=False, citations=self.citations(top3))
        others = [pid for pid in top3[1:] if covers[pid] >= enough and pid in posts]
        if reading.names:
            # "… in Philadelphia?" of a post on the same kind of event in another city: a place or
            # name the question gives, that other posts have and this one lacks, is another story.
            naming = self._naming([post.id, *others], reading.names, expanded)
            if not naming:
                return Answer(NOT_COVERED, grounded=False, citations=self.citations(top3))
            post, others = posts[naming[0]], [pid for pid in others if pid in naming[1:]]
            top3 = [post.id, *[pid for pid in top3 if pid != post.id]]
        if (form.kind in FACT_KINDS or form.speaker or form.named) and not (
            form.summary or form.view
        ):
            # A post on the story that lacks the asked-for fact (written before it was known)
            # does not answer: another covering post that states it does; else the posts don't say.
            stating = [
                pid
                for pid in [top3[0], *others]
                if self._states(posts[pid], expanded, idf, form, reading.names)
            ]
            if not stating:
                return Answer(NOT_COVERED, grounded=False, citations=())
            post, others = posts[stating[0]], [pid for pid in others if pid in stating[1:]]
            top3 = [post.id, *[pid for pid in top3 if pid != post.id]]
        close = [
            pid
            for pid, score, _ in ranked[1:3]
            if score >= CLOSE_SCORES * ranked[0][1]
            and covers[pid] >= covers[top3[0]]
            and pid != post.id
        ]
        spread = others if form.spans_posts else [pid for pid in others if pid in close]
        if spread and not (form.summary or form.view):
            return self._several(
                [post, *(posts[pid] for pid in spread)], expanded, idf, form, reading.names
            )
        facts, opinion = self._best_sentences(post, expanded, idf, form, reading.names)
        return self._single(post, facts, opinion)

    def read(self, question: str, history: Sequence[str] = (), narrow: bool = True) -> Reading:
        """What the question asks, on which terms, and over which period. Mentions (@everyone,
        <@U123>) are no part of it; the words naming a period are not topic terms; a follow-up
        (it says so, or names fewer than two things) borrows the last earlier question's terms,
        and its period when it names none."""
        question = without_mentions(question)
        form = shape(question)
        # A period narrows the posts of a question about them ("what have the posts said this
        # week?"); in a question after a fact ("how many were fined last month?") it is when the
        # thing happened, and stays a topic term.
        period = period_in(question, self.clock()) if narrow and form.kind is Kind.OTHER else None
        topic = without_period(question, period)
        if period is not None and not form.spans_posts:
            form = replace(form, spans_posts=True)
        query = asked_terms(topic, form)
        if history and (form.follow_up or len(set(query)) < 2):
            earlier = without_mentions(history[-1])
            earlier_form = shape(earlier)
            earlier_period = (
                period_in(earlier, self.clock())
                if narrow and earlier_form.kind is Kind.OTHER
                else None
            )
            earlier_topic = without_period(earlier, earlier_period)
            query = list(dict.fromkeys([*query, *asked_terms(earlier_topic, earlier_form)]))
            period = period or earlier_period
        return Reading(form, query, period, proper_nouns(topic, query))

    def query_for(self, question: str, history: Sequence[str] = ()) -> list[str]:
        """The terms a question is answered on (see `read`)."""
        return self.read(question, history).query

    def evidence(
        self,
        question: str,
        context: Iterable[int] = (),
        history: Sequence[str] = (),
        n: int = 5,
        narrow: bool = True,
    ) -> list[Passage]:
        """The passages an LLM answers from: read and narrowed to a period as `ask` does
        (`narrow` False when `ask` answered from other dates, see `other_dates_note`)."""
        reading = self.read(question, history, narrow)
        within = self._published_in(reading.period)
        return self.top_passages(reading.query, context, n, within)

    def _published_in(self, period: Period | None) -> list[int] | None:
        """Ids of the posts published in the period (None: no period, every post)."""
        if period is None or self.store is None:
            return None
        return self.store.post_ids_between(period.since, period.until)

    def _about(self, post_id: int, form: QuestionShape) -> Answer:
        """A question naming nothing but "the post": its summary, or its take when its view is
        asked for."""
        post = self._posts([post_id]).get(post_id)
        if post is None:
            return Answer(NOT_COVERED, grounded=False, citations=())
        summary = QuestionShape(Kind.OTHER, True, False, False, False)
        facts, opinion = self._best_sentences(post, {}, {}, form if form.view else summary)
        return self._single(post, facts, opinion)

    def _single(self, post: Post, facts: list[str], opinion: list[str]) -> Answer:
        """The answer quotes this one post, and so cites it alone."""
        text = " ".join(facts)
        opinion_text = ""
        if opinion:
            opinion_text = f"{view_label(post)}: {' '.join(opinion)}"
        if not text:
            text = opinion_text
            opinion_text = ""
        return Answer(text, grounded=True, citations=(cite(post),), opinion=opinion_text)

    def _several(
        self,
        posts: Sequence[Post],
        expanded: Mapping[str, frozenset[str]],
        idf: Mapping[str, float],
        form: QuestionShape,
        names: Sequence[str] = (),
    ) -> Answer:
        """One short quote from each post, newest first, each naming its post."""
        newest = sorted(
            enumerate(posts),
            key=lambda item: (item[1].published is None, -_stamp(item[1]), item[0]),
        )
        lines, cited, seen = [], [], set()
        for _, post in newest:
            row = next(
                (
                    row
                    for row in choose(
                        rows(post),
                        expanded,
                        idf,
                        form.kind,
                        1,
                        measure=form.measure,
                        counted=_counted(form),
                        holder=_alike(form.aged),
                        deed=_doing(form),
                        event=_event(expanded, names),
                        speaker=_speaking(form),
                    )
                    if normal(row.text) not in seen
                ),
                None,
            )
            if row is None:
                continue
            seen.add(normal(row.text))
            when = f", {post.published:%Y-%m-%d}" if post.published else ""
            quote = f"{view_label(post)}: {row.text}" if row.section == "take" else row.text
            lines.append(f"{post.title or post.url} ({post.source}{when}): {quote}")
            cited.append(cite(post))
        return Answer("\n".join(lines), grounded=True, citations=tuple(cited))

    def _naming(
        self, post_ids: Sequence[int], names: Sequence[str], expanded: Mapping[str, frozenset[str]]
    ) -> list[int]:
        """The posts (in the order given) holding each of the question's proper nouns that some
        but few posts have (one no post has is another spelling, judged by coverage alone)."""
        idf = self.search_index.idf(names)
        # A common one ("American": the post may say "US") may be put otherwise.
        known = [n for n in names if COMMON_IDF <= idf[n] < self._unknown_idf()]
        if not known:
            return list(post_ids)
        every = {alt for n in known for alt in expanded.get(n, frozenset({n}))}
        found = self.search_index.containing(every, post_ids)
        return [
            pid
            for pid in post_ids
            if all(expanded.get(n, frozenset({n})) & found.get(pid, set()) for n in known)
        ]

    def _unknown_idf(self) -> float:
        """The idf of a term no post has."""
        return self.search_index.idf(["\x00"])["\x00"] - 1e-9

    def _states(
        self,
        post: Post,
        expanded: Mapping[str, frozenset[str]],
        idf: Mapping[str, float],
        form: QuestionShape,
        names: Sequence[str] = (),
    ) -> bool:
        """Whether the post states the kind of fact asked for near the question's terms."""
        everything = rows(post)
        if form.speaker:
            about = expand(form.said_about)
            speaker = expand(form.speaker)
            weights = {**idf, **self.search_index.idf(sorted(set(about) - set(idf)))}
            return states_saying(everything, speaker, about, weights, frozenset(terms(post.title)))
        if form.counted and not states_count(everything, _counted(form)):
            return False
        rare = self._rare(post, everything, form)
        if form.named:
            return states_named(everything, _alike(form.named), frozenset(expanded), rare)
        group = _doing(form)  # "who got …": a verb that light says nothing of the deed
        if group and not states_deed(everything, group, frozenset(expanded), rare):
            return False
        if form.measure is Measure.AGE and aged_names(everything) & set(names):
            # "How old is Abdirahman Sheik Mohamud, the Ohio man accused of …?": an age beside his
            # name answers, however few of the question's other words stand there. (A post giving
            # ages beside other names only is still judged below: ages are often put otherwise.)
            return True
        if not states_fact(everything, expanded, idf, form.kind, form.measure, rare):
            return False
        if form.kind in EVENT_KINDS:
            return states_event(everything, form.kind, form.measure, _event(expanded, names), rare)
        return True

    def _rare(
        self, post: Post, everything: Sequence[Row], form: QuestionShape
    ) -> frozenset[str] | None:
        """For a who/where question on a post without capitals: its terms few posts have."""
        if form.kind not in (Kind.NAME, Kind.PLACE, Kind.CALLED) or _UPPER.search(post.body):
            return None
        vocabulary = {t for row in everything for t in row.bag}
        idf = self.search_index.idf(vocabulary)
        return frozenset(t for t in vocabulary if idf[t] >= RARE_IDF and not t.isdigit())

    def _best_sentences(
        self,
        post: Post,
        expanded: Mapping[str, frozenset[str]],
        idf: Mapping[str, float],
        form: QuestionShape,
        names: Sequence[str] = (),
    ) -> tuple[list[str], list[str]]:
        """Sentences of the post that answer, in reading order, split into reported facts (body)
        and the post's own view (take). "Summarize …" gets the digest's summary and the take's
        opening; "what does the post conclude …" gets the take."""
        limit = self.settings.answer_sentences
        everything = rows(post)
        take = [row for row in everything if row.section == "take"]
        if form.summary:
            facts = ExtractiveSummarizer().summarize_post(post, limit)
            return apart(facts, [row.text for row in take[:2]])
        if form.view and take:
            chosen = choose(take, expanded, idf, form.kind, 2) if expanded else take[:2]
            return [], unique([row.text for row in chosen])
        chosen = choose(
            everything,
            expanded,
            idf,
            form.kind,
            limit,
            self._rare(post, everything, form),
            form.measure,
            _counted(form),
            _alike(form.aged),
            _doing(form),
            _event(expanded, names),
            _speaking(form),
        )
        facts = [row.text for row in chosen if row.section == "body"]
        opinion = [row.text for row in chosen if row.section == "take"]
        return apart(facts, opinion)


def _counted(form: QuestionShape) -> frozenset[str]:
    """The thing a "how many" question counts, with the terms that count as it (empty: none)."""
    return _alike(form.counted)


def _doing(form: QuestionShape) -> frozenset[str]:
    """The deed a "who …" question asks the doer of, with its other forms (empty: none, or a verb
    as light as "came" or "got", found in too many sentences to point at the answer)."""
    return frozenset() if form.deed in LIGHT_VERBS else _alike(form.deed)


def _event(expanded: Mapping[str, frozenset[str]], names: Sequence[str]) -> frozenset[str]:
    """The question's words for what happened: its terms that are not names (see `proper_nouns`)
    nor units of time ("a week", "per season": what a sum or a count is per), with the terms that
    count as them."""
    return frozenset(
        alt
        for term, group in expanded.items()
        if term not in names and term not in _TIME_UNITS
        for alt in group
    )


_TIME_UNITS = frozenset(stem(w) for w in ("week", "month", "year", "season"))


def _speaking(form: QuestionShape) -> frozenset[str]:
    """Whose words a "what did X say …" asks for: X's terms with the terms that count as them."""
    return frozenset(alt for group in expand(form.speaker).values() for alt in group)


def _alike(term: str) -> frozenset[str]:
    """The term with the terms that count as it (empty for "")."""
    return frozenset({term, *alternatives(term)}) if term else frozenset()


def view_label(post: Post) -> str:
    """How a quote from the post's own take is introduced: as its view, not reported fact."""
    label = post.take_label or "Take"
    return f"The post's {label.lower()} (its view, not reported fact)"


def apart(facts: Sequence[str], opinion: Sequence[str]) -> tuple[list[str], list[str]]:
    """Facts and view, each sentence once in the whole answer: a take often restates a fact."""
    kept = unique(facts)
    said = {normal(sentence) for sentence in kept}
    return kept, [s for s in unique(opinion) if normal(s) not in said]


_UPPER = re.compile(r"[A-Z]")
# Kinds of fact a post must state for it to answer: a number, a date, a name, a place.
FACT_KINDS = frozenset({Kind.NUMBER, Kind.TIME, Kind.NAME, Kind.PLACE})
EVENT_KINDS = frozenset({Kind.NUMBER, Kind.TIME})
RARE_IDF = 4.5  # a term this rare (about 1 post in 100 or fewer) may be a name or a place


def asked_terms(question: str, form: QuestionShape) -> list[str]:
    """The question's topic terms: without the words that only say what kind of fact it wants."""
    query = question_terms(question)
    if form.kind is Kind.OTHER:
        return query
    return [t for t in query if t not in form_words()]


_PROPER = re.compile(r"(?<=[\w,;:'’] )[A-Z][\w'’-]*")


def proper_nouns(question: str, query: Sequence[str]) -> tuple[str, ...]:
    """The stemmed topic terms of the question's capitalised words past its first ("the Amtrak
    train in Philadelphia" → amtrak, philadelphia): names of places, people and events."""
    found = {t for m in _PROPER.finditer(question) for t in terms(m.group())}
    return tuple(t for t in dict.fromkeys(query) if t in found)


_PERSON_WORD = re.compile(r"^(?!(?:ger|ro|hu|otto|sha)man$)\w{3,}(?:man|men|boy|girl)$")


def role_words(query: Sequence[str], names: Sequence[str]) -> frozenset[str]:
    """The question's words for a person by their role, by their make ("postman", "lineman",
    "schoolboy"), never a name ("Goldman", "Chapman": capitalised in the question)."""
    return frozenset(t for t in query if _PERSON_WORD.search(t) and t not in names)


def share_found(
    query: Sequence[str],
    idf: Mapping[str, float],
    expanded: Mapping[str, frozenset[str]],
    words: set[str] | frozenset[str],
    loose: frozenset[str] = frozenset(),
) -> float:
    """Share of the question's idf weight whose terms (or their paraphrases) are among `words`;
    `loose` (see `role_words`) are left out when missing.

    A post without the question's most specific term (its highest idf) must hold at least
    `WITHOUT_RAREST` of the rest, else it covers none of it: asked about "the Greens in the
    Tasmanian election", a post on another election is no answer. That term is excused when it is
    common (idf below `COMMON_IDF`) and the post has every other of at least three terms: "how
    large was the Baltic air-defence fund" is answered by a post that states the fund's amount."""
    unique_terms = sorted(set(query))
    # A word for a person by their role ("the postman", "a schoolboy") describes whom a post may
    # name instead: it is left out of the weighing when the post lacks it.
    unique_terms = [
        t for t in unique_terms if not (t in loose and not expanded.get(t, frozenset({t})) & words)
    ] or unique_terms
    if not unique_terms:
        return 0.0

    def has(term: str) -> bool:
        return bool(expanded.get(term, frozenset({term})) & words)

    total = sum(idf.get(t, 0.0) for t in unique_terms)
    share = sum(idf.get(t, 0.0) for t in unique_terms if has(t)) / total if total else 0.0
    missing = [t for t in unique_terms if not has(t)]
    if len(unique_terms) >= 3 and len(missing) == 1 and idf.get(missing[0], 0.0) < COMMON_IDF:
        return 1.0  # every distinctive term is there; the one missing is a common word
    rarest = max(unique_terms, key=lambda t: idf.get(t, 0.0))
    return share if has(rarest) or share >= WITHOUT_RAREST else 0.0


def text_coverage(
    post: Post,
    expanded: Mapping[str, frozenset[str]],
    idf: Mapping[str, float],
    loose: frozenset[str] = frozenset(),
) -> float:
    """`share_found` on the post's text, title and every sub-heading included (the index keeps
    the body's sub-headings with the title, and the take's not at all)."""
    bag = set(terms(post.title))
    for row in rows(post):
        bag.update(row.bag | row.heading_bag)
    return share_found(list(expanded), idf, expanded, bag, loose)


def _stamp(post: Post) -> float:
    return post.published.timestamp() if post.published else 0.0


def cite(post: Post) -> Citation:
    return Citation(post_id=post.id, url=post.url, title=post.title, published=post.published)
