"""Answer retrieval: the right post for a question, how fast, and honesty when the posts are silent.

    python bench/ask.py --data ../shared/data/cnndm_sample.jsonl [--limit N]

Stores every article as a post (through the store, as ingest does), asks each article's first
highlight, and prints recall@1 / recall@5 of the right post, queries per second, p50 / p99 latency of
the whole `ask()`, index build time (sentence splitting, stemming and writing the Tantivy index on disk) and peak
traced memory (Python allocations only: Tantivy's own memory is not traced), for ours beside rank-bm25 and bm25s run on
the same passages. Then the share of answerable questions answered and of unanswerable ones
(bench/data/unanswerable.txt, written for this benchmark) declined.
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.sample import load_sample
from briefings.ask import PassageIndex, question_terms
from briefings.index import post_units
from briefings.models import PostParts
from briefings.store import NewPost, Store
from briefings.terms import terms

UNANSWERABLE = Path(__file__).with_name("data") / "unanswerable.txt"


def load_store(rows: list[dict[str, str]], url: str) -> Store:
    store = Store.open(url)
    store.save_posts(
        NewPost(
            source="bench",
            guid=row["id"],
            url=f"https://bench.invalid/{row['id']}",
            published=None,
            parts=PostParts("", "", "", (row["article"],), "", "", ()),
        )
        for row in rows
    )
    return store


def measure(build: Callable[[], object]) -> tuple[object, float, float]:
    """Build time untraced, then peak traced memory of a second build (tracing slows building)."""
    start = time.perf_counter()
    built = build()
    seconds = time.perf_counter() - start
    tracemalloc.start()
    build()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return built, seconds, peak / 1e6


def main() -> None:
    rows = load_sample(__doc__)
    questions = [row["highlights"].split("\n")[0] for row in rows]
    unanswerable = [q for q in UNANSWERABLE.read_text().splitlines() if q.strip()]

    with tempfile.TemporaryDirectory() as tmp:
        store = load_store(rows, f"sqlite:///{Path(tmp) / 'ask.db'}")
        posts = sorted(store.iter_posts(), key=lambda p: p.id)
        truth = {p.guid: p.id for p in posts}
        expected = [truth[row["id"]] for row in rows]

        index, build_s, build_mb = measure(lambda: _synced(store, Path(tmp)))
        assert isinstance(index, PassageIndex)
        # Passages shared by the baselines: the same 3-sentence windows of the same posts.
        units = [(p.id, u) for p in posts for u in post_units(p, 3)[1] if u.section == "body"]
        passage_post = [post_id for post_id, _ in units]
        passage_terms = [terms(" ".join(u.sentences)) for _, u in units]

        table = []
        ranks, latencies, grounded = [], [], 0
        for question, want in zip(questions, expected, strict=True):
            start = time.perf_counter()
            answer = index.ask(question)
            latencies.append(time.perf_counter() - start)
            grounded += answer.grounded
            ranked = [pid for pid, _, _ in index.rank(question_terms(question))]
            ranks.append(ranked.index(want) if want in ranked else 99)
        table.append(("briefbot (ask)", ranks, latencies, build_s, build_mb))

        from rank_bm25 import BM25Okapi

        okapi, build_s, build_mb = measure(lambda: BM25Okapi(passage_terms))
        assert isinstance(okapi, BM25Okapi)
        table.append(
            (
                "rank-bm25",
                *_baseline(lambda q: okapi.get_scores(terms(q)), passage_post, questions, expected),
                build_s,
                build_mb,
            )
        )

        import bm25s

        def build_bm25s() -> bm25s.BM25:
            model = bm25s.BM25()
            model.index(passage_terms, show_progress=False)
            return model

        fast, build_s, build_mb = measure(build_bm25s)
        assert isinstance(fast, bm25s.BM25)
        table.append(
            (
                "bm25s",
                *_baseline(lambda q: fast.get_scores(terms(q)), passage_post, questions, expected),
                build_s,
                build_mb,
            )
        )

        declined = sum(not index.ask(q).grounded for q in unanswerable)
        store.close()

    print(
        f"{len(rows)} posts, {len(passage_post)} passages; query = each article's first highlight"
    )
    print(
        f"{'system':<16} {'R@1':>6} {'R@5':>6} {'q/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'build s':>8} {'peak MB':>8}"
    )
    for name, rank_list, lat, build_s, build_mb in table:
        r = np.array(rank_list)
        lat_ms = np.array(lat) * 1000
        print(
            f"{name:<16} {np.mean(r == 0) * 100:6.1f} {np.mean(r < 5) * 100:6.1f} {len(lat) / sum(lat):8.0f} "
            f"{np.percentile(lat_ms, 50):7.2f} {np.percentile(lat_ms, 99):7.2f} {build_s:8.2f} {build_mb:8.1f}"
        )
    print(f"answerable questions answered: {grounded / len(questions) * 100:.1f}%")
    print(
        f"unanswerable questions declined: {declined}/{len(unanswerable)} ({declined / len(unanswerable) * 100:.0f}%)"
    )


def _synced(store: Store, tmp: Path) -> PassageIndex:
    """A fresh on-disk index built from the store (each call starts from an empty directory)."""
    where = Path(tempfile.mkdtemp(dir=tmp))
    index = PassageIndex(store=store, path=where / "index")
    index.sync(store)
    return index


def _baseline(
    scores: Callable[[str], np.ndarray],
    passage_post: list[int],
    questions: list[str],
    expected: list[int],
) -> tuple[list[int], list[float]]:
    owner = np.array(passage_post)
    ranks, latencies = [], []
    for question, want in zip(questions, expected, strict=True):
        start = time.perf_counter()
        s = np.asarray(scores(question))
        order = owner[np.argsort(-s)]
        _, first = np.unique(order, return_index=True)
        ranked = order[np.sort(first)][:5].tolist()
        latencies.append(time.perf_counter() - start)
        ranks.append(ranked.index(want) if want in ranked else 99)
    return ranks, latencies


if __name__ == "__main__":
    main()
