"""Fit the confidence model (bot.matching.confidence) and measure it on sets kept out of the fit.

Every single-question evaluation set but the held-out ones is read once with the shipped
knowledge and encoder. A question whose best entry could be answered or offered (the encoder
read it, no out-of-scope example declined it, it reaches the clarify line and leads the
runner-up by the margin) gives one row: its Reading and whether the best entry is right. A
logistic regression (L2-regularised, on standardised readings) learns the odds that it is;
the answer probability is the one with the best objective on the fitted sets (mean top-1 minus
twice the mean false-answer rate). Leave-one-set-out figures show how it generalises within
the fitted sets; the held-out sets, written after them, show it on new askers. Prints the
weights to paste into bot/matching/confidence.py and the figures beside the shipped model's
and the line it replaced (answer from 70, moved by clear agreement or doubt).

Run: python benchmarks/confidence_fit.py [--held-out realstyle41,...] [--l2 1.0]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import astuple, dataclass, field, fields
from pathlib import Path

import numpy as np

from bot.evaluation import load_set
from bot.knowledge import default_path, load
from bot.matching import Thresholds, confidence
from bot.matching.confidence import ANSWER_PROBABILITY, Reading, Weights
from bot.matching.decision import Matcher
from bot.settings import from_env

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "tests" / "eval"
HELD_OUT = "realstyle41,realstyle42,realstyle43,realstyle44,realstyle45,realstyle46"
FALSE_PENALTY = 2.0
PROBABILITIES = np.round(np.arange(0.6, 0.901, 0.025), 3)


@dataclass
class SetRows:
    """One evaluation set: its decidable questions and the outcomes fixed without the model."""

    in_scope: int = 0
    out_scope: int = 0
    fixed_right: int = 0
    fixed_false: int = 0
    readings: list[tuple[float, ...]] = field(default_factory=list)
    right: list[bool] = field(default_factory=list)
    in_scope_row: list[bool] = field(default_factory=list)


def read_set(matcher: Matcher, name: str) -> SetRows:
    limits, rows = Thresholds(), SetRows()
    for case in load_set(EVAL / f"{name}.yaml").cases:
        rows.in_scope += case.expect is not None
        rows.out_scope += case.expect is None
        match = matcher.match(case.q, limits)
        right = match.best is not None and match.best.entry_id in (case.expect, *case.also)
        reading = decidable(matcher, case.q, match, limits)
        if reading is None:
            answered = match.status == "answered"
            rows.fixed_right += answered and case.expect is not None and right
            rows.fixed_false += answered and case.expect is None
            continue
        rows.readings.append(astuple(reading))
        rows.right.append(case.expect is not None and right)
        rows.in_scope_row.append(case.expect is not None)
    return rows


def decidable(matcher: Matcher, question: str, match, limits: Thresholds) -> Reading | None:
    """The best entry's Reading when the confidence model decides the question, else None."""
    if match.small_talk or match.out_of_scope or len(match.candidates) == 0:
        return None
    s = matcher._signals(question)
    top = match.candidates[0].score
    runner_up = match.candidates[1].score if len(match.candidates) > 1 else 0.0
    if s.nearest is None or top < limits.clarify or top - runner_up < limits.margin:
        return None
    return matcher._reading(s, int(np.argmax(s.per_entry)), top, runner_up)


def objective(sets: dict[str, SetRows], answers: Callable[[np.ndarray], np.ndarray]) -> float:
    """Mean top-1 minus FALSE_PENALTY times the mean false-answer rate, when `answers` says
    which decidable rows are answered."""
    scores = []
    for rows in sets.values():
        answered = answers(np.array(rows.readings)) if rows.readings else np.zeros(0, bool)
        right = rows.fixed_right + int(np.sum(answered & np.array(rows.right, bool)))
        false = rows.fixed_false + int(np.sum(answered & ~np.array(rows.in_scope_row, bool)))
        rate = false / rows.out_scope if rows.out_scope else 0.0
        scores.append(right / rows.in_scope - FALSE_PENALTY * rate)
    return float(np.mean(scores))


