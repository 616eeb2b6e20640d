"""The decision: fuse the lexical and semantic signals into answer, "did you mean" or decline.

The lexical score (0-100) stays the base: it knows phrasings, typos and near-topic traps.
The encoder adds what it is good at, ranking, as a bonus for agreement: the entry the
encoder ranks first gets

    bonus = min(AGREEMENT_GAIN * (its cosine - the next best cosine), AGREEMENT_CAP)

where "the next best" includes the knowledge file's out-of-scope examples. So a clear
semantic preference lifts the entry both signals name, lifts a decline to "did you mean" when the
words are new but the meaning is close, and does nothing when the encoder hesitates or an
out-of-scope example reads closest (where cosines can't tell in-scope from out-of-scope, a margin
can). When an out-of-scope example is the encoder's first by such a lead, every entry loses that
much instead.

Below the `clarify` line a question is declined; an answer needs a `margin` over the runner-up.
Without the encoder the best entry is then answered from the `answer` line; with it, the
confidence model (bot.matching.confidence) reads both signals for the best entry and answers
when it is sure enough, else offers choices.

An out-of-scope example declines a question when it rivals the best entry's closest phrasing
lexically (within `example_lead`, explaining as much of the question) and, with the encoder,
also reads at least as close in meaning (cosine within `example_veto`): so "how do coal mines
work" no longer declines "how much coal did he mine?". The parameters were chosen by
cross-validation over the evaluation sets (benchmarks/fusion_grid.py, README "How matching
works"); without the encoder, matching is the lexical decision alone, as before.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from bot.matching import confidence, followups
from bot.matching.confidence import MARGIN_CAP, NAMED_CAP, Reading
from bot.matching.lexical import LexicalIndex, LexicalScores
from bot.matching.reading import Reader
from bot.matching.semantic import SemanticIndex
from bot.matching.thresholds import Thresholds
from bot.normalise import is_small_talk, named, names_nothing

Status = Literal["answered", "clarify", "no_match"]


@dataclass(frozen=True)
class Fusion:
    """How the semantic signal adjusts the lexical one; one instance per mode."""

    agreement_gain: float
    """Score points per unit of cosine lead of the encoder's first entry over the next."""
    agreement_cap: float
    """The largest bonus: the encoder alone never turns a weak lexical score into an answer."""
    example_lead: float
    """An out-of-scope example within this many lexical points of the best entry's closest
    phrasing (and explaining as much of the question) may decline it."""
    example_veto: float
    """...but only if its cosine is within this of that phrasing's (1.0: no veto)."""


# lexical only: the decision as tuned before the encoder (a lead of 10 took false answers
# from 23 to 14 on the nine sets of the time for 0.8 points of top-1)
LEXICAL_ONLY = Fusion(agreement_gain=0.0, agreement_cap=0.0, example_lead=10.0, example_veto=1.0)
# by leave-one-set-out cross-validation over the evaluation sets (benchmarks/fusion_grid.py)
FUSED = Fusion(agreement_gain=35.0, agreement_cap=15.0, example_lead=10.0, example_veto=0.05)


@dataclass(frozen=True)
class Candidate:
    entry_id: str
    score: float
    phrasing: str
    lexical: float = 0.0
    semantic: float | None = None
    """The encoder's cosine with the entry's closest phrasing; None when not computed."""


@dataclass(frozen=True)
class Match:
    """The outcome for one question: its status and ranked candidates (best first)."""

    status: Status
    candidates: tuple[Candidate, ...]
    normalised: str
    small_talk: bool = False
    out_of_scope: str | None = None
    """The out-of-scope example that made the matcher decline, if one did."""
    read_with: str | None = None
    """The previous question this one was read with, as a follow-up (bot.matching.followups)."""
    confidence: float | None = None
    """The confidence model's probability that the best entry is right (bot.matching.confidence);
    None when the lexical line decided (no encoder, an exact phrasing, or nothing to offer)."""

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def score(self) -> float:
        return self.candidates[0].score if self.candidates else 0.0


@dataclass(frozen=True)
class _Signals:
    lexical: LexicalScores
    cosines: np.ndarray | None
    nearest: np.ndarray | None
    """Per entry slot, the cosine of its closest phrasing (None without the encoder)."""
    per_entry: np.ndarray
    per_row: np.ndarray


