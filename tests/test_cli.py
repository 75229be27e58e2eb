"""The `briefbot` command as a person runs it: against a loopback feed and a real SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import tables as bot_tables
from bot.cli import main
from briefings.migrate import BRIEFINGS_REVISIONS as REVISIONS
from briefings.migrate import Migrator
from tests.fixtures.feed_server import FeedServer, Route
from tests.fixtures.llm_server import LLMServer, Reply
from tests.fixtures.posts import ALL_POSTS, SUDAN_AID, rss_feed


def config_for(cwd: Path, server: FeedServer) -> None:
    (cwd / "config.toml").write_text(
        f'[[sources]]\nname = "irinfive"\nurl = "{server.url("/feed/")}"\n[http]\ntimeout_seconds = 2\n'
    )


def test_digest_prints_new_posts_once(
    cwd: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, ALL_POSTS))
    config_for(cwd, feed_server)

    assert main(["digest"]) == 0
    out = capsys.readouterr().out
    assert "1. EU and Japan Open Tariff Talks" in out
    assert "Opinion (the post's view): Mediators keep treating access" in out
    assert "Sources: BBC, UN News" in out
    assert "Negotiators for Sudan's army" in out
    assert (cwd / "briefbot.db").is_file()

    assert main(["digest"]) == 0
    assert "No new posts since your last briefing." in capsys.readouterr().out


def test_first_digest_without_posts_does_not_speak_of_a_last_briefing(
    cwd: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A first run whose feed cannot be read has had no briefing before: it says no posts yet, and
    keeps saying so until a post arrives."""
    feed_server.routes["/feed/"] = Route(b"down", status=503, content_type="text/plain")
    config_for(cwd, feed_server)

    for _ in range(2):
        assert main(["digest"]) != 0
        out = capsys.readouterr().out
        assert "No posts yet" in out
        assert "last briefing" not in out

    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, [SUDAN_AID]))
    assert main(["digest"]) == 0
    assert SUDAN_AID.title in capsys.readouterr().out
    assert main(["digest"]) == 0
    assert "No new posts since your last briefing." in capsys.readouterr().out


