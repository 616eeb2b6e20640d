"""Knowledge reloads under load: 100 reloads of the real bot while questions keep flowing.

Two valid variants of the shipped knowledge file are prepared in a temporary folder: A marks
every entry's answer and title (in every language) with the tag "[▲]", B with "[▼]". The
tags are punctuation only, so normalisation drops them and both variants match every question
exactly alike (checked before the run on every evaluation question). An answer carries its
entry's tag and its "related" buttons carry theirs; a clarification carries the tags of its
suggestions: a reply rendered from two knowledge bases at once would show both tags.

The bot (`python -m bot run`, against the fake Bot API on 127.0.0.1) serves the live file
while several users ask questions from tests/eval/questions.yaml in a closed loop. The
benchmark writes B and A alternately to the live path atomically (temporary file + fsync +
os.replace) and triggers each reload, alternating in pairs between the admin's /reload
(waiting for its "Reloaded." reply) and SIGHUP (waiting for the bot's log line), so each
trigger loads both variants.

Checks, printed as a table; the exit status is 1 if any fails:
  reloads        every requested reload confirmed ("Reloaded." or the SIGHUP log line)
  errors         replies other than an answer / clarification / decline / greeting, any
                 "Reload failed", a failed SIGHUP reload or an ERROR in the bot's log
  lost answers   questions with no reply
  mixed answers  replies carrying both tags
  stale answers  replies with the previous variant's tag to a question sent after a reload
                 was confirmed and answered before the next one was triggered
and the bot's exit code after SIGTERM must be 0.

Run: python benchmarks/reload_under_load.py [--reloads 100] [--users 8] [--gap 0.25]
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

BENCHMARKS = Path(__file__).resolve().parent
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

import end_to_end as e2e  # noqa: E402  (also puts the project root on sys.path)

from bot import bundle  # noqa: E402
from bot.bundle import Bundle  # noqa: E402
from bot.files import write_atomically  # noqa: E402
from bot.knowledge import default_path, load, parse  # noqa: E402
from bot.matching import Thresholds  # noqa: E402
from bot.replies import reply_to  # noqa: E402

TAGS = {"A": "[▲]", "B": "[▼]"}
ADMIN = 1
NORMAL_REPLIES = {"answered", "clarify", "no_match", "greeting"}


@dataclass
class Reload:
    variant: str
    trigger: str
    written: float  # time.monotonic() just before the file was replaced
    confirmed: float | None = None
    outcome: str = ""


def tagged(original: dict, tag: str) -> bytes:
    """The knowledge with every entry's answer and title prefixed by `tag`."""
    data = copy.deepcopy(original)
    for entry in data["entries"]:
        for name in ("answer", "title"):
            entry[name] = {lang: f"{tag} {text}" for lang, text in entry[name].items()}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=4096).encode("utf-8")


def merged(live: Path) -> dict:
    """The main file with its parts' entries and examples, as one file's data; the parts
    folder is removed, so the benchmark swaps one file as before the split."""
    data = yaml.safe_load(live.read_text(encoding="utf-8"))
    parts = bundle.parts_dir(live)
    for part in sorted(parts.glob("*.yaml")):
        loaded = yaml.safe_load(part.read_text(encoding="utf-8"))
        for key in ("entries", "out_of_scope"):
            data.setdefault(key, []).extend(loaded.get(key, []))
    shutil.rmtree(parts, ignore_errors=True)
    return data


def prepare(live_dir: Path, pool: dict[str, list[str]]) -> dict[str, bytes]:
    """Copy the shipped knowledge to `live_dir`; return variants A and B, both validated and
    shown to match every pool question exactly like the original."""
    shutil.copytree(default_path().parent, live_dir)
    live = live_dir / "faq.yaml"
    original = merged(live)
    live.write_bytes(
        yaml.safe_dump(original, allow_unicode=True, sort_keys=False, width=4096).encode("utf-8")
    )
    variants = {name: tagged(original, tag) for name, tag in TAGS.items()}
    bases = {"original": load(live)}
    bases.update({name: parse(Bundle.single(live, data)) for name, data in variants.items()})
    thresholds = Thresholds()
    for question in (q for questions in pool.values() for q in questions):
        outcomes = {
            name: (
                (r := reply_to(kb, question, thresholds=thresholds)).status,
                [(c.entry_id, round(c.score, 6)) for c in r.match.candidates[:3]],
            )
            for name, kb in bases.items()
        }
        if len(set(map(repr, outcomes.values()))) != 1:
            raise SystemExit(f"the variants match {question!r} differently: {outcomes}")
    return variants


