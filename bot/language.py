"""Which language a question is in, and which languages the bot answers in."""

from __future__ import annotations

import re

SUPPORTED: tuple[str, ...] = ("en", "ru", "uk")
DEFAULT = "en"

_UKRAINIAN_ONLY = re.compile(r"[іїєґІЇЄҐ]")
_RUSSIAN_ONLY = re.compile(r"[ыэъёЫЭЪЁ]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z]")


def supported(code: str | None) -> str | None:
    """The supported language for a code such as 'uk' or 'ru-RU', or None."""
    if not code:
        return None
    base = code.strip().lower().replace("_", "-").split("-")[0]
    return base if base in SUPPORTED else None


def detect(text: str, fallback: str | None = None) -> str:
    """The language of a question by its script, else the fallback, else English.

    Letters only Ukrainian has (і ї є ґ) mean Ukrainian and letters only Russian has
    (ы э ъ ё) mean Russian; other Cyrillic follows the fallback when it is ru or uk.
    """
    preferred = supported(fallback)
    if _UKRAINIAN_ONLY.search(text):
        return "uk"
    if _RUSSIAN_ONLY.search(text):
        return "ru"
    if _CYRILLIC.search(text):
        return preferred if preferred in ("ru", "uk") else "ru"
    if _LATIN.search(text):
        return "en"
    return preferred or DEFAULT
