"""Leader fail-over benchmark: two `briefbot run` replicas on one PostgreSQL; SIGKILL the one that
polls feeds and time until the other says it took over, and until it has fetched the feed.

    python bench/failover.py --db postgresql://postgres@127.0.0.1:5432/test [--check 10] [--rounds 3]

`--check` is `coordination.leader_check_seconds`; the schema named in the URL's search_path (or
public) gets briefbot's tables. Prints one table row per round and the median.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from briefings.store import Store  # noqa: E402

LEADER = "leader: this process now polls feeds"
FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>http://x/</link>'
    b"<description>d</description></channel></rss>"
)


class Feed:
    """An empty RSS feed on loopback that records when it was fetched."""

    def __init__(self) -> None:
        self.hits: list[float] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                outer.hits.append(time.monotonic())
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(FEED)))
                self.end_headers()
                self.wfile.write(FEED)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/feed/"


class Replica:
    def __init__(self, config: Path) -> None:
        self.lines: list[tuple[float, str]] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "--config", str(config), "run"],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append((time.monotonic(), line))

    def said(self, text: str) -> float | None:
        return next((at for at, line in self.lines if text in line), None)

    def wait(self, text: str, within: float = 120.0) -> float:
        deadline = time.monotonic() + within
        while (at := self.said(text)) is None:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit(f"no {text!r}: {''.join(line for _, line in self.lines)}")
            time.sleep(0.005)
        return at

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def one_round(db: str, check: float, feed: Feed, directory: Path) -> tuple[float, float]:
    config = directory / "config.toml"
    config.write_text(
        f'[database]\nurl = "{db}"\n[[sources]]\nname = "bench"\nurl = "{feed.url}"\n'
        f"[http]\nfetch_article_pages = false\n[coordination]\nleader_check_seconds = {check}\n"
        '[[subscriptions]]\nplatform = "terminal"\nchannel = "terminal"\n',
        encoding="utf-8",
    )
    first, second = Replica(config), None
    try:
        first.wait(LEADER)
        second = Replica(config)
        second.wait("briefbot running")
        first.wait("caught up at start")
        killed = time.monotonic()
        first.process.send_signal(signal.SIGKILL)
        took_over = second.wait(LEADER) - killed
        deadline = time.monotonic() + 60
        while not any(hit > killed for hit in feed.hits) and time.monotonic() < deadline:
            time.sleep(0.005)
        fetched = min(hit for hit in feed.hits if hit > killed) - killed
        return took_over, fetched
    finally:
        first.stop()
        if second is not None:
            second.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="PostgreSQL URL")
    parser.add_argument("--check", type=float, default=10.0, help="leader_check_seconds")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    Store.open(args.db).close()  # migrated before the replicas start
    feed = Feed()
    results = []
    print(
        f"| round | takeover logged s | feed fetched s | (leader_check_seconds = {args.check:g}) |"
    )
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.rounds):
            took_over, fetched = one_round(args.db, args.check, feed, Path(tmp))
            results.append((took_over, fetched))
            print(f"| {n + 1} | {took_over:.2f} | {fetched:.2f} | |", flush=True)
    print(
        f"| median | {statistics.median(r[0] for r in results):.2f} | "
        f"{statistics.median(r[1] for r in results):.2f} | |"
    )


if __name__ == "__main__":
    main()
