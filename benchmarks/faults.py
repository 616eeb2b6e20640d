"""Faults under load: the real `python -m bot run` against a misbehaving fake Bot API.

The bot runs against the fake Bot API on 127.0.0.1 (tests/fake_bot_api.py) with
MAX_MESSAGES_PER_SECOND=0 (no overall pacing; AIORateLimiter still retries 429s, at most 3
times). A steady offered load (default 20 questions/s from 10 users for 60 s, an open loop:
questions keep coming whatever the bot does) takes its questions from the `q` fields of
tests/eval/questions.yaml, while this fixed schedule of faults is injected on the fake with
fail_next / drop_next / delay_next (times in seconds after the first question):

     4   getUpdates   429, retry_after=1                      1 fault
     8   getUpdates   500, a burst of 3                       3 faults
    15   getUpdates   connection dropped, a burst of 2        2 faults
    20   getUpdates   response delayed 3 s                    1 fault
    27   sendMessage  429, retry_after=1, a burst of 3        3 faults
    34   sendMessage  500, one at 34, 35 and 36 s             3 faults
    40   sendMessage  connection dropped, one at 40 and 41 s  2 faults
    45   sendMessage  response delayed 3 s                    1 fault
    52   sendMessage  response delayed 25 s (the bot's request timeout is 20 s)  1 fault

A fault is used by the next call to its method, whichever question that call is for.

Every question is sent in a private chat of its own (a fresh chat id per question, from one of
the 10 users; the fake allows it, Telegram would not), so every sendMessage names the question
it answers: late replies, apologies and second replies are attributed exactly, and a question
can be asked while its user still waits for an earlier answer.

Attribution. A fault kind's window runs from its first injection to GRACE (3 s, longer than
any pause PTB adds after a failure: 1.5 s after a 429 on getUpdates, up to 2.25 s of backoff
after repeated errors, 1.1 s after a 429 on sendMessage) after the last call that used one of
its faults finished. A question is attributed to the fault kind whose sendMessage faults hit
its own replies, else to the first window its life (sent -> last reply, or -> the reply
timeout if it got none) overlaps, else to "no fault". The schedule keeps windows apart (a
warning is printed if they overlap).

Per kind the table gives: the faults injected and how many a call used; the window (s after
the first question); the longest gap between two successful getUpdates in it (up to the last
question sent); of the questions attributed to it, those whose first reply came later than the
delay threshold (3x the fault-free p50, and at least DELAY_FLOOR, 50 ms: a few ms of jitter is
not a delay) with the longest such latency, those lost (no reply within the reply timeout,
60 s), those that got the bot's generic apology ("Sorry, something went wrong"; "only": and
no answer), and duplicates (more than one reply to one question). "Fault-free" questions
overlap no window.

Overall: questions, replies, latency p50/p99 (question queued in getUpdates -> the fake
finished its sendMessage, first reply), lost, duplicates, whether the bot kept polling (a
probe question after the load and the last fault must be answered), the bot log's ERROR and
WARNING line counts (LOG_LEVEL=INFO) and its exit code after SIGTERM.

Exit status 1 if the bot crashed, stopped polling, exited non-zero after SIGTERM or the run hit
the hard timeout; lost answers and apologies are reported, not failures (a 500 or a dropped
connection on sendMessage is expected to lose that one answer, replaced by the apology).

Run: python benchmarks/faults.py [--users 10] [--rate 20] [--duration 60] [--timeout 300]
     [--reply-timeout 60]
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

import end_to_end as e2e  # noqa: E402  (also puts the project root on sys.path)

SEED = 1936
GRACE = 3.0  # s after a kind's last faulty call that its window still runs
DELAY_FACTOR = 3.0  # a reply later than 3x the fault-free p50 was delayed ...
DELAY_FLOOR = 0.05  # ... and later than 50 ms
CHAT_BASE = 50_000_000  # question i is asked in private chat CHAT_BASE + i
NORMAL_REPLIES = ("answered", "clarify", "no_match", "greeting")


# ------------------------------------------------------------------ the schedule


@dataclass(frozen=True)
class Kind:
    """One fault kind: `count` faults of `action` on `method` at each time in `at`."""

    label: str
    method: str
    action: str  # "fail" | "drop" | "delay"
    at: tuple[float, ...]
    count: int = 1
    status: int = 0
    seconds: float = 0.0

    @property
    def injected(self) -> int:
        return self.count * len(self.at)


SCHEDULE = (
    Kind("getUpdates 429 retry_after=1", "getUpdates", "fail", (4,), status=429),
    Kind("getUpdates 500 x3 (burst)", "getUpdates", "fail", (8,), count=3, status=500),
    Kind("getUpdates dropped x2 (burst)", "getUpdates", "drop", (15,), count=2),
    Kind("getUpdates delayed 3 s", "getUpdates", "delay", (20,), seconds=3),
    Kind(
        "sendMessage 429 retry_after=1 x3 (burst)",
        "sendMessage",
        "fail",
        (27,),
        count=3,
        status=429,
    ),
    Kind("sendMessage 500 x3 (1 s apart)", "sendMessage", "fail", (34, 35, 36), status=500),
    Kind("sendMessage dropped x2 (1 s apart)", "sendMessage", "drop", (40, 41)),
    Kind("sendMessage delayed 3 s", "sendMessage", "delay", (45,), seconds=3),
    Kind("sendMessage delayed 25 s (timeout 20 s)", "sendMessage", "delay", (52,), seconds=25),
)
LAST_INJECTION = max(t for kind in SCHEDULE for t in kind.at)


# ------------------------------------------------------------------ the instrumented fake

_local = threading.local()


class _TrackedQueue(deque):
    """The fake's fault queue for one method; tells the serving thread which fault it took."""

    def popleft(self):  # type: ignore[override]
        fault = super().popleft()
        _local.fault = fault
        return fault


