"""`briefbot` command line. Errors become one plain message and a non-zero exit, here and nowhere else."""

from __future__ import annotations

import argparse
import asyncio
import codecs
import contextlib
import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from adapters import console
from adapters.contract import MissingSecret
from adapters.platforms import PLATFORMS
from bot.app import engine_for, extractive_summarizer, open_store
from bot.config import ConfigError, Settings, config_path, load_settings
from bot.schedules import ScheduleError
from briefings.engine import BriefingEngine
from briefings.errors import BriefbotError, UsageError, describe
from briefings.index import SearchIndexError
from briefings.models import Digest, IngestReport, SourceConfig
from briefings.question import is_blank_question
from briefings.roundup import build_roundup
from briefings.sources import FeedError, fetch, make_client, parse_feed, redact_credentials
from briefings.store import DB_ERRORS, Store, StoreError, db, redact_db_url
from briefings.summarize.budget import fit_sentences
from briefings.summarize.extractive import ExtractiveSummarizer
from briefings.tags import tag_post

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_PIPE = 141  # what a shell reports for a command stopped by SIGPIPE (output closed early)
MAX_COUNT = 1_000_000  # largest --limit / --sentences; SQLite integers stop at 2**63
MAX_DAYS = 3650  # longest roundup --days
# Commands that write to the database (a read-only file cannot serve them), and why.
WRITES = {
    "digest": "digest records which posts it has shown",
    "ingest": "ingest stores the posts it fetches",
    "run": "run stores posts and records deliveries",
}
TERMINAL_READER = "terminal"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="briefbot",
        description="Briefings of IR in Five posts for the terminal, Slack and Discord.",
    )
    parser.add_argument(
        "--config", metavar="PATH", help="config file (default: $BRIEFBOT_CONFIG or ./config.toml)"
    )
    parser.add_argument(
        "--db", metavar="URL", help="database URL, overriding config and environment"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = sub.add_parser("ingest", help="fetch the configured feeds (or --feed) into the store")
    _feed_option(ingest)

    digest = sub.add_parser("digest", help="ingest, then print a digest of posts not shown before")
    _feed_option(digest)
    digest.add_argument("--json", action="store_true", help="print JSON instead of text")
    digest.add_argument(
        "--no-refresh", action="store_true", help="skip fetching; use stored posts only"
    )
    digest.add_argument(
        "--reader", default=TERMINAL_READER, help="whose 'already seen' cursor to use"
    )

    run = sub.add_parser(
        "run",
        help="run the bot: digests on schedule, a prompt for commands and questions",
    )
    run.add_argument(
        "--once", action="store_true", help="fetch, send the digests that are due, and exit"
    )

    posts = sub.add_parser("posts", help="list stored posts, newest first")
    posts.add_argument("--limit", type=_positive_int, default=20)
    posts.add_argument("--json", action="store_true")

    roundup = sub.add_parser(
        "roundup", help="the stored posts of the last days grouped into stories, biggest first"
    )
    roundup.add_argument(
        "--days", type=_days, default=7, help="how many days back (default 7, at most 3650)"
    )
    roundup.add_argument("--json", action="store_true", help="print JSON instead of text")

    sub.add_parser("doctor", help="check config, database, feeds and which platform tokens are set")

    ask = sub.add_parser("ask", help="answer a question from the stored posts, citing them")
    ask.add_argument("question", nargs="?", help="the question (omit with --batch)")
    ask.add_argument(
        "--json", action="store_true", help='print {"answer", "grounded", "citations"}'
    )
    ask.add_argument(
        "--post",
        action="append",
        default=[],
        metavar="URL",
        help="a post the question is about (repeatable)",
    )
    ask.add_argument(
        "--batch",
        metavar="FILE.jsonl",
        help='answer {"id", "question", "posts"?} lines; - for stdin',
    )

    search = sub.add_parser("search", help="list stored posts matching a query, best first")
    search.add_argument("query")
    search.add_argument("--limit", type=_positive_int, default=10)
    search.add_argument("--json", action="store_true")

    sub.add_parser("reindex", help="rebuild the search index from the stored posts")

    summarize = sub.add_parser(
        "summarize",
        help='summarize {"id", "text"} JSON lines offline; writes {"id", "summary"} lines',
    )
    summarize.add_argument("file", metavar="FILE.jsonl", help="input file, or - for standard input")
    summarize.add_argument("--sentences", type=_positive_int, default=3)

    tags = sub.add_parser(
        "tags",
        help='tag {"id", "title"?, "text"} JSON lines offline; writes {"id", "tags"} lines',
    )
    tags.add_argument("file", metavar="FILE.jsonl", help="input file, or - for standard input")
    return parser


def _feed_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--feed",
        action="append",
        metavar="URL|PATH",
        help="a feed URL or local file to use instead of the configured sources (repeatable)",
    )


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not 1 <= number <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_COUNT:,}")
    return number


