"""CPU one `briefbot` process costs per command: what every start pays (imports, building the token
encoding) and what a user waits for on a short command.

    python bench/startup.py [--runs 7] [--only posts,digest] [--code DIR ...]

Each command runs as `python -m bot.cli` in its own process, in a fresh copy of a small database (3
posts, ingested from the tests' feed server on 127.0.0.1, which also serves `digest` and `run --once`
and answers each poll with the whole feed, so it is parsed each time), with bytecode caching on as in
scripts/check. One row per command: the median over --runs of the process's user+sys CPU seconds
(from the children's rusage), and the median wall time. One warm-up run is not counted.

`--code DIR` (repeatable) runs the code of another checkout of briefbot (e.g. `git archive main |
tar -x -C /tmp/main`) with this Python and its packages; the checkouts' runs are interleaved, so a
machine shared with other work weighs on each alike. CPU seconds, not wall time, are the figure to
compare there.
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

QUESTION = "What did the ceasefire talks agree?"
# Name -> the arguments after `briefbot --config config.toml`; None: the bare interpreter.
COMMANDS: dict[str, list[str] | None] = {
    "python -c pass": None,
    "--help": ["--help"],
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
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, ALL_POSTS), etag=False)
    (template / "config.toml").write_text(
        '[database]\nurl = "sqlite:///bot.db"\n'
        f'[[sources]]\nname = "irinfive"\nurl = "{feed_server.url("/feed/")}"\n'
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
        [sys.executable, "-m", "bot.cli", "--config", "config.toml", "ingest"],
        cwd=template,
        env=child_env(ROOT),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"ingest failed: {done.stderr}")
    return template


def child_env(code: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "DISCORD_TOKEN", "BRIEFBOT_DATABASE_URL"):
        env.pop(name, None)
    env["PYTHONPATH"] = str(code)  # ahead of the editable install's finder
    return env


def argv_for(args: list[str] | None) -> list[str]:
    if args is None:
        return [sys.executable, "-c", "pass"]
    return [sys.executable, "-m", "bot.cli", "--config", "config.toml", *args]


def one_run(
    template: Path, folder: Path, code: Path, args: list[str] | None
) -> tuple[float, float]:
    """(user+sys CPU s, wall s) of one process, run in a fresh copy of the template."""
    work = Path(tempfile.mkdtemp(dir=folder))
    shutil.copytree(template, work, dirs_exist_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        argv_for(args), cwd=work, env=child_env(code), capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{args} failed ({done.returncode}) in {code}: {done.stderr}")
    shutil.rmtree(work)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def table(folder: Path, names: list[str], codes: list[Path], runs: int, template: Path) -> None:
    heads = "".join(f" {'CPU s':>7} {'wall s':>7}" for _ in codes)
    print(f"{'command':<20}{heads}   (median of {runs})")
    if len(codes) > 1:
        print(" " * 20 + "".join(f" {c.name[-15:]:>15}" for c in codes))
    for name in names:
        for code in codes:
            one_run(template, folder, code, COMMANDS[name])  # warm-up: bytecode, page cache
        results: dict[Path, list[tuple[float, float]]] = {code: [] for code in codes}
        for _ in range(runs):
            for code in codes:
                results[code].append(one_run(template, folder, code, COMMANDS[name]))
        cells = "".join(
            f" {statistics.median(r[0] for r in results[c]):>7.3f}"
            f" {statistics.median(r[1] for r in results[c]):>7.3f}"
            for c in codes
        )
        print(f"{name:<20}{cells}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--only", default="", help="comma-separated command names")
    parser.add_argument("--code", action="append", type=Path, help="a briefbot checkout to run")
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(COMMANDS)
    codes = [c.resolve() for c in args.code] if args.code else [ROOT]
    feed_server = FeedServer().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            template = prepare(Path(tmp), feed_server)
            table(Path(tmp), names, codes, args.runs, template)
    finally:
        feed_server.stop()


if __name__ == "__main__":
    main()
