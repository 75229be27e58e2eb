"""Every way config.toml can be wrong, as a person meets it: `briefbot doctor` / `digest` stops with
exit 2 and ONE line on standard error naming the file, the line, the key, what is wrong and a value
that would do.

Each case runs the command's entry (`bot.cli.main`, which the console script calls) in this process
in a fresh folder; the installed `briefbot` script itself runs for one of them and for a file that
is not UTF-8, so the line is also what a person sees from the real program: no traceback, nothing
else on standard error."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.fixtures import forkserver

BRIEFBOT = Path(sys.executable).with_name("briefbot")
EXIT_USAGE = 2
HEADING = "briefbot: configuration error: "

# (config.toml's text, what the one line must hold: "config.toml:LINE: key..." and a good value)
CASES = {
    "bad TOML: a bare word": (
        "[digest]\nmax_items = ten\n",
        [
            "config.toml:2: digest.max_items: not valid TOML",
            "(strings need quotes)",
            "e.g. max_items = 10",
        ],
    ),
    "bad TOML: a table header": (
        "[schedule]\nwhen = 'daily 08:00'\n[digest\n",
        ["config.toml:3: not valid TOML", "e.g. a table header [digest]"],
    ),
    "unknown key": (
        "[http]\ntimeout_seconds = 5\ntimeout_secs = 5\n",
        ["config.toml:3: unknown key 'http.timeout_secs'", "did you mean timeout_seconds?"],
    ),
    "unknown table": (
        '[schedule]\nwhen = "daily 08:00"\n\n[matrix]\nhomeserver = "https://m.test"\n',
        ["config.toml:4: unknown table [matrix]", "[schedule]", "[[subscriptions]]", "[slack]"],
    ),
    "a secret in the file": (
        '[slack]\nbot_token = "xoxb-1"\n',
        ["config.toml:2: unknown key 'slack.bot_token'", "environment variables"],
    ),
    "a quoted number": (
        '[digest]\nmax_items = "10"\n',
        [
            'config.toml:2: digest.max_items: must be an integer, not a string "10"',
            "e.g. max_items = 10",
        ],
    ),
    "a word for a bool": (
        '[schedule]\nskip_empty = "off"\n',
        ["config.toml:2: schedule.skip_empty: must be true or false", "e.g. skip_empty = true"],
    ),
    "out of range": (
        "[digest]\nmax_items = 0\n",
        [
            "config.toml:2: digest.max_items: must be greater than or equal to 1",
            "e.g. max_items = 10",
        ],
    ),
    "bad time zone": (
        '[schedule]\ntimezone = "Europe/Londn"\n',
        ["config.toml:2: schedule.timezone: unknown time zone", "Europe/London"],
    ),
    "bad cron": (
        '[schedule]\nwhen = "61 7 * * 1-5"\n',
        ["config.toml:2: schedule.when:", "'61' is outside 0-59", '"30 7 * * 1-5"'],
    ),
    "bad schedule words": (
        '[schedule]\ntimezone = "UTC"\nwhen = "every tuesday"\n',
        ["config.toml:3: schedule.when: cannot read schedule", '"daily 08:00"'],
    ),
    "subscription N: bad when": (
        '[[subscriptions]]\nplatform = "terminal"\nchannel = "terminal"\n\n'
        '[[subscriptions]]\nplatform = "slack"\nchannel = "C1"\nwhen = "daily 25:00"\n',
        ["config.toml:8: subscriptions.1.when: cannot read schedule", '"daily 08:00"'],
    ),
    "subscription N: bad time zone": (
        '[[subscriptions]]\nplatform = "slack"\nchannel = "C1"\n\n'
        '[[subscriptions]]\nplatform = "slack"\nchannel = "C2"\ntimezone = "Mars/Base"\n',
        ["config.toml:8: subscriptions.1.timezone: unknown time zone 'Mars/Base'", "Europe/London"],
    ),
    "duplicate channel": (
        '[[subscriptions]]\nplatform = "slack"\nchannel = "C1"\n\n'
        '[[subscriptions]]\nplatform = "slack"\nchannel = "C1"\n',
        [
            "config.toml:5: subscriptions.1: slack:C1 is declared as a digest twice",
            'kind = "roundup"',
        ],
    ),
    "unknown platform": (
        '[[subscriptions]]\nplatform = "matrix"\nchannel = "!room:m.test"\n',
        [
            "config.toml:2: subscriptions.0.platform: unknown platform 'matrix'",
            'platform = "slack"',
        ],
    ),
    "missing required key": (
        '[[sources]]\nname = "irinfive"\n',
        ["config.toml:1: sources.0.url: is required but missing", 'e.g. url = "https://'],
    ),
    "unknown source in a subscription": (
        '[[subscriptions]]\nplatform = "slack"\nchannel = "C1"\nsources = ["nope"]\n',
        [
            "config.toml:4: subscriptions.0.sources: slack:C1 names unknown source(s) nope",
            'sources = ["irinfive"]',
        ],
    ),
    "bad admin id": (
        '[commands]\nadmins = ["discord:U024BE7LH"]\n',
        [
            "config.toml:2: commands.admins.0: 'U024BE7LH' is not a discord user id",
            '"discord:80351110224678912"',
        ],
    ),
    "bad URL": (
        '[[sources]]\nname = "a"\nurl = "ftp://a.test/feed"\n',
        ["config.toml:3: sources.0.url: 'ftp://a.test/feed' is not an http(s) URL", "e.g. url = "],
    ),
    "llm backend without an endpoint": (
        '[ask]\nbackend = "llm"\n',
        ["config.toml:2: ask.backend:", "llm.base_url", 'backend = "extractive"'],
    ),
    "discord shards": (
        "[discord]\nshard_count = 2\nshard_ids = [0, 2]\n",
        ["config.toml:3: discord.shard_ids: [2] not below shard_count 2", "e.g. shard_ids = [0]"],
    ),
    "coordination slower than a poll": (
        "[schedule]\nrefresh_minutes = 1\n[coordination]\nindex_sync_seconds = 120\n",
        [
            "config.toml:4: coordination.index_sync_seconds: must not exceed",
            "e.g. index_sync_seconds = ",
        ],
    ),
    "a bad schedule hides no repeated source name": (
        '[schedule]\nwhen = "daily 25:00"\n[[sources]]\nname = "a"\nurl = "https://a.test/f"\n'
        '[[sources]]\nname = "a"\nurl = "https://b.test/f"\n',
        [
            "config.toml:2: schedule.when: cannot read schedule",
            "config.toml:7: sources.1.name: source names must be unique; repeated: a",
        ],
    ),
    "a bad schedule hides no unknown source of a subscription": (
        '[schedule]\nwhen = "daily 25:00"\n'
        '[[subscriptions]]\nplatform = "slack"\nchannel = "C1"\nsources = ["nope"]\n',
        [
            "config.toml:2: schedule.when: cannot read schedule",
            "config.toml:6: subscriptions.0.sources: slack:C1 names unknown source(s) nope",
        ],
    ),
    "several problems": (
        '[digest]\nmax_items = "10"\n[schedule]\ntimezone = "Nowhere"\n',
        ["config.toml:2: digest.max_items:", " | ", "config.toml:4: schedule.timezone:"],
    ),
    "a port out of range": (
        '[[sources]]\nname = "a"\nurl = "http://127.0.0.1:99999/feed"\n',
        [
            "config.toml:3: sources.0.url: 'http://127.0.0.1:99999/feed' has a port that is "
            "not 1-65535",
            "e.g. url = ",
        ],
    ),
    "every bad admin id": (
        '[commands]\nadmins = ["discord:80351110224678912", "slack:u1", "discord:x"]\n',
        [
            "config.toml:2: commands.admins.1: 'u1' is not a slack user id",
            " | config.toml:2: commands.admins.2: 'x' is not a discord user id (15 to 21 digits)",
        ],
    ),
    "an admin id with nothing after the colon": (
        '[commands]\nadmins = ["slack:"]\n',
        ["config.toml:2: commands.admins.0: 'slack:' has no user id after the colon", "e.g. "],
    ),
    "a discord channel by its name": (
        '[[subscriptions]]\nplatform = "discord"\nchannel = "general"\n',
        [
            "config.toml:3: subscriptions.0.channel: 'general' is not a discord channel id",
            'e.g. channel = "80351110224678913"',
        ],
    ),
    "a channel by its name beside a bad time zone": (
        '[[subscriptions]]\nplatform = "discord"\nchannel = "news"\ntimezone = "Mars/Base"\n',
        [
            "config.toml:3: subscriptions.0.channel: 'news' is not a discord channel id",
            " | config.toml:4: subscriptions.0.timezone: unknown time zone 'Mars/Base'",
        ],
    ),
    "a time zone with a trailing space": (
        '[schedule]\ntimezone = "Europe/London "\n',
        [
            "config.toml:2: schedule.timezone: 'Europe/London ' has a space before or after it",
            'did you mean "Europe/London"?',
        ],
    ),
    "a password in a SQLite URL's query": (
        '[database]\nurl = "sqlite:///x.db?password=SECRETPW"\n',
        ["config.toml:2: database.url: contains a password", 'e.g. url = "sqlite:///'],
    ),
    "a database URL with a port out of range": (
        '[database]\nurl = "postgresql://bot@db:70000/briefbot"\n',
        [
            "config.toml:2: database.url: 'postgresql://bot@db:70000/briefbot' is not a valid "
            "database URL (port 70000 is not 1-65535)",
            'e.g. url = "sqlite:///',
        ],
    ),
    "a table inside a table": (
        "[digest]\nmax_items = 3\n\n[digest.extra]\na = 1\n",
        ["config.toml:4: unknown table [digest.extra]", "the keys of [digest] are max_items"],
    ),
    "no sources": (
        "# feeds\nsources = []\n\n[digest]\nmax_items = 3\n",
        [
            "config.toml:2: sources: must have at least 1 entry, not none",
            'e.g. [[sources]] with name = "irinfive" and url = "https://irinfive.com/feed/"',
        ],
    ),
    "sources as a string": (
        'sources = "irinfive"\n',
        [
            'config.toml:1: sources: must be an array, not a string "irinfive"',
            'e.g. [[sources]] with name = "irinfive"',
        ],
    ),
}


def command_for(case: str) -> list[str]:
    """Both commands read the config the same way: each case runs one, in turn."""
    return ["doctor"] if list(CASES).index(case) % 2 else ["digest", "--no-refresh"]


def assert_one_line(code: int, stderr: str, expected: list[str]) -> None:
    assert code == EXIT_USAGE, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"{HEADING}config.toml:"), lines[0]
    for part in expected:
        assert part in lines[0], lines[0]


@pytest.mark.parametrize("case", list(CASES))
def test_every_config_error_is_one_line_naming_file_line_key_and_a_good_value(
    cwd: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    text, expected = CASES[case]
    (cwd / "config.toml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("HOME", str(cwd))
    with caplog.at_level(logging.DEBUG):
        code = main(command_for(case))
    assert_one_line(code, capsys.readouterr().err, expected)
    # Nothing logged either: a run of the real program would show it as more lines.
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    assert not (cwd / "briefbot.db").exists()  # stopped before anything was touched


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            '[commands]\nadmins = ["discord:U024BE7LH"]\n',
            "'U024BE7LH' is not a discord user id (15 to 21 digits); e.g. ",
        ),
        (
            '[[sources]]\nname = "Bad Name"\nurl = "https://a.test/feed"\n',
            'sources.0.name: a string "Bad Name" is not a short name: up to 64 lower-case '
            'letters, digits, - and _, not starting with - or _; e.g. name = "irinfive"',
        ),
        (
            '[slack]\ncommand = "briefing"\n',
            'slack.command: a string "briefing" is not a slash command: / then 1 to 31 of a-z, '
            '0-9, - and _; e.g. command = "/briefing"',
        ),
        (
            '[llm]\napi_key_env = "my-key"\n',
            "llm.api_key_env: a string of 6 characters is not an environment variable name (A-Z, 0-9 "
            "and _)",
        ),
    ],
    ids=["an admin id", "a source name", "a slash command", "an environment variable name"],
)
def test_a_value_in_the_wrong_form_is_shown_a_good_one_not_a_regular_expression(
    cwd: Path, capsys: pytest.CaptureFixture[str], text: str, said: str
) -> None:
    (cwd / "config.toml").write_text(text, encoding="utf-8")
    assert main(["doctor"]) == EXIT_USAGE
    line = capsys.readouterr().err.strip()
    assert said in line
    assert not any(part in line for part in ("^", "$", "{", "\\", "pattern", "matching")), line


def test_the_installed_command_shows_the_same_one_line(tmp_path: Path) -> None:
    case = "several problems"
    text, expected = CASES[case]
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    result = forkserver.run(
        [str(BRIEFBOT), *command_for(case)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert_one_line(result.returncode, result.stderr, expected)
    assert not (tmp_path / "briefbot.db").exists()


def test_a_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b"[digest]\n# caf\xe9\nmax_items = 3\n")
    result = forkserver.run(
        [str(BRIEFBOT), "--config", str(config), "doctor"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == EXIT_USAGE
    lines = result.stderr.strip().splitlines()
    assert lines == [f"{HEADING}{config}:2: not UTF-8 text (byte 15); save the file as UTF-8"]


def test_every_shaped_key_has_words_for_its_error() -> None:
    """A key checked by a regular expression must say in words what it takes (`shaped`), or its
    error would fall back to the vague "not in the form this key takes"."""
    from bot.config import Settings
    from briefings.settings import FORMS

    def patterns(node: object) -> list[str]:
        if isinstance(node, dict):
            found = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
            return found + [p for value in node.values() for p in patterns(value)]
        if isinstance(node, list):
            return [p for value in node for p in patterns(value)]
        return []

    used = patterns(Settings.model_json_schema())
    assert used, "the schema should hold the source name's pattern at least"
    assert [p for p in used if p not in FORMS] == []


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            '[[sources]]\nname = "a"\nurl = "ftp://bob:SECRETPW@example.com/feed"\n',
            "config.toml:3: sources.0.url: 'ftp://bob:***@example.com/feed' is not an http(s) URL",
        ),
        (
            '[llm]\nbase_url = "ftp://k:SECRETPW@h/v1"\nmodel = "m"\n',
            "config.toml:2: llm.base_url: 'ftp://k:***@h/v1' is not an http(s) URL",
        ),
    ],
    ids=["a source URL", "the llm base URL"],
)
def test_a_url_in_a_config_error_never_shows_its_password(
    cwd: Path, capsys: pytest.CaptureFixture[str], text: str, said: str
) -> None:
    (cwd / "config.toml").write_text(text, encoding="utf-8")
    assert main(["doctor"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "SECRETPW" not in err
    assert said in err


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            '[llm]\nbase_url = "http://bob:SECRETPW@127.0.0.1:8000/v1"\nmodel = "m"\n',
            "config.toml:2: llm.base_url: contains a user name or password; drop it",
        ),
        (
            '[slack]\napi_base_url = "https://x:SECRETPW@slack.test/api/"\n',
            "config.toml:2: slack.api_base_url: contains a user name or password; drop it",
        ),
        (
            '[slack]\napi_base_url = "https://slack.test/api/ with space"\n',
            "config.toml:2: slack.api_base_url: a URL cannot contain spaces",
        ),
        (
            '[[sources]]\nname = "a"\nurl = "https://bob:SECRETPW@exa mple.test/feed"\n',
            "config.toml:3: sources.0.url: a URL cannot contain spaces",
        ),
        (
            '[[sources]]\nname = "a"\nurl = "http://127.0.0.1:0/feed"\n',
            "config.toml:3: sources.0.url: 'http://127.0.0.1:0/feed' has a port that is not "
            "1-65535",
        ),
    ],
    ids=[
        "llm credentials",
        "slack credentials",
        "a space in an API URL",
        "a space in a feed URL",
        "port 0",
    ],
)
def test_a_url_that_cannot_work_is_refused_at_load_time(
    cwd: Path, capsys: pytest.CaptureFixture[str], text: str, said: str
) -> None:
    (cwd / "config.toml").write_text(text, encoding="utf-8")
    assert main(["doctor"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith(HEADING) and len(err.strip().splitlines()) == 1, err
    assert said in err
    assert "SECRETPW" not in err and "with space" not in err


def test_several_problems_come_in_the_file_order_each_showing_its_value(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (cwd / "config.toml").write_text(
        '[digest]\nmax_summary_tokens = "50"\nmax_items = "10"\ntake_sentences = "2"\n'
        'summary_sentences = "3"\n[commands]\nadmins = "slack:U024BE7LH"\n',
        encoding="utf-8",
    )
    assert main(["doctor"]) == EXIT_USAGE
    line = capsys.readouterr().err.strip()
    assert re.findall(r"config\.toml:(\d+):", line) == ["2", "3", "4"], line
    assert line.endswith("(and 2 more)"), line
    assert 'digest.max_summary_tokens: must be an integer, not a string "50"' in line
    assert " string;" not in line
