"""`briefbot run --once` benchmark: 1,050 Slack channels owed a digest of 10 posts each (10,500
delivery rows, more than the 10,000 one flush used to take), sent by the real command in its own
process to the loopback fake Slack of the tests.

    python bench/run_once.py [--channels 1050] [--posts 10] [--concurrency 50,4] [--db URL]

One row per `delivery.concurrency` (the channels one claim takes: a page): time of the whole
command (start-up, feed poll, sending), the command's own CPU seconds, messages sent, channels
that got other than one message, and deliveries left owed. tests/test_scaleout.py checks the
same property with 25 channels and 4 a page. Default database: a temporary SQLite file per run;
pass a PostgreSQL URL with --db (each run gets a fresh schema there).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scaleout import fresh_database  # noqa: E402
from bot.cli import main as cli  # noqa: E402
from tests.fixtures.background import background_loop  # noqa: E402
from tests.fixtures.feed_server import FeedServer, Route  # noqa: E402
from tests.fixtures.posts import numbered_posts, rss_feed  # noqa: E402
from tests.fixtures.slack_server import FakeSlack  # noqa: E402
from tests.test_scaleout import due_slack_channels, run_once_config  # noqa: E402


def measure(
    folder: Path, db_url: str, channels: int, posts: int, concurrency: int
) -> dict[str, float]:
    feed_server = FeedServer().start()
    try:
        with background_loop() as loop:
            slack = loop.run(FakeSlack().start())
            try:
                config = run_once_config(folder, feed_server, slack, db_url)
                with config.open("a", encoding="utf-8") as more:
                    more.write(f"[delivery]\nconcurrency = {concurrency}\n")
                feed_server.routes["/feed/"] = Route(
                    rss_feed(feed_server.base, numbered_posts(posts))
                )
                with contextlib.redirect_stdout(
                    io.StringIO()
                ):  # its one line would split the table
                    if cli(["--config", str(config), "ingest"]) != 0:
                        raise SystemExit("ingest failed")
                names = due_slack_channels(db_url, channels)
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-m", "bot.cli", "--config", str(config), "run", "--once"],
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                    env={**os.environ, "SLACK_BOT_TOKEN": "xoxb-bench"},
                    timeout=600,
                )
                elapsed = time.perf_counter() - start
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                per_channel = Counter({c: len(slack.posted(c)) for c in names})
            finally:
                loop.run(slack.stop())
    finally:
        feed_server.stop()
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    sent = int(done.stderr.split(" message(s) sent")[0].rsplit(" ", 1)[1])
    left = int(done.stderr.split(" delivery(ies) left")[0].rsplit(" ", 1)[1])
    return {
        "elapsed": elapsed,
        "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "sent": sent,
        "not_once": sum(1 for n in per_channel.values() if n != 1),
        "left": left,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=1050)
    parser.add_argument("--posts", type=int, default=10)
    parser.add_argument("--concurrency", default="50,4")
    parser.add_argument("--db", help="PostgreSQL URL (default: a temporary SQLite file per run)")
    args = parser.parse_args()
    print(
        f"{args.channels} channels x {args.posts} posts = {args.channels * args.posts} rows\n\n"
        "| concurrency | time s | CPU s | messages sent | channels not sent once | left owed |\n"
        "|---|---|---|---|---|---|"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n, concurrency in enumerate(int(c) for c in args.concurrency.split(",")):
            folder = Path(tmp) / str(n)
            folder.mkdir()
            db_url = fresh_database(args.db, folder, n)
            got = measure(folder, db_url, args.channels, args.posts, concurrency)
            print(
                f"| {concurrency} | {got['elapsed']:.1f} | {got['cpu']:.1f} | {got['sent']:.0f} | "
                f"{got['not_once']:.0f} | {got['left']:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
