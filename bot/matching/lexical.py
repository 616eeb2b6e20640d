"""The lexical signal: a weighted, typo-tolerant token overlap of question and phrasings, 0-100.

Built once per knowledge load: every phrasing (questions in every language, titles,
keywords) becomes a set of content tokens; each token gets an IDF weight (rare words
say more than "Stakhanov", which is everywhere). Per question, its tokens are normalised
once; a token the corpus does not know is looked up in the vocabulary with rapidfuzz
(typos such as "stakanov"), and one with no close match counts against every entry.

A phrasing's score blends two coverages: how much of the question (by weight) it
explains, and how much of the phrasing the question covers; a fixed "vagueness prior" in
the question's weight keeps questions made only of common words ("how", "Stakhanov") from
scoring high. An entry's score blends its best phrasing with how much of the question its
whole vocabulary (phrasings, keywords, answers) covers. A question whose content words are
exactly those of one entry's phrasing scores 100 for that entry. A message of several
sentences or clauses also scores each one alone, and an entry keeps its best score, so
context around a question ("my teacher mentioned him, who was he?") does not drown it. The
question arrives as `reading` prepared it. Scoring never touches the disk; what to do with the
scores is `decision`'s business.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot import normalise
from bot import words as word_lists
from bot.normalise import Normaliser, names_nothing, stem, to_cyrillic, to_ukrainian
from bot.words import STOP_WORDS

if TYPE_CHECKING:
    from bot.knowledge import Entry

OUT_OF_SCOPE = "(out of scope)"
"""The id of the pseudo-entry made of the knowledge file's out-of-scope examples."""

MAX_QUESTION_CHARS = 2000  # twice the longest question a chat accepts; bounds the work per message
QUESTION_WEIGHT = 0.5  # a phrasing's score: question explained and phrasing covered count equally
UNKNOWN_WEIGHT = 1.0  # an unknown word weighs as much as a word found in a single entry
ENTRY_WEIGHT = 0.7  # an entry's score: 70 % whole-vocabulary coverage, 30 % best phrasing
VAGUENESS_PRIOR = 1.0  # so "how Stakhanov" (only common words) cannot score high
FUZZY_CUTOFF = (
    78.0  # rapidfuzz ratio from which "stakanov" reads as "stakhanov"; lower took "paid" for "pad"
)
FUZZY_MIN_LENGTH = 4  # words shorter than this are too ambiguous to correct
SHORT_WORD = 5  # up to this length, OSA edit distance replaces ratio (a swap counts once)
STOP_WORD_CUTOFF = 85.0  # a misspelt stop word ("mutch") must be this close to be dropped
_ALIAS_CACHE_SIZE = 4096  # typo lookups remembered per index; bounds memory under hostile input
MAX_CLAUSES = 8  # clauses scored alone per message; bounds the work of a long message
_CLAUSE_BREAK = re.compile(r"(?:(?<=[.?!;:,])|(?<=\w\w\)))\s+|\n+|\s[—–-]\s")
_CORRECTION = re.compile(
    r"(?:[,.;:!?…]|\s[—–-])\s*(?:(?:hmm|oh|oops|ой|ні|нет|а нет|хотя нет)[,.!]?\s+)?"
    r"(?:no wait|or wait|wait no|scratch that|sorry|i mean|no|стоп|ой|а нет|хотя нет|нет|вернее|"
    r"точнее|то есть|ні|вірніше|точніше|тобто)\b[,.:!]?\s*",
    re.IGNORECASE,
)
"""A self-correction after a clause: "when did he... no wait, where did he die?"."""
_LONG_STOP_WORDS = sorted(w for w in STOP_WORDS if len(w) >= FUZZY_MIN_LENGTH)
_CYRILLIC_STOP_STEMS = frozenset(
    stem(w) for w in STOP_WORDS if not w.isascii() and len(w) >= FUZZY_MIN_LENGTH
)  # a question's Latin word arrives stemmed ("voobshch"): its reading is matched by stem
IGNORED: tuple[tuple[int, float], ...] = ((-1, 0.0),)
"""The aliases of a misspelt stop word ("mutch", "eto"): it stands for nothing and weighs nothing."""