class Matcher:
    """Both indexes of one knowledge base and the decision between them; immutable."""

    def __init__(
        self,
        lexical: LexicalIndex,
        semantic: SemanticIndex | None = None,
        story: tuple[str, ...] = (),
    ) -> None:
        self.lexical = lexical
        self.reader = Reader(lexical)
        self.semantic = semantic
        self.story = story
        self.fusion = FUSED if semantic is not None else LEXICAL_ONLY
        self.entry_ids = lexical.entry_ids

    def _signals(self, question: str, held_out: int | None = None) -> _Signals:
        left_out = self.lexical.held_out(held_out) if held_out is not None else None
        question = self.reader.prepared(question)
        lexical = self.lexical.score(question, left_out)
        per_entry = np.maximum(lexical.per_entry, 0.0)
        cosines = nearest = None
        if self.semantic is not None and lexical.exact < 0 and len(lexical.per_row):
            cosines = (
                self.semantic.similarities(question)
                if held_out is None
                else self.semantic.held_out_similarities(held_out)
            )
            nearest = np.maximum.reduceat(cosines, self.lexical.row_starts)
            per_entry = per_entry + self._agreement(nearest)
        if lexical.exact >= 0:
            per_entry = per_entry.copy()
            per_entry[lexical.exact] = 100.0
        if self.lexical.declining >= 0:
            per_entry[self.lexical.declining] = -1.0
        return _Signals(lexical, cosines, nearest, np.minimum(per_entry, 100.0), lexical.per_row)

    def _agreement(self, nearest: np.ndarray) -> np.ndarray:
        """The bonus of the entry the encoder ranks first, by its lead over the next; when an
        out-of-scope example reads closest, the same amount is taken from every entry."""
        bonus = np.zeros(len(self.entry_ids))
        if len(nearest) < 2:
            return bonus
        first, second = np.argsort(-nearest)[:2]
        f = self.fusion
        lift = min(f.agreement_gain * float(nearest[first] - nearest[second]), f.agreement_cap)
        if first == self.lexical.declining:
            return bonus - lift
        bonus[first] = lift
        return bonus

    def _reading(self, s: _Signals, best: int, top: float, runner_up: float) -> Reading:
        """What both signals read for the best entry, for the confidence model."""
        nearest = s.nearest
        assert nearest is not None
        declining = self.lexical.declining
        others = np.delete(nearest, [i for i in (best, declining) if i >= 0])
        closest_other = float(others.max()) if len(others) else -1.0
        row = self.lexical.best_row(s.per_row, best)
        example = 0.0
        if declining >= 0:
            example = float(s.per_row[self.lexical.best_row(s.per_row, declining)])
        return Reading(
            score=top,
            margin=min(top - runner_up, MARGIN_CAP),
            lexical=float(max(s.lexical.per_entry[best], 0.0)),
            cosine=float(nearest[best]),
            lead_over_entries=float(nearest[best]) - closest_other,
            lead_over_examples=self._lead_over_examples(nearest, best),
            encoder_first=float(nearest[best] > closest_other),
            example_rivalry=example - float(s.per_row[row]),
            named_words=float(min(len(named(list(s.lexical.tokens))), NAMED_CAP)),
            names_nothing=float(names_nothing(s.lexical.tokens)),
        )

    def _lead_over_examples(self, nearest: np.ndarray, best: int) -> float:
        """How much closer the best entry reads than the nearest out-of-scope example (than a
        cosine of -1 when the knowledge has none)."""
        declining = self.lexical.declining
        return float(nearest[best] - (nearest[declining] if declining >= 0 else -1.0))

    def _confidence(self, s: _Signals, best: int, top: float, runner_up: float) -> float | None:
        """The confidence model's probability for the best entry; None without the encoder."""
        if s.nearest is None:
            return None
        return confidence.probability(self._reading(s, best, top, runner_up))

    @staticmethod
    def _sure(sure: float | None, top: float, runner_up: float, limits: Thresholds) -> bool:
        """Whether to answer rather than offer choices: ahead of the runner-up by the margin,
        and then sure enough by the confidence model, or without it over the answer line."""
        if top - runner_up < limits.margin:
            return False
        if sure is None:
            return top >= limits.answer
        return confidence.sure_enough(sure, limits.answer)

    def _candidates(self, s: _Signals, limit: int) -> tuple[Candidate, ...]:
        candidates: list[Candidate] = []
        for slot in np.argsort(-s.per_entry, kind="stable")[:limit]:
            score = float(s.per_entry[slot])
            if score <= 0:
                break
            row = self.lexical.best_row(s.per_row, int(slot))
            cosine = None
            if s.cosines is not None:
                cosine = round(float(s.cosines[self.lexical.best_row(s.cosines, int(slot))]), 3)
            candidates.append(
                Candidate(
                    self.entry_ids[int(slot)],
                    round(score, 1),
                    self.lexical.texts[row],
                    round(float(max(s.lexical.per_entry[slot], 0.0)), 1),
                    cosine,
                )
            )
        return tuple(candidates)

    def search(self, question: str, limit: int = 5) -> tuple[tuple[Candidate, ...], str]:
        """The best entries for a question, best first, and its normalised form."""
        signals = self._signals(question)
        return self._candidates(signals, limit), " ".join(signals.lexical.tokens)

    def _closest_example(self, s: _Signals, best: int, limits: Thresholds) -> str | None:
        """The out-of-scope example that rivals the best entry's closest phrasing, if any.

        Asked only when the best entry scores enough to be answered or offered, so an example
        is named only when it changes the outcome. Phrasing against phrasing: an entry's
        whole vocabulary covers many detail questions it cannot answer ("which hospital did
        he die in?"), an example does not.
        """
        declining = self.lexical.declining
        if declining < 0 or len(s.per_row) == 0:
            return None
        row = self.lexical.best_row(s.per_row, declining)
        if s.lexical.exact == declining:
            return self.lexical.texts[row]
        if s.lexical.exact >= 0 or s.per_row[row] < limits.clarify:
            return None
        rival = self.lexical.best_row(s.per_row, best)
        close = s.per_row[row] >= s.per_row[rival] - self.fusion.example_lead
        if not (close and self.lexical.explains_as_much(row, rival, s.lexical.tokens)):
            return None
        if s.cosines is not None:
            example = float(s.cosines[self.lexical.best_row(s.cosines, declining)])
            phrasing = float(s.cosines[self.lexical.best_row(s.cosines, best)])
            if example < phrasing - self.fusion.example_veto:
                return None
        return self.lexical.texts[row]

    def match(
        self,
        question: str,
        thresholds: Thresholds | None = None,
        held_out: int | None = None,
        previous: str | None = None,
    ) -> Match:
        """Answer confidently, ask to clarify (up to 3 suggestions), or decline.

        Small talk ("hi", "thanks", "как дела") is declined without matching, flagged so
        the front end can greet instead of apologising. With `held_out`, the question is
        indexed text number `held_out`, matched as if that text were not in the index
        (leave-one-out cross-validation of the knowledge). With `previous`, the question
        before it in the conversation, a short question not answered alone is read with it.
        """
        limits = thresholds or Thresholds()
        found = self._decide(question, limits, held_out)
        if previous is not None and (step := followups.story_step(question)):
            return self._story_step(found, previous, step, limits) or found
        if previous is None or found.status == "answered" or found.small_talk:
            return found
        own = named(found.normalised.split())
        if len(own) > followups.FOLLOW_UP_WORDS:
            return found
        again = self._decide(followups.joined(question, previous), limits)
        if again.status != "answered" or again.best is None:
            return found
        if not self.lexical.knows_all(again.best.entry_id, own):
            return found
        return replace(again, read_with=previous)

    def _story_step(
        self, found: Match, previous: str, step: int, limits: Thresholds
    ) -> Match | None:
        """The entry after (or before) the previous answer's in the story, if it has one."""
        before = self._decide(previous, limits)
        if before.status != "answered" or before.best is None:
            return None
        if before.best.entry_id not in self.story:
            return None
        at = self.story.index(before.best.entry_id) + step
        if not 0 <= at < len(self.story):
            return None
        told = Candidate(self.story[at], 100.0, phrasing="", lexical=100.0)
        return Match("answered", (told,), found.normalised, read_with=previous)

    def _decide(self, question: str, limits: Thresholds, held_out: int | None = None) -> Match:
        if is_small_talk(question):
            return Match("no_match", (), self.lexical.normaliser.normalise(question), True)
        s = self._signals(question, held_out)
        normalised = " ".join(s.lexical.tokens)
        candidates = self._candidates(s, 5)
        if not candidates or candidates[0].score < limits.clarify:
            return Match("no_match", candidates, normalised)
        best = int(np.argmax(s.per_entry))
        example = self._closest_example(s, best, limits)
        if example is not None:
            return Match("no_match", candidates, normalised, out_of_scope=example)
        top = candidates[0].score
        runner_up = candidates[1].score if len(candidates) > 1 else 0.0
        sure = self._confidence(s, best, top, runner_up)
        if self._sure(sure, top, runner_up, limits):
            return Match("answered", candidates, normalised, confidence=sure)
        suggestions = tuple(c for c in candidates if c.score >= limits.clarify)[:3]
        ranked = suggestions + candidates[len(suggestions) :]
        return Match("clarify", ranked, normalised, confidence=sure)
