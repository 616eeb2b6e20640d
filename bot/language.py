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
    "місто місті рік року році та але після розкажи розкажіть це цей ця тут там був була було були "
    "ще вже дуже зараз тепер треба можна або бо також тобто називали джерело працюють працює".split()
)
_RUSSIAN_WORDS = frozenset(
    "когда кто что как где почему зачем сколько какой какая какое какие ли его он она они "
    "умер город городе год году после расскажи расскажите это этот эта здесь там был была было были "
    "ещё еще уже очень сейчас теперь надо можно или нет называли источник работают работает".split()
)
_UKRAINIAN_ENDINGS = ("ський", "ська", "ське", "ську", "ського", "цький", "цька", "ння")
_RUSSIAN_ENDINGS = (
    "ский",
    "ская",
    "ское",
    "скую",
    "ского",
    "цкий",
    "цкая",
    "ние",
    "ния",
    "ость",
    "ости",
)
_RUSSIAN_LATIN = frozenset(
    "kto kogda gde chto shto skolko eto pochemu zachem kakoy kakaya takoy takaya umer dobyl "
    "nakhoditsya nahoditsya znachit gorod gorode rasskazhi kakoi kakom kakie shakhte "
    "byl byli bylo godu ushel postavil seichas seychas sejchas nazyvaetsya pereimenovali".split()
)
_UKRAINIAN_LATIN = frozenset(
    "hto khto koly shcho scho tse skilky skilki chomu navishcho yakyi takyi takyy pomer misto "
    "misti oznachaie oznachaye rozkazhy chy buv bula vin vona yakii yakomu rotsi shakhti "
    "pratsiuvav pratsiuvaly pereimenuvaly narodyvsia zaraz".split()
)


def supported(code: str | None) -> str | None:
    """The supported language for a code such as 'uk' or 'ru-RU', or None."""
    if not code:
        return None
    base = code.strip().lower().replace("_", "-").split("-")[0]
    return base if base in SUPPORTED else None


def has_cyrillic(text: str) -> bool:
    return _CYRILLIC.search(text) is not None


def detect(text: str, fallback: str | None = None) -> str:
    """The language of a question by its script, else the fallback, else English.

    Cyrillic text is Ukrainian or Russian by a vote: letters only one of them has
    (і ї є ґ or ы э ъ ё) count double, common words that differ (коли/когда) and
    telling endings (-ський/-ский) once; a tie follows the fallback when it is ru or uk.
    Latin text is English unless it has transliterated Russian or Ukrainian question
    words ("kogda umer stahanov", "koly pomer").
    """
    preferred = supported(fallback)
    words = _WORD.findall(text.lower())
    if _CYRILLIC.search(text):
        uk = 2 * len(_UKRAINIAN_ONLY.findall(text)) + _votes(
            words, _UKRAINIAN_WORDS, _UKRAINIAN_ENDINGS
        )
        ru = 2 * len(_RUSSIAN_ONLY.findall(text)) + _votes(words, _RUSSIAN_WORDS, _RUSSIAN_ENDINGS)
    elif _LATIN.search(text):
        uk = sum(w in _UKRAINIAN_LATIN for w in words)
        ru = sum(w in _RUSSIAN_LATIN for w in words)
        if not uk and not ru:
            return "en"
    else:
        return preferred or DEFAULT
    if uk != ru:
        return "uk" if uk > ru else "ru"
    return preferred if preferred in ("ru", "uk") else "ru"


def _votes(words: list[str], common: frozenset[str], endings: tuple[str, ...]) -> int:
    return sum(w in common or w.endswith(endings) for w in words)
