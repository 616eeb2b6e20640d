"""How sure the fused matcher is that its best entry answers the question.

With the encoder, whether to answer or to offer "did you mean" is not one line on the fused
score but a logistic model over what the two signals read for the best entry: its score and
lead over the runner-up, its lexical score alone, its cosine and the encoder's lead for it over
the other entries and over the out-of-scope examples, how closely an example's phrasing rivals
its own, and how many content words the question names. The weights were fitted by
`benchmarks/confidence_fit.py` (logistic regression, predicting "the best entry is the right
one") on the studied evaluation sets; the sets written after them were kept out of the fit and
measure it (README "How matching works").
"""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass

MARGIN_CAP = 20.0  # a lead of 20 points over the runner-up is already decisive
NAMED_CAP = 10  # past ten content words, more words say nothing new about the match
DEFAULT_ANSWER_LINE = 70.0  # Thresholds().answer: the line the answer probability stands for
ANSWER_PROBABILITY = 0.75  # best objective on the studied sets (top-1 minus twice false answers)


@dataclass(frozen=True)
class Reading:
    """What the two signals read for the best entry of one question."""

    score: float
    """The fused score, 0-100."""
    margin: float
    """Its lead over the runner-up entry, in points (capped at MARGIN_CAP)."""
    lexical: float
    """The lexical score alone."""
    cosine: float
    """The encoder's cosine with the entry's closest phrasing."""
    lead_over_entries: float
    """That cosine minus the best cosine of every other entry."""
    lead_over_examples: float
    """That cosine minus the best cosine of the out-of-scope examples (than -1 without any)."""
    encoder_first: float
    """1.0 when the encoder reads this entry closest of all entries, else 0.0."""
    example_rivalry: float
    """The nearest example phrasing's lexical score minus the entry's closest phrasing's."""
    named_words: float
    """Content words in the question (capped at NAMED_CAP)."""
    names_nothing: float
    """1.0 for a question of interrogatives alone ("where exactly?"), else 0.0."""


@dataclass(frozen=True)
class Weights:
    """A logistic model: log-odds = bias + the sum of weight times reading, field by field."""

    bias: float
    reading: Reading


# fitted by benchmarks/confidence_fit.py on the 57 studied sets (2026-12-08, README)
FITTED = Weights(
    bias=-8.741,
    reading=Reading(
        score=0.02168,
        margin=0.05128,
        lexical=0.04699,
        cosine=2.795,
        lead_over_entries=2.111,
        lead_over_examples=6.494,
        encoder_first=0.5186,
        example_rivalry=-0.04454,
        named_words=0.1272,
        names_nothing=-1.638,
    ),
)


def log_odds(reading: Reading, weights: Weights = FITTED) -> float:
    """The model's log-odds that the best entry is the right one."""
    pairs = zip(astuple(weights.reading), astuple(reading), strict=True)
    return weights.bias + sum(w * x for w, x in pairs)


def probability(reading: Reading, weights: Weights = FITTED) -> float:
    return 1.0 / (1.0 + math.exp(-log_odds(reading, weights)))


def sure_enough(probability: float, answer_line: float, weights: Weights = FITTED) -> bool:
    """Whether to answer: the probability reaches ANSWER_PROBABILITY when the answer line is
    the default. A line raised by a point asks for what a point more of lexical score gives
    (it moves the fused score too), as it would without the encoder."""
    per_point = weights.reading.score + weights.reading.lexical
    needed = _logit(ANSWER_PROBABILITY) + per_point * (answer_line - DEFAULT_ANSWER_LINE)
    return _logit(probability) >= needed


def _logit(probability: float) -> float:
    probability = min(max(probability, 1e-12), 1.0 - 1e-12)
    return math.log(probability / (1.0 - probability))
