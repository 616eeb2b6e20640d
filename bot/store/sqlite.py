"""The default store: SQLite files in DATA_DIR, for one instance.

The question log, the preferences and the webhook inbox are separate files, so a long read of
the log (or another process locking it) never holds up answering.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from bot.store.base import (
    QuestionRow,
    Signal,
    Stats,
    Store,
    StoreError,
    Unanswered,
    build_stats,
)

logger = logging.getLogger("bot.store")

SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY,
    asked_at REAL NOT NULL,
    question TEXT NOT NULL,
    normalised TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('answered', 'clarify', 'no_match')),
    language TEXT NOT NULL,
    token TEXT,
    entry TEXT
);
CREATE INDEX IF NOT EXISTS questions_outcome_time ON questions (outcome, asked_at);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('picked', 'none', 'helpful', 'unhelpful')),
    token TEXT,
    entry TEXT
);
CREATE TABLE IF NOT EXISTS decisions (
    normalised TEXT PRIMARY KEY,
    decision TEXT NOT NULL,
    at REAL NOT NULL
);
"""
TOKEN_INDEX = "CREATE INDEX IF NOT EXISTS questions_token ON questions (token)"
ADDED_COLUMNS = ("token", "entry")  # added to logs written before suggestions existed
PREFERENCES_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS languages (user_id INTEGER PRIMARY KEY, language TEXT NOT NULL)"
)
INBOX_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    update_id INTEGER PRIMARY KEY,
    body BLOB NOT NULL,
    claimed_at REAL NOT NULL,
    done INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS inbox_pending ON inbox (done, claimed_at);
"""
DAY = 24 * 60 * 60
WRITE_TIMEOUT = 2.0
READ_TIMEOUT = 1.0
LOG_NAME = "questions.sqlite3"
PREFERENCES_NAME = "preferences.sqlite3"
INBOX_NAME = "updates.sqlite3"
KEEP_FINISHED = DAY  # finished inbox rows are kept this long, to refuse late redeliveries

UNANSWERED_SQL = """
SELECT normalised, COUNT(*), MAX(asked_at),
 (SELECT question FROM questions q2 WHERE q2.normalised = q.normalised
  AND q2.outcome != 'answered' ORDER BY asked_at DESC LIMIT 1),
 (SELECT language FROM questions q3 WHERE q3.normalised = q.normalised
  AND q3.outcome != 'answered' ORDER BY asked_at DESC LIMIT 1),
 (SELECT outcome FROM questions q4 WHERE q4.normalised = q.normalised
  AND q4.outcome != 'answered' ORDER BY asked_at DESC LIMIT 1)
