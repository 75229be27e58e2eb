"""Questions at scale: the persistent search index with 1k, 10k and 50k stored posts.

    python bench/ask_scale.py --data ../shared/data/cnndm_sample.jsonl [--sizes 1000,10000,50000]
        [--db postgresql://postgres@127.0.0.1:5432/test] [--questions 200]

Posts are the sample's articles, repeated with perturbed vocabulary (a quarter of the words of each
copy get a copy-specific suffix) so no two posts are identical; they are stored through
`Store.save_posts` in batches, as ingest stores them. For each size it measures, each in a fresh
process where it says so:

- reindex: `briefbot reindex`, the whole process (a full build from the store);
- CLI ask: `briefbot ask "..."`, the whole process (open the index, sync, answer), and its peak RSS;
- first question: in a fresh process, opening the index and the first answer (after imports);
- p50 / p99 of `ask()` in that process over --questions questions, and its RSS afterwards;
- loop stall: the longest the event loop was late while one new post was stored and synced and a
  question answered (`BriefingEngine.sync_index` / `answer`);
- the index's size on disk and the time to index 1,000 new posts.

The data is read from --data, never copied into the project. With --db, a PostgreSQL database is
used (a scratch schema, dropped at the end) and the index lives in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from briefings.models import PostParts  # noqa: E402
from briefings.store import NewPost, Store  # noqa: E402

_WORD = re.compile(r"[A-Za-z]{4,}")


def perturbed(text: str, copy: int) -> str:
    """The text with a quarter of its longer words given a suffix of this copy (copy 0: as is)."""
    if copy == 0:
        return text
    rng = random.Random(copy)
    return _WORD.sub(
        lambda m: m.group() + f"x{copy % 97}" if rng.random() < 0.25 else m.group(), text
    )


def posts_for(rows: list[dict[str, Any]], start: int, stop: int) -> Iterator[NewPost]:
    """Posts number start..stop-1: copy n // len(rows) of article n % len(rows)."""
    for n in range(start, stop):
        row = rows[n % len(rows)]
        copy = n // len(rows)
        yield NewPost(
            source="bench",
            guid=f"{row['id']}-{copy}",
            url=f"https://bench.invalid/{row['id']}/{copy}",
            published=None,
            parts=PostParts("", "", "", (perturbed(row["article"], copy),), "", "", ()),
        )


def fill(store: Store, rows: list[dict[str, Any]], start: int, stop: int) -> None:
    posts = list(posts_for(rows, start, stop))
    for i in range(0, len(posts), 1000):
        store.save_posts(posts[i : i + 1000])


# Runs `bot.cli` and, at exit, writes the process's own peak RSS (VmHWM, KiB) to the file named by
# ASK_SCALE_PEAK. The rusage of a child counts the memory of this (large) process it was forked from
# before it exec'd, so it would report this process's size, not briefbot's.
_PEAK_WRAPPER = """
import atexit, os, runpy, sys

def _peak():
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM"))
    with open(os.environ["ASK_SCALE_PEAK"], "w") as out:
        out.write(kib)

atexit.register(_peak)
sys.argv[0] = "briefbot"
runpy.run_module("bot.cli", run_name="__main__", alter_sys=True)
"""


def cli(db: str, config: Path, *args: str) -> tuple[float, float, str]:
    """(seconds, peak RSS MiB, stdout) of one `briefbot` process."""
    peak_file = config.parent / "peak.txt"
    peak_file.unlink(missing_ok=True)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", _PEAK_WRAPPER, "--config", str(config), "--db", db, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "ASK_SCALE_PEAK": str(peak_file)},
    )
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"briefbot {' '.join(args)} exited {proc.returncode}")
    try:
        peak = int(peak_file.read_text()) / 1024
    except (OSError, ValueError):  # no /proc: the rusage figure, an upper bound
        peak = usage.ru_maxrss / 1024
    return seconds, peak, out


