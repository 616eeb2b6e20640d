"""Which language a question is in, and which languages the bot answers in."""

from __future__ import annotations

import re

SUPPORTED: tuple[str, ...] = ("en", "ru", "uk")
DEFAULT = "en"

_UKRAINIAN_ONLY = re.compile(r"[іїєґІЇЄҐ]")
_RUSSIAN_ONLY = re.compile(r"[ыэъёЫЭЪЁ]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z]")
_WORD = re.compile(r"[^\W\d_]+")
_UKRAINIAN_WORDS = frozenset(
    "коли хто що як де чому навіщо скільки який яка яке які чи його він вона вони помер "
    "місто місті рік року році та але після розкажи розкажіть це цей ця тут там був була було були".split()
)
_RUSSIAN_WORDS = frozenset(
    "когда кто что как где почему зачем сколько какой какая какое какие ли его он она они "
    "умер город городе год году после расскажи расскажите это этот эта здесь там был была было были".split()
)


def supported(code: str | None) -> str | None:
    """The supported language for a code such as 'uk' or 'ru-RU', or None."""
    if not code:
        return None
    base = code.strip().lower().replace("_", "-").split("-")[0]
    return base if base in SUPPORTED else None


def detect(text: str, fallback: str | None = None) -> str:
    """The language of a question by its script, else the fallback, else English.

    Cyrillic text is Ukrainian or Russian by a vote: letters only one of them has
    (і ї є ґ or ы э ъ ё) count double, common words that differ (коли/когда) once;
    a tie follows the fallback when it is ru or uk.
    """
    preferred = supported(fallback)
    if _CYRILLIC.search(text):
        words = _WORD.findall(text.lower())
        uk = 2 * len(_UKRAINIAN_ONLY.findall(text)) + sum(w in _UKRAINIAN_WORDS for w in words)
        ru = 2 * len(_RUSSIAN_ONLY.findall(text)) + sum(w in _RUSSIAN_WORDS for w in words)
        if uk != ru:
            return "uk" if uk > ru else "ru"
        return preferred if preferred in ("ru", "uk") else "ru"
    if _LATIN.search(text):
        return "en"
    return preferred or DEFAULT
