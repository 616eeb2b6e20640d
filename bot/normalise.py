"""Text normalisation shared by the knowledge index and incoming questions.

A text becomes a tuple of content tokens: Unicode NFKC, case-folded, punctuation
dropped, stop words removed, each word stemmed (English or Russian Snowball,
chosen by the word's script), then global synonyms mapped onto one canonical form.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache

import snowballstemmer

from bot.words import CONTEXT_WORDS, QUESTION_WORDS, SMALL_TALK, STOP_WORDS

_APOSTROPHES = re.compile(r"(?<=\w)['’ʼ`´](?=\w)")
_EN_CONTRACTION = re.compile(r"(?<=[a-z])['’ʼ`´](?:d|ll|ve|re|m)\b")
"""we'd, I'll, they've, you're, I'm: the pronoun alone ("we'd" was read as "wed")."""
_NON_WORD = re.compile(r"[\W_]+")
_NUMBER_SLASH = re.compile(r"(?<=\d)/(?=\d)")
_SEARCH_EXCLUSION = re.compile(r"(?<=[ \t])-(?=[^\W_])\S+")
"""A search engine's "-film": a word the asker wants left out, so not a word of the question."""
_N_FACTS = re.compile(
    r"(?<!\w)(?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|два|две|три|четыре|пять"
    r"|шесть|семь|десять|дві|чотири|п['’ʼ]?ять|шість|сім|десять)\s+(?:\w+\s+)?"
    r"(?:facts|points|things|bullets|фактов|факта|фактів|факти|пунктов|пункта|пунктів|пункти"
    r"|тезисов|тезиса|тез|тези)(?!\w)",
    re.IGNORECASE,
)
"""A list asked for ("3 facts about", "пять фактов о", "три пункти"): its size is framing,
not a number to match ("5" had read as a number the knowledge holds)."""
_ELONGATED = re.compile(r"([aeiouyаеиоуыэюяіїє])\1{2,}")
"""A vowel typed three times or more for emphasis ("soooo", "ктооо"): read once."""
_CYRILLIC = re.compile(r"[а-яіїєґё]")
_LETTERS = re.compile(r"[^\W\d_]+")
_LATIN = re.compile(r"[a-z]")
_LATIN_LOOKALIKES, _CYRILLIC_LOOKALIKES = "aceopxykmthbi", "асеорхукмтнві"
_TO_CYRILLIC_LOOKS = str.maketrans(_LATIN_LOOKALIKES, _CYRILLIC_LOOKALIKES)
_TO_LATIN_LOOKS = str.maketrans(_CYRILLIC_LOOKALIKES, _LATIN_LOOKALIKES)
_KEYS = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`"
_SHIFTED_KEYS = str.maketrans('{}:"<>~', "[];',.`")
_LAYOUTS = (
    str.maketrans(_KEYS, "йцукенгшщзхъфывапролджэячсмитьбюё"),
    str.maketrans(_KEYS, "йцукенгшщзхїфівапролджєячсмитьбю'"),
)
_UKRAINIAN_TO_RUSSIAN = str.maketrans({"і": "и", "ї": "и", "є": "е", "ґ": "г"})
_ANSI_ESCAPE = re.compile(r"\x1b(?:\][^\x07\x1b]*(?:\x07|\x1b\\)?|\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")
_CONTROL = dict.fromkeys(c for c in range(0x20) if c not in (9, 10, 13))

OPTION_NUMBERS: frozenset[str] = frozenset("123456789")
"""What a "did you mean" option is picked by: typed alone, with no options pending (in a chat
they are buttons), it is a stale choice, not a question about whatever has a "1" in it."""


def is_small_talk(text: str) -> bool:
    """A greeting, thanks or "how are you" with nothing else in it, or an option number."""
    found = words(text)
    return bool(found) and (all(w in SMALL_TALK for w in found) or _option_number(found))


def is_option_number(text: str) -> bool:
    return _option_number(words(text))


def _option_number(found: list[str]) -> bool:
    return len(found) == 1 and found[0] in OPTION_NUMBERS


