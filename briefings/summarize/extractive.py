"""Offline extractive summarizer: lead-biased, centrality-weighted sentence selection.

News puts its point first, so position is the strongest single signal (Lead-3 is a hard baseline). On
top of it each sentence earns credit for how much of the rest of the article it shares words with
(degree centrality over stemmed content words, in the spirit of PacSum's position-aware centrality),
near-duplicates of an already chosen sentence are skipped (captions often repeat the lead), and
fragments too short to carry a fact are passed over. The output only ever holds sentences of the post,
in reading order, so it is faithful by construction. Deterministic and a fraction of a millisecond per
article; the weights are global settings, not fitted to any article.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Sequence
from typing import Annotated

from pydantic import Field

from briefings.models import Post
from briefings.settings import SettingsModel
from briefings.summarize.base import Summary
from briefings.terms import terms
from briefings.text import body_sentences, considered_sentences, sentence_key

# Navigation and promotion lines that read like sentences but never carry news.
_BOILERPLATE = re.compile(
    r"^\W*(scroll down|click here|follow (?:us|@)|read more|watch the video|sign up|subscribe|"
    r"share this|leave a comment|advertisement)\b",
    re.I,
)


class ExtractiveSettings(SettingsModel):
    """The extractive weights (`[summarizer]` in config.toml adds the backend choice)."""

    position_weight: Annotated[float, Field(ge=0, le=5)] = 1.0  # exponent of the 1/(i+1) prior
    centrality_weight: Annotated[float, Field(ge=0, le=20)] = 1.5
    # Overlap coefficient above which a sentence repeats a chosen one.
    redundancy: Annotated[float, Field(gt=0, le=1)] = 0.7
    min_words: Annotated[int, Field(ge=0, le=50)] = 5


class ExtractiveSummarizer:
    """Picks the `n` best sentences of a text. Stateless and safe to share."""

    name = "extractive"
    # 2: a repeated sentence is never chosen twice; 3: an over-long sentence is cut on a whole
    # character (summaries cached before could end in U+FFFD)
    version = "3"

    def __init__(self, settings: ExtractiveSettings | None = None) -> None:
        self.settings = settings or ExtractiveSettings()

    @property
    def key(self) -> tuple[str, str, str]:
        s = self.settings
        params = f"{s.position_weight}/{s.centrality_weight}/{s.redundancy}/{s.min_words}"
        return (self.name, params, self.version)

    async def summarize(self, post: Post, sentences: int) -> Summary:
        # CPU-bound: run in a worker thread so the event loop keeps serving other channels meanwhile.
        chosen = await asyncio.to_thread(self.summarize_post, post, sentences)
        return Summary(tuple(chosen), method=self.name)

    def summarize_post(self, post: Post, n: int) -> list[str]:
        """Summary of the body only: the post's take is never mixed into the facts."""
        return self.select(body_sentences(post), n)

    def summarize_text(self, text: str, n: int) -> list[str]:
        """Summary of a plain text; only its opening is considered (see `considered_sentences`)."""
        return self.select(considered_sentences(text), n)

    def select(self, sentences: Sequence[str], n: int) -> list[str]:
        """The chosen sentences, in reading order."""
        return [sentences[i] for i in self.rank(sentences, n)]

    def rank(self, sentences: Sequence[str], n: int) -> list[int]:
        """Indices of the `n` best sentences, in reading order; a sentence repeated in the text
        (same words, whatever the spacing, case, punctuation or quotes) is a candidate once, so none is chosen twice."""
        seen: set[str] = set()
        firsts: list[int] = []
        for i, sentence in enumerate(sentences):
            key = sentence_key(sentence)
            if key not in seen:
                seen.add(key)
                firsts.append(i)
        return [firsts[i] for i in self._rank([sentences[i] for i in firsts], n)]

    def _rank(self, sentences: Sequence[str], n: int) -> list[int]:
        count = len(sentences)
        if count <= n:
            return list(range(count))
        s = self.settings
        bags = [frozenset(terms(sentence)) for sentence in sentences]
        sizes = [len(bag) for bag in bags]
        usable = [
            bool(bags[i])
            and len(sentences[i].split()) >= s.min_words
            and not _BOILERPLATE.search(sentences[i])
            for i in range(count)
        ]
        centrality = [0.0] * count
        for i in range(count):
            if not bags[i]:
                continue
            for j in range(i + 1, count):
                if not bags[j]:
                    continue
                shared = len(bags[i] & bags[j])
                if shared:
                    sim = shared / math.sqrt(sizes[i] * sizes[j])
                    centrality[i] += sim
                    centrality[j] += sim
        scores = [
            1.0 / (i + 1) ** s.position_weight + s.centrality_weight * centrality[i] / (count - 1)
            for i in range(count)
        ]
        chosen: list[int] = []
        for i in sorted((i for i in range(count) if usable[i]), key=lambda i: -scores[i]):
            if any(_overlap(bags[i], bags[j]) > s.redundancy for j in chosen):
                continue
            chosen.append(i)
            if len(chosen) == n:
                break
        # Short articles of fragments: fill from the top rather than return too little.
        for i in range(count):
            if len(chosen) == n:
                break
            if i not in chosen:
                chosen.append(i)
        return sorted(chosen)


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))
