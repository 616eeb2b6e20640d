"""The one interface every store keeps, and the background writer they share."""

from __future__ import annotations

import logging
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bot.normalise import without_surrogates

logger = logging.getLogger("bot.store")

MAX_STORED_CHARS = 1000
BATCH = 500  # questions written in one transaction when the writer is behind
OUTCOMES = ("answered", "clarify", "no_match")

QuestionRow = tuple[float, str, str, str, str, str | None, str | None]
"""(asked at, question, normalised, outcome, language, token, entry): never who asked. The
token is random, shared only with the buttons under the reply, so a press can be tied to the
question; the entry is the one answered or suggested first."""
FEEDBACK = ("picked", "none", "helpful", "unhelpful")
DECISIONS = ("phrasing", "example", "ignored")


class StoreError(Exception):
    """The store cannot be read or written right now; the message says why."""


@dataclass(frozen=True)
class Unanswered:
    question: str
    normalised: str
    count: int
    last_asked: datetime
    language: str = "en"
    outcome: str = "no_match"


@dataclass(frozen=True)
class Stats:
    overall: dict[str, int]
    last_day: dict[str, int]
    days: tuple[tuple[str, dict[str, int]], ...] = ()
    """Per day (YYYY-MM-DD, oldest first, days with questions only), the outcome counts."""
    helpfulness: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Per entry, the 👍 and 👎 it got."""


def build_stats(
    overall: Iterable[tuple[str, int]],
    last_day: Iterable[tuple[str, int]],
    per_day: Iterable[tuple[str, str, int]],
    helpfulness: Iterable[tuple[str, int, int]],
) -> Stats:
    """Stats from a store's query rows: (outcome, count) overall and for the last day,
    (day, outcome, count) per day, and (entry, 👍, 👎)."""
    empty = dict.fromkeys(OUTCOMES, 0)
    days: dict[str, dict[str, int]] = {}
    for day, outcome, count in per_day:
        days.setdefault(day, dict(empty))[outcome] = count
    return Stats(
        empty | dict(overall),
        empty | dict(last_day),
        tuple(days.items()),
        {entry: (int(up), int(down)) for entry, up, down in helpfulness},
    )


@dataclass(frozen=True)
class Signal:
    """What people did with one question, grouped by its normalised form: the raw material
    of suggestions."""

    kind: str
    """picked (a "did you mean" button), none ("none of these"), unhelpful (👎 on an answer)
    or declined (no entry answered)."""
    question: str
    normalised: str
    language: str
    entry: str | None
    count: int


class Store(ABC):
    """What the bot keeps between updates, restarts and instances.

    - the question log (text, normalised form, outcome, language, time; never a user id),
      written by a background thread so logging never delays an answer;
    - users' chosen answer language;
    - the webhook inbox: each update accepted once, finished once, and taken over by another
      instance if the one that accepted it died;
    - the knowledge file's latest installed version, for instances to share.

    Reads raise StoreError; writes of the log and preferences log their failure and go on.
    """

    name: str
    shared = False
    """True when several instances use this store (and so share the knowledge)."""

    def __init__(self, name: str, capacity: int = 10_000) -> None:
        self.name = name
        self._writer = QuestionWriter(self._insert_questions, name, capacity)

    def record(
        self,
        question: str,
        normalised: str,
        outcome: str,
        language: str,
        token: str | None = None,
        entry: str | None = None,
    ) -> None:
        """Queue one question for the log; returns at once (if the queue is full, drops it)."""
        self._writer.put(
            (
                time.time(),
                without_surrogates(question[:MAX_STORED_CHARS]),
                without_surrogates(normalised),
                outcome,
                without_surrogates(language),
                token,
                entry,
            )
        )

    def flush(self, timeout: float = 2.0) -> bool:
        """Wait (at most `timeout` seconds) until queued questions are written or given up on."""
        return self._writer.flush(timeout)

    def close(self) -> None:
        self._writer.close()
        self._close()

    def _close(self) -> None:
        """Release connections (after the writer has finished)."""
        return None

    @abstractmethod
    def _insert_questions(self, rows: list[QuestionRow]) -> None:
        """Write rows in one transaction; raise StoreError if the store is unavailable."""

    @abstractmethod
    def unanswered(self, limit: int = 10, days: int = 30) -> list[Unanswered]:
        """The most frequent recent questions that were declined or needed clarifying."""

    @abstractmethod
    def stats(self, days: int = 14) -> Stats:
        """Outcome counts overall, for the last 24 hours and per day of the last `days`, and
        the 👍/👎 per entry over those days."""

    @abstractmethod
    def record_feedback(self, kind: str, token: str | None, entry: str | None) -> None:
        """A button pressed under a reply (one of FEEDBACK); failures are only logged."""

    @abstractmethod
    def signals(self, days: int = 30) -> list[Signal]:
        """Picks, "none of these", 👎 and declines of the last `days`, grouped, most first."""

    @abstractmethod
    def decide(self, normalised: str, decision: str) -> None:
        """Remember what the admin did with a suggestion (one of DECISIONS)."""

    @abstractmethod
    def decisions(self) -> dict[str, str]:
        """Normalised question → the admin's decision, for suggestions not to come back."""

    @abstractmethod
    def language(self, user_id: int) -> str | None:
        """The user's chosen language, or None (also when it cannot be read)."""

    @abstractmethod
    def set_language(self, user_id: int, language: str | None) -> None:
        """Remember a language for the user; None forgets it. Failures are only logged."""

    @abstractmethod
    def accept_update(self, update_id: int, body: bytes) -> bool:
        """Keep a webhook update as this instance's work; False if it was accepted before."""

    @abstractmethod
    def finish_update(self, update_id: int) -> None:
        """The update has been answered: nobody takes it over."""

    @abstractmethod
    def renew_updates(self, update_ids: list[int]) -> None:
        """These updates are still being answered here: nobody takes them over yet."""

    @abstractmethod
    def orphaned_updates(self, lease: float, limit: int = 100) -> list[bytes]:
        """Take over updates accepted more than `lease` seconds ago and never finished (their
        instance died); each is handed to one caller only."""

    def publish_knowledge(self, data: bytes) -> None:
        """Make `data` the knowledge file every instance serves (no-op for one instance)."""
        return None

    def latest_knowledge(self) -> bytes | None:
        """The knowledge file last published by any instance, if any."""
        return None

    def watch_knowledge(self, callback: Callable[[], None]) -> None:
        """Call `callback` (from another thread) when another instance publishes."""
        return None


