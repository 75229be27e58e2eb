"""Ingest benchmark: a 1,000-item feed fetched over loopback HTTP, parsed and stored; then re-polled.

    python bench/ingest.py [--items 1000] [--db URL]

tests/test_ingest.py stores a 1,200-item feed; `--items 10000` gives the 10,000-item figure.

Prints one table. Peak memory is Python's traced allocation peak during the ingest (tracemalloc),
beside the process's maximum resident size.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from briefings.ingest import ingest_source
from briefings.models import SourceConfig
from briefings.sources import FetchSettings, make_client
from briefings.store import Store
from tests.fixtures.feed_server import FeedServer, Route
from tests.fixtures.posts import numbered_posts, rss_feed


async def traced_peak(server: FeedServer, settings: FetchSettings, db_url: str, items: int) -> int:
    """Peak traced allocation of a first poll into an empty database (tracing slows it, so apart)."""
    store = Store.open(db_url)
    try:
        async with make_client(settings) as client:
            tracemalloc.start()
            report = await ingest_source(
                store, client, SourceConfig("traced", server.url("/feed/")), settings
            )
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        assert report.ok and report.new == items, report
    finally:
        store.close()
    return peak


async def run(items: int, db_url: str, traced_db_url: str) -> list[tuple[str, str]]:
    server = FeedServer().start()
    body = rss_feed(server.base, numbered_posts(items))
    server.routes["/feed/"] = Route(body)
    settings = FetchSettings(max_body_bytes=max(10_000_000, len(body) * 2))
    store = Store.open(db_url)
    source = SourceConfig("bench", server.url("/feed/"))
    rows: list[tuple[str, str]] = [("feed size", f"{len(body) / 1e6:.2f} MB, {items} items")]
    try:
        async with make_client(settings) as client:
            start = time.perf_counter()
            first = await ingest_source(store, client, source, settings)
            elapsed = time.perf_counter() - start
            assert first.ok and first.new == items, first
            rows += [
                ("first poll: fetch+parse+store", f"{elapsed * 1000:.0f} ms"),
                ("posts/s", f"{items / elapsed:,.0f}"),
            ]
            start = time.perf_counter()
            again = await ingest_source(store, client, source, settings)
            repoll = time.perf_counter() - start
            rows += [
                ("re-poll unchanged feed", f"{repoll * 1000:.1f} ms"),
                (
                    "re-poll answer",
                    "304, not re-parsed" if again.not_modified else "200, RE-PARSED",
                ),
            ]
        peak = await traced_peak(server, settings, traced_db_url, items)
        rows.append(("peak traced memory (first poll)", f"{peak / 1e6:.1f} MB"))
    finally:
        server.stop()
        store.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(("process max RSS", f"{rss:.0f} MB"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        rows = asyncio.run(run(args.items, url, f"sqlite:///{Path(tmp) / 'traced.db'}"))
    width = max(len(name) for name, _ in rows)
    print(f"{'measure'.ljust(width)}  value")
    print(f"{'-' * width}  {'-' * 24}")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")


if __name__ == "__main__":
    main()