@dataclass
class Hit:
    """A call that used an injected fault."""

    kind: int
    method: str
    chat: object
    arrived: float
    ended: float
    status: int  # 0: dropped


@dataclass
class Send:
    chat: object
    arrived: float
    ended: float
    status: int
    text: str


class FaultyFake(e2e.TimedFake):
    """The fake (TCP_NODELAY), recording every sendMessage, every successful getUpdates and
    which call used which injected fault."""

    def __init__(self) -> None:
        super().__init__()
        self._faults["getUpdates"] = _TrackedQueue()
        self._faults["sendMessage"] = _TrackedQueue()
        self.lock = threading.Lock()
        self.kind_of_fault: dict[int, int] = {}  # id(fault) -> index in SCHEDULE
        self.hits: list[Hit] = []
        self.sends: list[Send] = []
        self.polls: list[float] = []  # when each successful getUpdates finished
        self.sends_in_flight = 0
        self.notes: list[str] = []
        self.on_delivered = None  # called with (chat, Send) for every sendMessage answered 200

    def inject(self, index: int, kind: Kind) -> None:
        with self._cond:  # an RLock: fail_next & co. take it again
            queue = self._faults[kind.method]
            if queue:
                self.notes.append(
                    f"{kind.label}: injected while {len(queue)} earlier fault(s) were unused"
                )
            before = len(queue)
            if kind.action == "fail":
                self.fail_next(kind.method, status=kind.status, retry_after=1, count=kind.count)
            elif kind.action == "drop":
                self.drop_next(kind.method, count=kind.count)
            else:
                self.delay_next(kind.method, kind.seconds, count=kind.count)
            with self.lock:
                for fault in list(queue)[before:]:
                    self.kind_of_fault[id(fault)] = index

    def unused_faults(self) -> int:
        with self._cond:
            return sum(len(q) for q in self._faults.values())

    def _serve(self, token: str, method: str, params: dict):  # type: ignore[override]
        _local.fault = None
        sending = method == "sendMessage"
        if sending:
            with self.lock:
                self.sends_in_flight += 1
        arrived = time.monotonic()
        try:
            reply = super()._serve(token, method, params)
        finally:
            if sending:
                with self.lock:
                    self.sends_in_flight -= 1
        ended = time.monotonic()
        status = 0 if reply.drop else reply.status
        fault = _local.fault
        chat = params.get("chat_id")
        with self.lock:
            if fault is not None and id(fault) in self.kind_of_fault:
                self.hits.append(
                    Hit(self.kind_of_fault[id(fault)], method, chat, arrived, ended, status)
                )
            if method == "getUpdates" and status == 200:
                self.polls.append(ended)
            send = None
            if sending:
                send = Send(chat, arrived, ended, status, str(params.get("text", "")))
                self.sends.append(send)
            callback = self.on_delivered
        if send is not None and status == 200 and callback is not None:
            callback(chat, send)
        return reply


