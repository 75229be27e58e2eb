from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from adapters.platforms import PLATFORMS, PlatformEntry
from bot.config import ConfigError, Settings, config_path, load_settings, parse_settings

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_is_valid_and_equals_the_embedded_defaults() -> None:
    assert load_settings(ROOT / "config.toml") == Settings()


def test_unknown_key_is_named_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[http]\ntimeout_seconds = 5\ntimeout_secs = 5\n")
    with pytest.raises(ConfigError, match=r"config.toml:3: unknown key 'http.timeout_secs'"):
        load_settings(path)


def test_secret_looking_key_says_where_secrets_go(tmp_path: Path) -> None:
    path = write(tmp_path, 'slack_token = "xoxb-123"\n')
    with pytest.raises(ConfigError, match="environment variables") as info:
        load_settings(path)
    assert "xoxb-123" not in str(info.value)


def test_bad_feed_url_names_the_source(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[sources]]\nname = "a"\nurl = "https://a.test/feed"\n\n[[sources]]\nname = "b"\nurl = "ftp:/nope"\n',
    )
    with pytest.raises(
        ConfigError, match=r":7: sources\.1\.url: 'ftp:/nope' is not an http\(s\) URL"
    ):
        load_settings(path)


def test_wrong_type_and_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"digest\.max_items"):
        load_settings(write(tmp_path, '[digest]\nmax_items = "many"\n'))
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[digest\n"))


def test_database_password_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '[database]\nurl = "postgresql://bot:hunter2@db/briefbot"\n')
    with pytest.raises(ConfigError, match="contains a password") as info:
        load_settings(path)
    assert "hunter2" not in str(info.value)


def test_duplicate_source_names(tmp_path: Path) -> None:
    text = '[[sources]]\nname = "a"\nurl = "https://a.test/"\n[[sources]]\nname = "a"\nurl = "https://b.test/"\n'
    with pytest.raises(ConfigError, match="repeated: a"):
        load_settings(write(tmp_path, text))


def test_config_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert config_path(None, {}) is None
    write(tmp_path, "")
    assert config_path(None, {}) == Path("config.toml")
    assert config_path(None, {"BRIEFBOT_CONFIG": "/etc/b.toml"}) == Path("/etc/b.toml")
    assert config_path("x.toml", {"BRIEFBOT_CONFIG": "/etc/b.toml"}) == Path("x.toml")


def test_database_url_precedence() -> None:
    settings = Settings()
    assert settings.database_url(None, {}) == "sqlite:///briefbot.db"
    assert (
        settings.database_url(None, {"BRIEFBOT_DATABASE_URL": "postgresql://x/y"})
        == "postgresql://x/y"
    )
    assert (
        settings.database_url("sqlite:///o.db", {"BRIEFBOT_DATABASE_URL": "postgresql://x/y"})
        == "sqlite:///o.db"
    )


def test_config_toml_is_commented() -> None:
    text = (ROOT / "config.toml").read_text()
    data = tomllib.loads(text)
    for table, values in data.items():
        if isinstance(values, dict):
            for key in values:
                line = next(
                    i for i, ln in enumerate(text.splitlines()) if ln.startswith(f"{key} =")
                )
                assert text.splitlines()[line - 1].startswith("#"), f"{table}.{key} has no comment"


def test_llm_backend_needs_an_endpoint(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"needs llm.base_url and llm.model"):
        load_settings(write(tmp_path, '[summarizer]\nbackend = "llm"\n'))
    with pytest.raises(
        ConfigError, match=r"llm.base_url: 'localhost:8000' is not an http\(s\) URL"
    ):
        load_settings(write(tmp_path, '[llm]\nbase_url = "localhost:8000"\n'))


# -- types are strict: TOML has real types, so a quoted number or a word for a bool is a mistake ---


