"""Votes under clicks that arrive at the same moment (a double click, or two processes answering
two clicks): each click is applied after the other, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from bot.votes import CHANGED, RECORDED, WITHDRAWN, VoteStore
from briefings.store import Store

AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SINCE = datetime(2000, 1, 1, tzinfo=UTC)


def at_once(*calls: Callable[[], str]) -> list[str]:
    """Run the calls in threads released together; their results in call order."""
    gate = threading.Barrier(len(calls))
    results: list[str] = [""] * len(calls)

    def run(i: int) -> None:
        gate.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_a_double_click_is_two_clicks_one_after_the_other(store: Store) -> None:
    post = 7  # votes name a post by id (a post removed since keeps its votes)
    votes = VoteStore(store.engine)

    def up() -> str:
        return votes.vote("slack", "C1", post, "U1", 1, AT)

    def state() -> tuple[int, int]:
        counts = votes.counts("slack", "C1", SINCE)
        return (counts[0].up, counts[0].down) if counts else (0, 0)

    for _ in range(15):  # from no vote: counted then withdrawn; from 👍: withdrawn then counted
        before = state()
        assert sorted(at_once(up, up)) == [RECORDED, WITHDRAWN]
        assert state() == before
        up()  # the next round starts from the other state
    for _ in range(10):  # 👍 and 👎 at once: one of them is the vote left
        results = at_once(up, lambda: votes.vote("slack", "C1", post, "U1", -1, AT))
        assert set(results) <= {RECORDED, CHANGED, WITHDRAWN}
        assert sum(state()) <= 1
