"""The semantic signal's cost, beside lexical-only matching, in one run.

- Per question: every question of every evaluation set, shuffled, each asked once (so the
  question-embedding cache never helps): mean, p50 and p99 of `match`, both modes.
- Start-up: `stakhanov-bot ask "x"` end to end, both modes, with a warm cache.
- Reload: loading the knowledge after one entry's phrasing was edited (warm cache), and
  the first build with an empty cache.

Run: python benchmarks/semantic.py [--runs 10]
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from bot.cli import make_embedder
from bot.evaluation import load_set
from bot.knowledge import default_path, load
from bot.matching import Embedder
from bot.settings import from_env

ROOT = Path(__file__).resolve().parent.parent
SEED = 1935


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def per_question(semantic: bool, questions: list[str]) -> list[float]:
    settings = from_env({**os.environ, "SEMANTIC_MATCHING": "on" if semantic else "off"})
    kb = load(default_path(), make_embedder(settings))
    kb.index.match("warm up the encoder")
    timings = []
    for question in questions:
        started = time.perf_counter()
        kb.index.match(question)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def startup(semantic: bool, runs: int) -> float:
    env = {**os.environ, "SEMANTIC_MATCHING": "on" if semantic else "off"}
    command = [sys.executable, "-m", "bot", "ask", "x"]
    subprocess.run(command, check=True, capture_output=True, env=env)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def reloads() -> tuple[float, float, float]:
    """Seconds to reload after editing one entry in a running bot (its cache warm and the
    knowledge loaded), to load it in a new process after that edit, and with an empty cache."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "knowledge"
        shutil.copytree(default_path().parent, folder)
        path = folder / default_path().name
        edited_file = next(p for p in sorted(folder.rglob("*.yaml")) if '"When did Stakhanov die?"' in p.read_text(encoding="utf-8"))
        text = edited_file.read_text(encoding="utf-8")
        run = time.time_ns()  # a phrasing no earlier run cached, so each run measures an edit

        def edit(wording: str) -> None:
            edited_file.write_text(text.replace('"When did Stakhanov die?"', f'"{wording} {run}"', 1), encoding="utf-8")

        running = quiet_embedder(os.environ)
        load(path, running)
        edit("When did Stakhanov pass away?")
        in_running_bot = timed_load(path, running)
        edit("When did Stakhanov depart this life?")
        new_process = timed_load(path, quiet_embedder(os.environ))
        empty_cache = {**os.environ, "CACHE_DIR": str(Path(tmp) / "cache")}
        return in_running_bot, new_process, timed_load(path, quiet_embedder(empty_cache))


def quiet_embedder(env: Mapping[str, str]) -> Embedder | None:
    embedder = make_embedder(from_env(env))
    if embedder is not None:
        embedder.progress = None
    return embedder


def timed_load(path: Path, embedder: Embedder | None) -> float:
    started = time.perf_counter()
    load(path, embedder)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    questions = [
        c.q for f in sorted(glob.glob(str(ROOT / "tests" / "eval" / "*.yaml")))
        for c in load_set(f).cases
    ]
    random.Random(SEED).shuffle(questions)
    print(f"{len(questions)} questions, each once, shuffled\n")
    print(f"{'mode':14} {'mean ms':>8} {'p50 ms':>7} {'p99 ms':>7} {'ask start-up s':>15}")
    for semantic in (False, True):
        timings = per_question(semantic, questions)
        print(
            f"{'fused' if semantic else 'lexical only':14} {statistics.mean(timings):8.2f} "
            f"{percentile(timings, 0.5):7.2f} {percentile(timings, 0.99):7.2f} "
            f"{startup(semantic, args.runs):15.3f}"
        )
    running, new_process, cold = reloads()
    print(f"\nreload after editing one entry, in the running bot: {running:.2f} s")
    print(f"first load after editing one entry, in a new process (warm cache): {new_process:.2f} s")
    print(f"first build with an empty cache (every phrasing embedded): {cold:.1f} s")


if __name__ == "__main__":
    main()
