"""Splitting long text into pieces a platform accepts, without losing a character.

Each adapter escapes post text its own way; a hard cut (no line end or space in reach) must not
separate an escape from what it escapes, so the adapter says where such a cut may fall.
"""

from __future__ import annotations

from collections.abc import Callable

HardCut = Callable[[str, int], int]  # (text, proposed cut) -> a cut that splits no escape


def split_text(text: str, limit: int, hard_cut: HardCut = lambda _text, cut: cut) -> list[str]:
    """Pieces of at most `limit` characters, broken at a line end, else a space, else where
    `hard_cut` allows. Only the whitespace at a break is dropped."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut < limit // 2:
            cut = rest.rfind(" ", 0, limit + 1)
        if cut < limit // 2:
            cut = hard_cut(rest, limit)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not pieces:
        pieces.append(rest)
    return pieces