# ------------------------------------------------------------------ the load


@dataclass
class Question:
    index: int
    user: int
    chat: int
    pushed: float
    replies: list[Send] = field(default_factory=list)

    def first(self) -> Send | None:
        return self.replies[0] if self.replies else None

    def latency(self) -> float | None:
        return self.replies[0].ended - self.pushed if self.replies else None

    def kinds(self) -> list[str]:
        return [e2e.classify(r.text) for r in self.replies]


class Load:
    """Open loop: question i is due at start + i / rate, from user i mod users, in chat
    CHAT_BASE + i; replies are collected from the fake's server threads."""

    def __init__(self, fake: FaultyFake, users: int, pool: dict[str, list[str]]) -> None:
        self.fake = fake
        self.users = [(100_000 + i, e2e.user_language(i)) for i in range(users)]
        self.pool = pool
        self.rng = random.Random(SEED)
        self.lock = threading.Lock()
        self.questions: dict[int, Question] = {}
        self.strays: list[Send] = []
        fake.on_delivered = self.on_delivered

    def ask(self, index: int, chat: int | None = None) -> Question:
        user, language = self.users[index % len(self.users)]
        chat = CHAT_BASE + index if chat is None else chat
        text = self.rng.choice(self.pool[language])
        question = Question(index, user, chat, time.monotonic())
        with self.lock:
            self.questions[chat] = question
        self.fake.send_text(text, user_id=user, chat_id=chat, language_code=language)
        return question

    def on_delivered(self, chat: object, send: Send) -> None:
        with self.lock:
            question = self.questions.get(chat)  # type: ignore[arg-type]
            if question is None:
                self.strays.append(send)
            else:
                question.replies.append(send)

    def waiting(self, reply_timeout: float) -> int:
        now = time.monotonic()
        with self.lock:
            return sum(
                1
                for q in self.questions.values()
                if not q.replies and now - q.pushed < reply_timeout
            )


def offer(load: Load, rate: float, start: float, count: int, stop: threading.Event) -> None:
    for index in range(count):
        delay = start + index / rate - time.monotonic()
        if delay > 0 and stop.wait(delay):
            return
        load.ask(index)


def inject_all(fake: FaultyFake, start: float, stop: threading.Event, log: list) -> None:
    plan = sorted((t, i) for i, kind in enumerate(SCHEDULE) for t in kind.at)
    for at, index in plan:
        delay = start + at - time.monotonic()
        if delay > 0 and stop.wait(delay):
            return
        fake.inject(index, SCHEDULE[index])
        log.append((index, time.monotonic()))


# ------------------------------------------------------------------ analysis


@dataclass
class Row:
    kind: Kind | None
    first_injected: float | None = None
    window: tuple[float, float] | None = None
    used: int = 0
    poll_gap: float | None = None
    questions: list[Question] = field(default_factory=list)


def windows(fake: FaultyFake, injections: list, run_end: float, load_end: float) -> list[Row]:
    """Each kind's window; its poll gap is measured up to `load_end` (the last question sent:
    after it the fake's long polls idle for up to 2 s, which is not a gap)."""
    rows = [Row(kind) for kind in SCHEDULE]
    for index, at in injections:
        row = rows[index]
        row.first_injected = at if row.first_injected is None else min(row.first_injected, at)
    for hit in fake.hits:
        rows[hit.kind].used += 1
    for index, row in enumerate(rows):
        if row.first_injected is None:
            continue
        ends = [h.ended for h in fake.hits if h.kind == index]
        fully_used = row.used >= SCHEDULE[index].injected
        end = max(ends) + GRACE if ends and fully_used else run_end
        row.window = (row.first_injected, end)
        until = min(end, load_end)
        polls = [row.first_injected] + [p for p in fake.polls if row.first_injected < p <= until]
        if polls[-1] < until:
            later = [p for p in fake.polls if p > until]
            polls.append(min(later[0], until) if later else until)
        row.poll_gap = max((b - a for a, b in zip(polls, polls[1:], strict=False)), default=0.0)
    return rows