def _days(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not 1 <= number <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_DAYS}")
    return number


def feed_sources(feeds: Sequence[str]) -> list[SourceConfig]:
    """--feed values as sources, named after their host (or 'local' for files); a name given twice
    gets -2, -3 … so each feed keeps its own source (its poll state in `status`, its posts' name)."""
    out = []
    seen: dict[str, int] = {}
    for location in feeds:
        name = _feed_name(location)
        seen[name] = seen.get(name, 0) + 1
        name = name if seen[name] == 1 else f"{name}-{seen[name]}"
        if location.startswith("file://") or "://" not in location:
            location = str(Path(location.removeprefix("file://")).expanduser().resolve())
        out.append(SourceConfig(name=name, url=location))
    return out


def _feed_name(location: str) -> str:
    if "://" not in location or location.startswith("file://"):
        return "local"
    try:
        host = urlsplit(location).hostname
    except ValueError:  # an unreadable URL ("http://[::1/f"): its fetch fails and says why
        host = None
    return (host or "feed").removeprefix("www.")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings(config_path(args.config))
        code = asyncio.run(_dispatch(args, settings))
        sys.stdout.flush()  # a closed pipe shows here, not as noise at interpreter exit
        return code
    except BrokenPipeError:
        # The reader went away (`| head`): nothing more to say. Later writes go nowhere.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PIPE
    except BriefbotError as exc:
        heading, code = error_heading(exc)
        print(f"briefbot: {heading}{exc}", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        print("briefbot: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug or an unforeseen failure: one line; -v logs the traceback
        logging.getLogger("bot").debug("unexpected error", exc_info=True)
        print(
            f"briefbot: unexpected error: {describe(exc)} (run with -v for details)",
            file=sys.stderr,
        )
        return EXIT_FAILED


# What briefbot's own errors (the tree in briefings/errors.py) say and exit with: the first row whose
# class matches wins, so a subclass comes before its parent. Exit codes as in the README.
ERROR_TABLE: tuple[tuple[type[BriefbotError], str, int], ...] = (
    (ConfigError, "configuration error: ", EXIT_USAGE),  # file:line: key: what; e.g. good
    (MissingSecret, "", EXIT_USAGE),  # a token, intent or address refused: a setting to fix
    (UsageError, "", EXIT_USAGE),
    (ScheduleError, "", EXIT_USAGE),
    (StoreError, "database error: ", EXIT_FAILED),
    (SearchIndexError, "search index error: ", EXIT_FAILED),
    (FeedError, "feed error: ", EXIT_FAILED),
    (BriefbotError, "", EXIT_FAILED),  # PlatformFailed and the rest: the message says it all
)


def error_heading(exc: BriefbotError) -> tuple[str, int]:
    """The words before `exc`'s message, and the exit code, from `ERROR_TABLE`."""
    return next((words, code) for kind, words, code in ERROR_TABLE if isinstance(exc, kind))


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "doctor":
        return await _doctor(args, settings)
    if args.command == "summarize":
        return summarize_jsonl(
            args.file,
            args.sentences,
            extractive_summarizer(settings),
            max_tokens=settings.digest.max_summary_tokens,
        )
    if args.command == "tags":
        return tag_jsonl(args.file)
    store = await db(open_store, settings, args.db)
    try:
        if store.read_only and args.command in WRITES:
            raise StoreError(
                f"the database {store.label} is read-only; {WRITES[args.command]}, so it needs "
                "write access (posts, ask and search work on a read-only file)"
            )
        if args.command == "run":
            return await _run(args, settings, store)
        if args.command == "posts":
            posts = await db(store.latest_posts, args.limit)
            print(
                console.dumps(console.posts_to_json(posts))
                if args.json
                else console.render_posts(posts)
            )
            return EXIT_OK
        if args.command == "roundup":
            return await _roundup(args, store)
        if args.command in ("ask", "search", "reindex"):
            return await _ask_or_search(args, settings, store)
        sources = feed_sources(args.feed) if args.feed else None
        async with engine_for(settings, store, sources=sources) as engine:
            reports: list[IngestReport] = []
            if args.command == "ingest" or not getattr(args, "no_refresh", False):
                reports = await engine.refresh(progress=ProgressLine(sys.stderr.isatty()))
            failed = any(not r.ok for r in reports)
            if args.command == "ingest":
                print(console.render_reports(reports))
                return EXIT_FAILED if failed else EXIT_OK
            for report in reports:
                if report.error:
                    print(f"briefbot: {report.source}: {report.error}", file=sys.stderr)
            # Shown first, marked seen after: a digest that could not be printed is not lost.
            await engine.digest_unseen(args.reader, show=partial(_print_digest, as_json=args.json))
            return EXIT_FAILED if failed else EXIT_OK
    except DB_ERRORS as exc:
        raise store.error(exc) from exc
    finally:
        await db(store.close)


async def _roundup(args: argparse.Namespace, store: Store) -> int:
    until = datetime.now(UTC)
    since = until - timedelta(days=args.days)
    roundup = build_roundup(await db(store.posts_between, since, until), since, until)
    print(
        console.dumps(console.roundup_to_json(roundup))
        if args.json
        else console.render_roundup(roundup)
    )
    return EXIT_OK


def _print_digest(digest: Digest, *, as_json: bool) -> None:
    if as_json:
        print(console.dumps(console.digest_to_json(digest)))
    else:
        print(console.render_digest(digest))
    sys.stdout.flush()


async def _run(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    from bot.runner import run_forever, run_once  # only `run` needs the runner and its imports

    if not args.once:
        if not args.verbose:
            logging.getLogger("bot").setLevel(logging.INFO)
            logging.getLogger("briefings").setLevel(logging.INFO)
        await run_forever(settings, store, sys.stdin, sys.stdout)
        return EXIT_OK
    result = await run_once(settings, store, sys.stdout)
    report = result.report
    print(
        f"briefbot: {report.claimed} digest run(s) due, {report.sent_messages} message(s) sent, "
        f"{report.skipped} missed run(s) skipped, {report.retrying} delivery(ies) left to retry",
        file=sys.stderr,
    )
    for channel in report.paused:
        print(f"briefbot: deliveries to {channel} paused; see `status`", file=sys.stderr)
    if report.rejected:
        print(
            f"briefbot: {report.rejected} message(s) rejected by their platform for good; "
            "see `status` in their channels",
            file=sys.stderr,
        )
    for platform, owed in sorted(result.unreachable.items()):
        print(
            f"briefbot: {owed} digest run(s) or delivery(ies) for {platform} left owed: "
            f"its token is not set here",
            file=sys.stderr,
        )
    failed = (
        result.feed_errors
        or report.retrying
        or report.paused
        or report.rejected
        or result.unreachable
    )
    return EXIT_FAILED if failed else EXIT_OK


async def _ask_or_search(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    """ask, search and reindex: the search index is opened (built if missing), synced, used."""
    async with engine_for(settings, store) as engine:
        if args.command == "reindex":
            return await _reindex(engine)
        return await _answer_from_index(args, engine)


async def _reindex(engine: BriefingEngine) -> int:
    started = time.perf_counter()
    count = await asyncio.to_thread(engine.index.rebuild, engine.store)
    where = engine.index.search_index.path or "memory (set index.path to keep it)"
    print(f"indexed {count} post(s) in {time.perf_counter() - started:.1f} s into {where}")
    return EXIT_OK


async def _answer_from_index(args: argparse.Namespace, engine: BriefingEngine) -> int:
    if args.command == "ask" and not args.batch and is_blank_question(args.question or ""):
        # A blank question ("", "   ", or only mentions and marks: "@everyone ?") is the same usage error,
        # before any index work.
        print("briefbot: ask needs a question, or --batch FILE.jsonl", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "search" and is_blank_question(args.query):
        print("briefbot: search needs words or tag: terms", file=sys.stderr)
        return EXIT_USAGE
    await engine.sync_index()
    if not len(engine.index):
        print("briefbot: no posts stored yet; run `briefbot ingest` first", file=sys.stderr)
        return EXIT_FAILED
    if args.command == "search":
        hits = await engine.search(args.query, args.limit)
        print(console.dumps(console.hits_to_json(hits)) if args.json else console.render_hits(hits))
        return EXIT_OK
    if args.batch:
        return await _ask_batch(args.batch, engine)
    answer = await engine.answer(args.question, context_urls=args.post)
    print(
        console.dumps(console.answer_to_json(answer))
        if args.json
        else console.render_answer(answer)
    )
    return EXIT_OK


async def _ask_batch(path: str, engine: BriefingEngine) -> int:
    failures = 0
    for number, row, error in _jsonl_rows(path):
        if error is None:
            question, posts = row.get("question"), row.get("posts", [])
            if not isinstance(question, str) or "id" not in row:
                error = 'needs "id" and a string "question"'
            elif not isinstance(posts, list) or not all(isinstance(p, str) for p in posts):
                error = '"posts" must be a list of URLs'
            elif is_blank_question(question):
                error = "the question is blank (or only mentions)"
        if error is None:
            try:
                answer = await engine.answer(row["question"], context_urls=row.get("posts", []))
            except (
                UsageError
            ) as exc:  # tags alone, an unknown tag: this line's problem, not the run's
                error = " ".join(str(exc).split())
        if error is not None:
            failures += 1
            print(f"briefbot: {path}:{number}: skipped: {error}", file=sys.stderr)
            continue
        print(json.dumps({"id": row["id"], **console.answer_to_json(answer)}, ensure_ascii=False))
    return EXIT_FAILED if failures else EXIT_OK


def _jsonl_rows(path: str) -> Iterator[tuple[int, dict[str, Any], str | None]]:
    """(line number, object, error) for each non-blank line; unreadable input is one
    BriefbotError, `cannot read FILE: why`.

    Lines are decoded one by one, so a line that is not UTF-8 is skipped like any malformed line.
    A byte order mark before the first line (some Windows editors write one) is not part of it.
    """
    try:
        stream = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
        with stream:
            for number, raw in enumerate(stream, 1):
                if number == 1:
                    raw = raw.removeprefix(codecs.BOM_UTF8)
                if raw.strip():
                    yield number, *_jsonl_row(raw)
    except OSError as exc:
        raise BriefbotError(f"cannot read {path}: {exc.strerror or exc}") from None


class _WrittenNumber(float):
    """A JSON number as its line wrote it: an id of 1e400 is told as 1e400, not as Python's inf."""

    written: str

    def __new__(cls, text: str) -> _WrittenNumber:
        number = super().__new__(cls, text)
        number.written = text
        return number


def _json_problem(exc: ValueError) -> str:
    """What is wrong with a line that is not JSON, in words (never Python's own)."""
    if isinstance(exc, json.JSONDecodeError):
        # Python ends some messages with " at" ("Invalid control character at"): the column follows.
        what = exc.msg.removesuffix(" at")
        if what.startswith("Unexpected UTF-8 BOM"):
            what = "a byte order mark inside the file"
        return f"not JSON ({what} at column {exc.colno})"  # the line number is the file's
    if "digits" in str(exc):  # Python's cap on an integer's length
        return "not JSON this tool reads (a number of more than 4300 digits)"
    return "not JSON"


# A JSON escape of half a UTF-16 pair ("\ud800" alone) decodes to a lone surrogate, which no UTF-8
# output can hold; only an escape can make one (the line itself was strict UTF-8).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_surrogates(value: Any) -> Any:
    """`value` with each lone surrogate in its strings as U+FFFD, as text readers show them."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    return value


def _jsonl_row(raw: bytes) -> tuple[dict[str, Any], str | None]:
    try:
        row = json.loads(
            raw.decode("utf-8"), parse_float=_WrittenNumber, parse_constant=_WrittenNumber
        )
        if _SURROGATE_ESCAPE.search(raw) and isinstance(row, dict):
            ident = row.get("id")
            if isinstance(ident, str) and _LONE_SURROGATE.search(ident):
                return (
                    {},
                    '"id" holds a lone surrogate (a \\u escape of half a UTF-16 pair), not text',
                )
            row = _without_surrogates(row)
    except UnicodeDecodeError as exc:
        return {}, f"not UTF-8 text (byte {exc.start + 1})"
    except ValueError as exc:
        return {}, _json_problem(exc)
    except RecursionError:
        return {}, "not JSON this tool reads (nested too deeply)"
    if not isinstance(row, dict):
        return {}, "not a JSON object"
    if row.get("id") is None:
        return {}, 'no "id" (each line needs an "id" that is not null)'
    ident = row["id"]
    if isinstance(ident, bool) or not isinstance(ident, str | int):  # NaN, 1.5, true, [..]
        shown = ident.written if isinstance(ident, _WrittenNumber) else json.dumps(ident)
        shown = shown[:40]
        return {}, f'"id" must be a string or a whole number, not {shown}'
    return row, None


def summarize_jsonl(
    path: str, sentences: int, summarizer: ExtractiveSummarizer, *, max_tokens: int = 150
) -> int:
    """One output line per good input line; a bad line is reported with its number and skipped.
    Each summary keeps to the digests' token budget (`digest.max_summary_tokens`)."""
    failures = 0
    for number, row, error in _jsonl_rows(path):
        text = row.get("text", row.get("article"))
        if error is None and (not isinstance(text, str) or "id" not in row):
            error = 'needs "id" and a string "text" (or "article")'
        if error is not None or not isinstance(text, str):
            failures += 1
            print(f"briefbot: {path}:{number}: skipped: {error}", file=sys.stderr)
            continue
        kept, _ = fit_sentences(summarizer.summarize_text(text, sentences), max_tokens)
        summary = "\n".join(kept)
        print(json.dumps({"id": row["id"], "summary": summary}, ensure_ascii=False))
    return EXIT_FAILED if failures else EXIT_OK


def tag_jsonl(path: str) -> int:
    """Tags for each good line, like `summarize_jsonl`: a bad line is reported and skipped."""
    failures = 0
    for number, row, error in _jsonl_rows(path):
        text = row.get("text", row.get("article"))
        title = row.get("title")
        title = "" if title is None else title  # null, like no title: the text alone is tagged
        if error is None and (
            not isinstance(text, str) or "id" not in row or not isinstance(title, str)
        ):
            error = 'needs "id", a string "text" (or "article") and, if given, a string "title"'
        if error is not None or not isinstance(text, str) or not isinstance(title, str):
            failures += 1
            print(f"briefbot: {path}:{number}: skipped: {error}", file=sys.stderr)
            continue
        print(
            json.dumps({"id": row["id"], "tags": list(tag_post(title, text))}, ensure_ascii=False)
        )
    return EXIT_FAILED if failures else EXIT_OK


class ProgressLine:
    """Writes 'fetching article pages 3/12' to stderr: in place on a terminal, once at the end otherwise."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive

    def __call__(self, done: int, total: int, url: str) -> None:
        if self.interactive:
            end = "\n" if done == total else ""
            print(f"\rfetching article pages {done}/{total}", end=end, file=sys.stderr, flush=True)
        elif done == total:
            print(f"fetched {total} article page(s)", file=sys.stderr)


def _doctor_database(args: argparse.Namespace, settings: Settings) -> bool:
    """One line on the database: reachable, undamaged, schema version, post count."""
    url = redact_db_url(settings.database_url(args.db))
    try:
        store = open_store(settings, args.db)
    except StoreError as exc:
        print(f"database: FAILED: {exc}")
        return False
    try:
        with store.plain_errors():
            store.check_integrity()
            revisions, count = store.schema_revisions(), store.count_posts()
    except StoreError as exc:
        print(f"database: FAILED: {exc}")
        return False
    finally:
        store.close()
    mode = ", read-only" if store.read_only else ""
    schema = " + ".join(revisions) or "none"
    print(f"database: ok ({url}{mode}, schema {schema}, {count} posts)")
    return True


async def _doctor(args: argparse.Namespace, settings: Settings) -> int:
    where = config_path(args.config)
    print(f"config: ok ({where if where else 'embedded defaults'})")
    ok = await db(_doctor_database, args, settings)
    async with make_client(settings.http) as client:
        for source in settings.source_configs():
            try:
                fetched = await fetch(client, source.url, settings.http)
                entries = parse_feed(fetched).entries
                shown = redact_credentials(source.url)
                print(f"feed {source.name}: ok ({shown}, {len(entries)} items)")
            except FeedError as exc:
                ok = False
                print(f"feed {source.name}: FAILED: {exc}")
    if "llm" in (settings.summarizer.backend, settings.ask.backend):
        print(f"llm: {settings.llm.model} at {redact_credentials(settings.llm.base_url)}")
    secrets = [
        name
        for entry in PLATFORMS.values()
        for name in entry.secrets(settings.platform_section(entry.name))
    ]
    # Whether each secret is in the environment; values are never printed.
    for name in (*secrets, settings.llm.api_key_env):
        print(f"env {name}: {'set' if os.environ.get(name) else 'not set'}")
    return EXIT_OK if ok else EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
