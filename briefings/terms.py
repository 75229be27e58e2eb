"""Content terms of a text: lower-cased, stemmed (Snowball English), stop words removed.

One definition shared by the summarizer's sentence similarity and the passage index, so both agree on
what counts as "the same word".

Scripts written without spaces between words (Han, Hiragana, Katakana, Thai) give no words to split
on, and Korean joins particles to its nouns, so each run of them (Hangul too) stands for its
overlapping two-character pieces ("北京支持" -> 北京, 京支,
支持; a one-character run for itself), as CJK analyzers do: a word inside a run is then found by
its own pieces, the same way in posts and in questions. Other text is split exactly as before.
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
# Han (with its iteration mark and compatibility and extension blocks), Hiragana, Katakana (with
# half-width forms) and Thai letters and vowel marks (not its digits, currency sign or punctuation);
# and Hangul syllables: Korean spaces its words, but joins a particle to its noun ("북한은", "서울에서"),
# so its runs are read as pairs too and the noun alone is found.
_SPACELESS_CHARS = (
    "\u0e01-\u0e3a\u0e40-\u0e4e\u3005\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\uac00-\ud7a3\uff66-\uff9f\U00020000-\U0003134f"
)
_SPACELESS = re.compile(f"[{_SPACELESS_CHARS}]")
# A run of spaceless script, or a word as `_WORD` has it made of other letters and digits.
_TOKEN = re.compile(
    f"([{_SPACELESS_CHARS}]+)|[^\\W_{_SPACELESS_CHARS}]+(?:['\u2019][^\\W_{_SPACELESS_CHARS}]+)?"
)
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


def _has_spaceless(text: str) -> bool:
    return not text.isascii() and _SPACELESS.search(text) is not None


def _pieces(run: str) -> list[str]:
    """The overlapping two-character pieces of a run of spaceless script (itself when one long)."""
    return [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]


def terms(text: str) -> list[str]:
    """Stemmed content words in order, repeats kept."""
    lowered = text.lower()
    if not _has_spaceless(lowered):
        return [t for t in map(_term, _WORD.findall(lowered)) if t]
    out: list[str] = []
    for match in _TOKEN.finditer(lowered):
        run = match.group(1)
        if run:
            out.extend(_pieces(run))
        elif term := _term(match.group()):
            out.append(term)
    return out


def term_set(text: str) -> frozenset[str]:
    """The distinct terms of a text, as `terms` gives them, with each word's term remembered (a
    sentence's terms are looked up many times per answer)."""
    lowered = text.lower()
    if _has_spaceless(lowered):
        return frozenset(terms(lowered))
    out = set()
    for word in _WORD.findall(lowered):
        term = _TERM_OF.get(word)
        if term is None:
            term = _term(word)
            if len(_TERM_OF) < _MAX_REMEMBERED:
                _TERM_OF[word] = term
        if term:
            out.add(term)
    return frozenset(out)