def attribute(
    load: Load, fake: FaultyFake, rows: list[Row], reply_timeout: float
) -> tuple[Row, int]:
    """Assign every question to a fault kind's row (or the returned "no fault" row); also the
    number of affected questions whose life overlapped more than one window."""
    hit_chats = {}
    for hit in fake.hits:
        if hit.method == "sendMessage":
            hit_chats.setdefault(hit.chat, hit.kind)
    clean = Row(None)
    ambiguous = 0
    for question in load.questions.values():
        end = question.replies[-1].ended if question.replies else question.pushed + reply_timeout
        overlapping = [
            i
            for i, row in enumerate(rows)
            if row.window is not None and row.window[0] <= end and question.pushed <= row.window[1]
        ]
        if question.chat in hit_chats:
            rows[hit_chats[question.chat]].questions.append(question)
            continue
        if overlapping:
            if len(overlapping) > 1:
                ambiguous += 1
            rows[min(overlapping, key=lambda i: rows[i].window[0])].questions.append(question)
        else:
            clean.questions.append(question)
    return clean, ambiguous


@dataclass
class Effects:
    delayed: int
    max_delayed: float | None
    lost: int
    apology: int
    duplicates: int
    apology_only: int


def effects(questions: list[Question], threshold: float, reply_timeout: float) -> Effects:
    late = [lat for q in questions if (lat := q.latency()) is not None and lat > threshold]
    lost = sum(1 for q in questions if q.latency() is None or q.latency() > reply_timeout)
    apology = sum(1 for q in questions if "error" in q.kinds())
    only = sum(
        1
        for q in questions
        if "error" in q.kinds() and not any(k in NORMAL_REPLIES for k in q.kinds())
    )
    duplicates = sum(1 for q in questions if len(q.replies) > 1)
    return Effects(len(late), max(late, default=None), lost, apology, duplicates, only)


