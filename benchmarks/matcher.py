"""Matcher latency on the shipped knowledge: p50/p99 per question, printed as a table.

Run: python benchmarks/matcher.py
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from bot.evaluation import load_set
from bot.knowledge import default_path, load

ROUNDS = 20


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    started = time.perf_counter()
    kb = load(default_path())
    load_ms = (time.perf_counter() - started) * 1000
    questions = [
        c.q for c in load_set(Path(__file__).parent.parent / "tests/eval/questions.yaml").cases
    ]
    for q in questions:
        kb.index.match(q)
    timings = []
    for _ in range(ROUNDS):
        for q in questions:
            t0 = time.perf_counter()
            kb.index.match(q)
            timings.append((time.perf_counter() - t0) * 1000)
    print(
        f"knowledge: {kb.summary()}, vocabulary {kb.index.vocabulary_size}; load {load_ms:.0f} ms"
    )
    print(f"{'questions':>10} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    print(
        f"{len(timings):>10} {percentile(timings, 0.5):8.3f} {percentile(timings, 0.99):8.3f} "
        f"{statistics.fmean(timings):8.3f}"
    )


if __name__ == "__main__":
    main()
