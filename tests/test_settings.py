"""Settings: sensible defaults, and every bad value named by its setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import OFFICIAL_API, SettingsError, from_env

TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijk"


def test_defaults_need_nothing():
    settings = from_env({})
    assert settings.api_base_url == OFFICIAL_API and settings.data_dir == Path("data")
    assert settings.admin_ids == frozenset() and settings.log_level == "INFO"


def test_values_are_parsed():
    settings = from_env(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "ADMIN_USER_IDS": " 1, 22 ,",
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/",
            "MATCH_ANSWER_THRESHOLD": "80",
            "LOG_LEVEL": "debug",
        }
    )
    assert settings.require_token() == TOKEN and settings.admin_ids == {1, 22}
    assert settings.bot_api_url == "http://127.0.0.1:8081/bot"
    assert settings.file_api_url == "http://127.0.0.1:8081/file/bot"
    assert settings.thresholds.answer == 80 and settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ADMIN_USER_IDS": "1,alice"}, "ADMIN_USER_IDS"),
        ({"MATCH_ANSWER_THRESHOLD": "high"}, "MATCH_ANSWER_THRESHOLD"),
        ({"MATCH_CLARIFY_THRESHOLD": "150"}, "MATCH_CLARIFY_THRESHOLD"),
        ({"MATCH_ANSWER_THRESHOLD": "30", "MATCH_CLARIFY_THRESHOLD": "60"}, "MATCH_"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"TELEGRAM_API_BASE_URL": "ftp://x"}, "TELEGRAM_API_BASE_URL"),
    ],
)
def test_bad_values_name_the_setting(env, named):
    with pytest.raises(SettingsError, match=named):
        from_env(env)


@pytest.mark.parametrize("token", [None, "", "not-a-token", "123:short"])
def test_missing_or_malformed_token_names_the_setting(token):
    settings = from_env({"TELEGRAM_BOT_TOKEN": token} if token is not None else {})
    with pytest.raises(SettingsError, match="TELEGRAM_BOT_TOKEN"):
        settings.require_token()


def test_env_example_lists_every_setting():
    root = Path(__file__).resolve().parent.parent
    source = (root / "bot" / "settings.py").read_text(encoding="utf-8")
    import re

    used = set(re.findall(r'get\("([A-Z_]+)"\)', source))
    listed = set(re.findall(r"^([A-Z_]+)=", (root / ".env.example").read_text(), re.MULTILINE))
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert used and used == listed
    assert all(f"`{name}`" in readme for name in used)