def child(db: str, index_path: str, questions: list[str], new_post: str) -> None:
    """In a fresh process: open + first answer, p50/p99, RSS, loop stall, 1,000 new posts."""
    from briefings.ask import PassageIndex

    rows = json.loads(new_post)
    store = Store.open(db)
    started = time.perf_counter()
    index = PassageIndex(store=store, path=Path(index_path))
    index.sync(store)
    index.ask(questions[0])
    first = time.perf_counter() - started
    latencies = []
    for question in questions:
        t = time.perf_counter()
        index.ask(question)
        latencies.append((time.perf_counter() - t) * 1000)
    latencies.sort()
    rss = _rss_mib()
    stall = asyncio.run(_stall(store, index, rows, questions[1]))
    fill(store, rows["rows"], rows["next"] + 1, rows["next"] + 1001)
    t = time.perf_counter()
    indexed = index.sync(store)
    per_1000 = time.perf_counter() - t
    print(
        json.dumps(
            {
                "first_s": first,
                "p50_ms": latencies[len(latencies) // 2],
                "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
                "rss_mib": rss,
                "stall_ms": stall,
                "index_1000_s": per_1000,
                "indexed": indexed,
            }
        )
    )


async def _stall(store: Store, index: Any, rows: dict[str, Any], question: str) -> float:
    """Longest lateness of a 5 ms ticker while a new post is synced and a question answered."""
    from briefings.engine import BriefingEngine

    engine = BriefingEngine(store, None, [], None, None, index=index)  # type: ignore[arg-type]
    worst = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        while not done.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.005)
            worst = max(worst, time.perf_counter() - t - 0.005)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    await asyncio.to_thread(fill, store, rows["rows"], rows["next"], rows["next"] + 1)
    await engine.sync_index()
    await engine.answer(question)
    done.set()
    await task
    return worst * 1000


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def du_mib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default="../shared/data/cnndm_sample.jsonl")
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--db", help="a PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        db, index_path, questions, new_post = args.child
        child(db, index_path, json.loads(questions), Path(new_post).read_text())
        return
    rows = [json.loads(line) for line in Path(args.data).read_text().splitlines() if line.strip()]
    questions = [row["highlights"].split("\n")[0] for row in rows[: args.questions]]
    sizes = sorted(int(s) for s in args.sizes.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db, drop = _database(args.db, work)
        index_dir = work / "index"
        config = work / "config.toml"
        config.write_text(f'[index]\npath = "{index_dir}"\n')
        store = Store.open(db)
        stored = 0
        results = []
        try:
            for size in sizes:
                started = time.perf_counter()
                fill(store, rows, stored, size)
                fill_s = time.perf_counter() - started
                stored = size
                reindex_s, _, _ = cli(db, config, "reindex")
                runs = [cli(db, config, "ask", questions[i]) for i in range(3)]
                ask_s = statistics.median(r[0] for r in runs)
                ask_rss = max(r[1] for r in runs)
                extra = work / "extra.json"
                extra.write_text(json.dumps({"rows": rows, "next": 10_000_000 + size}))
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        db,
                        str(index_dir),
                        json.dumps(questions),
                        str(extra),
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                    cwd=ROOT,
                ).stdout
                measured = json.loads(out.strip().splitlines()[-1])
                results.append(
                    {
                        "posts": size,
                        "store_s": fill_s,
                        "reindex_s": reindex_s,
                        "ask_s": ask_s,
                        "ask_rss": ask_rss,
                        "index_mib": du_mib(index_dir),
                        **measured,
                    }
                )
                _print(results, "PostgreSQL" if args.db else "SQLite")
        finally:
            store.close()
            drop()


def _database(url: str | None, work: Path) -> tuple[str, Any]:
    if not url:
        return f"sqlite:///{work / 'scale.db'}", lambda: None
    import sqlalchemy as sa

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}", drop


def _print(results: list[dict[str, Any]], kind: str) -> None:
    rows = [
        ("stored posts", "posts", "{:,}"),
        ("storing them (Store.save_posts) s", "store_s", "{:.1f}"),
        ("`briefbot reindex`, whole process s", "reindex_s", "{:.1f}"),
        ("`briefbot ask`, whole process s", "ask_s", "{:.2f}"),
        ("`briefbot ask` peak RSS MiB", "ask_rss", "{:.0f}"),
        ("first question after start s", "first_s", "{:.3f}"),
        ("ask p50 ms", "p50_ms", "{:.2f}"),
        ("ask p99 ms", "p99_ms", "{:.2f}"),
        ("RSS after the questions MiB", "rss_mib", "{:.0f}"),
        ("loop stall, one new post synced + a question ms", "stall_ms", "{:.1f}"),
        ("index on disk MiB", "index_mib", "{:.1f}"),
        ("indexing 1,000 new posts s", "index_1000_s", "{:.2f}"),
    ]
    print(f"\n{kind}")
    print("| measure | " + " | ".join(f"{r['posts']:,}" for r in results) + " |")
    print("|---|" + "---|" * len(results))
    for label, key, fmt in rows[1:]:
        print(f"| {label} | " + " | ".join(fmt.format(r[key]) for r in results) + " |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
