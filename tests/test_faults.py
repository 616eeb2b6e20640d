"""Fault injection: the real `python -m bot run` against a misbehaving fake Bot API.

Each test starts its own bot process (so one test's faults cannot leak into another), injects
one kind of failure through the fake (flood limits, server errors, dropped connections, a slow
server) or breaks DATA_DIR, checks the bot recovers by itself and answers later questions, and
ends by stopping the bot with SIGTERM and asserting exit code 0. Every wait is bounded.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.knowledge import default_path
from bot.replies import MESSAGES
from bot.store.sqlite import LOG_NAME, SCHEMA
from tests.fake_bot_api import Call, FakeBotAPI

ADMIN = 1001
BOT_NAME = "stakhanov_test_bot"
QUESTION, ANSWER = "when did stakhanov die", "1977"
APOLOGY = MESSAGES["error"]["en"]
REPLY_TIMEOUT = 15.0
_users = itertools.count(7000)


@dataclass
class RunningBot:
    fake: FakeBotAPI
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM the bot and return its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


@pytest.fixture(scope="module")
def knowledge(tmp_path_factory) -> Path:
    """A private copy of the shipped knowledge, safe from edits to the tree during the run."""
    root = tmp_path_factory.mktemp("knowledge")
    shutil.copytree(default_path().parent, root / "knowledge")
    return root / "knowledge" / "faq.yaml"


@pytest.fixture
def start_bot(tmp_path, knowledge) -> Iterator[Callable[..., RunningBot]]:
    """Start `python -m bot run` against a fresh fake; faults may be queued before it polls."""
    started: list[RunningBot] = []

    def start(
        faults: Callable[[FakeBotAPI], None] | None = None,
        data_dir: Path | None = None,
        **settings: str,
    ) -> RunningBot:
        fake = FakeBotAPI(username=BOT_NAME)
        fake.start()
        if faults is not None:
            faults(fake)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MATCH_", "KNOWLEDGE"))}
        env.update(
            TELEGRAM_BOT_TOKEN=fake.token,
            TELEGRAM_API_BASE_URL=fake.base_url,
            ADMIN_USER_IDS=str(ADMIN),
            KNOWLEDGE_FILE=str(knowledge),
            DATA_DIR=str(data_dir or tmp_path / "data"),
            LOG_LEVEL="INFO",
            **settings,
        )
        log_path = tmp_path / f"bot-{len(started)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=tmp_path,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        running = RunningBot(fake, process, log_path)
        started.append(running)
        # Polling has begun once the first getUpdates arrives (whatever the fake answers).
        fake.wait_for("getUpdates", timeout=30, include_failed=True)
        return running

    yield start
    for running in started:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(timeout=10)
        running.fake.stop()


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out after {timeout:g}s waiting for {what}"
        time.sleep(0.02)
    return result


def failed_call(fake: FakeBotAPI, method: str, status: int, timeout: float = 10) -> Call:
    """The first call to `method` the fake answered with `status` (0: dropped on purpose)."""
    return wait_until(
        lambda: next((c for c in fake.calls_to(method) if c.status == status), None),
        timeout,
        f"a {method} answered with status {status}",
    )


def ask(fake: FakeBotAPI, text: str = QUESTION, user: int | None = None) -> dict:
    """Send a text from a user and return the next message the bot sends back to them."""
    user = user or next(_users)
    before = len(replies_to(fake, user))
    fake.send_text(text, user_id=user)
    calls = fake.wait_for(
        "sendMessage", lambda p: p["chat_id"] == user, timeout=REPLY_TIMEOUT, count=before + 1
    )
    return calls[before].params


def replies_to(fake: FakeBotAPI, user: int) -> list[str]:
    return [
        c.params["text"]
        for c in fake.calls_to("sendMessage")
        if c.status == 200 and c.params.get("chat_id") == user
    ]


# ---------------------------------------------------------------- getUpdates failures


def test_flood_limit_on_get_updates_is_waited_out_then_answered(start_bot):
    bot = start_bot(lambda fake: fake.fail_next("getUpdates", status=429, retry_after=1))
    limited = failed_call(bot.fake, "getUpdates", 429)
    assert ANSWER in ask(bot.fake)["text"]
    later = [c for c in bot.fake.calls_to("getUpdates") if c.time > limited.time]
    assert later[0].time - limited.time >= 1.0, "the next poll did not wait retry_after"
    assert bot.stop() == 0, bot.log()


def test_server_errors_on_get_updates_are_retried_until_polling_recovers(start_bot):
    bot = start_bot(lambda fake: fake.fail_next("getUpdates", status=500, count=3))
    # PTB backs off 1 s, 1.5 s, 2.25 s between failed polls, then polls normally again.
    wait_until(
        lambda: sum(c.status == 500 for c in bot.fake.calls_to("getUpdates")) == 3,
        10,
        "three failed polls",
    )
    assert ANSWER in ask(bot.fake)["text"]
    assert bot.process.poll() is None
    assert bot.stop() == 0, bot.log()


def test_dropped_connection_on_get_updates_is_retried(start_bot):
    bot = start_bot(lambda fake: fake.drop_next("getUpdates", count=2))
    wait_until(
        lambda: sum(c.status == 0 for c in bot.fake.calls_to("getUpdates")) == 2,
        10,
        "two dropped polls",
    )
    assert ANSWER in ask(bot.fake)["text"]
    assert bot.stop() == 0, bot.log()


def test_slow_get_updates_still_delivers_the_question(start_bot):
    bot = start_bot()
    injected = time.monotonic()
    bot.fake.delay_next("getUpdates", 3)
    # The long poll already waiting is not delayed; wait for the next one, which is.
    slow = wait_until(
        lambda: next((c for c in bot.fake.calls_to("getUpdates") if c.time > injected), None),
        5,
        "the delayed poll",
    )
    user = next(_users)
    reply = ask(bot.fake, user=user)
    assert ANSWER in reply["text"]
    answered = bot.fake.calls_to("sendMessage")[-1]
    assert answered.params["chat_id"] == user and answered.time - slow.time >= 3
    assert bot.stop() == 0, bot.log()


# ---------------------------------------------------------------- sendMessage failures


def test_server_error_on_send_message_is_retried_and_the_answer_delivered(start_bot):
    # A 5xx answer means the Bot API did not send the message, so it is retried (after
    # 0.5 s), and the user gets the answer once, with no apology.
    bot = start_bot()
    user = next(_users)
    bot.fake.fail_next("sendMessage", status=500)
    bot.fake.send_text(QUESTION, user_id=user)
    wait_until(lambda: replies_to(bot.fake, user), REPLY_TIMEOUT, "a reply after the 500")
    attempts = [c for c in bot.fake.calls_to("sendMessage") if c.params.get("chat_id") == user]
    assert [c.status for c in attempts] == [500, 200]
    assert all(ANSWER in c.params["text"] for c in attempts)
    assert APOLOGY not in replies_to(bot.fake, user)
    assert bot.stop() == 0, bot.log()


def test_server_errors_on_send_message_are_retried_a_bounded_number_of_times(start_bot):
    bot = start_bot()
    user = next(_users)
    bot.fake.fail_next("sendMessage", status=502, count=20)
    bot.fake.send_text(QUESTION, user_id=user)
    wait_until(
        lambda: len([c for c in bot.fake.calls_to("sendMessage") if c.status == 502]) >= 4,
        REPLY_TIMEOUT,
        "four attempts",
    )
    time.sleep(4)
    answers = [c for c in bot.fake.calls_to("sendMessage") if ANSWER in c.params.get("text", "")]
    assert len(answers) == 4
    assert bot.stop() == 0, bot.log()


def test_dropped_connection_on_send_message_apologises_and_recovers(start_bot):
    bot = start_bot()
    user = next(_users)
    bot.fake.drop_next("sendMessage")
    bot.fake.send_text(QUESTION, user_id=user)
    wait_until(lambda: replies_to(bot.fake, user), REPLY_TIMEOUT, "a reply after the drop")
    statuses = [
        c.status for c in bot.fake.calls_to("sendMessage") if c.params.get("chat_id") == user
    ]
    assert statuses == [0, 200]
    assert replies_to(bot.fake, user) == [APOLOGY]
    assert ANSWER in ask(bot.fake)["text"]
    assert bot.stop() == 0, bot.log()


def test_slow_send_message_still_delivers_the_answer(start_bot):
    bot = start_bot()
    bot.fake.delay_next("sendMessage", 3)  # under PTB's 5 s read timeout
    user = next(_users)
    started = time.monotonic()
    assert ANSWER in ask(bot.fake, user=user)["text"]
    assert time.monotonic() - started >= 3
    assert len(replies_to(bot.fake, user)) == 1  # delivered once, no apology after it
    assert bot.stop() == 0, bot.log()


# ---------------------------------------------------------------- DATA_DIR


def test_unusable_data_dir_keeps_answering_logs_once_and_stats_replies(start_bot, tmp_path):
    # A path under a regular file: no directory or database can be created there, even as root.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file, not a folder\n")
    bot = start_bot(data_dir=blocker / "data", DATABASE_URL="")  # the SQLite store's folder
    for text in (
        QUESTION,
        "how much coal did Stakhanov mine in one shift",
        "who won the 1988 olympics",
    ):
        assert ask(bot.fake, text)["text"]
    stats = ask(bot.fake, "/stats", ADMIN)["text"]
    assert stats.startswith("Overall:") and "Last 24 hours:" in stats
    assert ANSWER in ask(bot.fake)["text"]
    ask(bot.fake, "/stats", ADMIN)  # flushes the log writer, so every failed write has happened
    assert bot.log().count("cannot be written") == 1, bot.log()
    assert bot.stop() == 0, bot.log()


def test_transient_polling_error_is_logged_without_a_traceback(start_bot):
    bot = start_bot(lambda fake: fake.fail_next("getUpdates", status=500))
    failed_call(bot.fake, "getUpdates", 500)
    assert ANSWER in ask(bot.fake)["text"]
    log = bot.log()
    assert "Traceback" not in log and "NoneType" not in log, log
    assert bot.stop() == 0, log


def test_stats_replies_promptly_while_the_question_log_is_locked(start_bot, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    holder = sqlite3.connect(data / LOG_NAME, isolation_level=None)
    try:
        holder.executescript(SCHEMA)
        holder.execute("BEGIN EXCLUSIVE")  # another process holding the database
        bot = start_bot(data_dir=data)
        assert ANSWER in ask(bot.fake)["text"]  # answering never waits for the log ...
        assert ask(bot.fake, "who won the 1988 olympics")["text"]
        bot.fake.send_text("/stats", user_id=ADMIN)
        calls = bot.fake.wait_for("sendMessage", lambda p: p["chat_id"] == ADMIN, timeout=5)
        text = calls[0].params["text"]
        assert text.startswith(("Overall:", "The question log cannot be read right now")), text
    finally:
        holder.close()
    assert bot.stop() == 0, bot.log()


def test_a_passing_401_on_get_updates_does_not_stop_polling(start_bot):
    bot = start_bot(lambda fake: fake.fail_next("getUpdates", status=401, count=2))
    failed_call(bot.fake, "getUpdates", 401)
    assert "1977" in ask(bot.fake, "when did he die")["text"]
    assert bot.process.poll() is None


def test_a_404_on_get_updates_does_not_stop_polling(start_bot):
    bot = start_bot(lambda fake: fake.fail_next("getUpdates", status=404))
    failed_call(bot.fake, "getUpdates", 404)
    assert "1977" in ask(bot.fake, "when did he die")["text"]


def test_a_revoked_token_ends_the_process_with_exit_code_3(start_bot):
    bot = start_bot()
    assert "1977" in ask(bot.fake, "when did he die")["text"]
    real = bot.fake.token
    bot.fake.token = "987654321:AAAnotherTokenTheServerDoesNotKnow_xyz"
    assert bot.process.wait(timeout=40) == 3
    log = bot.log_path.read_text(errors="replace")
    assert "rejected by the Bot API while running" in log and real not in log


def test_a_chosen_language_survives_a_restart(start_bot, tmp_path):
    data = tmp_path / "shared-data"
    first = start_bot(data_dir=data)
    user = next(_users)
    ask(first.fake, "/lang", user)
    message = first.fake.sent_messages(user)[-1]
    first.fake.press_button("l:uk", message=message, user_id=user)
    first.fake.wait_for("editMessageText", lambda p: "українською" in p.get("text", ""))
    assert first.stop() == 0
    second = start_bot(data_dir=data)
    assert "Джерело" in ask(second.fake, "when did he die", user)["text"]


def test_a_flooding_chat_cannot_delay_another_chat(start_bot):
    bot = start_bot()
    noisy, quiet = next(_users), next(_users)
    for _ in range(150):
        bot.fake.send_text(QUESTION, user_id=noisy)
    started = time.monotonic()
    assert ANSWER in ask(bot.fake, QUESTION, quiet)["text"]
    assert time.monotonic() - started < 1.5
    time.sleep(1)
    flood = replies_to(bot.fake, noisy)
    assert sum(MESSAGES["slow_down"]["en"] == text for text in flood) == 1
    assert len(flood) <= 8
    assert bot.stop() == 0, bot.log()
