"""Answer retrieval: the right post for a question, how fast, and honesty when the posts are silent.

    python bench/ask.py --data ../shared/data/cnndm_sample.jsonl [--limit N] [--misses]

Stores every article as a post (through the store, as ingest does), asks each article's first
highlight, and prints recall@1 / recall@5 of the right post, queries per second, p50 / p99 latency of
the whole `ask()`, index build time (sentence splitting, stemming and writing the Tantivy index on disk) and peak
traced memory (Python allocations only: Tantivy's own memory is not traced), for ours beside rank-bm25 and bm25s run on
the same passages. Then the share of answerable questions answered and of unanswerable ones
(bench/data/unanswerable.txt and unanswerable_news.txt, written for this benchmark) declined.

Then the hand-written question set (bench/data/answerable.jsonl: questions written by reading the
articles and the seed IR in Five post in ../shared/seed/, which is stored too, each with the words
a right answer must contain): right post cited first (R@1), key facts present in the answer,
answered, and p50 / p99 latency of `ask()` over about 1,000 posts.

Then the held-out set, written once before the fixes of issue #14 and never tuned on
(bench/data/answerable_heldout.jsonl: 30 one-post questions, and 10 over several posts or a period
with "posts"; unanswerable_heldout.txt: 15 near-misses on the same topics). A few posts get the
publication dates in heldout_dates.json and questions are asked at its "now", so "this week" and
"in October" have a fixed meaning. Reported on its own line; --misses lists its misses too.

Then held-out 2, written after the first held-out set had been looked at and measured once before
the fixes that followed it (answerable_heldout2.jsonl: 30 one-post questions in other words than the
posts'; unanswerable_heldout2.txt: 15 near-misses, a fact of the same story that no post gives).
Never tuned on; reported on its own lines, its misses with --misses.

Held-out 3, 4 and 5 (answerable_heldout3.jsonl with answerable_heldout3_multi.jsonl, and 4, 5, each
with its unanswerable_heldoutN.txt: 45 one-post questions and 20 near-misses or absent topics) were
written blind on 2026-11-26 by people who had not read the answering code, each on articles no
earlier set used (4 and 5 drawn at random: seeds 4 and 5). Held-out 3 was then tuned on (its misses
read); held-out 4 was fitted on by bench/ask_fit.py; held-out 5 was measured blind, then one miss
shared by 4 and 5 ("who was behind …") was read and mended. Held-out 6 (45 + 20, seed 20261126,
on articles no earlier set used) was written blind on 2026-11-26 before the fifth round of signals
and measured once before and once after it; its misses have not been read. README gives the figures.
Held-out 7 (45 + 20, seed 20261127, on articles no earlier set used) was written blind on 2026-11-26.
Held-out 8 (45 + 20, seed 20261128, likewise) was written blind on 2026-11-26 before the seventh
round, for which held-out 6's misses were read; held-out 7 and 8 were measured, never read.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.sample import load_sample
from briefings.ask import PassageIndex, question_terms
from briefings.index import post_units
from briefings.models import Post, PostParts
from briefings.store import NewPost, Store
from briefings.terms import terms
from briefings.text import split_post

DATA = Path(__file__).with_name("data")
UNANSWERABLE = (DATA / "unanswerable.txt", DATA / "unanswerable_news.txt")
ANSWERABLE = DATA / "answerable.jsonl"
HELDOUT = DATA / "answerable_heldout.jsonl"
HELDOUT_UNANSWERABLE = DATA / "unanswerable_heldout.txt"
HELDOUT_DATES = DATA / "heldout_dates.json"
HELDOUT2 = DATA / "answerable_heldout2.jsonl"
HELDOUT2_UNANSWERABLE = DATA / "unanswerable_heldout2.txt"
BLIND = (
    3,
    4,
    5,
    6,
    7,
    8,
)  # held-out sets written blind: answerable_heldoutN*.jsonl, unanswerable_heldoutN.txt
FIRST_SEEN = datetime(2015, 5, 1, tzinfo=UTC)
SEED = Path(__file__).resolve().parents[1] / ".." / "shared" / "seed"


def load_store(
    rows: list[dict[str, str]], url: str, published: dict[str, datetime] | None = None
) -> Store:
    store = Store.open(url)
    dates = published or {}
    store.save_posts(
        [
            NewPost(
                source="bench",
                guid=row["id"],
                url=f"https://bench.invalid/{row['id']}",
                published=dates.get(row["id"]),
                parts=PostParts("", "", "", (row["article"],), "", "", ()),
            )
            for row in rows
        ],
        # First seen when the articles were news (2015), not at the run: an undated post counts
        # by when it was first seen, and would otherwise fall in "this week" of the held-out clock.
        at=FIRST_SEEN,
    )
    for path in sorted(SEED.glob("*.txt")):  # the real IR in Five post(s): headings, a take
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", path.read_text()) if p.strip()]
        store.save_posts(
            [
                NewPost(
                    source="irinfive",
                    guid="seed",
                    url=f"https://bench.invalid/seed/{path.stem}",
                    published=None,
                    parts=split_post(paragraphs),
                )
            ],
            at=FIRST_SEEN,
        )
    return store


def key_facts(answer_text: str, keys: list[str]) -> bool:
    """Whether every key word of a right answer is in the answer (case and spacing aside)."""
    text = " ".join(answer_text.lower().split())
    return all(" ".join(key.lower().split()) in text for key in keys)


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
    show_misses = "--misses" in sys.argv  # print each hand-written question the answer missed
    ours_only = "--ours-only" in sys.argv  # skip the rank-bm25 and bm25s baselines
    for flag in ("--misses", "--ours-only"):
        if flag in sys.argv:
            sys.argv.remove(flag)
    rows = load_sample(__doc__)
    questions = [row["highlights"].split("\n")[0] for row in rows]
    unanswerable = {
        path.name: [q for q in path.read_text().splitlines() if q.strip()] for path in UNANSWERABLE
    }
    known = {row["id"] for row in rows} | {"seed"}
    asked = [
        item
        for line in ANSWERABLE.read_text().splitlines()
        if line.strip() and (item := json.loads(line))["post"] in known
    ]

    heldout = [json.loads(line) for line in HELDOUT.read_text().splitlines() if line.strip()]
    heldout = [i for i in heldout if set(i.get("posts", [i.get("post")])) <= known]
    heldout_unanswerable = [q for q in HELDOUT_UNANSWERABLE.read_text().splitlines() if q.strip()]
    heldout2 = [json.loads(line) for line in HELDOUT2.read_text().splitlines() if line.strip()]
    heldout2 = [i for i in heldout2 if i["post"] in known]
    heldout2_unanswerable = [q for q in HELDOUT2_UNANSWERABLE.read_text().splitlines() if q.strip()]
    dated = json.loads(HELDOUT_DATES.read_text())
    now = datetime.fromisoformat(dated["now"])
    published = {
        guid: datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)
        for guid, day in dated["published"].items()
    }

    with tempfile.TemporaryDirectory() as tmp:
        store = load_store(rows, f"sqlite:///{Path(tmp) / 'ask.db'}", published)
        posts = sorted(store.iter_posts(), key=lambda p: p.id)
        truth = {p.guid: p.id for p in posts}
        expected = [truth[row["id"]] for row in rows]

        index, build_s, build_mb = measure(lambda: _synced(store, Path(tmp)))
        assert isinstance(index, PassageIndex)
        index.clock = lambda: now  # "this week" in the held-out questions: the week of `now`
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

        if not ours_only:
            table += _baselines(posts, questions, expected)

        declined = {
            name: sum(not index.ask(q).grounded for q in qs) for name, qs in unanswerable.items()
        }
        by_url = {p.url: p.guid for p in store.iter_posts()}
        first, facts, answered, ask_latency = 0, 0, 0, []
        misses = []
        for item in asked:
            start = time.perf_counter()
            answer = index.ask(item["question"])
            ask_latency.append(time.perf_counter() - start)
            text = "\n".join((answer.text, answer.opinion))
            cited = by_url.get(answer.citations[0].url) if answer.citations else None
            first += answer.grounded and cited == item["post"]
            facts += answer.grounded and key_facts(text, item["keys"])
            answered += answer.grounded
            if not (answer.grounded and key_facts(text, item["keys"])):
                misses.append((item["question"], item["keys"], answer.grounded, text[:300]))
        held = _heldout(index, heldout, heldout_unanswerable, by_url)
        held2 = _heldout(index, heldout2, heldout2_unanswerable, by_url)
        blind = {n: _heldout(index, *_blind_set(n, known), by_url) for n in BLIND}
        store.close()

    print(f"{len(rows)} posts (+ the seed post); query = each article's first highlight")
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
    for name, count in declined.items():
        total = len(unanswerable[name])
        print(
            f"unanswerable questions declined ({name}): {count}/{total} ({count / total * 100:.0f}%)"
        )
    all_declined = sum(declined.values())
    all_total = sum(len(qs) for qs in unanswerable.values())
    print(
        f"unanswerable declined, all: {all_declined}/{all_total} ({all_declined / all_total * 100:.0f}%)"
    )
    n = len(asked)
    lat = np.array(ask_latency) * 1000
    print(
        f"hand-written questions ({n}, {len(posts)} posts): right post first {first / n * 100:.1f}%, "
        f"key facts present {facts / n * 100:.1f}%, answered {answered / n * 100:.1f}%, "
        f"ask() p50 {np.percentile(lat, 50):.2f} ms, p99 {np.percentile(lat, 99):.2f} ms"
    )
    if show_misses:
        for question, keys, grounded, text in misses:
            print(f"  MISS {question!r} keys={keys} grounded={grounded}: {text!r}")
    _print_heldout(held, show_misses, "held-out")
    _print_heldout(held2, show_misses, "held-out 2")
    for n, held_n in blind.items():
        _print_heldout(held_n, show_misses, f"held-out {n}")


def _blind_set(n: int, known: set[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Held-out set `n`: its questions (one post, and several posts where it has them) on posts of
    the sample, and its unanswerable questions."""
    items = [
        json.loads(line)
        for path in sorted(DATA.glob(f"answerable_heldout{n}*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    items = [i for i in items if set(i.get("posts", [i.get("post")])) <= known]
    unanswerable = DATA / f"unanswerable_heldout{n}.txt"
    return items, [q for q in unanswerable.read_text().splitlines() if q.strip()]


def _heldout(
    index: PassageIndex,
    items: list[dict[str, Any]],
    unanswerable: list[str],
    by_url: dict[str, str],
) -> dict[str, Any]:
    """The held-out set: per kind (one post, several posts or a period) the right post(s) cited,
    key facts present, answered; near-misses declined; latency of every ask."""
    out: dict[str, Any] = {"latency": [], "misses": [], "wrong": 0, "declined": 0}
    for kind in ("single", "multi"):
        out[kind] = {"n": 0, "right": 0, "facts": 0, "answered": 0}
    for item in items:
        start = time.perf_counter()
        answer = index.ask(item["question"])
        out["latency"].append(time.perf_counter() - start)
        text = "\n".join((answer.text, answer.opinion))
        cited = [by_url.get(c.url) for c in answer.citations]
        kind = "multi" if "posts" in item else "single"
        tally = out[kind]
        tally["n"] += 1
        if kind == "single":
            right = bool(cited) and cited[0] == item["post"]
        else:
            right = set(item["posts"]) <= set(cited)
        ok = answer.grounded and key_facts(text, item["keys"])
        tally["right"] += answer.grounded and right
        tally["facts"] += ok
        tally["answered"] += answer.grounded
        if not ok:
            out["misses"].append((item["question"], item["keys"], answer.grounded, text[:300]))
    for question in unanswerable:
        start = time.perf_counter()
        answer = index.ask(question)
        out["latency"].append(time.perf_counter() - start)
        out["declined"] += not answer.grounded
        if answer.grounded:
            out["misses"].append((question, [], True, answer.text[:300]))
    out["unanswerable"] = len(unanswerable)
    return out


def _print_heldout(held: dict[str, Any], show_misses: bool, name: str) -> None:
    for kind, label in (("single", "one post"), ("multi", "several posts / a period")):
        t = held[kind]
        if not t["n"]:
            continue
        n = t["n"] or 1
        print(
            f"{name}, {label} ({t['n']}): right post(s) cited {t['right']}/{t['n']} "
            f"({t['right'] / n * 100:.0f}%), key facts {t['facts']}/{t['n']} "
            f"({t['facts'] / n * 100:.1f}%), answered {t['answered'] / n * 100:.0f}%"
        )
    total = held["unanswerable"]
    print(
        f"{name} unanswerable declined: {held['declined']}/{total} "
        f"({held['declined'] / max(total, 1) * 100:.0f}%); answered instead: {total - held['declined']}"
    )
    lat = np.array(held["latency"]) * 1000
    print(f"{name} ask() p50 {np.percentile(lat, 50):.2f} ms, p99 {np.percentile(lat, 99):.2f} ms")
    if show_misses:
        for question, keys, grounded, text in held["misses"]:
            print(f"  {name.upper()} MISS {question!r} keys={keys} grounded={grounded}: {text!r}")


def _baselines(
    posts: list[Post], questions: list[str], expected: list[int]
) -> list[tuple[str, list[int], list[float], float, float]]:
    """rank-bm25 and bm25s on the same 3-sentence passages of the same posts."""
    table: list[tuple[str, list[int], list[float], float, float]] = []
    # Passages shared by the baselines: the same 3-sentence windows of the same posts.
    units = [(p.id, u) for p in posts for u in post_units(p, 3)[1] if u.section == "body"]
    passage_post = [post_id for post_id, _ in units]
    passage_terms = [terms(" ".join(u.sentences)) for _, u in units]

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

    return table


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
