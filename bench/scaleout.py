"""Scale-out benchmark: 1,000 subscriptions due at once, delivered by 1, 2 and 3 processes sharing
one database, to a chat server (its own process) that keeps a global limit of 50 requests/s.

    python bench/scaleout.py [--subscriptions 1000] [--rate 50] [--processes 1,2,3] [--db URL]

Each delivering process is tests/fixtures/outbox_child.py (claims the due runs, flushes until
nothing is owed) told the platform's whole limit: on PostgreSQL the processes share it through the
database (bot/coordination.py); on SQLite, where nothing is shared, each is given rate / processes.
The server counts a request past the limit
in any trailing second as a violation (429), and a message whose key it has already seen as a
duplicate. Default database: a temporary SQLite file; pass a PostgreSQL URL with --db (each run
gets a fresh schema there).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fanout import seed  # noqa: E402
from briefings.store import Store, normalize_db_url  # noqa: E402
from tests.fixtures.limited_chat import LimitedChat  # noqa: E402

DUE = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def fresh_database(base: str | None, folder: Path, n: int) -> str:
    if base is None:
        return f"sqlite:///{folder / f'scaleout-{n}.db'}"
    schema = f"scaleout_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(normalize_db_url(base))
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


def measure(db_url: str, subscriptions: int, rate: int, processes: int) -> dict[str, float]:
    store = Store.open(db_url)
    seed(store, subscriptions, posts=5)
    store.close()
    server = LimitedChat(rate)
    try:
        command = [sys.executable, "-m", "tests.fixtures.outbox_child", db_url, server.url]
        shared = db_url.startswith("postgresql")
        share = rate if shared else rate / processes
        args = [(DUE + timedelta(seconds=5)).isoformat(), "--rate", str(share)]
        start = time.perf_counter()
        children = [
            subprocess.Popen([*command, *args, "--concurrency", "50", "--lease", "10"], cwd=ROOT)
            for _ in range(processes)
        ]
        codes = [child.wait(600) for child in children]
        elapsed = time.perf_counter() - start
        stats = server.stats()
    finally:
        server.stop()
    per_channel = Counter(m["channel"] for m in stats["messages"])
    return {
        "elapsed": elapsed,
        "delivered": len(per_channel),
        "violations": stats["violations"],
        "duplicates": len(stats["repeats"]) + sum(n - 1 for n in per_channel.values()),
        "failed": sum(1 for c in codes if c != 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--processes", default="1,2,3")
    parser.add_argument("--db", help="PostgreSQL URL (default: a temporary SQLite file per run)")
    args = parser.parse_args()
    floor = args.subscriptions / args.rate
    print(
        "| processes | time s | time / floor | delivered | violations | duplicates | "
        "processes failed |\n|---|---|---|---|---|---|---|"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n, count in enumerate(int(p) for p in args.processes.split(",")):
            db_url = fresh_database(args.db, Path(tmp), n)
            got = measure(db_url, args.subscriptions, args.rate, count)
            print(
                f"| {count} | {got['elapsed']:.1f} | {got['elapsed'] / floor:.2f}x | "
                f"{got['delivered']:.0f} | {got['violations']:.0f} | {got['duplicates']:.0f} | "
                f"{got['failed']:.0f} |",
                flush=True,
            )
    print(f"\nfloor at {args.rate} requests/s: {floor:.1f} s (time includes process start-up)")


if __name__ == "__main__":
    main()
