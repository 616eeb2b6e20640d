"""End to end: the real `python -m bot run` against the fake Bot API on 127.0.0.1, under load.

Simulated users (default 50) send questions (default 5,000) taken from the `q` fields of
tests/eval/questions.yaml: mostly English, a few users asking in Russian or Ukrainian, so the
bot answers, asks to clarify and declines in a realistic mix. Prints one table: replies per
second over the whole run, p50/p99 latency from an update becoming available in the fake's
getUpdates queue to the fake receiving the bot's sendMessage, lost updates (no reply; must be
0), the bot's peak RSS (VmHWM) and the CPU used by the bot and by this process (the fake server
plus the load driver), with which of them, if any, is the bottleneck. Stops the bot with SIGTERM
and reports its exit code; exits 1 if an update was lost, the run timed out or the exit code
was not 0.

Load: by default a closed loop, as fast as the bot drains it: each user asks their next
question as soon as the reply to the previous one arrives, but no sooner than a second after
the previous question, the pace the bot's per-chat budget allows (faster questions would be
skipped and counted as lost); so at most one question per user is in flight, and 400 users
offer up to 400 questions/s. With --rate R, a steady offered load instead: a question every 1/R s, each from
a user with no question in flight.

The fake's sockets get TCP_NODELAY here (--fake-nagle leaves them as shipped): otherwise every
fake response waits ~40 ms for a delayed ACK, which would be measured as the bot's latency.

Run: python benchmarks/end_to_end.py [--users 400] [--questions 5000] [--rate R] [--timeout 900]
     [--fake-nagle]
"""

from __future__ import annotations

import argparse
import html
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from telegram.constants import FloodLimit  # noqa: E402

from bot.replies import MESSAGES  # noqa: E402
from bot.telegram.common import CHAT_RATE  # noqa: E402
from tests.fake_bot_api import FakeBotAPI, _Handler  # noqa: E402

SEED = 1935
QUESTIONS_FILE = ROOT / "tests" / "eval" / "questions.yaml"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
#: PTB's AIORateLimiter default, which the bot uses: messages per second over all chats.
LIMITER_RATE = FloodLimit.MESSAGES_PER_SECOND


# ------------------------------------------------------------------ shared with reload_under_load


class _NoDelayHandler(_Handler):
    disable_nagle_algorithm = True  # TCP_NODELAY on the fake's side of every connection


class TimedFake(FakeBotAPI):
    """The fake Bot API, calling `on_send(chat_id, arrived, params)` for every delivered
    sendMessage; `arrived` is time.monotonic() when the request reached the fake.

    With `nodelay` (the default) the fake's sockets get TCP_NODELAY. The shipped fake writes
    each response's headers and body in two sends with Nagle's algorithm on, so on loopback
    every response waits about 40 ms for the client's delayed ACK: a cost of the fake, not of
    the bot, that would otherwise be most of the measured latency.
    """

    on_send: Callable[[object, float, dict], None] | None = None

    def __init__(self, *args: object, nodelay: bool = True, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.nodelay = nodelay

    def start(self) -> None:
        super().start()
        if self.nodelay:
            self._server.RequestHandlerClass = _NoDelayHandler

    def _serve(self, token: str, method: str, params: dict):  # type: ignore[override]
        arrived = time.monotonic()
        reply = super()._serve(token, method, params)
        if method == "sendMessage" and reply.status == 200 and self.on_send is not None:
            self.on_send(params.get("chat_id"), arrived, params)
        return reply


class BotProcess:
    """`python -m bot run` in a scratch folder, talking to `fake`; stopped with SIGTERM."""

    def __init__(self, fake: FakeBotAPI, workdir: Path, log_level: str, **settings: str):
        self.fake = fake
        self.workdir = workdir
        self.log_path = workdir / "bot.log"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TELEGRAM_", "MATCH_", "KNOWLEDGE", "ADMIN_", "DATA_DIR", "LOG_"))
        }
        env.update(
            TELEGRAM_BOT_TOKEN=fake.token,
            TELEGRAM_API_BASE_URL=fake.base_url,
            DATA_DIR=str(workdir / "data"),
            LOG_LEVEL=log_level,
            **settings,
        )
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=workdir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C here must not reach the bot unannounced
            )
        self.exit_code: int | str | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout: float = 30) -> None:
        """Until the bot's first getUpdates arrives; raises if it dies or takes too long."""
        deadline = time.monotonic() + timeout
        while not self.fake.calls_to("getUpdates"):
            if self.process.poll() is not None:
                raise RuntimeError(f"the bot exited with {self.process.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the bot did not poll within {timeout:g} s:\n{self.log()}")
            time.sleep(0.02)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def peak_rss_kib(self) -> int | None:
        """VmHWM (peak resident set) of the running bot, in KiB."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return None

    def cpu_seconds(self) -> float:
        """User + system CPU time the bot has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def stop(self, timeout: float = 30) -> int | str:
        """SIGTERM, then the exit code (or a note if it had to be killed)."""
        if self.exit_code is not None:
            return self.exit_code
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
                self.exit_code = f"killed: no exit {timeout:g} s after SIGTERM"
                return self.exit_code
        self.exit_code = self.process.returncode
        return self.exit_code


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def question_pool() -> dict[str, list[str]]:
    """The `q` of every evaluation case, by language."""
    cases = yaml.safe_load(QUESTIONS_FILE.read_text(encoding="utf-8"))["cases"]
    pool: dict[str, list[str]] = {}
    for case in cases:
        pool.setdefault(case.get("lang", "en"), []).append(str(case["q"]))
    return pool