def grid(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.rjust(widths[c]) if c in right else cell.ljust(widths[c])
            for c, cell in enumerate(cells)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


LOG_LINE = re.compile(r"^\S+ \S+ (ERROR|WARNING|CRITICAL) (\S+): (.*)$")


def log_summary(log: str) -> tuple[Counter, Counter]:
    levels: Counter[str] = Counter()
    messages: Counter[str] = Counter()
    for line in log.splitlines():
        match = LOG_LINE.match(line)
        if match:
            levels[match.group(1)] += 1
            text = re.sub(r"\d+(\.\d+)?", "N", match.group(3))[:150]
            messages[f"{match.group(1)} {match.group(2)}: {text}"] += 1
    return levels, messages


# ------------------------------------------------------------------ main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--rate", type=float, default=20, help="offered questions/s")
    parser.add_argument("--duration", type=float, default=60, help="load duration, s")
    parser.add_argument("--timeout", type=float, default=300, help="hard limit for the run, s")
    parser.add_argument("--reply-timeout", type=float, default=60, help="a reply later is lost")
    args = parser.parse_args()
    if args.users < 1 or args.rate <= 0:
        parser.error("--users and --rate must be positive")
    if args.duration < LAST_INJECTION + 5:
        parser.error(f"--duration must be at least {LAST_INJECTION + 5:g} s (the fault schedule)")

    hard_deadline = time.monotonic() + args.timeout
    pool = e2e.question_pool()
    workdir = Path(tempfile.mkdtemp(prefix="stakhanov-faults-"))
    fake = FaultyFake()
    fake.start()
    bot = e2e.BotProcess(fake, workdir, "INFO", MAX_MESSAGES_PER_SECOND="0")
    load = Load(fake, args.users, pool)
    stop = threading.Event()
    injections: list[tuple[int, float]] = []
    count = int(args.duration * args.rate)
    crashed: int | None = None
    timed_out = False
    probe: Question | None = None
    try:
        bot.wait_ready()
        start = time.monotonic()
        threads = [
            threading.Thread(target=offer, args=(load, args.rate, start, count, stop), daemon=True),
            threading.Thread(target=inject_all, args=(fake, start, stop, injections), daemon=True),
        ]
        for thread in threads:
            thread.start()
        # Until the load is offered, every question has a reply or is lost, no sendMessage is
        # being served (a delayed one delivers late) and every fault has been used.
        settle_by: float | None = None
        while True:
            if bot.process.poll() is not None:
                crashed = bot.process.returncode
                break
            if time.monotonic() > hard_deadline:
                timed_out = True
                break
            offered = not any(t.is_alive() for t in threads)
            if offered and settle_by is None:
                settle_by = time.monotonic() + args.reply_timeout + 5
            if settle_by is not None and time.monotonic() > settle_by:
                break  # unused faults or unfinished sends are reported, not waited for
            with fake.lock:
                in_flight = fake.sends_in_flight
            if (
                offered
                and not load.waiting(args.reply_timeout)
                and not in_flight
                and not fake.unused_faults()
            ):
                break
            time.sleep(0.1)
        stop.set()
        load_end = time.monotonic()
        if crashed is None and not timed_out:
            time.sleep(1.0)  # a straggling second reply would show up now
            # Still polling? A probe question after everything else must be answered.
            probe = load.ask(count, chat=CHAT_BASE - 1)
            probe_deadline = min(hard_deadline, time.monotonic() + 10)
            while not probe.replies and time.monotonic() < probe_deadline:
                time.sleep(0.02)
            if bot.process.poll() is not None:
                crashed = bot.process.returncode
        run_end = time.monotonic()
        exit_code = bot.stop() if crashed is None else crashed
        log = bot.log()
    finally:
        stop.set()
        bot.stop()
        fake.stop()

    with load.lock:
        questions = [q for q in load.questions.values() if q is not probe]
        load.questions = {q.chat: q for q in questions}
    last_pushed = max((q.pushed for q in questions), default=run_end)
    rows = windows(fake, injections, run_end, last_pushed)
    clean, ambiguous = attribute(load, fake, rows, args.reply_timeout)
    clean_latencies = [lat for q in clean.questions if (lat := q.latency()) is not None]
    fault_free_p50 = e2e.percentile(clean_latencies, 0.5)
    threshold = max(DELAY_FACTOR * fault_free_p50, DELAY_FLOOR)
    latencies = [lat for q in questions if (lat := q.latency()) is not None]
    everything = effects(questions, threshold, args.reply_timeout)
    reply_kinds = Counter(k for q in questions for k in q.kinds())
    replies = sum(reply_kinds.values())
    levels, messages = log_summary(log)
    polling = probe is not None and bool(probe.replies)
    first = min((q.pushed for q in questions), default=0.0)

    header = [
        "fault kind",
        "at s",
        "faults",
        "used",
        "window",
        "poll gap",
        "questions",
        "delayed",
        "max latency",
        "lost",
        "apology",
        "dup",
    ]
    table_rows = []
    for row in [*rows, clean]:
        e = effects(row.questions, threshold, args.reply_timeout)
        if row.kind is None:
            label, at, faults, used, window, gap = "none (fault-free)", "-", "-", "-", "-", "-"
        else:
            label = row.kind.label
            at = ",".join(f"{t:g}" for t in row.kind.at)
            faults, used = str(row.kind.injected), str(row.used)
            window = (
                f"{row.window[0] - first:.1f}-{row.window[1] - first:.1f}" if row.window else "-"
            )
            gap = seconds(row.poll_gap)
        apology = str(e.apology) + (f" ({e.apology_only} only)" if e.apology else "")
        table_rows.append(
            [
                label,
                at,
                faults,
                used,
                window,
                gap,
                str(len(row.questions)),
                str(e.delayed),
                seconds(e.max_delayed),
                str(e.lost),
                apology,
                str(e.duplicates),
            ]
        )

    offered_rate = len(questions) / max(args.duration, 1e-9)
    overall = [
        (
            "load",
            f"{args.rate:g} questions/s offered (open loop) from {args.users} users for "
            f"{args.duration:g} s, each question in a chat of its own; "
            f"MAX_MESSAGES_PER_SECOND=0; {offered_rate:.1f}/s sent",
        ),
        ("questions", str(len(questions))),
        (
            "replies",
            f"{replies} ("
            + ", ".join(
                f"{reply_kinds[k]} {k}"
                for k in (*NORMAL_REPLIES, "error", "too_long", "other")
                if reply_kinds[k] or k in ("answered", "error")
            )
            + "; 'error' = the apology)",
        ),
        (
            "latency p50 / p99",
            f"{e2e.percentile(latencies, 0.5) * 1000:.0f} ms / "
            f"{e2e.percentile(latencies, 0.99) * 1000:.0f} ms (first reply; all questions)",
        ),
        (
            "fault-free p50",
            f"{fault_free_p50 * 1000:.1f} ms (p99 "
            f"{e2e.percentile(clean_latencies, 0.99) * 1000:.1f} ms) over {len(clean_latencies)} "
            f"questions; delayed = "
            f"first reply later than {threshold * 1000:.0f} ms",
        ),
        ("lost", f"{everything.lost} (no reply within {args.reply_timeout:g} s)"),
        (
            "apologies",
            f"{everything.apology} questions ({everything.apology_only} got only the apology)",
        ),
        ("duplicates", f"{everything.duplicates} (questions with more than one reply)"),
        ("ambiguous attribution", str(ambiguous)),
        (
            "kept polling",
            (
                f"yes: a probe question sent {probe.pushed - load_end:.1f} s after the last fault "
                f"settled was answered in {probe.latency() * 1000:.0f} ms"
            )
            if polling and probe is not None
            else "NO: the probe question after the load got no reply in 10 s"
            if probe is not None
            else "not checked (the bot exited or the run timed out)",
        ),
        (
            "bot log",
            f"{levels['ERROR'] + levels['CRITICAL']} ERROR lines, {levels['WARNING']} WARNING "
            f"lines (LOG_LEVEL=INFO)",
        ),
        (
            "bot exit code",
            f"{exit_code} (after SIGTERM)"
            if crashed is None
            else f"{crashed} (exited by itself during the run)",
        ),
    ]
    print("Faults under load: python -m bot run against the fake Bot API on 127.0.0.1")
    print(grid(header, table_rows, right={1, 2, 3, 5, 6, 7, 8, 9, 11}))
    print()
    print(e2e.table(overall))
    overlaps = [
        (a.kind.label, b.kind.label)
        for a, b in zip(rows, rows[1:], strict=False)
        if a.window and b.window and a.window[1] > b.window[0]
    ]
    for a, b in overlaps:
        print(f"WARNING: the windows of {a!r} and {b!r} overlap; attribution is ambiguous")
    for note in fake.notes:
        print("note:", note)
    if load.strays:
        print(f"note: {len(load.strays)} sendMessage to chats no question was asked in")
    if fake.server_errors:
        print(f"note: {len(fake.server_errors)} unexpected errors inside the fake server")
    if messages:
        print("\nbot log, ERROR/WARNING lines by message (numbers as N):")
        for text, n in messages.most_common(12):
            print(f"{n:5d}  {text}")

    failures = []
    if timed_out:
        failures.append(f"the run hit the hard timeout of {args.timeout:g} s")
    if crashed is not None:
        failures.append(f"the bot exited with {crashed} during the run")
    else:
        if probe is not None and not polling:
            failures.append("the bot stopped polling")
        if exit_code != 0:
            failures.append(f"the bot's exit code after SIGTERM was {exit_code}")
    for failure in failures:
        print("FAILED:", failure)
    if failures:
        print(f"kept the bot's folder for a look: {workdir}")
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
