"""Content terms of a text: lower-cased, stemmed (Snowball English), stop words removed.

One definition shared by the summarizer's sentence similarity and the passage index, so both agree on
what counts as "the same word".
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "by",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "he",
        "she",
        "they",
        "we",
        "you",
        "i",
        "his",
        "her",
        "their",
        "our",
        "your",
        "my",
        "me",
        "him",
        "them",
        "us",
        "not",
        "no",
        "nor",
        "do",
        "does",
        "did",
        "doing",
        "have",
        "has",
        "had",
        "having",
        "will",
        "would",
        "can",
        "could",
        "should",
        "may",
        "might",
        "must",
        "shall",
        "than",
        "then",
        "there",
        "here",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "both",
        "each",
        "few",
        "more",
        "most",
        "other",
        "some",
        "such",
        "only",
        "own",
        "same",
        "so",
        "too",
        "very",
        "s",
        "t",
        "just",
        "don",
        "now",
        "also",
        "into",
        "over",
        "under",
        "after",
        "before",
        "about",
        "up",
        "down",
        "out",
        "off",
        "again",
        "further",
        "once",
        "said",
        "says",
        "say",
        "mr",
        "mrs",
        "ms",
        "it's",
        "n't",
        "'s",
        "'ll",
        "'re",
        "'ve",
        "'d",
        "can't",
        "won't",
        "don't",
    ]
)
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)?", re.UNICODE)
_stemmer = Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return str(_stemmer.stemWord(word))


def _term(word: str) -> str:
    """The term a lower-cased word stands for ("" for a stop word or a single letter)."""
    word = word.replace("\u2019", "'")
    if word in STOP_WORDS or len(word) < 2:
        return ""
    return stem(word.split("'")[0] if word.endswith(("'s", "'t")) else word)


_TERM_OF: dict[str, str] = {}  # word -> term, for `term_set`
_MAX_REMEMBERED = 500_000


def terms(text: str) -> list[str]:
    """Stemmed content words in order, repeats kept."""
    return [t for t in map(_term, _WORD.findall(text.lower())) if t]


def term_set(text: str) -> frozenset[str]:
    """The distinct terms of a text, as `terms` gives them, with each word's term remembered (a
    sentence's terms are looked up many times per answer)."""
    out = set()
    for word in _WORD.findall(text.lower()):
        term = _TERM_OF.get(word)
        if term is None:
            term = _term(word)
            if len(_TERM_OF) < _MAX_REMEMBERED:
                _TERM_OF[word] = term
        if term:
            out.add(term)
    return frozenset(out)