_EN_STEMMER = snowballstemmer.stemmer("english")
_EN_STEM_OVERRIDES = {"authority": "authorit", "authorities": "authorit"}
_RU_STEM_OVERRIDES = dict.fromkeys(("стоит", "стоят", "стоил", "стоила", "стоило"), "стоим")
_CONTRACTIONS = {
    "whats": "what", "whos": "who", "wheres": "where", "whens": "when", "hows": "how", "whys": "why",
    "wat": "what", "wut": "what", "wht": "what", "wen": "when", "whn": "when",
    "1st": "first", "2nd": "second", "3rd": "third",
    "када": "когда", "кагда": "когда", "скока": "сколько", "скоко": "сколько",
}  # fmt: skip
_OTHERS = "whoelse"  # "who else", "кто ещё": other people than the one the knowledge is about
_IDIOMS = {
    ("how", "come"): "why", ("how", "old"): "age", ("always", "wondered"): "wondered",
    ("refer", "to"): "mean", ("как", "эксперт"): "вопрос",
    ("як", "експерт"): "питання", ("your", "opinion"): "wondered", ("expert", "opinion"): "wondered",
    ("your", "view"): "wondered", ("ваш", "взгляд"): "вопрос", ("вашему", "мнению"): "вопрос",
    ("ваше", "мнение"): "вопрос", ("вашу", "думку"): "питання", ("ваш", "погляд"): "питання",
    ("всегда", "интересовало"): "интересовало", ("всегда", "интересно"): "интересно",
    ("завжди", "цікавило"): "цікавило", ("завжди", "цікаво"): "цікаво",
    **dict.fromkeys(
        [("good", "morning"), ("good", "afternoon"), ("good", "evening"), ("добрый", "день"),
         ("доброго", "дня"), ("добрый", "вечер"), ("доброе", "утро"), ("добрий", "день"),
         ("добрий", "вечір"), ("доброго", "ранку")],
        "hello",
    ),
    **dict.fromkeys(
        [("who", "else"), ("which", "other"), ("кто", "еще"), ("кого", "еще"), ("кому", "еще"),
         ("хто", "ще"), ("кого", "ще"), ("кому", "ще")],
        _OTHERS,
    ),
}  # fmt: skip
_RU_STEMMER = snowballstemmer.stemmer("russian")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Stem one case-folded word with the Snowball stemmer for its script.

    Ukrainian words go through the Russian stemmer with і ї є ґ mapped to и и е г,
    which strips most shared inflections (зміна, зміну -> змин).
    """
    if _CYRILLIC.search(word):
        word = word.translate(_UKRAINIAN_TO_RUSSIAN)
        return _RU_STEM_OVERRIDES.get(word) or _RU_STEMMER.stemWord(word)
    if word.isascii() and word.isalpha():
        return _EN_STEM_OVERRIDES.get(word) or _EN_STEMMER.stemWord(word)
    return word


_CONTEXT_STEMS = frozenset(stem(w) for w in CONTEXT_WORDS)
_INTERROGATIVE_STEMS = frozenset(stem(w) for w in QUESTION_WORDS)


def names_nothing(tokens: Iterable[str]) -> bool:
    """Whether tokens are interrogatives alone ("where is it?" is "where"): no subject."""
    return not named(tokens)


def named(tokens: Iterable[str]) -> list[str]:
    """The tokens that name something: all but the interrogatives."""
    return [t for t in tokens if t not in _INTERROGATIVE_STEMS]


_SURROGATES = re.compile("[\ud800-\udfff]")


def without_surrogates(text: str) -> str:
    """Text that encodes as UTF-8: lone surrogates (from bad bytes in argv, or a Telegram
    update's JSON) become U+FFFD."""
    return _SURROGATES.sub("\ufffd", text)


def _one_script(word: re.Match[str]) -> str:
    """A word mixing Latin and Cyrillic letters ("Cтахaнов", pasted or typed on a phone) in
    the script most of its letters use, look-alike letters only; other words unchanged."""
    cyrillic = len(_CYRILLIC.findall(word[0]))
    if not cyrillic or not _LATIN.search(word[0]):
        return word[0]
    looks = _TO_CYRILLIC_LOOKS if 2 * cyrillic >= len(word[0]) else _TO_LATIN_LOOKS
    return word[0].translate(looks)


def on_other_layout(keys: str) -> tuple[str, str]:
    """Latin keys typed with the keyboard left on the English layout, as the Russian and the
    Ukrainian layouts read them ("cnf[fyjd" is "стаханов")."""
    keys = keys.casefold().translate(_SHIFTED_KEYS)
    return keys.translate(_LAYOUTS[0]), keys.translate(_LAYOUTS[1])


def without_list_size(text: str) -> str:
    """Text without the size of a list it asks for ("3 facts about", "пять фактов о")."""
    return _N_FACTS.sub(" ", text)


def words(text: str) -> list[str]:
    """Split a text into case-folded words, dropping punctuation and control characters.

    A number with a slash ("mine 2/43") stays one word, so "2+2" doesn't read as that mine.
    """
    text = _ANSI_ESCAPE.sub(" ", unicodedata.normalize("NFKC", text))
    text = _SEARCH_EXCLUSION.sub(" ", text.translate(_CONTROL)).casefold()
    text = without_list_size(text)
    text = _ELONGATED.sub(r"\1", text)
    if _LATIN.search(text) and _CYRILLIC.search(text):
        text = _LETTERS.sub(_one_script, text)
    text = _APOSTROPHES.sub("", _EN_CONTRACTION.sub("", text.replace("ё", "е")))
    text = _NUMBER_SLASH.sub("x", text)
    return [w for w in _NON_WORD.split(text) if w]


class Normaliser:
    """Turns texts into content tokens; built once per knowledge load.

    A synonym matches first by its exact words, then by their stems (a variant as
    written also counts as a stem: Стаханова stems to Стаханов), so a variant
    whose stem collides with another word ("stakhanovism" -> "stakhanov") still maps
    only where it was written; a canonical form's own stem always wins a collision.
    """

    def __init__(self, synonyms: Mapping[str, Iterable[str]] | None = None) -> None:
        self._exact: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._stemmed: dict[tuple[str, ...], tuple[str, ...]] = {}
        pending: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
        for canonical, variants in (synonyms or {}).items():
            target = tuple(stem(w) for w in _content_words(canonical))
            if not target:
                continue
            for variant in (canonical, *variants):
                key = tuple(_content_words(variant))
                if key:
                    self._exact.setdefault(key, target)
                    pending.append((tuple(stem(w) for w in key), target))
                    pending.append((key, target))
            self._stemmed.setdefault(target, target)
        for key, target in pending:
            self._stemmed.setdefault(key, target)
        self._longest = max((len(k) for k in self._exact), default=1)

    def tokens(self, text: str) -> tuple[str, ...]:
        """The content tokens of a text, synonyms mapped to their canonical form."""
        found = _content_words(text)
        out: list[str] = []
        i = 0
        while i < len(found):
            for size in range(min(self._longest, len(found) - i), 0, -1):
                key = tuple(found[i : i + size])
                target = self._exact.get(key) or self._stemmed.get(tuple(map(stem, key)))
                if target is not None:
                    out.extend(target)
                    i += size
                    break
            else:
                out.append(stem(found[i]))
                i += 1
        return tuple(out)

    def variants(self) -> list[tuple[str, str]]:
        """Single-word synonym variants (stemmed) and the single token each stands for."""
        pairs = {**self._stemmed, **self._exact}.items()
        return [(k[0], t[0]) for k, t in pairs if len(k) == 1 and len(t) == 1 and k != t]

    def normalise(self, text: str) -> str:
        """The tokens joined by spaces: the form stored in logs and shown in debug output."""
        return " ".join(self.tokens(text))


def _content_words(text: str) -> list[str]:
    """Words minus stop words, with "what's" read as "what", "how come" as "why"."""
    found = [_CONTRACTIONS.get(w, w) for w in words(text)]
    out: list[str] = []
    i = 0
    while i < len(found):
        idiom = _IDIOMS.get(tuple(found[i : i + 2]))
        out.append(idiom or found[i])
        i += 2 if idiom else 1
    return [w for w in out if w not in STOP_WORDS and stem(w) not in _CONTEXT_STEMS]


_LATIN_TO_CYRILLIC = [
    ("shch", "щ"), ("sch", "щ"), ("zh", "ж"), ("kh", "х"), ("ch", "ч"), ("sh", "ш"),
    ("tsya", "тся"), ("ts", "ц"), ("yu", "ю"), ("ju", "ю"), ("ya", "я"), ("ja", "я"), ("yo", "е"),
    ("ay", "ай"), ("ey", "ей"), ("oy", "ой"), ("uy", "уй"),
    ("ye", "е"), ("je", "е"), ("yi", "ї"), ("iy", "ий"), ("yy", "ый"),
    ("a", "а"), ("b", "б"), ("c", "ц"), ("d", "д"), ("e", "е"), ("f", "ф"), ("g", "г"),
    ("h", "х"), ("i", "и"), ("j", "й"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"),
    ("o", "о"), ("p", "п"), ("q", "к"), ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"),
    ("v", "в"), ("w", "в"), ("x", "кс"), ("y", "ы"), ("z", "з"), ("'", "ь"),
]  # fmt: skip
_LATIN_TO_UKRAINIAN = [
    ("shch", "щ"), ("zh", "ж"), ("kh", "х"), ("ch", "ч"), ("sh", "ш"), ("ts", "ц"),
    ("ia", "я"), ("ya", "я"), ("iu", "ю"), ("yu", "ю"), ("ie", "є"), ("ye", "є"), ("yi", "ї"),
    ("i", "і"), ("y", "и"), ("h", "г"), ("g", "ґ"),
]  # fmt: skip
_RUSSIAN = dict(_LATIN_TO_CYRILLIC)
_UKRAINIAN = {**_RUSSIAN, **dict(_LATIN_TO_UKRAINIAN)}


def _pattern(table: dict[str, str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(latin) for latin in sorted(table, key=len, reverse=True)))


_TO_RUSSIAN, _TO_UKRAINIAN = _pattern(_RUSSIAN), _pattern(_UKRAINIAN)


def to_cyrillic(word: str) -> str:
    """A Latin transliteration of a Russian word back in Cyrillic (unstemmed).

    Approximate ("kogda" -> "когда", "eto" -> "это"); the matcher tries it only for Latin
    words it does not know, and still needs the result in its vocabulary.
    """
    if word.startswith("e"):
        word = "э" + word[1:]
    if word.endswith(("ai", "ei", "oi")):
        word = word[:-1] + "j"
    return _TO_RUSSIAN.sub(lambda m: _RUSSIAN[m.group(0)], word)


def to_ukrainian(word: str) -> str:
    """The same word read as transliterated Ukrainian ("zaimavsia" -> "займався",
    "pislia" -> "після"): y is и, i is і, h is г, ia is я."""
    return _TO_UKRAINIAN.sub(lambda m: _UKRAINIAN[m.group(0)], word)