@dataclass(frozen=True)
class HeldOut:
    """One phrasing left out of the index, for cross-validation (`LexicalIndex.held_out`)."""

    row: int
    slot: int
    sole_words: frozenset[int]
    """Vocabulary ids that only this phrasing brings to its entry."""
    exact_elsewhere: int
    """The entry slot another phrasing with exactly its tokens belongs to, else -1."""


@dataclass(frozen=True)
class LexicalScores:
    """The lexical signal of one question."""

    per_entry: np.ndarray
    """Per entry slot, 0-100 (-1 for the out-of-scope pseudo-entry)."""
    per_row: np.ndarray
    """Per indexed text, 0-100: phrasing against question."""
    exact: int
    """The entry slot one of whose phrasings has exactly the question's tokens, else -1."""
    tokens: tuple[str, ...]


class LexicalIndex:
    """The precomputed lexical index of one knowledge base; immutable after build."""

    def __init__(
        self,
        normaliser: Normaliser,
        entry_ids: Sequence[str],
        phrasings: Sequence[tuple[int, str, tuple[str, ...]]],
        bags: Sequence[frozenset[str]],
    ) -> None:
        self.normaliser = normaliser
        self.entry_ids = tuple(entry_ids)
        self.declining = self.entry_ids.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in entry_ids else -1
        self._texts = tuple(text for _, text, _ in phrasings)
        self._tokens = tuple(tokens for _, _, tokens in phrasings)
        self._entry_of = np.array([e for e, _, _ in phrasings], dtype=np.int64)
        self._starts = np.flatnonzero(np.r_[True, np.diff(self._entry_of) != 0])
        vocab: dict[str, int] = {}
        for bag in bags:
            for token in sorted(bag):
                vocab.setdefault(token, len(vocab))
        self._vocab = vocab
        self._vocab_words = list(vocab)
        spellings = dict(vocab)
        for variant, target in normaliser.variants():
            if target in vocab:
                spellings.setdefault(variant, vocab[target])
        self._spellings = list(spellings)
        self._known_stems = frozenset(spellings)
        self._spelling_ids = list(spellings.values())
        keys = [frozenset(tokens) for tokens in self._tokens]
        row_of, row_vids = _incidence(vocab, keys)
        entry_of, entry_vids = _incidence(vocab, bags)
        self._rows_with = _postings(len(vocab), row_of, row_vids)
        self._entries_with = _postings(len(vocab), entry_of, entry_vids)
        self._bags = tuple(bags)
        n = max(len(self.entry_ids) - (self.declining >= 0), 1)
        holders = np.bincount(entry_vids[entry_of != self.declining], minlength=len(vocab))
        self._idf = np.log(1 + n / np.maximum(holders, 1))
        self._unknown = UNKNOWN_WEIGHT * math.log(1 + n)
        totals = np.bincount(row_of, weights=self._idf[row_vids], minlength=len(phrasings))
        self._totals = np.maximum(totals, 1e-9)
        self._aliases: dict[str, tuple[tuple[int, float], ...]] = {}
        self._exact: dict[frozenset[str], int] = {}
        for entry, key in zip(self._entry_of.tolist(), keys, strict=True):
            if key and not names_nothing(key):
                self._exact[key] = entry if self._exact.get(key, entry) == entry else -1

    @classmethod
    def build(
        cls,
        entries: Iterable[Entry],
        synonyms: Mapping[str, Iterable[str]],
        out_of_scope: Iterable[str] = (),
        cache: TokenCache | None = None,
    ) -> LexicalIndex:
        """Index the entries, plus the out-of-scope examples as one more, declining, entry.

        With a cache, the tokens of the whole corpus are read back in one piece when
        neither the texts, the synonyms nor the normalising code changed.
        """
        normaliser = Normaliser(synonyms)
        groups = [
            (e.id, tuple(dict.fromkeys(e.phrasings())), tuple(e.answer.values())) for e in entries
        ]
        examples = tuple(dict.fromkeys(out_of_scope))
        if examples:
            groups.append((OUT_OF_SCOPE, examples, ()))
        texts = [t for _, phrasings, answers in groups for t in (*phrasings, *answers)]
        tokens = _corpus_tokens(normaliser, synonyms, texts, cache)
        ids: list[str] = []
        rows: list[tuple[int, str, tuple[str, ...]]] = []
        bags: list[frozenset[str]] = []
        for number, (entry_id, phrasings, answers) in enumerate(groups):
            ids.append(entry_id)
            words = [tokens[text] for text in phrasings]
            rows.extend(zip(itertools.repeat(number), phrasings, words))
            bags.append(frozenset().union(*words, *(tokens[a] for a in answers)))
        return cls(normaliser, ids, rows, bags)

    def phrasing_tokens(self) -> Iterator[tuple[str, str, tuple[str, ...]]]:
        """Each indexed text (out-of-scope examples included) with its entry id and tokens."""
        for entry, text, tokens in zip(self._entry_of, self._texts, self._tokens, strict=True):
            yield self.entry_ids[int(entry)], text, tokens

    def knows_all(self, entry_id: str, tokens: Iterable[str]) -> bool:
        """Whether every token (or a spelling it stands for) is a word of the entry's phrasings
        or answers: a follow-up read with the question before it ("where is he buried?" after
        his death) is not answered by an entry that has no word for what it asks."""
        bag = self._bags[self.entry_ids.index(entry_id)]
        return all(
            token in bag or any(self._vocab_words[v] in bag for v, _ in self.aliases(token))
            for token in tokens
        )

    def knows(self, token: str) -> bool:
        """Whether a normalised word is in the vocabulary as it is (no typo lookup)."""
        return token in self._vocab

    def knows_stem(self, word_stem: str) -> bool:
        """Whether a stem is a vocabulary word or a synonym's spelling of one."""
        return word_stem in self._known_stems

    @property
    def vocabulary_size(self) -> int:
        return len(self._vocab)

    def aliases(self, token: str) -> tuple[tuple[int, float], ...]:
        """Vocabulary ids a question token stands for, with a similarity 0-1 each.

        An unknown Latin word is first read as transliterated Russian or Ukrainian ("kogda
        umer" -> "когда умер"); failing an exact hit, unknown tokens get a fuzzy lookup. A
        misspelt stop word ("mutch", "eto") stands for nothing and weighs nothing.
        """
        vid = self._vocab.get(token)
        if vid is not None:
            return ((vid, 1.0),)
        cached = self._aliases.get(token)
        if cached is not None:
            return cached
        spellings = latin_spellings(token)
        readings = [self.reading(cyrillic) for cyrillic in spellings]
        found = self.known_reading(spellings, readings)
        if found is None:
            found = self._fuzzy(token)
            for reading in readings:
                found = found or self._fuzzy(reading)
        if len(self._aliases) < _ALIAS_CACHE_SIZE:
            self._aliases[token] = found
        return found

    def known_reading(
        self, spellings: Sequence[str], readings: Sequence[str]
    ) -> tuple[tuple[int, float], ...] | None:
        """For a Latin word read as transliterated Russian, else Ukrainian: the first reading
        that is a stop word (ignored) or a known word decides; None if neither does."""
        for cyrillic, reading in zip(spellings, readings, strict=True):
            if cyrillic in STOP_WORDS or stem(cyrillic) in _CYRILLIC_STOP_STEMS:
                return IGNORED
            if reading in self._vocab:
                return ((self._vocab[reading], 1.0),)
        return None

    def reading(self, cyrillic: str) -> str:
        """A Cyrillic reading of a Latin word, normalised like a question's word."""
        read = self.normaliser.tokens(cyrillic)
        return read[0] if len(read) == 1 else stem(cyrillic)

    def _fuzzy(self, token: str) -> tuple[tuple[int, float], ...]:
        """Close vocabulary words (or synonym spellings) for an unknown token, or IGNORED
        for a misspelt stop word.

        Words of up to SHORT_WORD letters are compared by OSA edit distance, where a swap
        counts once ("qouta" is "quota") but one edit in four letters is too far ("paid" is
        not "pad"); longer words by rapidfuzz's ratio.
        """
        if len(token) < FUZZY_MIN_LENGTH or not token.isalpha():
            return ()
        short = len(token) <= SHORT_WORD
        hits = process.extract(
            token,
            self._spellings,
            scorer=OSA.normalized_similarity if short else fuzz.ratio,
            processor=None,
            score_cutoff=FUZZY_CUTOFF / 100.0 if short else FUZZY_CUTOFF,
            limit=6,
        )
        if hits:
            best: dict[int, float] = {}
            for _, score, index in hits:
                vid = self._spelling_ids[index]
                similarity = score if short else score / 100.0
                best[vid] = max(best.get(vid, 0.0), similarity)
            return tuple(sorted(best.items(), key=lambda a: -a[1])[:3])
        stop = process.extractOne(
            token,
            _LONG_STOP_WORDS,
            scorer=fuzz.ratio,
            processor=None,
            score_cutoff=STOP_WORD_CUTOFF,
        )
        return IGNORED if stop else ()

    def scores(
        self, tokens: Iterable[str], held_out: HeldOut | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per phrasing, a score 0-100; per entry, the share of the question it covers.

        With `held_out`, as if that phrasing were not in the index (see `held_out`)."""
        rows, entries = len(self._texts), len(self.entry_ids)
        covered_q = np.zeros(rows)
        covered_p = np.zeros(rows)
        covered_e = np.zeros(entries)
        total_q = 0.0
        for token in set(tokens):
            aliases = self.aliases(token)
            if not aliases:
                total_q += self._unknown
                continue
            if aliases is IGNORED:
                continue
            weight = self._idf[max(aliases, key=lambda a: (a[1], -self._idf[a[0]]))[0]]
            total_q += weight
            best_q = np.zeros(rows)
            best_p = np.zeros(rows)
            best_e = np.zeros(entries)
            for vid, sim in aliases:
                hit = self._rows_with[vid]
                best_q[hit] = np.maximum(best_q[hit], sim)
                best_p[hit] = np.maximum(best_p[hit], self._idf[vid] * sim)
                hit = self._entries_with[vid]
                if held_out is not None and vid in held_out.sole_words:
                    hit = hit[hit != held_out.slot]
                best_e[hit] = np.maximum(best_e[hit], sim)
            covered_q += weight * best_q
            covered_p += best_p
            covered_e += weight * best_e
        if held_out is not None:
            covered_q[held_out.row] = covered_p[held_out.row] = 0.0
        if total_q == 0:
            return covered_q, covered_e
        total_q += VAGUENESS_PRIOR
        q_part = covered_q / total_q
        p_part = np.minimum(covered_p / self._totals, 1.0)
        return 100.0 * q_part**QUESTION_WEIGHT * p_part ** (
            1 - QUESTION_WEIGHT
        ), covered_e / total_q

    def _entry_scores(
        self, tokens: tuple[str, ...], exact: bool = True, held_out: HeldOut | None = None
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """Per entry and per phrasing, the score 0-100 of one run of tokens, and the entry
        one of whose phrasings has exactly these tokens (-1 if none)."""
        per_row, coverage = self.scores(tokens, held_out)
        best_rows = np.maximum.reduceat(per_row, self._starts)
        per_entry = best_rows ** (1 - ENTRY_WEIGHT) * (100.0 * coverage) ** ENTRY_WEIGHT
        key = frozenset(tokens)
        hit = self._exact.get(key, -1) if exact else -1
        if held_out is not None and hit >= 0 and key == frozenset(self._tokens[held_out.row]):
            hit = held_out.exact_elsewhere
        if hit >= 0:
            per_entry[hit] = 100.0
        return per_entry, per_row, hit

    def score(self, question: str, held_out: HeldOut | None = None) -> LexicalScores:
        """Entry and phrasing scores of a question (as `prepared` gives it), each clause of it
        also scored alone."""
        question = question[:MAX_QUESTION_CHARS]
        tokens = self.normaliser.tokens(question)
        if not tokens or not self._texts:
            return LexicalScores(
                np.zeros(len(self.entry_ids)), np.zeros(len(self._texts)), -1, tokens
            )
        per_entry, per_row, hit = self._entry_scores(tokens, held_out=held_out)
        for clause in self._clauses(question):
            clause_tokens = self.normaliser.tokens(clause)
            if len(clause_tokens) >= 2 and clause_tokens != tokens:
                clause_entries, clause_rows, _ = self._entry_scores(
                    clause_tokens, exact=False, held_out=held_out
                )
                per_entry = np.maximum(per_entry, clause_entries)
                per_row = np.maximum(per_row, clause_rows)
        if self.declining >= 0:
            per_entry[self.declining] = -1.0
        return LexicalScores(per_entry, per_row, hit, tokens)

    def _clauses(self, question: str) -> list[str]:
        """The clauses scored alone; after a self-correction, only those of what follows it,
        when that says enough alone ("где он работал... стоп, а что было после министерства?")."""
        corrections = list(_CORRECTION.finditer(question))
        rest = question[corrections[-1].end() :] if corrections else ""
        if len(self.normaliser.tokens(rest)) < 2:
            return _clauses(question)
        return [rest, *_clauses(rest)]

    def held_out(self, row: int) -> HeldOut:
        """What leaving phrasing `row` out of the index changes, for cross-validation: its
        own score, the words only it brings to its entry, and its exact-token match."""
        slot = int(self._entry_of[row])
        start = self._starts[slot]
        end = self._starts[slot + 1] if slot + 1 < len(self._starts) else len(self._texts)
        others = set().union(*(self._tokens[r] for r in range(start, end) if r != row))
        in_rows = others.union(self._tokens[row])
        answer_only = self._bags[slot] - in_rows
        sole = set(self._tokens[row]) - others - answer_only
        key = frozenset(self._tokens[row])
        elsewhere = {int(self._entry_of[r]) for r in self._rows_with_key(key) if r != row}
        exact = elsewhere.pop() if len(elsewhere) == 1 else -1
        return HeldOut(row, slot, frozenset(self._vocab[t] for t in sole), exact)

    def _rows_with_key(self, key: frozenset[str]) -> list[int]:
        if not key:
            return []
        rows = set.intersection(*(set(self._rows_with[self._vocab[t]].tolist()) for t in key))
        return [r for r in rows if frozenset(self._tokens[r]) == key]

    @property
    def texts(self) -> tuple[str, ...]:
        """Every indexed text, in row order (out-of-scope examples last)."""
        return self._texts

    @property
    def row_entries(self) -> np.ndarray:
        """Per row, the slot of the entry it belongs to."""
        return self._entry_of

    @property
    def row_starts(self) -> np.ndarray:
        """The first row of each entry slot, for `np.maximum.reduceat`."""
        return self._starts

    def best_row(self, per_row: np.ndarray, slot: int) -> int:
        """The row of entry `slot` that scores highest in `per_row`."""
        start = self._starts[slot]
        end = self._starts[slot + 1] if slot + 1 < len(self._starts) else len(per_row)
        return int(start + np.argmax(per_row[start:end]))

    def explains_as_much(self, row: int, rival: int, tokens: Sequence[str]) -> bool:
        """Whether phrasing `row` covers at least as much of the question (by weight) as
        phrasing `rival`: "how do coal mines work" does not explain "how much coal did
        Stakhanov mine" as well as "how much coal did Stakhanov mine in one shift" does."""
        words = [set(self._tokens[r]) for r in (row, rival)]
        covered = [0.0, 0.0]
        for token in set(tokens):
            aliases = [a for a in self.aliases(token) if a[0] >= 0]
            for side, have in enumerate(words):
                if any(self._vocab_words[vid] in have for vid, _ in aliases):
                    covered[side] += max(self._idf[vid] for vid, _ in aliases)
        return covered[0] >= covered[1]


class TokenCache(Protocol):
    def corpus(self, key: bytes) -> Any: ...
    def store_corpus(self, key: bytes, value: Any) -> None: ...


_CODE = b"".join(
    Path(module.__file__).read_bytes() for module in (normalise, word_lists, sys.modules[__name__])
)


def _corpus_tokens(
    normaliser: Normaliser,
    synonyms: Mapping[str, Iterable[str]],
    texts: Sequence[str],
    cache: TokenCache | None,
) -> dict[str, tuple[str, ...]]:
    """Each text's tokens, from the cache when the corpus, synonyms and code are unchanged.

    After an edit, the tokens of the last corpus built with the same synonyms and code are
    reused, so a reload normalises only the texts that changed.
    """
    if cache is None:
        return {t: normaliser.tokens(t) for t in texts}
    setup = hashlib.sha256(_CODE)
    setup.update(json.dumps({k: list(v) for k, v in synonyms.items()}).encode())
    corpus = setup.copy()
    corpus.update("".join(f"\x1f{text}" for text in texts).encode("utf-8", "surrogatepass"))
    key = b"tokens:" + corpus.digest()
    stored = cache.corpus(key)
    if isinstance(stored, str):
        unpacked = _unpacked(stored)
        if len(unpacked) == len(texts):
            return dict(zip(texts, unpacked, strict=True))
    latest = b"tokens-latest:" + setup.digest()
    known = cache.corpus(latest)
    if not isinstance(known, dict):
        known = {}
    tokens = {
        t: tuple(known[t]) if isinstance(known.get(t), list) else normaliser.tokens(t)
        for t in texts
    }
    cache.store_corpus(key, _packed([tokens[t] for t in texts]))
    cache.store_corpus(latest, tokens)
    return tokens


def _packed(corpus: Sequence[tuple[str, ...]]) -> str:
    """A corpus's tokens as one string: reads back in half the time of a JSON list of lists
    (a token never holds the separators, control characters that normalising drops)."""
    return "\x1e".join("\x1f".join(tokens) for tokens in corpus)


def _unpacked(packed: str) -> list[tuple[str, ...]]:
    return [tuple(text.split("\x1f")) if text else () for text in packed.split("\x1e")]


def latin_spellings(token: str) -> tuple[str, ...]:
    """A Latin word as transliterated Russian and as Ukrainian (once if they agree)."""
    if not (token.isascii() and token.isalpha()):
        return ()
    return tuple(dict.fromkeys((to_cyrillic(token), to_ukrainian(token))))


def _clauses(question: str) -> list[str]:
    """The sentences and clauses of a longer message, where its question usually is
    ("I'm a retired miner from Donbas. How much coal did he cut?"); [] for one clause."""
    parts = [p for p in _CLAUSE_BREAK.split(question) if p.strip()]
    return parts[:MAX_CLAUSES] if len(parts) > 1 else []


def _incidence(
    vocab: Mapping[str, int], groups: Iterable[frozenset[str]]
) -> tuple[np.ndarray, np.ndarray]:
    """Each (group, vocabulary id) pair of a group holding that word, as two parallel arrays
    in group order: the sparse matrix the postings, idf and totals are read from at once."""
    sizes: list[int] = []
    vids: list[int] = []
    for group in groups:
        sizes.append(len(group))
        vids.extend(map(vocab.__getitem__, group))
    group_of = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
    return group_of, np.array(vids, dtype=np.int64)


def _postings(size: int, group_of: np.ndarray, vids: np.ndarray) -> list[np.ndarray]:
    """For each vocabulary id, the indexes of the groups (rows or entries) containing it."""
    grouped = group_of[np.argsort(vids, kind="stable")]
    ends = np.cumsum(np.bincount(vids, minlength=size)).tolist()
    return [grouped[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True)]
