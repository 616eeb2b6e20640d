"""Start-up: `stakhanov-bot ask "x"` end to end (process start to exit), fused and lexical-only,
and what the offline commands import.

Run: python benchmarks/startup.py [--runs 20] [--against DIR]

`--against` also times a checkout of another commit (e.g. `git worktree add /tmp/old <rev>`)
with this interpreter, interleaved with the others so all see the same machine. Each command
runs once first, so every cache is warm.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--against", type=Path, help="another checkout to time alongside")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    ask = [sys.executable, "-m", "bot", "ask", "x"]
    variants = {
        "fused": (ROOT, {**env, "SEMANTIC_MATCHING": "on"}),
        "lexical only": (ROOT, {**env, "SEMANTIC_MATCHING": "off"}),
    }
    if args.against:
        variants[f"{args.against}"] = (args.against.resolve(), env)
    timings: dict[str, list[float]] = {name: [] for name in variants}
    for cwd, variant_env in variants.values():
        timed(ask, cwd, variant_env)
    for _ in range(args.runs):
        for name, (cwd, variant_env) in variants.items():
            timings[name].append(timed(ask, cwd, variant_env))
    print(f"{'ask x':28} {'runs':>5} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name, values in timings.items():
        print(
            f"{name:28} {len(values):>5} {statistics.median(values):9.3f}"
            f" {min(values):7.3f} {max(values):7.3f}"
        )
    probe = (
        "import sys, bot.cli, bot.console, bot.knowledge, bot.replies; "
        "from bot.knowledge import load, default_path; load(default_path()); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('telegram', 'httpx')))"
    )
    imported = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    )
    print(f"telegram/httpx modules imported by the offline commands: {imported.stdout.strip()}")


if __name__ == "__main__":
    main()