def fit(sets: dict[str, SetRows], l2: float) -> Weights:
    """Logistic regression by Newton's method on standardised readings, returned in raw units."""
    x = np.concatenate([np.array(r.readings) for r in sets.values() if r.readings])
    y = np.concatenate([np.array(r.right, float) for r in sets.values() if r.readings])
    mean, scale = x.mean(0), x.std(0) + 1e-9
    a = np.c_[np.ones(len(x)), (x - mean) / scale]
    w = np.zeros(a.shape[1])
    for _ in range(40):
        p = 1.0 / (1.0 + np.exp(-a @ w))
        gradient = a.T @ (p - y) + l2 * w
        hessian = (a * (p * (1 - p))[:, None]).T @ a + l2 * np.eye(a.shape[1])
        w -= np.linalg.solve(hessian, gradient)
    raw = w[1:] / scale
    return Weights(float(w[0] - raw @ mean), Reading(*(float(v) for v in raw)))


def by_model(weights: Weights, probability: float) -> Callable[[np.ndarray], np.ndarray]:
    def answers(readings: np.ndarray) -> np.ndarray:
        log_odds = weights.bias + readings @ np.array(astuple(weights.reading))
        return log_odds >= np.log(probability / (1 - probability))

    return answers


def best_probability(sets: dict[str, SetRows], weights: Weights) -> float:
    return float(max(PROBABILITIES, key=lambda p: objective(sets, by_model(weights, p))))


def line_it_replaced(readings: np.ndarray) -> np.ndarray:
    """The answer line before the model: 70, 55 when the encoder clearly agreed (first among
    entries, 0.15 ahead of every example, the question naming something), 82.5 when an example
    read within 0.02 of the best entry."""
    lead_x = column(readings, "lead_over_examples")
    clear = (column(readings, "encoder_first") > 0) & (lead_x >= 0.15)
    clear &= column(readings, "names_nothing") == 0
    line = np.where(clear, 55.0, np.where(lead_x < 0.02, 82.5, 70.0))
    return column(readings, "score") >= line


def column(readings: np.ndarray, name: str) -> np.ndarray:
    return readings[:, [f.name for f in fields(Reading)].index(name)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--held-out", default=HELD_OUT)
    parser.add_argument("--l2", type=float, default=1.0)
    args = parser.parse_args()
    held = set(args.held_out.split(","))
    kb = load(default_path(), *embedding(from_env()))
    names = sorted(p.stem for p in EVAL.glob("*.yaml") if not p.stem.startswith("followups"))
    sets = {n: read_set(kb.index, n) for n in names}
    fitted = {n: r for n, r in sets.items() if n not in held}
    unseen = {n: r for n, r in sets.items() if n in held}
    weights = fit(fitted, args.l2)
    chosen = best_probability(fitted, weights)
    loso = []
    for name, rows in fitted.items():
        rest = {n: r for n, r in fitted.items() if n != name}
        w = fit(rest, args.l2)
        loso.append(objective({name: rows}, by_model(w, best_probability(rest, w))))
    print(f"fitted on {len(fitted)} sets; answer probability {chosen}")
    print(f"weights: {weights}")
    print(f"leave one set out: objective {np.mean(loso):.4f} over {len(loso)} sets")
    for label, group in (("fitted sets", fitted), ("held-out sets", unseen)):
        print(
            f"{label}: line it replaced {objective(group, line_it_replaced):.4f}, "
            f"shipped model {objective(group, shipped):.4f}, "
            f"this fit {objective(group, by_model(weights, chosen)):.4f}"
        )
    for name, rows in unseen.items():
        one = {name: rows}
        print(f"  {name}: {objective(one, line_it_replaced):.4f} -> {objective(one, shipped):.4f}")


def shipped(readings: np.ndarray) -> np.ndarray:
    return by_model(confidence.FITTED, ANSWER_PROBABILITY)(readings)


def embedding(settings):
    from bot.cli import make_embedder, open_cache

    embedder = make_embedder(settings)
    return embedder, embedder.cache if embedder else open_cache(settings)


if __name__ == "__main__":
    main()