def tags_in(params: dict) -> set[str]:
    shown = [params.get("text", ""), *e2e.button_labels(params)]
    return {name for name, tag in TAGS.items() if any(tag in text for text in shown)}


class Admin:
    """The admin's chat: /reload replies, collected from the fake's server threads."""

    def __init__(self, fake: e2e.TimedFake) -> None:
        self.fake = fake
        self.cond = threading.Condition()
        self.replies: list[str] = []

    def on_reply(self, params: dict) -> None:
        with self.cond:
            self.replies.append(params.get("text", ""))
            self.cond.notify_all()

    def reload(self, timeout: float) -> str | None:
        """Send /reload and return the bot's reply (None on timeout)."""
        with self.cond:
            before = len(self.replies)
        self.fake.send_text("/reload", user_id=ADMIN)
        with self.cond:
            self.cond.wait_for(lambda: len(self.replies) > before, timeout)
            return self.replies[before] if len(self.replies) > before else None


def wait_for_log(bot: e2e.BotProcess, needles: tuple[str, ...], after: int, timeout: float):
    """The first of `needles` counted more than `after` times in the bot's log, else None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = bot.log()
        for needle in needles:
            if log.count(needle) > after:
                return needle
        time.sleep(0.01)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reloads", type=int, default=100)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--gap", type=float, default=0.25, help="pause between reloads, s")
    parser.add_argument("--timeout", type=float, default=600, help="hard limit for the run, s")
    parser.add_argument("--reply-timeout", type=float, default=30, help="a reply later is lost")
    args = parser.parse_args()
    hard_deadline = time.monotonic() + args.timeout

    pool = e2e.question_pool()
    workdir = Path(tempfile.mkdtemp(prefix="stakhanov-reload-"))
    live = workdir / "knowledge" / "faq.yaml"
    variants = prepare(live.parent, pool)
    write_atomically(live, variants["A"])

    fake = e2e.TimedFake()
    fake.start()
    bot = e2e.BotProcess(fake, workdir, "INFO", KNOWLEDGE_FILE=str(live), ADMIN_USER_IDS=str(ADMIN))
    admin = Admin(fake)
    users = [(200_000 + i, e2e.user_language(i)) for i in range(args.users)]
    load = e2e.Load(fake, users, pool, None, closed_loop=True, reply_timeout=args.reply_timeout)

    def on_send(chat_id: object, arrived: float, params: dict) -> None:
        if chat_id == ADMIN:
            admin.on_reply(params)
        else:
            load.on_reply(chat_id, arrived, params)

    fake.on_send = on_send
    reloads: list[Reload] = []
    timed_out = False
    try:
        bot.wait_ready()
        started = time.monotonic()
        for user in load.active_users():
            load.ask(user)
        for index in range(args.reloads):
            if time.monotonic() > hard_deadline:
                timed_out = True
                break
            load.expire()
            variant = "B" if index % 2 == 0 else "A"
            trigger = "/reload" if (index // 2) % 2 == 0 else "SIGHUP"
            sighups = bot.log().count("knowledge reloaded on SIGHUP")
            reload = Reload(variant, trigger, time.monotonic())
            write_atomically(live, variants[variant])
            if trigger == "/reload":
                answer = admin.reload(timeout=30)
                reload.outcome = answer.split("\n")[0][:120] if answer else "no reply in 30 s"
                ok = answer is not None and answer.startswith("Reloaded.")
            else:
                os.kill(bot.pid, signal.SIGHUP)
                found = wait_for_log(
                    bot,
                    ("knowledge reloaded on SIGHUP", "SIGHUP reload failed"),
                    sighups,
                    timeout=30,
                )
                reload.outcome = found or "no log line in 30 s"
                ok = found == "knowledge reloaded on SIGHUP"
            if ok:
                reload.confirmed = time.monotonic()
            reloads.append(reload)
            time.sleep(args.gap)
        with load.cond:
            load.stopped = True
        drain_deadline = min(hard_deadline, time.monotonic() + args.reply_timeout)
        while not load.finished() and time.monotonic() < drain_deadline:
            load.expire()
            time.sleep(0.05)
        if not load.finished():
            timed_out = timed_out or time.monotonic() >= hard_deadline
            load.give_up()
        elapsed = time.monotonic() - started
        time.sleep(0.5)  # a straggling extra reply would show up now
        exit_code = bot.stop()
        log = bot.log()
    finally:
        bot.stop()
        fake.stop()

    confirmed = [r for r in reloads if r.confirmed is not None]
    by_trigger = Counter(r.trigger for r in confirmed)
    durations = [r.confirmed - r.written for r in confirmed if r.confirmed is not None]
    kinds = Counter(e2e.classify(a.reply.get("text", "")) for a in load.done)
    bad_replies = [
        a for a in load.done if e2e.classify(a.reply.get("text", "")) not in NORMAL_REPLIES
    ]
    failed_reloads = [r for r in reloads if r.confirmed is None]
    log_errors = [
        line
        for line in log.splitlines()
        if (" ERROR " in line or " CRITICAL " in line) and "SIGHUP reload failed" not in line
    ]
    errors = len(bad_replies) + len(load.extra) + len(failed_reloads) + len(log_errors)

    tagged_counts: Counter[str] = Counter()
    mixed: list[e2e.Asked] = []
    stale: list[e2e.Asked] = []
    for asked in load.done:
        found = tags_in(asked.reply)
        tagged_counts.update(found)
        if len(found) > 1:
            mixed.append(asked)
            continue
        if not found or asked.replied is None:
            continue
        # The variant served once the last reload confirmed before this question was sent ...
        before = [r for r in reloads if r.confirmed is not None and r.confirmed <= asked.pushed]
        expected = before[-1].variant if before else "A"
        # ... holds if the next reload had not been triggered before the reply arrived.
        later = [r for r in reloads if r.written > (before[-1].confirmed if before else 0)]
        if (not later or asked.replied < later[0].written) and found != {expected}:
            stale.append(asked)

    rows = [
        (
            "reloads",
            f"{len(confirmed)} of {args.reloads} confirmed "
            f"({by_trigger['/reload']} by /reload, {by_trigger['SIGHUP']} by SIGHUP)",
        ),
        (
            "reload time p50 / max",
            f"{e2e.percentile(durations, 0.5) * 1000:.0f} ms / "
            f"{max(durations, default=float('nan')) * 1000:.0f} ms (file replaced -> confirmed)",
        ),
        ("run time", f"{elapsed:.1f} s, {args.users} users asking in a closed loop"),
        (
            "questions",
            f"{len(load.done) + len(load.lost):,} asked, {len(load.done):,} replied"
            f" ({', '.join(f'{n:,} {k}' for k, n in kinds.most_common())})",
        ),
        (
            "replies by variant",
            f"{tagged_counts['A']:,} [▲] A, {tagged_counts['B']:,} [▼] B, "
            f"{len(load.done) - tagged_counts['A'] - tagged_counts['B']:,} untagged (declines)",
        ),
        (
            "errors",
            f"{errors} (odd replies {len(bad_replies)}, extra replies {len(load.extra)}, "
            f"failed reloads {len(failed_reloads)}, other bot log errors {len(log_errors)})",
        ),
        ("lost answers", str(len(load.lost))),
        ("mixed answers", str(len(mixed))),
        ("stale answers", str(len(stale))),
        ("bot exit code", f"{exit_code} (after SIGTERM)"),
    ]
    print("Reloads under load: python -m bot run against the fake Bot API on 127.0.0.1")
    print(e2e.table(rows))
    checks = {
        "reloads": len(confirmed) == args.reloads,
        "errors": errors == 0,
        "lost answers": not load.lost,
        "mixed answers": not mixed,
        "stale answers": not stale,
        "exit code": exit_code == 0,
        "hard timeout": not timed_out,
    }
    failed = [name for name, ok in checks.items() if not ok]
    for r in failed_reloads[:5]:
        print(f"reload to {r.variant} by {r.trigger} failed: {r.outcome}")
    for label, found in (("odd", bad_replies), ("mixed", mixed), ("stale", stale)):
        for asked in found[:3]:
            print(f"{label} reply to {asked.text!r}: {asked.reply.get('text', '')[:160]!r}")
    for line in log_errors[:5]:
        print("bot log:", line)
    if failed:
        print(f"\nFAILED: {', '.join(failed)}; kept the bot's folder for a look: {workdir}")
        return 1
    print("\nOK: every check passed")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