class QuestionWriter:
    """A queue and one thread that writes the question log in batches.

    A store that cannot be written (locked, read-only, down) is reported once per outage;
    a row that cannot be written on its own is logged and skipped. The thread survives both.
    """

    def __init__(self, write: Callable[[list[QuestionRow]], None], name: str, capacity: int):
        self._write = write
        self._name = name
        self._queue: queue.Queue[QuestionRow | None] = queue.Queue(capacity)
        self._failed = False
        self._dropping = False
        self._thread = threading.Thread(target=self._loop, name="question-log", daemon=True)
        self._thread.start()

    def put(self, row: QuestionRow) -> None:
        try:
            self._queue.put_nowait(row)
            self._dropping = False
        except queue.Full:
            if not self._dropping:
                logger.error("question log %s is not keeping up; dropping questions", self._name)
            self._dropping = True

    def flush(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._queue.all_tasks_done.wait(remaining)
        return True

    def close(self) -> None:
        try:
            self._queue.put(None, timeout=5)
        except queue.Full:
            return
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            while batch[-1] is not None and len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            rows = [row for row in batch if row is not None]
            try:
                if rows:
                    self._write_batch(rows)
            finally:
                for _ in batch:
                    self._queue.task_done()
            if batch[-1] is None:
                return

    def _write_batch(self, rows: list[QuestionRow]) -> None:
        try:
            self._write(rows)
            self._failed = False
        except StoreError as exc:
            if not self._failed:
                logger.error("question log %s cannot be written: %s", self._name, exc)
            self._failed = True
        except Exception:
            if len(rows) == 1:
                logger.exception("question log %s: a row could not be written", self._name)
                return
            for row in rows:
                self._write_batch([row])