def test_digest_json_shape(
    cwd: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, [SUDAN_AID]))
    config_for(cwd, feed_server)
    assert main(["digest", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)["items"]
    assert len(items) == 1
    item = items[0]
    assert {"url", "title", "published", "summary", "take", "sources"} <= item.keys()
    assert item["url"] == SUDAN_AID.link(feed_server.base)
    assert item["published"] == "2025-04-02T09:30:00+00:00"
    assert item["summary"].startswith(
        "Negotiators for Sudan's army and the Rapid Support Forces left Jeddah"
    )
    assert "[BBC]" not in item["summary"]
    assert item["sources"] == ["BBC", "UN News"]
    assert item["take"].startswith("Mediators keep treating access")


def test_failing_feed_exits_non_zero_and_keeps_posts(
    cwd: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, ALL_POSTS))
    config_for(cwd, feed_server)
    assert main(["ingest"]) == 0
    feed_server.routes["/feed/"] = Route(b"<rss><chan", content_type="application/rss+xml")

    assert main(["ingest"]) == 1
    assert "not well-formed XML" in capsys.readouterr().out
    assert main(["posts", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3


@pytest.mark.parametrize("bad", ["http://127.0.0.1:99999/f", "http://[::1/f"])
@pytest.mark.parametrize("command", ["ingest", "digest"])
def test_one_unusable_feed_url_is_one_line_and_the_others_are_stored(
    cwd: Path,
    feed_server: FeedServer,
    capsys: pytest.CaptureFixture[str],
    bad: str,
    command: str,
) -> None:
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, ALL_POSTS))
    good = feed_server.url("/feed/")
    assert main([command, "--feed", bad, "--feed", good]) == 1  # README: 1 when a feed failed
    captured = capsys.readouterr()
    # ingest lists each feed on standard output; digest keeps that for the digest and says a
    # failing feed on standard error.
    said = (captured.out if command == "ingest" else captured.err).splitlines()
    assert len([line for line in said if bad in line]) == 1, said
    assert "unexpected error" not in captured.err
    assert main(["posts", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("{base}/f eed/", "a URL cannot contain spaces or line breaks (write a space as %20)"),
        ("http://[::1/f", "invalid IPv6 address"),
    ],
)
def test_a_feed_url_config_would_refuse_is_refused_with_the_same_words(
    cwd: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str], bad: str, why: str
) -> None:
    feed_server.routes["/f%20eed/"] = Route(rss_feed(feed_server.base, ALL_POSTS))
    bad = bad.format(base=feed_server.base)
    assert main(["ingest", "--feed", bad]) == 1
    said = [line for line in capsys.readouterr().out.splitlines() if "FAILED" in line]
    assert said == [f"{said[0].split(':')[0]}: FAILED: {bad} is not a valid URL: {why}"], said
    assert main(["posts", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []  # nothing was fetched


def test_doctor_reports_a_feed_whose_host_cannot_be_encoded_and_checks_the_others(
    cwd: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, ALL_POSTS))
    (cwd / "config.toml").write_text(
        '[[sources]]\nname = "bad"\nurl = "http://xn--zz.invalid/feed"\n'
        f'[[sources]]\nname = "good"\nurl = "{feed_server.url("/feed/")}"\n'
    )
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "feed bad: FAILED: cannot fetch http://xn--zz.invalid/feed" in out
    assert "feed good: ok" in out


def test_feed_option_accepts_a_local_file(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    feed = cwd / "feed.xml"
    feed.write_bytes(rss_feed("https://irinfive.com", ALL_POSTS))
    assert main(["--db", f"sqlite:///{cwd / 'other.db'}", "digest", "--feed", str(feed)]) == 0
    assert "Baltic States Weigh Ceasefire Terms" in capsys.readouterr().out
    assert (cwd / "other.db").is_file() and not (cwd / "briefbot.db").exists()


def test_two_feeds_on_one_host_are_two_sources(
    cwd: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Named after their host, two `--feed` URLs of one server would be one source: the second's
    poll state would replace the first's and their posts would share a name."""
    feed_server.routes["/a/"] = Route(rss_feed(feed_server.base, ALL_POSTS[:1]))
    feed_server.routes["/b/"] = Route(rss_feed(feed_server.base, ALL_POSTS[1:2]))
    feeds = ["--feed", feed_server.url("/a/"), "--feed", feed_server.url("/b/")]
    assert main(["ingest", *feeds]) == 0
    out = capsys.readouterr().out
    assert "127.0.0.1:" in out and "127.0.0.1-2:" in out, out


def test_config_errors_exit_2_with_the_key(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cwd / "config.toml").write_text("[digest]\nmax_itemz = 3\n")
    assert main(["posts"]) == 2
    assert "config.toml:2: unknown key 'digest.max_itemz'" in capsys.readouterr().err


def test_doctor_reports_each_part(
    cwd: Path,
    feed_server: FeedServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, ALL_POSTS))
    config_for(cwd, feed_server)
    monkeypatch.setenv("DISCORD_TOKEN", "very-secret-token")
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    engine = sa.create_engine("sqlite://")
    heads = [bot_tables.migrator(engine).head(), Migrator(engine, "briefings", [REVISIONS]).head()]
    assert "database: ok" in out and f"schema {' + '.join(sorted(heads))}" in out
    assert "feed irinfive: ok" in out and "3 items" in out
    assert "env DISCORD_TOKEN: set" in out and "env SLACK_BOT_TOKEN: not set" in out
    assert "very-secret-token" not in out

    feed_server.routes["/feed/"] = Route(b"", status=503)
    assert main(["doctor"]) == 1
    assert "feed irinfive: FAILED" in capsys.readouterr().out


def test_console_script_runs(cwd: Path) -> None:
    feed = cwd / "feed.xml"
    feed.write_bytes(rss_feed("https://irinfive.com", [SUDAN_AID]))
    exe = Path(sys.executable).with_name("briefbot")
    result = subprocess.run(
        [str(exe), "digest", "--feed", str(feed)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert result.returncode == 0, result.stderr
    assert "Sudan Aid Corridor Talks Stall in Jeddah" in result.stdout


def test_digest_with_an_llm_backend(
    cwd: Path,
    feed_server: FeedServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm = LLMServer()
    try:
        llm.script = [Reply("Negotiators left Jeddah without agreeing on a corridor to El Fasher.")]
        feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, [SUDAN_AID]))
        (cwd / "config.toml").write_text(
            f'[[sources]]\nname = "irinfive"\nurl = "{feed_server.url("/feed/")}"\n'
            f'[summarizer]\nbackend = "llm"\n[llm]\nbase_url = "{llm.base_url}"\nmodel = "m"\n'
        )
        monkeypatch.setenv("BRIEFBOT_LLM_API_KEY", "sk-cli")
        assert main(["digest", "--json"]) == 0
        item = json.loads(capsys.readouterr().out)["items"][0]
        assert (
            item["summary"]
            == "Negotiators left Jeddah without agreeing on a corridor to El Fasher."
        )
        assert llm.requests[0][1]["authorization"] == "Bearer sk-cli"
    finally:
        llm.stop()
