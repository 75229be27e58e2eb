"""CPU one `briefbot` process costs per command: what every start pays (imports, loading the token
encoding) and what users wait for on a short command.

    python bench/startup.py [--runs 7] [--only posts,digest]

Each command runs as the console script in its own process, in a fresh copy of a small database (3
posts, ingested from the tests' feed server on 127.0.0.1, which also serves `digest` and `run --once`),
with bytecode caching on as in scripts/check. One row per command: the median over --runs of the process's user+sys CPU seconds
(from the children's rusage), and the median wall time. One warm-up run per command is not counted.
The machine may be shared: CPU seconds, not wall time, are the figure to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures.feed_server import FeedServer, Route  # noqa: E402
from tests.fixtures.posts import ALL_POSTS, rss_feed  # noqa: E402

BRIEFBOT = Path(sys.executable).with_name("briefbot")
QUESTION = "What did the ceasefire talks agree?"
# name -> (argv after `briefbot --config config.toml`, or a whole argv; stdin file or None)
COMMANDS: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "briefbot --help": [str(BRIEFBOT), "--help"],
    "posts": ["posts"],
    "digest --no-refresh": ["digest", "--no-refresh"],
    "digest": ["digest"],
    "run --once": ["run", "--once"],
    "search": ["search", "ceasefire"],
    "ask": ["ask", QUESTION],
    "summarize": ["summarize", "texts.jsonl"],
    "tags": ["tags", "texts.jsonl"],
    "doctor": ["doctor"],
}


def prepare(folder: Path, feed_server: FeedServer) -> Path:
    """A template directory: config.toml, texts.jsonl and bot.db holding 3 posts."""
    template = folder / "template"
    template.mkdir()
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, ALL_POSTS))
    feed = feed_server.url("/feed/")
    (template / "config.toml").write_text(
        '[database]\nurl = "sqlite:///bot.db"\n'
        f'[[sources]]\nname = "irinfive"\nurl = "{feed}"\n'
        "[http]\nfetch_article_pages = false\n",
        encoding="utf-8",
    )
    rows = [
        {"id": n, "title": p.title, "text": "\n".join(p.paragraphs)}
        for n, p in enumerate(ALL_POSTS)
    ]
    (template / "texts.jsonl").write_text(
        "".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8"
    )
    done = subprocess.run(
        [str(BRIEFBOT), "--config", "config.toml", "ingest"],
        cwd=template,
        env=child_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"ingest failed: {done.stderr}")
    return template


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "DISCORD_TOKEN", "BRIEFBOT_DATABASE_URL"):
        env.pop(name, None)
    return env


def argv_for(args: list[str]) -> list[str]:
    if Path(args[0]).is_absolute():
        return args
    return [str(BRIEFBOT), "--config", "config.toml", *args]


def one_run(template: Path, folder: Path, args: list[str]) -> tuple[float, float]:
    """(user+sys CPU s, wall s) of one process, run in a fresh copy of the template."""
    work = Path(tempfile.mkdtemp(dir=folder))
    shutil.copytree(template, work, dirs_exist_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        argv_for(args), cwd=work, env=child_env(), capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr}")
    shutil.rmtree(work)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--only", default="", help="comma-separated command names")
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(COMMANDS)
    feed_server = FeedServer().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            table(Path(tmp), feed_server, names, args.runs)
    finally:
        feed_server.stop()


def table(folder: Path, feed_server: FeedServer, names: list[str], runs: int) -> None:
    template = prepare(folder, feed_server)
    print(f"{'command':<22} {'CPU s':>7} {'wall s':>7}   (median of {runs})")
    for name in names:
        one_run(template, folder, COMMANDS[name])  # warm-up: bytecode, page cache
        results = [one_run(template, folder, COMMANDS[name]) for _ in range(runs)]
        cpu = statistics.median(r[0] for r in results)
        wall = statistics.median(r[1] for r in results)
        print(f"{name:<22} {cpu:>7.3f} {wall:>7.3f}", flush=True)


if __name__ == "__main__":
    main()