FROM questions q WHERE outcome != 'answered' AND asked_at >= ?
GROUP BY normalised ORDER BY COUNT(*) DESC, MAX(asked_at) DESC LIMIT ?
"""


SIGNALS_SQL = """
SELECT f.kind, MAX(q.question), q.normalised, MAX(q.language), f.entry, COUNT(*) AS n
FROM feedback f JOIN questions q ON q.token = f.token
WHERE f.kind IN ('picked', 'none', 'unhelpful') AND f.at >= ?
GROUP BY f.kind, q.normalised, f.entry
UNION ALL
SELECT 'declined', MAX(question), normalised, MAX(language), NULL, COUNT(*) AS n
FROM questions WHERE outcome = 'no_match' AND asked_at >= ? GROUP BY normalised
ORDER BY n DESC
"""


class SqliteStore(Store):
    """Question log, preferences and webhook inbox in SQLite files under `data_dir`."""

    def __init__(self, data_dir: Path, capacity: int = 10_000) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOG_NAME
        self._lock = threading.Lock()
        self._migrated = False  # the log's columns brought up to date (once per process)
        super().__init__(str(self.path), capacity)

    def _connect(self, name: str, schema: str, timeout: float) -> sqlite3.Connection:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.data_dir / name, timeout=timeout)
        connection.executescript(schema)
        return connection

    def _log(self, timeout: float = WRITE_TIMEOUT) -> sqlite3.Connection:
        """The question log, its schema brought up to date."""
        db = self._connect(LOG_NAME, SCHEMA, timeout)
        if self._migrated:
            return db
        have = {row[1] for row in db.execute("PRAGMA table_info(questions)")}
        with db:
            for column in ADDED_COLUMNS:
                if column not in have:
                    db.execute(f"ALTER TABLE questions ADD COLUMN {column} TEXT")
            db.execute(TOKEN_INDEX)
        self._migrated = True
        return db

    def _insert_questions(self, rows: list[QuestionRow]) -> None:
        try:
            with closing(self._log()) as db, db:
                db.executemany(
                    "INSERT INTO questions"
                    " (asked_at, question, normalised, outcome, language, token, entry)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
        except sqlite3.IntegrityError:
            raise
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(str(exc)) from exc

    def _read(self, sql: str, params: tuple[object, ...]) -> list[tuple]:
        if not self.path.exists():
            return []
        try:
            with closing(
                sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=READ_TIMEOUT)
            ) as db:
                return db.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc) or "no such column" in str(exc):
                return []  # a log no question has been written to since an upgrade
            raise StoreError(f"{self.path}: {exc}") from None
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {exc}") from None

    def unanswered(self, limit: int = 10, days: int = 30) -> list[Unanswered]:
        rows = self._read(UNANSWERED_SQL, (time.time() - days * DAY, limit))
        return [
            Unanswered(
                question, normalised, count, datetime.fromtimestamp(last, UTC), language, outcome
            )
            for normalised, count, last, question, language, outcome in rows
        ]

    def stats(self, days: int = 14) -> Stats:
        sql = "SELECT outcome, COUNT(*) FROM questions WHERE asked_at >= ? GROUP BY outcome"
        since = time.time() - days * DAY
        return build_stats(
            self._read(sql, (0.0,)),
            self._read(sql, (time.time() - DAY,)),
            self._read(
                "SELECT date(asked_at, 'unixepoch'), outcome, COUNT(*) FROM questions"
                " WHERE asked_at >= ? GROUP BY 1, 2 ORDER BY 1",
                (since,),
            ),
            self._read(
                "SELECT entry, SUM(kind = 'helpful'), SUM(kind = 'unhelpful') FROM feedback"
                " WHERE kind IN ('helpful', 'unhelpful') AND at >= ? AND entry IS NOT NULL"
                " GROUP BY entry",
                (since,),
            ),
        )

    def record_feedback(self, kind: str, token: str | None, entry: str | None) -> None:
        try:
            with closing(self._log()) as db, db:
                db.execute(
                    "INSERT INTO feedback (at, kind, token, entry) VALUES (?, ?, ?, ?)",
                    (time.time(), kind, token, entry),
                )
        except (sqlite3.Error, OSError) as exc:
            logger.warning("feedback in %s cannot be written: %s", self.path, exc)

    def signals(self, days: int = 30) -> list[Signal]:
        since = time.time() - days * DAY
        return [Signal(*row) for row in self._read(SIGNALS_SQL, (since, since))]

    def decide(self, normalised: str, decision: str) -> None:
        try:
            with closing(self._log()) as db, db:
                db.execute(
                    "INSERT OR REPLACE INTO decisions VALUES (?, ?, ?)",
                    (normalised, decision, time.time()),
                )
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{self.path}: {exc}") from None

    def decisions(self) -> dict[str, str]:
        return dict(self._read("SELECT normalised, decision FROM decisions", ()))

    def language(self, user_id: int) -> str | None:
        try:
            with (
                self._lock,
                closing(self._connect(PREFERENCES_NAME, PREFERENCES_SCHEMA, READ_TIMEOUT)) as db,
            ):
                row = db.execute(
                    "SELECT language FROM languages WHERE user_id = ?", (user_id,)
                ).fetchone()
        except (sqlite3.Error, OSError) as exc:
            logger.warning("preferences in %s cannot be read: %s", self.data_dir, exc)
            return None
        return row[0] if row else None

    def set_language(self, user_id: int, language: str | None) -> None:
        try:
            with (
                self._lock,
                closing(self._connect(PREFERENCES_NAME, PREFERENCES_SCHEMA, READ_TIMEOUT)) as db,
                db,
            ):
                if language is None:
                    db.execute("DELETE FROM languages WHERE user_id = ?", (user_id,))
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO languages VALUES (?, ?)", (user_id, language)
                    )
        except (sqlite3.Error, OSError) as exc:
            logger.warning("preferences in %s cannot be written: %s", self.data_dir, exc)

    def _inbox(self) -> sqlite3.Connection:
        try:
            return self._connect(INBOX_NAME, INBOX_SCHEMA, WRITE_TIMEOUT)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{self.data_dir / INBOX_NAME}: {exc}") from None

    def accept_update(self, update_id: int, body: bytes) -> bool:
        try:
            with closing(self._inbox()) as db, db:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO inbox (update_id, body, claimed_at) VALUES (?, ?, ?)",
                    (update_id, body, time.time()),
                )
                return cursor.rowcount == 1
        except sqlite3.Error as exc:
            raise StoreError(f"{self.data_dir / INBOX_NAME}: {exc}") from None

    def finish_update(self, update_id: int) -> None:
        try:
            with closing(self._inbox()) as db, db:
                db.execute("UPDATE inbox SET done = 1 WHERE update_id = ?", (update_id,))
        except sqlite3.Error as exc:
            raise StoreError(f"{self.data_dir / INBOX_NAME}: {exc}") from None

    def renew_updates(self, update_ids: list[int]) -> None:
        try:
            with closing(self._inbox()) as db, db:
                db.executemany(
                    "UPDATE inbox SET claimed_at = ? WHERE update_id = ?",
                    [(time.time(), update_id) for update_id in update_ids],
                )
        except sqlite3.Error as exc:
            raise StoreError(f"{self.data_dir / INBOX_NAME}: {exc}") from None

    def orphaned_updates(self, lease: float, limit: int = 100) -> list[bytes]:
        now = time.time()
        try:
            with closing(self._inbox()) as db, db:
                db.execute(
                    "DELETE FROM inbox WHERE done = 1 AND claimed_at < ?", (now - KEEP_FINISHED,)
                )
                rows = db.execute(
                    "UPDATE inbox SET claimed_at = ? WHERE update_id IN (SELECT update_id"
                    " FROM inbox WHERE done = 0 AND claimed_at < ? ORDER BY update_id LIMIT ?)"
                    " RETURNING update_id, body",
                    (now, now - lease, limit),
                ).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.data_dir / INBOX_NAME}: {exc}") from None
        return [body for _, body in sorted(rows)]
