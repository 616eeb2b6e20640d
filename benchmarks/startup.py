"""Start-up: `stakhanov-bot ask "x"` end to end (process start to exit), and what it imports.

Run: python benchmarks/startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    command = [shutil.which("stakhanov-bot") or sys.executable, "ask", "x"]
    if not shutil.which("stakhanov-bot"):
        command[1:1] = ["-m", "bot"]
    timings = []
    for _ in range(args.runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        timings.append(time.perf_counter() - started)
    probe = (
        "import sys, bot.cli, bot.console, bot.knowledge, bot.replies; "
        "from bot.knowledge import load, default_path; load(default_path()); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('telegram', 'httpx')))"
    )
    imported = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    )
    print(f"{'command':28} {'runs':>5} {'median s':>9} {'max s':>7}")
    print(
        f"{'stakhanov-bot ask x':28} {args.runs:>5} {statistics.median(timings):9.3f} {max(timings):7.3f}"
    )
    print(f"telegram/httpx modules imported by the offline commands: {imported.stdout.strip()}")


if __name__ == "__main__":
    main()
