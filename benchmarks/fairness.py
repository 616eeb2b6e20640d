"""Fairness: a quiet user's latency while another user floods the bot.

The real bot against the fake Bot API on 127.0.0.1, with Telegram's default overall limit
(MAX_MESSAGES_PER_SECOND=30). One noisy user sends --flood questions at once; meanwhile a
quiet user asks --quiet questions, one every 1.5 s (a person typing), each waiting for its answer. Prints the
quiet user's latency (question queued -> its answer at the fake) p50 / p99 / max, and how many
replies the noisy user got.

Run: python benchmarks/fairness.py [--flood 600] [--quiet 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

import end_to_end as e2e  # noqa: E402  (also puts the project root on sys.path)

NOISY, QUIET = 900_001, 900_002
QUESTION = "when did stakhanov die"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=600)
    parser.add_argument("--quiet", type=int, default=15)
    args = parser.parse_args()
    answered: dict[int, list[float]] = {NOISY: [], QUIET: []}
    arrived = threading.Condition()

    def on_send(chat_id: object, at: float, params: dict) -> None:
        with arrived:
            answered.setdefault(int(chat_id), []).append(at)
            arrived.notify_all()

    fake = e2e.TimedFake(username="stakhanov_fair_bot")
    fake.on_send = on_send
    fake.start()
    with tempfile.TemporaryDirectory() as tmp:
        bot = e2e.BotProcess(fake, Path(tmp), "WARNING", MAX_MESSAGES_PER_SECOND="30")
        bot.wait_ready()
        for _ in range(args.flood):
            fake.send_text(QUESTION, user_id=NOISY)
        latencies = []
        for _ in range(args.quiet):
            before = len(answered[QUIET])
            asked = time.monotonic()
            fake.send_text(QUESTION, user_id=QUIET)
            with arrived:
                arrived.wait_for(lambda b=before: len(answered[QUIET]) > b, timeout=60)
            latencies.append(answered[QUIET][before] - asked)
            time.sleep(1.5)
        time.sleep(2)
        code = bot.stop()
    fake.stop()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    print(f"noisy user: {args.flood} questions at once, {len(answered[NOISY])} replies")
    print(
        f"quiet user: {args.quiet} questions, latency p50 {statistics.median(latencies) * 1000:.0f}"
        f" ms, p99 {p99 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
    )
    print(f"bot exit code {code}")


if __name__ == "__main__":
    main()
