from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, config_path, load_settings

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


def test_a_declared_roundup_must_be_weekly(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[[subscriptions]]\nplatform = "slack"\nchannel = "C1"\nkind = "roundup"\nwhen = "hourly"\n'
    )
    with pytest.raises(ConfigError, match=r'a roundup is weekly: .* when = "mon 08:00"'):
        load_settings(path)
    path.write_text(path.read_text().replace("hourly", "thu 17:30"))
    assert load_settings(path).subscriptions[0].when == "thu 17:30"