def user_language(index: int) -> str:
    """Most users ask in English; one in twelve in Russian, one in twelve in Ukrainian."""
    return {5: "ru", 11: "uk"}.get(index % 12, "en")


def _starts(key: str) -> tuple[str, ...]:
    return tuple(html.escape(text, quote=False) for text in MESSAGES[key].values())


_CLARIFY, _NO_MATCH = _starts("clarify"), _starts("no_match")
_GREETING = _starts("greeting") + _starts("thanks") + _starts("about") + _starts("no_options")
"""Small talk of every kind: a greeting, "you're welcome", what the bot is, the option hint."""
_ERROR, _TOO_LONG = _starts("error"), tuple(t.split("{")[0] for t in _starts("too_long"))
_SOURCE = tuple(f"<i>{t}:</i>" for t in _starts("source"))
"""An answer's source line: answers citing only referenced sources have no quote block."""


def classify(text: str) -> str:
    """What kind of reply the bot sent to a question."""
    if "<blockquote>" in text or any(marker in text for marker in _SOURCE):
        return "answered"
    if text.startswith(_CLARIFY):
        return "clarify"
    if text.startswith(_NO_MATCH):
        return "no_match"
    if text.startswith(_GREETING):
        return "greeting"
    if text.startswith(_ERROR):
        return "error"
    if text.startswith(_TOO_LONG):
        return "too_long"
    return "other"


def button_labels(params: dict) -> list[str]:
    markup = params.get("reply_markup") or {}
    return [b.get("text", "") for row in markup.get("inline_keyboard", []) for b in row]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def table(rows: list[tuple[str, str]]) -> str:
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


# ------------------------------------------------------------------ the load


@dataclass
class Asked:
    user: int
    text: str
    pushed: float
    replied: float | None = None
    reply: dict = field(default_factory=dict)


