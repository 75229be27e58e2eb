"""A small incremental BM25 index over numpy arrays.

Units (passages or whole posts) are added and removed one at a time as posts arrive or change; the
postings are compiled into arrays lazily, on the first query after a change, so a query is a few
vectorised additions however many units there are.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class BM25:
    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._bags: list[Counter[str] | None] = []  # by slot; None = removed
        self._postings: dict[str, tuple[npt.NDArray[np.int64], FloatArray]] = {}
        self._idf: dict[str, float] = {}
        self._dirty = False
        self._live = 0

    def __len__(self) -> int:
        return self._live

    @property
    def slots(self) -> int:
        return len(self._bags)

    def add(self, words: Iterable[str]) -> int:
        """Index one unit; returns its slot number."""
        self._bags.append(Counter(words))
        self._live += 1
        self._dirty = True
        return len(self._bags) - 1

    def remove(self, slot: int) -> None:
        if self._bags[slot] is not None:
            self._bags[slot] = None
            self._live -= 1
            self._dirty = True

    def idf(self, term: str) -> float:
        """Inverse document frequency; a term never seen gets the highest possible value."""
        self._compile()
        return self._idf.get(term, self._max_idf())

    def has(self, term: str) -> bool:
        self._compile()
        return term in self._postings

    def scores(self, query: Iterable[str]) -> FloatArray:
        """BM25 score of every slot for the query terms (repeats in the query count once)."""
        self._compile()
        out = np.zeros(len(self._bags))
        for term in set(query):
            posting = self._postings.get(term)
            if posting is not None:
                out[posting[0]] += posting[1]
        return out

    def _max_idf(self) -> float:
        n = max(self._live, 1)
        return math.log(1 + (n + 0.5) / 0.5)

    def _compile(self) -> None:
        if not self._dirty:
            return
        n = max(self._live, 1)
        total = sum(sum(bag.values()) for bag in self._bags if bag is not None)
        avg = total / n if total else 1.0
        ids: dict[str, list[int]] = {}
        weights: dict[str, list[float]] = {}
        k1, b = self.k1, self.b
        for slot, bag in enumerate(self._bags):
            if bag is None:
                continue
            norm = k1 * (1 - b + b * sum(bag.values()) / avg)
            for term, tf in bag.items():
                ids.setdefault(term, []).append(slot)
                weights.setdefault(term, []).append(tf * (k1 + 1) / (tf + norm))
        self._idf = {}
        self._postings = {}
        for term, slots in ids.items():
            idf = math.log(1 + (n - len(slots) + 0.5) / (len(slots) + 0.5))
            self._idf[term] = idf
            self._postings[term] = (np.array(slots, dtype=np.int64), np.array(weights[term]) * idf)
        self._dirty = False
