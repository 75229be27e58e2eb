"""Posts grouped into stories: posts about the same event share most of their names.

Each post is reduced to a small set of features: the names in its opening (capitalised sequences,
less the words capitalised only by position, honorifics and calendar words of
`data/story_stopwords.txt`), the content words of its title, and its tags when it has them
("country:ua"). Text with no capitals to find names by (lower-cased or all-caps) falls back to its
most distinctive words instead of its names. Two posts are compared by the cosine of their
features weighted by how rare each is among the posts grouped together (a name every post carries
says nothing), and stories are formed by average-linkage clustering: two groups merge while their
posts are, on average, alike enough. Average rather than single linkage, so one post that touches
two stories does not chain them into one.

Pure and deterministic: the same posts (in any order) give the same stories, in the same order.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Protocol

from briefings.sentences import split_sentences
from briefings.terms import stem, terms

# Tuned on bench/data/stories_labels.tsv (labelled before tuning); see bench/stories.py.
THRESHOLD = 0.1  # average similarity above which two groups are one story
LEAD_WORDS = 400  # names are looked for in a post's opening: its first this many words
TOP_FEATURES = 40  # a post's most distinctive name words kept (plus its title words and tags)
TF_POWER = 1.5  # how much a word repeated in a post outweighs one said once
TITLE_WEIGHT = 1.0  # a title word counts this much more than the same word in the text
TAG_WEIGHT = 1.0  # a shared tag counts like a shared name of the same rarity
COMMON_SHARE = 0.05  # see _pair_similarities
COMMON_MIN = 10
LABEL_TERMS = 3  # words in a story's label

_TOKEN = re.compile(r"[^\W\d_](?:[\w'\u2019.-]*[^\W_])?")
_CONNECTORS = frozenset({"of", "de", "del", "da", "al", "bin", "ibn", "von", "van", "la", "le"})
_MAX_NAME_WORDS = 5  # a longer capitalised run is a headline-style line, not a name
_MIN_CASED_SHARE = 0.02  # words starting upper-case, below which a text counts as lower-cased


class StoryPost(Protocol):
    """What grouping reads from a post (`briefings.models.Post` has it)."""

    @property
    def id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def published(self) -> datetime | None: ...
    @property
    def first_seen(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class Story:
    """Posts about one event or topic, oldest first; `label` names it by its most shared words."""

    label: str
    post_ids: tuple[int, ...]
    newest: datetime  # the latest publication (or first sight) among its posts

    @property
    def size(self) -> int:
        return len(self.post_ids)


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    text = resources.files("briefings").joinpath("data/story_stopwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def _is_cased(text: str) -> bool:
    words = _TOKEN.findall(text)
    if not words:
        return False
    upper_start = sum(1 for w in words if w[0].isupper())
    all_caps = sum(1 for w in words if w.isupper() and len(w) > 1)
    return upper_start >= _MIN_CASED_SHARE * len(words) and all_caps < 0.5 * len(words)


def _lead(text: str) -> str:
    words = text.split()
    return " ".join(words[:LEAD_WORDS])


def names(text: str) -> list[str]:
    """The names in cased text, in order, repeats kept: runs of capitalised words ("Vladimir
    Putin", "Bank of England"), without a leading word capitalised only because it opens a
    sentence, and without honorifics, calendar words and other stop-listed words."""
    stop = stopwords()
    sentences = [
        [_word(m.group()) for m in _TOKEN.finditer(sentence)] for sentence in split_sentences(text)
    ]
    # A word capitalised somewhere other than a sentence's start is a name wherever it stands;
    # one capitalised only at starts ("Officials said", "Despite this") is not.
    mid = {lower for words in sentences for word, lower in words[1:] if word[:1].isupper()}
    found: list[str] = []
    for words in sentences:
        run: list[str] = []
        for position, (word, lower) in enumerate(words):
            capital = word[:1].isupper() and (position > 0 or lower in mid or len(words) == 1)
            joins = bool(run) and lower in _CONNECTORS and not word[:1].isupper()
            if (capital and lower not in stop) or joins:
                run.append(lower)
            else:
                _close(run, found)
                run = []
        _close(run, found)
    return found


def _word(token: str) -> tuple[str, str]:
    """A token without a trailing full stop, and its lower-case form without a possessive."""
    word = token.rstrip(".")
    return word, word.lower().replace("\u2019", "'").removesuffix("'s")


def _close(run: list[str], found: list[str]) -> None:
    while run and run[-1] in _CONNECTORS:
        run.pop()
    if run and len(run) <= _MAX_NAME_WORDS and any(len(w) > 1 for w in run):
        found.append(" ".join(run))


def _name_terms(text: str) -> list[str]:
    """Stemmed words of the names in `text` (repeats kept), or of every content word when the
    text carries no capitals to tell names by."""
    lead = _lead(text)
    stop = stopwords()
    if _is_cased(lead):
        words = [w for name in names(lead) for w in name.split() if w not in _CONNECTORS]
        return [stem(w) for w in words if len(w) > 1]
    return [t for t in terms(lead) if t not in stop and not t.isdigit()]


def _title_terms(title: str) -> set[str]:
    stop = stopwords()
    return {t for t in terms(title) if t not in stop and not t.isdigit()}


def features(
    posts: Sequence[StoryPost], tags: Mapping[int, Iterable[str]] | None = None
) -> dict[int, dict[str, float]]:
    """Each post's weighted features: its most distinctive name words, its title words and its
    tags, each weighted by its rarity among these posts (inverse document frequency)."""
    tags = tags or {}
    counts = {p.id: Counter(_name_terms(f"{p.title}.\n\n{p.body}")) for p in posts}
    titles = {p.id: _title_terms(p.title) for p in posts}
    tag_sets = {p.id: {f"tag:{t}" for t in tags.get(p.id, ())} for p in posts}
    df: Counter[str] = Counter()
    for p in posts:
        df.update(set(counts[p.id]) | titles[p.id] | tag_sets[p.id])
    n = len(posts)

    def idf(feature: str) -> float:
        return math.log((n + 1) / df[feature])

    out: dict[int, dict[str, float]] = {}
    for p in posts:
        weights = {f: c**TF_POWER * idf(f) for f, c in counts[p.id].items()}
        ranked = sorted(weights, key=lambda f: (-weights[f], f))
        kept = {f: weights[f] for f in ranked[:TOP_FEATURES]}
        for f in titles[p.id]:
            kept[f] = kept.get(f, weights.get(f, 0.0)) + TITLE_WEIGHT * idf(f)
        for f in tag_sets[p.id]:
            kept[f] = TAG_WEIGHT * idf(f)
        out[p.id] = {f: w for f, w in kept.items() if w > 0}
    return out


def similarity(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Cosine of two weighted feature sets: 1 for the same features, 0 for none shared."""
    shared = sum(a[f] * b[f] for f in a.keys() & b.keys())
    if not shared:
        return 0.0
    norm = math.sqrt(sum(w * w for w in a.values()) * sum(w * w for w in b.values()))
    return shared / norm


def _pair_similarities(vectors: dict[int, dict[str, float]]) -> dict[tuple[int, int], float]:
    """Cosine similarity of every pair of posts sharing a feature, keyed (low, high); other
    pairs count as 0. A feature in more than `COMMON_SHARE` of the posts (and more than
    `COMMON_MIN` of them) is left out, as a word that says nothing about which story a post
    belongs to; this also keeps a thousand posts from being compared all with all."""
    postings: dict[str, list[int]] = {}
    for post_id in sorted(vectors):
        for feature in vectors[post_id]:
            postings.setdefault(feature, []).append(post_id)
    common = max(COMMON_MIN, COMMON_SHARE * len(vectors))
    kept = {f for f, ids in postings.items() if len(ids) <= common}
    norms = {
        i: math.sqrt(sum(w * w for f, w in v.items() if f in kept)) for i, v in vectors.items()
    }
    dots: dict[tuple[int, int], float] = {}
    for feature in sorted(kept):
        ids = postings[feature]
        for n, a in enumerate(ids):
            weight = vectors[a][feature]
            for b in ids[n + 1 :]:
                dots[(a, b)] = dots.get((a, b), 0.0) + weight * vectors[b][feature]
    return {pair: dot / (norms[pair[0]] * norms[pair[1]]) for pair, dot in sorted(dots.items())}


def cluster(
    ids: Sequence[int], pairs: Mapping[tuple[int, int], float], threshold: float = THRESHOLD
) -> list[list[int]]:
    """Average-linkage clusters of `ids`: the two groups whose posts are most alike on average
    merge first, until no two groups reach `threshold`. Pairs missing from `pairs` count as 0.
    Ties go to the lowest ids, so the result never depends on input order."""
    members: dict[int, list[int]] = {i: [i] for i in ids}
    sums: dict[int, dict[int, float]] = {i: {} for i in ids}  # group -> group -> summed sims
    for (a, b), sim in pairs.items():
        if sim > 0 and a in members and b in members and a != b:
            sums[a][b] = sums[a].get(b, 0.0) + sim
            sums[b][a] = sums[a][b]
    heap = [(-s, a, b) for a in sums for b, s in sums[a].items() if a < b]
    heapq.heapify(heap)
    while heap:
        neg, a, b = heapq.heappop(heap)
        if a not in members or b not in members or b not in sums[a]:
            continue
        average = sums[a][b] / (len(members[a]) * len(members[b]))
        if average != -neg:
            continue  # stale: one of the groups grew since; its current entry is in the heap
        if average < threshold:
            break  # the best remaining pair is not alike enough: nothing else is either
        members[a] += members.pop(b)
        for c, s in sums.pop(b).items():
            sums[c].pop(b, None)
            if c != a:
                sums[a][c] = sums[a].get(c, 0.0) + s
                sums[c][a] = sums[a][c]
        for c, s in sums[a].items():
            low, high = min(a, c), max(a, c)
            heapq.heappush(heap, (-s / (len(members[a]) * len(members[c])), low, high))
    return sorted((sorted(m) for m in members.values()), key=lambda m: m[0])


def group_stories(
    posts: Sequence[StoryPost],
    tags: Mapping[int, Iterable[str]] | None = None,
    *,
    threshold: float = THRESHOLD,
) -> list[Story]:
    """The posts as stories, largest first, then the one with the newest post first; each
    story's posts oldest first. `tags` (post id -> tags like "country:ua") is optional."""
    by_id = {p.id: p for p in posts}
    vectors = features(posts, tags)
    groups = cluster(sorted(by_id), _pair_similarities(vectors), threshold)
    stories = []
    for group in groups:
        ordered = sorted(group, key=lambda i: (_when(by_id[i]), i))
        stories.append(
            Story(
                label=label([by_id[i] for i in ordered], vectors),
                post_ids=tuple(ordered),
                newest=max(_when(by_id[i]) for i in group),
            )
        )
    stories.sort(key=lambda s: (-s.size, -s.newest.timestamp(), s.post_ids[0]))
    return stories


def _when(post: StoryPost) -> datetime:
    return post.published or post.first_seen


def label(posts: Sequence[StoryPost], vectors: Mapping[int, Mapping[str, float]]) -> str:
    """A few words naming the story: the features most of its posts share (the heaviest first
    among equally shared ones), as written in the newest post, in the order it first uses them.
    A post on its own, or posts that share no word, are named by the newest title."""
    newest = posts[-1].title.strip() or "Untitled post"
    if len(posts) == 1:
        return newest
    counts: Counter[str] = Counter()
    weight: dict[str, float] = {}
    for post in posts:
        for feature, w in vectors.get(post.id, {}).items():
            if not feature.startswith("tag:"):
                counts[feature] += 1
                weight[feature] = weight.get(feature, 0.0) + w
    shared = sorted(
        (f for f, c in counts.items() if c >= 2), key=lambda f: (-counts[f], -weight[f], f)
    )[:LABEL_TERMS]
    if not shared:
        return newest
    written = _written_forms(posts[::-1], set(shared))
    position = {key: n for n, key in enumerate(written)}
    shared.sort(key=lambda f: (position.get(f, len(position)), f))
    text = " ".join(written.get(f, f) for f in shared)
    return text[:1].upper() + text[1:]


def _written_forms(posts: Sequence[StoryPost], wanted: set[str]) -> dict[str, str]:
    """The `wanted` stems as first written in these posts' titles and openings, in order of use."""
    forms: dict[str, str] = {}
    for post in posts:
        for match in _TOKEN.finditer(f"{post.title}\n{_lead(post.body)}"):
            word = match.group().rstrip(".").replace("\u2019", "'").removesuffix("'s")
            key = stem(word.lower())
            if key in wanted and key not in forms:
                forms[key] = word
                if len(forms) == len(wanted):
                    return forms
    return forms
