"""What the bot keeps on disk: the question log (SQLite) and safe replacement of files.

The log holds question text, its normalised form, the outcome, the language and the time;
never a user id or name. Writes go through a queue to one writer thread, so logging never
delays an answer; if the database cannot be written (locked, read-only), the problem is
logged once and the bot carries on.
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import tempfile
import threading
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.normalise import without_surrogates

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY,
    asked_at REAL NOT NULL,
    question TEXT NOT NULL,
    normalised TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('answered', 'clarify', 'no_match')),
    language TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS questions_outcome_time ON questions (outcome, asked_at);
"""
DAY = 24 * 60 * 60
WRITE_TIMEOUT = 2.0
READ_TIMEOUT = 1.0
LOG_NAME = "questions.sqlite3"
MAX_STORED_CHARS = 1000


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


class QuestionLog:
    """The unanswered-question log and outcome counts, in SQLite under DATA_DIR."""

    def __init__(self, path: Path, capacity: int = 10_000) -> None:
        self.path = path
        self._queue: queue.Queue[tuple[float, str, str, str, str] | None] = queue.Queue(capacity)
        self._failed = False
        self._dropping = False
        self._writer = threading.Thread(target=self._write_loop, name="question-log", daemon=True)
        self._writer.start()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=WRITE_TIMEOUT)
        connection.executescript(SCHEMA)
        return connection

    def record(self, question: str, normalised: str, outcome: str, language: str) -> None:
        """Queue one question for the log; returns at once (if the queue is full, drops it)."""
        row = (
            time.time(),
            without_surrogates(question[:MAX_STORED_CHARS]),
            without_surrogates(normalised),
            outcome,
            without_surrogates(language),
        )
        try:
            self._queue.put_nowait(row)
            self._dropping = False
        except queue.Full:
            if not self._dropping:
                logger.error("question log %s is not keeping up; dropping questions", self.path)
            self._dropping = True

    def flush(self, timeout: float = 2.0) -> bool:
        """Wait (at most `timeout` seconds) until queued questions are written or given up on."""
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
        self._writer.join(timeout=5)

    def _write_loop(self) -> None:
        connection: sqlite3.Connection | None = None
        while True:
            row = self._queue.get()
            try:
                if row is None:
                    return
                connection = connection or self._connect()
                with connection:
                    connection.execute(
                        "INSERT INTO questions (asked_at, question, normalised, outcome, language)"
                        " VALUES (?, ?, ?, ?, ?)",
                        row,
                    )
                self._failed = False
            except (sqlite3.Error, OSError) as exc:
                connection = None
                if not self._failed:
                    logger.error("question log %s cannot be written: %s", self.path, exc)
                self._failed = True
            except Exception:
                logger.exception("question log %s: a row could not be written", self.path)
            finally:
                self._queue.task_done()

    def unanswered(self, limit: int = 10, days: int = 30) -> list[Unanswered]:
        return unanswered(self.path, limit, days)

    def stats(self) -> Stats:
        return stats(self.path)


def _read(path: Path, sql: str, params: tuple[object, ...]) -> list[tuple]:
    if not path.exists():
        return []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=READ_TIMEOUT) as connection:
        try:
            return connection.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise


def unanswered(path: Path, limit: int = 10, days: int = 30) -> list[Unanswered]:
    """The most frequent recent questions that were declined or needed clarifying."""
    rows = _read(
        path,
        "SELECT normalised, COUNT(*), MAX(asked_at),"
        " (SELECT question FROM questions q2 WHERE q2.normalised = q.normalised"
        "  AND q2.outcome != 'answered' ORDER BY asked_at DESC LIMIT 1),"
        " (SELECT language FROM questions q3 WHERE q3.normalised = q.normalised"
        "  AND q3.outcome != 'answered' ORDER BY asked_at DESC LIMIT 1),"
        " (SELECT outcome FROM questions q4 WHERE q4.normalised = q.normalised"
        "  AND q4.outcome != 'answered' ORDER BY asked_at DESC LIMIT 1)"
        " FROM questions q WHERE outcome != 'answered' AND asked_at >= ?"
        " GROUP BY normalised ORDER BY COUNT(*) DESC, MAX(asked_at) DESC LIMIT ?",
        (time.time() - days * DAY, limit),
    )
    return [
        Unanswered(
            question, normalised, count, datetime.fromtimestamp(last, UTC), language, outcome
        )
        for normalised, count, last, question, language, outcome in rows
    ]


def stats(path: Path) -> Stats:
    """Answered / clarify / no_match counts, overall and for the last 24 hours."""
    sql = "SELECT outcome, COUNT(*) FROM questions WHERE asked_at >= ? GROUP BY outcome"
    empty = {"answered": 0, "clarify": 0, "no_match": 0}
    overall = empty | dict(_read(path, sql, (0.0,)))
    last_day = empty | dict(_read(path, sql, (time.time() - DAY,)))
    return Stats(overall, last_day)


def replace_file(path: Path, data: bytes, backups: Path) -> Path | None:
    """Back up `path` (if it exists) into `backups`, then write `data` to it atomically.

    Returns the backup's path. A symlinked `path` keeps its link: the file it points to is
    replaced. The new file keeps the old one's permissions. A backup is written whole or not
    at all (a full disk leaves no empty backup behind, and then nothing is replaced).
    """
    target = path.resolve() if path.is_symlink() else path
    backup = None
    if target.exists():
        backups.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        backup = backups / f"{path.stem}-{stamp}{path.suffix}"
        write_atomically(backup, target.read_bytes(), mode=target.stat().st_mode & 0o777)
    write_atomically(target, data)
    return backup


def write_atomically(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write to a temporary file beside `path`, flush it to disk, `os.replace` it, and flush
    the folder. The file gets `mode`, else the mode of the file it replaces, else 0644."""
    if mode is None:
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


PREFERENCES_NAME = "preferences.sqlite3"
_PREFERENCES_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS languages (user_id INTEGER PRIMARY KEY, language TEXT NOT NULL)"
)


class Preferences:
    """Users' chosen answer language, kept across restarts (a Telegram user id and a
    language code per row; nothing else). Failures are logged, never raised: a forgotten
    preference only means answers follow the question's language."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=READ_TIMEOUT)
        connection.execute(_PREFERENCES_SCHEMA)
        return connection

    def language(self, user_id: int) -> str | None:
        try:
            with self._lock, closing(self._connect()) as db:
                row = db.execute(
                    "SELECT language FROM languages WHERE user_id = ?", (user_id,)
                ).fetchone()
        except (sqlite3.Error, OSError) as exc:
            logger.warning("preferences %s cannot be read: %s", self.path, exc)
            return None
        return row[0] if row else None

    def set_language(self, user_id: int, language: str | None) -> None:
        """Remember a language for the user; None forgets it (automatic)."""
        try:
            with self._lock, closing(self._connect()) as db, db:
                if language is None:
                    db.execute("DELETE FROM languages WHERE user_id = ?", (user_id,))
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO languages VALUES (?, ?)", (user_id, language)
                    )
        except (sqlite3.Error, OSError) as exc:
            logger.warning("preferences %s cannot be written: %s", self.path, exc)
