"""How a question is read before either signal scores it.

People type around their question: a letter's closing and signature, a request for the source
at the end ("..., and where's that from?"), a topic set aside ("not the man, the city"), words
split by dictation ("ста ханов"), Russian or Ukrainian in Latin letters ("kogda umer"), or keys
typed on the wrong keyboard layout ("rjulf evth"). `Reader.prepared` undoes these once per
question, so the exact match, the lexical scores and the encoder all read the same text. What
counts as a known word is the lexical index's vocabulary.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence

from bot import normalise
from bot.language import has_cyrillic
from bot.matching.lexical import IGNORED, MAX_QUESTION_CHARS, LexicalIndex, latin_spellings
from bot.normalise import stem, to_cyrillic, to_ukrainian
from bot.words import (
    QUESTION_WORDS,
    SIGN_OFFS,
    SOURCE_NOUNS,
    SOURCE_REQUEST_WORDS,
    SOURCE_SUBJECTS,
    STOP_WORDS,
)

JOIN_SIMILARITY = 0.9  # a word known less closely than this may be a piece of a split word
JOIN_PIECES = 3  # "stack an of": at most this many pieces make one word
MAX_JOINS = 12  # doubtful words tried for a join per message; bounds the work of gibberish
_SPLIT_PIECE = re.compile(r"[^\W\d_]+(?:['’ʼ][^\W\d_]+)*")
_HAS_LATIN = re.compile(r"[A-Za-z]")
_KEY_RUN = re.compile(r"""[A-Za-z\[\]{};:'"<>,.`~]+""")
"""Keys that type Cyrillic letters on a Russian or Ukrainian layout (a run is read when one of
them is a letter)."""
_SIGN_OFF = re.compile(
    r"(?<=[.?!…])\s*(?:" + "|".join(map(re.escape, SIGN_OFFS)) + r")\b[\s,.!]*"
    r"(?:[^\W\d_][\w'’-]*\.?\s*){0,3}$",
    re.IGNORECASE,
)
"""A letter's closing after its last sentence: "... held? Best regards, Anna"."""
_ASIDE_START = r"(?:^|(?<=[,;.!?—–:]))[\s,]*"
_ASIDE_WORDS = r"(?:[^\s,;.!?—–:]+\s*){1,5}"
_NEGATED_ASIDE = re.compile(
    rf"{_ASIDE_START}(?:(?:no|nope|and|but)[\s,]+)?not\s+{_ASIDE_WORDS}(?=[,;.!?—–:]|\s-\s|$)"
    rf"|{_ASIDE_START}(?:а|и|і|но|але)\s+не\s+{_ASIDE_WORDS}(?=[,;.!?—–:]|\s-\s|$)"
    rf"|{_ASIDE_START}(?:(?:нет|ні)[\s,]+)?не\s+{_ASIDE_WORDS}(?=[,;]\s*(?:а|але|но)\s|[—–]|\s-\s)",
    re.IGNORECASE,
)
"""A short clause setting a topic aside: "no, I meant the city, not the man", "not the 102 tons —
did anyone beat it?", "про нагороди, а не про книжки", "не про книжки, а про нагороди". A
Russian or Ukrainian "не" clause counts only before "а"/"але" or a dash: "не місцевий, не
донбаський?" asks about the negatives."""
TRANSLIT_WORDS = 1  # one known Cyrillic reading outnumbering English words is enough (2 lost one)
LAYOUT_MIN_LETTERS = 3  # "u" is "г" and "de" is "ву" on a Russian layout: too short to tell
SOURCE_REQUEST_WORDS_MAX = 8  # the longest "and where does that information come from" we cut


class Reader:
    """Reads questions against one lexical index's vocabulary; immutable."""

    def __init__(self, index: LexicalIndex) -> None:
        self.index = index
        self.normaliser = index.normaliser

    def prepared(self, question: str) -> str:
        """The question as both signals read it: bounded, a letter's closing and name cut off,
        split words joined again, and a request for the source at its end cut off when what
        remains is a question that says enough alone ("You know a lot. Where's that from?" asks
        for the source)."""
        question = _without_sign_off(question[:MAX_QUESTION_CHARS])
        question = self.in_cyrillic(self.rejoined(self.on_right_layout(question)))
        question = self._without_aside(normalise.without_list_size(question))
        rest = _without_source_request(question)
        if rest == question:
            return question
        asks = "?" in rest or not QUESTION_WORDS.isdisjoint(normalise.words(rest))
        return rest if asks and len(self.normaliser.tokens(rest)) >= 2 else question

    def _without_aside(self, question: str) -> str:
        """The question without the topics it sets aside, when what remains names two things."""
        rest = _NEGATED_ASIDE.sub(" ", question)
        if rest == question or len(self.normaliser.tokens(rest)) < 2:
            return question
        return rest

    def in_cyrillic(self, question: str) -> str:
        """A question typed in Latin letters in Russian or Ukrainian ("kak seichas nazyvaetsya
        gorod"), written back in Cyrillic, so the exact match and the encoder read it too; other
        text unchanged. It is such a question when at least TRANSLIT_WORDS of its words read as
        known Cyrillic words and more of them do than read as English ones (known words, or
        English stop words); then every word but the English ones is spelled in the language
        more of them read as. Names spelled alike in both scripts ("stakhanov") count for neither.
        """
        if has_cyrillic(question):
            return question
        words = {w: self.normaliser.tokens(w) for w in _SPLIT_PIECE.findall(question.casefold())}
        english = {w for w, tokens in words.items() if self._english(w, tokens)}
        known, said = [], []
        for spell in (to_cyrillic, to_ukrainian):
            spelled = {w: spell(w) for w in words.keys() - english}
            known.append(sum(self._reads_as_known(words[w], c) for w, c in spelled.items()))
            said.append(sum(c in STOP_WORDS for c in spelled.values()))
        if max(known) < TRANSLIT_WORDS or max(known) <= len(english):
            return question
        ukrainian = known[1] + said[1] > known[0] + said[0]
        spell = to_ukrainian if ukrainian else to_cyrillic
        return _SPLIT_PIECE.sub(
            lambda m: m[0] if m[0].casefold() in english else spell(m[0].casefold()), question
        )

    def on_right_layout(self, question: str) -> str:
        """A question typed with the keyboard left on the English layout ("rjulf evth
        cnf[fyjd", "коли помер Cnf[fyjd"), its Latin runs of keys read on the Russian or the
        Ukrainian layout, by the same count as `in_cyrillic`: at least TRANSLIT_WORDS runs
        read as known Cyrillic words of LAYOUT_MIN_LETTERS or more, more than are English
        words or read as transliterated ones. A run's trailing comma or full stop is tried
        both as a key (б, ю) and as punctuation."""
        runs = {m[0] for m in _KEY_RUN.finditer(question) if _HAS_LATIN.search(m[0])}
        if not any(map(self._may_be_on_layout, runs)):
            return question
        english = {run for run in runs if self._english_run(run)}
        readings = {run: self._layout_reading(run) for run in runs - english}
        known = [sum(r[i][1] for r in readings.values()) for i in (0, 1)]
        if max(known) < TRANSLIT_WORDS or max(known) <= len(english):
            return question
        if max(known) <= self._transliterated(runs - english):
            return question
        said = [sum(r[i][0].rstrip(",.") in STOP_WORDS for r in readings.values()) for i in (0, 1)]
        side = int(known[1] + said[1] > known[0] + said[0])
        return _KEY_RUN.sub(
            lambda m: readings[m[0]][side][0] if m[0] in readings else m[0], question
        )

    def _may_be_on_layout(self, run: str) -> bool:
        """A quick test before the careful one: a reading of the run stems to a known word."""
        return any(
            len(word) >= LAYOUT_MIN_LETTERS and self.index.knows_stem(stem(word))
            for keys in {run, run.rstrip(",.")}
            for word in normalise.on_other_layout(keys)
        )

    def _transliterated(self, runs: Iterable[str]) -> int:
        """How many runs read as known words transliterated ("kogda", "pomer")."""
        words = [run.casefold() for run in runs if run.isalpha()]
        return sum(
            any(self._reads_as_known((), c) for c in latin_spellings(word)) for word in words
        )

    def _english_run(self, run: str) -> bool:
        word = run.casefold()
        return word.isalpha() and self._english(word, self.normaliser.tokens(word))

    def _layout_reading(self, run: str) -> tuple[tuple[str, bool], tuple[str, bool]]:
        """The run on the Russian and on the Ukrainian layout, each with whether it reads as
        a known word; a trailing "," or "." stays punctuation unless it makes a known word."""
        short = run.rstrip(",.")
        wholes, cuts = normalise.on_other_layout(run), normalise.on_other_layout(short)
        russian, ukrainian = (
            (whole, True)
            if self._known_on_layout(whole)
            else (cut + run[len(short) :], self._known_on_layout(cut))
            for whole, cut in zip(wholes, cuts, strict=True)
        )
        return russian, ukrainian

    def _known_on_layout(self, word: str) -> bool:
        return len(word) >= LAYOUT_MIN_LETTERS and self._reads_as_known((), word)

    def _english(self, word: str, tokens: tuple[str, ...]) -> bool:
        """An English word (`tokens` its normalised form): a known content word or a stop word
        that reads as no Russian or Ukrainian one ("who", not "on" or "to")."""
        spellings = latin_spellings(word)
        if any(c in STOP_WORDS for c in spellings):
            return False
        if word in STOP_WORDS:
            return True
        return bool(tokens) and self.index.knows(tokens[0]) and not self._alike(tokens, spellings)

    def _alike(self, tokens: tuple[str, ...], spellings: Sequence[str]) -> bool:
        """A name spelled alike in both scripts ("stakhanov", "aleksei"): a spelling
        normalises to the Latin word's `tokens`."""
        return any(self.normaliser.tokens(c) == tokens for c in spellings)

    def _reads_as_known(self, tokens: tuple[str, ...], cyrillic: str) -> bool:
        return (
            cyrillic not in STOP_WORDS
            and self.index.knows(self.index.reading(cyrillic))
            and not self._alike(tokens, (cyrillic,))
        )

    def rejoined(self, question: str) -> str:
        """The question with words split by dictation or a slip of the space bar joined
        again ("ста ханов", "мініс терстві", "stak hanov"), when a word the index doesn't
        know, or only roughly, joins one or two neighbours into a word it knows."""
        pieces = list(_SPLIT_PIECE.finditer(question))
        out: list[str] = []
        done = i = tries = 0
        while i < len(pieces) and tries < MAX_JOINS:
            span = None
            if self._doubtful(pieces[i][0]):
                tries += 1
                span = self._join_at(question, pieces, i)
            if span is None:
                i += 1
                continue
            start, end = span
            out.append(question[done : pieces[start].start()])
            out.append("".join(p[0] for p in pieces[start : end + 1]))
            done = pieces[end].end()
            i = end + 1
        return "".join(out) + question[done:] if out else question

    def _similarity(self, word: str) -> float | None:
        """How close a word comes to a known content word (None: it is no one content word)."""
        tokens = self.normaliser.tokens(word)
        aliases = self.index.aliases(tokens[0]) if len(tokens) == 1 else IGNORED
        if aliases is IGNORED:
            return None
        return max((sim for _, sim in aliases), default=0.0)

    def _doubtful(self, word: str) -> bool:
        similarity = self._similarity(word)
        return similarity is not None and similarity < JOIN_SIMILARITY

    def _join_at(
        self, question: str, pieces: Sequence[re.Match[str]], i: int
    ) -> tuple[int, int] | None:
        """The shortest run of pieces around piece i that joins into a word the index knows
        as it is (no typo lookup: that would cost a search of the vocabulary per try)."""
        for size in range(2, JOIN_PIECES + 1):
            for start in range(max(i - size + 1, 0), min(i, len(pieces) - size) + 1):
                run = pieces[start : start + size]
                gaps = (question[a.end() : b.start()] for a, b in itertools.pairwise(run))
                if all(g.isspace() for g in gaps) and self._known("".join(p[0] for p in run)):
                    return start, start + size - 1
        return None

    def _known(self, word: str) -> bool:
        """Whether a word is one content word of the index, as written or transliterated."""
        tokens = self.normaliser.tokens(word)
        if len(tokens) != 1:
            return False
        if self.index.knows(tokens[0]):
            return True
        spellings = latin_spellings(tokens[0])
        found = self.index.known_reading(spellings, [self.index.reading(s) for s in spellings])
        return found is not None and found is not IGNORED


def _without_sign_off(question: str) -> str:
    """The message without the closings at its end ("... Thanks in advance. Regards, Tom")."""
    while (cut := _SIGN_OFF.sub("", question)) != question:
        question = cut
    return question


def _without_source_request(question: str) -> str:
    """The question without a trailing request for the source ("..., and where's that from?",
    "... и откуда эти данные", "... звідки ця інформація?"); unchanged when it has none."""
    pieces = list(_SPLIT_PIECE.finditer(question))[-SOURCE_REQUEST_WORDS_MAX:]
    said: set[str] = set()
    cut = len(question)
    for piece in reversed(pieces):
        word = normalise.words(piece[0])[0]
        if word not in SOURCE_REQUEST_WORDS and word not in STOP_WORDS:
            break
        said.add(word)
        if _asks_for_the_source(said):
            cut = piece.start()
    return question[:cut]


def _asks_for_the_source(said: set[str]) -> bool:
    if SOURCE_NOUNS & said:
        return True
    asks = {"where", "from"} <= said or bool({"откуда", "звідки"} & said)
    return asks and bool(SOURCE_SUBJECTS & said)
