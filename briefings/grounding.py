"""Checks that model output adds nothing its evidence lacks. Shared by LLM summaries and answers, so
both hold model text to the same rules; each raises `LLMError` naming what failed."""

from __future__ import annotations

import re

from briefings.llm import LLMError

_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
_LINK = re.compile(r"https?://\S+|www\.\S+|<[^>]*>|\[[^\]]*\]\([^)]*\)", re.I)
_MENTION = re.compile(r"@\w|<[!@#]")


def check_no_links_or_mentions(text: str) -> None:
    if _LINK.search(text):
        raise LLMError("output contains a link or markup")
    if _MENTION.search(text):
        raise LLMError("output contains an @-mention")


def check_numbers(text: str, evidence: str) -> None:
    """Every number in `text` must occur in `evidence` (thousands separators ignored)."""
    plain = evidence.replace(",", "")
    for number in _NUMBER.findall(text):
        if number.replace(",", "").rstrip(".") not in plain:
            raise LLMError(f"number {number!r} is not in the source text")
