"""Two instances behind one webhook, one of them killed and restarted: is every answer sent once?

Two real bots (`stakhanov-bot run --webhook-url`) share a PostgreSQL store (DATABASE_URL, else a
server started here from the installed binaries). This script plays Telegram and a load
balancer: it POSTs --updates questions (one per chat) to the instances in turn, from 8
concurrent senders, and like Telegram it redelivers any update that did not get a 200 —
to the other instance. Meanwhile instance B is killed with SIGKILL --kills times and started
again --down seconds later each time; near the end instance A gets SIGTERM and is started
again (a rolling restart). Then the script waits for the inbox to settle and counts the
answers the fake Bot API received per chat: lost (none) and duplicated (more than one).

Run: python benchmarks/two_instances.py [--updates 3000] [--kills 5] [--down 2]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

import end_to_end as e2e  # noqa: E402  (also puts the project root on sys.path)

from bot.knowledge import default_path  # noqa: E402
from bot.telegram.webhook import SWEEP_EVERY, TAKE_OVER_AFTER, webhook_secret  # noqa: E402
from tests import postgres  # noqa: E402

SENDERS = 8  # concurrent deliveries, like Telegram's max_connections to one webhook
FIRST_CHAT = 5_000_000
QUESTIONS = ("when did stakhanov die", "how much coal did he mine", "коли народився Стаханов")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Instance:
    """One bot process in webhook mode on a fixed port, so it can be restarted in place."""

    def __init__(self, name: str, fake: e2e.TimedFake, root: Path, database_url: str):
        self.name = name
        self.fake = fake
        self.folder = root / name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.database_url = database_url
        self.process: subprocess.Popen | None = None
        (self.folder / "knowledge").parent.mkdir(parents=True, exist_ok=True)
        import shutil

        shutil.copytree(default_path().parent, self.folder / "knowledge")

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MATCH_", "KNOWLEDGE"))}
        env.update(
            TELEGRAM_BOT_TOKEN=self.fake.token,
            TELEGRAM_API_BASE_URL=self.fake.base_url,
            KNOWLEDGE_FILE=str(self.folder / "knowledge" / "faq.yaml"),
            DATA_DIR=str(self.folder / "data"),
            DATABASE_URL=self.database_url,
            MAX_MESSAGES_PER_SECOND="0",
            LOG_LEVEL="INFO",
        )
        command = [sys.executable, "-m", "bot", "run", "--webhook-url", self.url]
        command += ["--listen", "127.0.0.1", "--port", str(self.port)]
        log = (self.folder / "bot.log").open("ab")
        self.process = subprocess.Popen(
            command, cwd=self.folder, env=env, stdout=log, stderr=log, start_new_session=True
        )
        deadline = time.monotonic() + 60
        while not self.listening():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start:\n{self.log()[-3000:]}")
            time.sleep(0.05)

    def listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def kill(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)
        self.process.wait(timeout=30)

    def log(self) -> str:
        return (self.folder / "bot.log").read_text(encoding="utf-8", errors="replace")


def deliver(update: dict, instances: list[Instance], secret: str, attempts: Counter) -> None:
    """POST until some instance answers 200, starting with the one the balancer picks, then
    the other: Telegram redelivers, and a balancer fails over."""
    body = json.dumps(update).encode()
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret}
    turn = update["update_id"] % len(instances)
    while True:
        instance = instances[turn % len(instances)]
        attempts[instance.name] += 1
        request = urllib.request.Request(instance.url, body, headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        attempts["redelivered"] += 1
        turn += 1
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--kills", type=int, default=5, help="times B is killed (SIGKILL)")
    parser.add_argument("--down", type=float, default=2.0, help="seconds B stays dead each time")
    args = parser.parse_args()
    answers: Counter[int] = Counter()
    lock = threading.Lock()

    def on_send(chat_id: object, at: float, params: dict) -> None:
        with lock:
            answers[int(chat_id)] += 1

    server = None if postgres.ADMIN_URL else postgres.LocalServer()
    admin_url = postgres.ADMIN_URL or server.url
    database_url = postgres.create_database(admin_url)
    fake = e2e.TimedFake(username="stakhanov_two_bot")
    fake.on_send = on_send
    fake.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            a, b = (Instance(n, fake, Path(tmp), database_url) for n in ("A", "B"))
            a.start()
            b.start()
            report = run(args, fake, [a, b], answers, lock)
            for instance in (a, b):
                if instance.process and instance.process.poll() is None:
                    instance.kill(signal.SIGTERM)
                report.append(f"{instance.name} exit code {instance.process.returncode}")
                taken = instance.log().count("taking over update")
                report.append(f"{instance.name} took over {taken} updates")
    finally:
        fake.stop()
        postgres.drop_database(admin_url, database_url)
        if server:
            server.stop()
    print("\n".join(report))


def run(args, fake, instances, answers, lock) -> list[str]:
    a, b = instances
    secret = webhook_secret(fake.token)
    attempts: Counter[str] = Counter()
    work: queue.Queue[dict | None] = queue.Queue()
    for i in range(args.updates):
        chat = FIRST_CHAT + i
        update = fake.send_text(QUESTIONS[i % len(QUESTIONS)], user_id=chat)
        work.put(update)

    def sender() -> None:
        while (update := work.get()) is not None:
            deliver(update, instances, secret, attempts)

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
        work.put(None)
    events = []
    steps = args.kills + 1
    for step in range(1, steps + 1):
        while work.qsize() > args.updates * (steps + 1 - step) // (steps + 1):
            time.sleep(0.01)
        victim, signum = (a, signal.SIGTERM) if step == steps else (b, signal.SIGKILL)
        victim.kill(signum)
        name = "SIGTERM" if signum == signal.SIGTERM else "SIGKILL"
        events.append(f"{victim.name} stopped ({name}) at {time.monotonic() - started:.1f} s")
        time.sleep(args.down if signum == signal.SIGKILL else 0)
        victim.start()
        events.append(f"{victim.name} back at {time.monotonic() - started:.1f} s")
    for thread in threads:
        thread.join()
    delivered = time.monotonic() - started
    settle = time.monotonic() + TAKE_OVER_AFTER + 3 * SWEEP_EVERY + 10
    chats = range(FIRST_CHAT, FIRST_CHAT + args.updates)
    while time.monotonic() < settle:
        with lock:
            if all(answers[c] for c in chats):
                break
        time.sleep(0.2)
    finished = time.monotonic() - started
    with lock:
        lost = sum(1 for c in chats if answers[c] == 0)
        duplicated = sum(1 for c in chats if answers[c] > 1)
    return [
        f"{args.updates} updates, one question per chat, {SENDERS} concurrent deliveries",
        *events,
        f"all delivered (200) after {delivered:.1f} s ({args.updates / delivered:.0f} updates/s);"
        f" redeliveries {attempts['redelivered']}",
        f"last answer after {finished:.1f} s",
        f"answered once: {args.updates - lost - duplicated}, lost: {lost},"
        f" duplicated: {duplicated}",
    ]


if __name__ == "__main__":
    main()
