"""Settings from the environment and `.env`, each problem naming the setting."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from bot.matching.thresholds import Thresholds

OFFICIAL_API = "https://api.telegram.org"
TOKEN_PATTERN = re.compile(r"^\d{3,15}:[A-Za-z0-9_-]{30,64}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(Exception):
    """A setting that is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    token: str | None = None
    admin_ids: frozenset[int] = frozenset()
    knowledge_file: Path | None = None
    data_dir: Path = Path("data")
    api_base_url: str = OFFICIAL_API
    log_level: str = "INFO"
    thresholds: Thresholds = field(default_factory=Thresholds)
    max_messages_per_second: int = 30
    semantic_matching: bool = True
    cache_dir: Path = field(default_factory=lambda: default_cache_dir({}))
    database_url: str | None = None

    @property
    def secrets(self) -> list[str]:
        """What must never reach a log: the token and the database password."""
        password = urlparse(self.database_url).password if self.database_url else None
        return [s for s in (self.token, password) if s]

    @property
    def bot_api_url(self) -> str:
        return f"{self.api_base_url}/bot"

    @property
    def file_api_url(self) -> str:
        return f"{self.api_base_url}/file/bot"

    def require_token(self) -> str:
        if not self.token:
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN is not set: put the token from @BotFather in .env"
            )
        if not TOKEN_PATTERN.match(self.token):
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN is malformed: expected digits, a colon, then the secret "
                "(as @BotFather gives it)"
            )
        return self.token


def load_dotenv_file(path: str | Path = ".env") -> None:
    """Read `.env` from the working directory; real environment variables win."""
    from dotenv import load_dotenv

    load_dotenv(path, override=False)


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from an environment mapping (os.environ by default)."""
    env = os.environ if env is None else env

    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    defaults = Thresholds()
    try:
        thresholds = Thresholds(
            answer=_number(
                get("MATCH_ANSWER_THRESHOLD"), defaults.answer, "MATCH_ANSWER_THRESHOLD"
            ),
            clarify=_number(
                get("MATCH_CLARIFY_THRESHOLD"), defaults.clarify, "MATCH_CLARIFY_THRESHOLD"
            ),
            margin=_number(get("MATCH_MARGIN"), defaults.margin, "MATCH_MARGIN"),
        )
    except ValueError as exc:
        raise SettingsError(f"MATCH_ANSWER_THRESHOLD / MATCH_CLARIFY_THRESHOLD: {exc}") from None
    level = (get("LOG_LEVEL") or "INFO").upper()
    if level not in LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {level!r}")
    base = (get("TELEGRAM_API_BASE_URL") or OFFICIAL_API).rstrip("/")
    if not re.match(r"^https?://[^\s/]+", base):
        raise SettingsError(f"TELEGRAM_API_BASE_URL must be an http(s) URL, not {base!r}")
    knowledge = get("KNOWLEDGE_FILE")
    rate = get("MAX_MESSAGES_PER_SECOND") or "30"
    if not rate.isdigit():
        raise SettingsError(
            f"MAX_MESSAGES_PER_SECOND must be a whole number (0: no limit), not {rate!r}"
        )
    semantic = (get("SEMANTIC_MATCHING") or "on").lower()
    if semantic not in ("on", "off"):
        raise SettingsError(f"SEMANTIC_MATCHING must be on or off, not {semantic!r}")
    cache = get("CACHE_DIR")
    database = get("DATABASE_URL")
    if database and not re.match(r"^postgres(ql)?://", database):
        raise SettingsError(
            "DATABASE_URL must be a PostgreSQL URL (postgresql://user:password@host/database)"
        )
    return Settings(
        database_url=database,
        semantic_matching=semantic == "on",
        cache_dir=Path(cache).expanduser() if cache else default_cache_dir(env),
        max_messages_per_second=int(rate),
        token=get("TELEGRAM_BOT_TOKEN"),
        admin_ids=_admin_ids(get("ADMIN_USER_IDS")),
        knowledge_file=Path(knowledge).expanduser() if knowledge else None,
        data_dir=Path(get("DATA_DIR") or "data").expanduser(),
        api_base_url=base,
        log_level=level,
        thresholds=thresholds,
    )


def default_cache_dir(env: Mapping[str, str]) -> Path:
    """`$XDG_CACHE_HOME/stakhanov-bot`, else `~/.cache/stakhanov-bot`."""
    base = env.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "stakhanov-bot"


def _number(raw: str | None, default: float, name: str) -> float:
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number from 0 to 100, not {raw!r}") from None
    if not 0 <= value <= 100:
        raise SettingsError(f"{name} must be a number from 0 to 100, not {raw!r}")
    return value


def _admin_ids(raw: str | None) -> frozenset[int]:
    if not raw:
        return frozenset()
    ids = set()
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.lstrip("-").isdigit():
            raise SettingsError(
                f"ADMIN_USER_IDS must be comma-separated numeric Telegram user ids, not {part!r}"
            )
        ids.add(int(part))
    return frozenset(ids)