@pytest.mark.parametrize(
    ("text", "where", "example"),
    [
        (
            '[digest]\nmax_items = "10"\n',
            ':2: digest.max_items: must be an integer, not a string "10"',
            "max_items = 10",
        ),
        (
            '[schedule]\nskip_empty = "off"\n',
            ':2: schedule.skip_empty: must be true or false, not a string "off"',
            "skip_empty = true",
        ),
        (
            '[http]\n\ntimeout_seconds = "5"\n',
            ":3: http.timeout_seconds: must be a number",
            "timeout_seconds = 15.0",
        ),
        (
            "[digest]\nmax_items = 5.0\n",
            ":2: digest.max_items: must be an integer, not a number",
            "max_items = 10",
        ),
        (
            "[http]\nfetch_article_pages = 1\n",
            ":2: http.fetch_article_pages: must be true or false, not an integer",
            "fetch_article_pages = true",
        ),
        (
            "[delivery]\nconcurrency = true\n",
            ":2: delivery.concurrency: must be an integer, not a boolean",
            "concurrency = 50",
        ),
        (
            '[commands]\nadmins = "slack:U024BE7LH"\n',
            ":2: commands.admins: must be an array",
            'admins = ["slack:U024BE7LH"',
        ),
        ("[llm]\nmodel = 7\n", ":2: llm.model: must be a string in quotes", 'model = "'),
        (
            '[[subscriptions]]\nplatform = "slack"\nchannel = "C1"\nskip_empty = "no"\n',
            ":4: subscriptions.0.skip_empty: must be true or false",
            "skip_empty = true",
        ),
    ],
)
def test_a_wrong_type_is_refused_naming_key_line_and_a_good_value(
    tmp_path: Path, text: str, where: str, example: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert message.startswith(f"{path}{where}"), message
    assert f"e.g. {example}" in message and "\n" not in message


def test_an_integer_is_accepted_where_a_float_is_meant(tmp_path: Path) -> None:
    settings = load_settings(
        write(
            tmp_path,
            "[http]\ntimeout_seconds = 5\n[schedule]\nrefresh_minutes = 30\n"
            "[slack]\nrequests_per_second = 2\n[ask]\nmin_coverage = 1\n",
        )
    )
    assert settings.http.timeout_seconds == 5 and settings.schedule.refresh_minutes == 30
    assert settings.slack.requests_per_second == 2 and settings.ask.min_coverage == 1


# -- admin ids: each platform's own form, from its row in adapters/platforms.py ------------------


def _no_connector(config: object, env: object, context: object) -> None:
    return None


@pytest.fixture
def more_platforms(monkeypatch: pytest.MonkeyPatch) -> None:
    """A platform registered with its own id pattern (Matrix-like) and one without (Teams-like)."""
    monkeypatch.setitem(
        PLATFORMS, "matrix", PlatformEntry("matrix", None, _no_connector, user_id=r"@[^:\s]+:\S+")
    )
    monkeypatch.setitem(PLATFORMS, "teams", PlatformEntry("teams", None, _no_connector))


ACCEPTED_ADMINS = [
    "slack:U024BE7LH",
    "slack:W012A3CDE",  # Enterprise Grid
    "discord:80351110224678912",
    "matrix:@alice:example.org",
    "teams:29:1a2B3c-4d5E6f_7G8h9I",
    "terminal:me",
]


def test_admin_ids_in_each_platforms_form_are_accepted(more_platforms: None) -> None:
    settings = parse_settings({"commands": {"admins": ACCEPTED_ADMINS}})
    assert settings.commands.admins == ACCEPTED_ADMINS


@pytest.mark.parametrize(
    ("admin", "said"),
    [
        ("slack:80351110224678912", "'80351110224678912' is not a slack user id"),
        ("slack:u024be7lh", "'u024be7lh' is not a slack user id"),
        ("discord:U024BE7LH", "'U024BE7LH' is not a discord user id"),
        ("discord:1234", "'1234' is not a discord user id"),
        ("matrix:alice", "'alice' is not a matrix user id"),
        ("teams:29:has space", "'29:has space' is not a teams user id (no spaces, not empty)"),
        ("teams:", "'teams:' has no user id after the colon"),
        ("irc:alice", "'irc:alice' is not platform:user_id"),
        ("U024BE7LH", "'U024BE7LH' is not platform:user_id"),
    ],
)
def test_an_admin_id_not_in_its_platforms_form_is_refused_at_its_line(
    tmp_path: Path, more_platforms: None, admin: str, said: str
) -> None:
    path = write(tmp_path, f'[commands]\n# who\nadmins = ["slack:U024BE7LH", "{admin}"]\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert message.startswith(f"{path}:3: commands.admins.1: {said}"), message
    assert 'e.g. "slack:U024BE7LH"' in message and "\n" not in message


def test_several_problems_are_one_line_showing_the_first_three(tmp_path: Path) -> None:
    text = "[digest]\n" + "".join(
        f'{key} = "x"\n'
        for key in ("max_items", "summary_sentences", "max_summary_tokens", "take_sentences")
    )
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message and message.endswith("(and 1 more)")
    assert [part.split(": ")[1] for part in message.split(" | ")] == [
        "digest.max_items",
        "digest.summary_sentences",
        "digest.max_summary_tokens",
    ]


def test_a_wrong_typed_value_is_not_echoed_when_it_could_be_a_secret(tmp_path: Path) -> None:
    path = write(tmp_path, '[slack]\nport = "xoxb-1234-5678-abcdef"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert message.startswith(
        f"{path}:2: slack.port: must be an integer, not a string of 21 characters;"
    )
    assert "xoxb" not in message and "e.g. port = 3000" in message


def test_a_declared_roundup_must_be_weekly(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[[subscriptions]]\nplatform = "slack"\nchannel = "C1"\nkind = "roundup"\nwhen = "hourly"\n'
    )
    with pytest.raises(ConfigError, match=r'a roundup is weekly: .* when = "mon 08:00"'):
        load_settings(path)
    path.write_text(path.read_text().replace("hourly", "thu 17:30"))
    assert load_settings(path).subscriptions[0].when == "thu 17:30"