class Load:
    """Questions from simulated users: one in flight per user at most; replies matched by chat.

    `on_reply` runs in the fake's server threads. A question unanswered after `reply_timeout`
    counts as lost and its user stops asking (a late reply could not be told apart).
    """

    def __init__(
        self,
        fake: FakeBotAPI,
        users: list[tuple[int, str]],
        pool: dict[str, list[str]],
        total: int | None,
        *,
        closed_loop: bool,
        reply_timeout: float,
        seed: int = SEED,
    ) -> None:
        self.fake = fake
        self.languages = dict(users)
        self.pool = pool
        self.total = total
        self.closed_loop = closed_loop
        self.reply_timeout = reply_timeout
        self.rng = random.Random(seed)
        self.cond = threading.Condition()
        self.outstanding: dict[int, Asked] = {}
        self.done: list[Asked] = []
        self.lost: list[Asked] = []
        self.extra: list[tuple[object, str]] = []
        self.retired: set[int] = set()
        self.sent = 0
        self.stopped = False

    # -- asking

    def active_users(self) -> list[int]:
        return [u for u in self.languages if u not in self.retired]

    def exhausted(self) -> bool:
        return self.stopped or (self.total is not None and self.sent >= self.total)

    def ask(self, user: int) -> bool:
        """Send `user` a new question, unless the run is over or they are busy; True if sent."""
        with self.cond:
            if self.exhausted() or user in self.outstanding or user in self.retired:
                return False
            self.sent += 1
            language = self.languages[user]
            text = self.rng.choice(self.pool[language])
            asked = Asked(user, text, time.monotonic())
            self.outstanding[user] = asked
        self.fake.send_text(text, user_id=user, language_code=language)
        return True

    def free_user(self) -> int | None:
        with self.cond:
            free = [u for u in self.active_users() if u not in self.outstanding]
        return self.rng.choice(free) if free else None

    def on_reply(self, chat_id: object, arrived: float, params: dict) -> None:
        with self.cond:
            asked = self.outstanding.pop(chat_id, None)  # type: ignore[arg-type]
            if asked is None:
                self.extra.append((chat_id, params.get("text", "")))
                return
            asked.replied, asked.reply = arrived, params
            self.done.append(asked)
            self.cond.notify_all()
        if self.closed_loop:
            wait = asked.pushed + 1 / CHAT_RATE - time.monotonic()
            if wait > 0:
                timer = threading.Timer(wait, self.ask, args=(asked.user,))
                timer.daemon = True
                timer.start()
            else:
                self.ask(asked.user)

    def expire(self) -> None:
        """Count questions waiting longer than reply_timeout as lost; retire their users."""
        now = time.monotonic()
        with self.cond:
            for user, asked in list(self.outstanding.items()):
                if now - asked.pushed > self.reply_timeout:
                    del self.outstanding[user]
                    self.lost.append(asked)
                    self.retired.add(user)
            self.cond.notify_all()

    def finished(self) -> bool:
        with self.cond:
            return not self.outstanding and (self.exhausted() or not self.active_users())

    def give_up(self) -> None:
        """End the run now: whatever is still waiting for a reply is lost."""
        with self.cond:
            self.stopped = True
            self.lost.extend(self.outstanding.values())
            self.outstanding.clear()


def run_load(load: Load, rate: float | None, deadline: float) -> bool:
    """Drive `load` until every question is answered or lost; False if the deadline passed."""
    if rate is None:
        for user in load.active_users():
            load.ask(user)
    else:
        threading.Thread(target=offer, args=(load, rate, deadline), daemon=True).start()
    while not load.finished():
        if time.monotonic() > deadline:
            load.give_up()
            return False
        load.expire()
        with load.cond:
            load.cond.wait(0.2)
    return True


def offer(load: Load, rate: float, deadline: float) -> None:
    """Steady offered load: question i is due at start + i / rate, from any free user."""
    start = time.monotonic()
    index = 0
    while not load.exhausted() and time.monotonic() < deadline:
        due = start + index / rate
        time.sleep(max(0.0, due - time.monotonic()))
        user = load.free_user()
        while user is None and not load.exhausted() and time.monotonic() < deadline:
            with load.cond:
                load.cond.wait(0.05)
            user = load.free_user()
        if user is None or not load.ask(user):
            continue
        index += 1


