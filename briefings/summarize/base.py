"""The `Summarizer` protocol and its result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from briefings.models import Post


@dataclass(frozen=True, slots=True)
class Summary:
    """Summary sentences of a post's body (never its take), and how they were made."""

    sentences: tuple[str, ...]
    method: str
    note: str = ""

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


class Summarizer(Protocol):
    """Anything that can summarize a post. `key` identifies its output for the summary cache."""

    @property
    def key(self) -> tuple[str, str, str]:
        """(summarizer name, model, prompt version): a change in any re-summarizes."""
        ...

    async def summarize(self, post: Post, sentences: int) -> Summary: ...
