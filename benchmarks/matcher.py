"""Lexical matcher latency: p50/p99 per question on the shipped knowledge and on generated knowledge
of 1,000 and 10,000 entries, beside the naive baseline (difflib.get_close_matches over the
same phrasings). Prints one table.

Run: python benchmarks/matcher.py [--rounds 20] [--baseline-questions 30]
"""

from __future__ import annotations

import argparse
import difflib
import random
import time
from pathlib import Path

from bot.evaluation import load_set
from bot.knowledge import Entry, default_path, load
from bot.matching import LexicalIndex as Index
from bot.matching import Matcher

ROOT = Path(__file__).resolve().parent.parent
SEED = 1935


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def generated_entries(count: int, words: list[str], rng: random.Random) -> list[Entry]:
    """Entries shaped like the real ones: ten phrasings of 3-9 words each, two titles."""
    entries = []
    for n in range(count):
        topic = rng.sample(words, 4)
        phrasings = [
            " ".join(topic[: rng.randint(1, 4)] + rng.sample(words, rng.randint(2, 5)))
            for _ in range(10)
        ]
        entries.append(
            Entry.model_validate(
                {
                    "id": f"gen-{n}",
                    "title": {"en": " ".join(topic[:2])},
                    "questions": {"en": phrasings},
                    "answer": {"en": " ".join(rng.sample(words, 12))},
                    "citations": [{"source": "gen", "quote": "generated"}],
                }
            )
        )
    return entries


def perturbed(phrasing: str, rng: random.Random) -> str:
    """A question a person might type for a phrasing: a word dropped, a typo."""
    parts = phrasing.split()
    if len(parts) > 2:
        parts.pop(rng.randrange(len(parts)))
    i = rng.randrange(len(parts))
    word = parts[i]
    if len(word) > 4:
        j = rng.randrange(1, len(word) - 1)
        parts[i] = word[:j] + word[j + 1 :]
    return " ".join(parts)


def time_matcher(index: Matcher, questions: list[str], rounds: int) -> list[float]:
    for question in questions:
        index.match(question)
    timings = []
    for _ in range(rounds):
        for question in questions:
            started = time.perf_counter()
            index.match(question)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def time_baseline(phrasings: list[str], questions: list[str]) -> list[float]:
    lowered = [p.lower() for p in phrasings]
    timings = []
    for question in questions:
        started = time.perf_counter()
        difflib.get_close_matches(question.lower(), lowered, n=3, cutoff=0.6)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--baseline-questions", type=int, default=30)
    args = parser.parse_args()
    rng = random.Random(SEED)
    kb = load(default_path())
    real_questions = [c.q for c in load_set(ROOT / "tests" / "eval" / "questions.yaml").cases]
    words = sorted({w for e in kb.entries for q in e.questions["en"] for w in q.lower().split()})
    words += [f"w{n}" for n in range(3000)]

    cases: list[tuple[str, list[Entry], Matcher, list[str]]] = [
        ("shipped", list(kb.entries), kb.index, real_questions)
    ]
    for size in (1_000, 10_000):
        entries = generated_entries(size, words, rng)
        started = time.perf_counter()
        index = Matcher(Index.build(entries, kb.synonyms))
        build = time.perf_counter() - started
        questions = [
            perturbed(rng.choice(e.questions["en"]), rng) for e in rng.sample(entries, 300)
        ]
        cases.append((f"{size:,} (index {build:.1f} s)", entries, index, questions))

    header = f"{'knowledge':24} {'phrasings':>9} {'p50 ms':>8} {'p99 ms':>8} {'difflib p50':>12} {'difflib p99':>12} {'p50 ratio':>10}"
    print(header)
    print("-" * len(header))
    for name, entries, index, questions in cases:
        phrasings = [p for e in entries for p in e.phrasings()]
        ours = time_matcher(index, questions, args.rounds)
        base = time_baseline(phrasings, questions[: args.baseline_questions])
        ratio = percentile(base, 0.5) / percentile(ours, 0.5)
        print(
            f"{name:24} {len(phrasings):>9,} {percentile(ours, 0.5):8.3f} {percentile(ours, 0.99):8.3f} "
            f"{percentile(base, 0.5):12.2f} {percentile(base, 0.99):12.2f} {ratio:9.0f}x"
        )
    print(
        f"\n{len(real_questions)} real questions x {args.rounds} rounds on the shipped knowledge; "
        f"300 perturbed phrasings x {args.rounds} rounds on generated knowledge; "
        f"difflib on the first {args.baseline_questions} questions of each."
    )


if __name__ == "__main__":
    main()