# ------------------------------------------------------------------ main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=400)
    parser.add_argument("--questions", type=int, default=5000)
    parser.add_argument(
        "--rate", type=float, help="steady offered load in questions/s (default: closed loop)"
    )
    parser.add_argument("--timeout", type=float, default=900, help="hard limit for the run, s")
    parser.add_argument("--reply-timeout", type=float, default=60, help="a reply later is lost")
    parser.add_argument(
        "--fake-nagle",
        action="store_true",
        help="leave Nagle's algorithm on in the fake, as shipped (adds ~40 ms per response)",
    )
    args = parser.parse_args()
    if args.users < 1 or args.questions < 1 or (args.rate is not None and args.rate <= 0):
        parser.error("--users, --questions and --rate must be positive")

    hard_deadline = time.monotonic() + args.timeout
    pool = question_pool()
    users = [(100_000 + i, user_language(i)) for i in range(args.users)]
    workdir = Path(tempfile.mkdtemp(prefix="stakhanov-e2e-"))
    fake = TimedFake(nodelay=not args.fake_nagle)
    fake.start()
    bot = BotProcess(fake, workdir, "WARNING")
    try:
        bot.wait_ready()
        load = Load(
            fake,
            users,
            pool,
            args.questions,
            closed_loop=args.rate is None,
            reply_timeout=args.reply_timeout,
        )
        fake.on_send = load.on_reply
        cpu_bot, cpu_own, started = bot.cpu_seconds(), own_cpu_seconds(), time.monotonic()
        in_time = run_load(load, args.rate, hard_deadline)
        if load.done:
            ended = max(a.replied for a in load.done if a.replied is not None)
        else:
            ended = time.monotonic()
        cpu_bot = bot.cpu_seconds() - cpu_bot
        cpu_own = own_cpu_seconds() - cpu_own
        wall = max(time.monotonic() - started, 1e-9)
        peak = bot.peak_rss_kib()
        time.sleep(0.5)  # a straggling extra reply would show up now
        exit_code = bot.stop()
        log = bot.log()
    finally:
        bot.stop()
        fake.stop()

    first = min((a.pushed for a in load.done + load.lost), default=started)
    elapsed = max(ended - first, 1e-9)
    latencies = [a.replied - a.pushed for a in load.done if a.replied is not None]
    kinds = Counter(classify(a.reply.get("text", "")) for a in load.done)
    languages = Counter(load.languages[a.user] for a in load.done + load.lost)
    replied = len(load.done)
    rate = replied / elapsed
    bot_core, own_core = cpu_bot / wall, cpu_own / wall
    problems = [line for line in log.splitlines() if " ERROR " in line or " CRITICAL " in line]

    if own_core >= 0.9:
        verdict = (
            f"the fake server is the bottleneck: this process (fake + load driver) used "
            f"{own_core:.0%} of a core; the figures understate the bot"
        )
    elif bot_core >= 0.9:
        verdict = f"the bot is CPU-bound ({bot_core:.0%} of a core; one event loop, one GIL)"
    elif rate >= 0.9 * LIMITER_RATE:
        verdict = (
            f"neither process is CPU-bound; replies are paced by PTB's AIORateLimiter "
            f"({LIMITER_RATE} messages/s over all chats, Telegram's limit), which the bot uses"
        )
    else:
        verdict = "neither process is CPU-bound"

    if args.rate is None:
        mode = (
            f"closed loop, as fast as the bot drains it: each of {args.users} users asks again "
            f"as soon as its reply arrives, at most once a second ({args.users} in flight at most)"
        )
    else:
        mode = (
            f"steady offered load of {args.rate:g} questions/s from {args.users} users "
            f"(one question in flight per user at most); achieved "
            f"{(replied + len(load.lost)) / elapsed:.1f}/s"
        )
    mix = ", ".join(
        f"{kinds[k]:,} {k}"
        for k in ("answered", "clarify", "no_match", "greeting", "error", "too_long", "other")
        if kinds[k] or k in ("answered", "clarify", "no_match")
    )
    rows = [
        ("load", mode),
        (
            "fake server",
            "as shipped (Nagle on: ~40 ms per response)"
            if args.fake_nagle
            else "TCP_NODELAY set by this benchmark (see --fake-nagle)",
        ),
        ("questions sent", f"{replied + len(load.lost):,} of {args.questions:,}"),
        ("question languages", ", ".join(f"{languages[k]:,} {k}" for k in ("en", "ru", "uk"))),
        ("replies", f"{replied:,} ({mix})"),
        ("run time", f"{elapsed:.1f} s (first question to last reply)"),
        ("answered updates/s", f"{rate:.1f} (updates replied to, over the whole run)"),
        (
            "latency p50 / p99",
            f"{percentile(latencies, 0.5) * 1000:.0f} ms / {percentile(latencies, 0.99) * 1000:.0f} ms"
            " (update queued in getUpdates -> its sendMessage at the fake)",
        ),
        ("latency max", f"{max(latencies, default=float('nan')) * 1000:.0f} ms"),
        ("lost updates", f"{len(load.lost)} (no reply within {args.reply_timeout:g} s; must be 0)"),
        ("extra replies", f"{len(load.extra)} (a second message for one question)"),
        ("bot peak RSS", f"{peak / 1024:.1f} MiB (VmHWM)" if peak else "unknown"),
        ("bot CPU", f"{cpu_bot:.1f} s = {bot_core:.0%} of one core (of {os.cpu_count()})"),
        ("fake + driver CPU", f"{cpu_own:.1f} s = {own_core:.0%} of one core (this process)"),
        ("bottleneck", verdict),
        ("bot log errors", str(len(problems))),
        ("bot exit code", f"{exit_code} (after SIGTERM)"),
    ]
    print("End to end: python -m bot run against the fake Bot API on 127.0.0.1")
    print(table(rows))
    if not in_time:
        print(f"\nFAILED: the run hit the hard timeout of {args.timeout:g} s")
    for line in problems[:5]:
        print("bot log:", line)
    ok = in_time and not load.lost and exit_code == 0
    if ok:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"\nkept the bot's folder for a look: {workdir}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
