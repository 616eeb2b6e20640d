"""The shared store: PostgreSQL (DATABASE_URL), for several instances behind one webhook.

psycopg 3 with a small connection pool. The schema is migrated on start-up, one instance at a
time (an advisory lock), each step recorded in `schema_migrations`. A knowledge file installed
on one instance is stored as a new version and announced with NOTIFY; every instance LISTENs
and adopts it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

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

CHANNEL = "stakhanov_knowledge"
MIGRATION_LOCK = 7_041_935  # any fixed number: the advisory lock taken while migrating
POOL_SIZE = 4  # the writer thread, preference reads and the inbox rarely overlap more
CONNECT_SECONDS = 2  # to connect, or wait for a pooled connection, before reporting an error
RELISTEN_DELAY = 2.0  # seconds between attempts to listen again after losing the connection
KEEP_VERSIONS = 20  # knowledge versions kept: the latest is served, the rest are history

MIGRATIONS = (
    """
    CREATE TABLE questions (
        id bigserial PRIMARY KEY,
        asked_at timestamptz NOT NULL,
        question text NOT NULL,
        normalised text NOT NULL,
        outcome text NOT NULL CHECK (outcome IN ('answered', 'clarify', 'no_match')),
        language text NOT NULL
    );
    CREATE INDEX questions_outcome_time ON questions (outcome, asked_at);
    CREATE TABLE languages (user_id bigint PRIMARY KEY, language text NOT NULL);
    CREATE TABLE inbox (
        update_id bigint PRIMARY KEY,
        body bytea NOT NULL,
        claimed_at timestamptz NOT NULL DEFAULT now(),
        done_at timestamptz
    );
    CREATE INDEX inbox_pending ON inbox (claimed_at) WHERE done_at IS NULL;
    CREATE TABLE knowledge (
        id bigserial PRIMARY KEY,
        digest text NOT NULL,
        body bytea NOT NULL,
        published_at timestamptz NOT NULL DEFAULT now()
    );
    """,
    """
    ALTER TABLE questions ADD COLUMN token text, ADD COLUMN entry text;
    CREATE INDEX questions_token ON questions (token);
    CREATE TABLE feedback (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        kind text NOT NULL CHECK (kind IN ('picked', 'none', 'helpful', 'unhelpful')),
        token text,
        entry text
    );
    CREATE TABLE decisions (
        normalised text PRIMARY KEY,
        decision text NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
    );
    """,
)

UNANSWERED_SQL = """
SELECT normalised, count(*) AS n, max(asked_at) AS last,
    (array_agg(question ORDER BY asked_at DESC))[1],
    (array_agg(language ORDER BY asked_at DESC))[1],
    (array_agg(outcome ORDER BY asked_at DESC))[1]
FROM questions
WHERE outcome != 'answered' AND asked_at >= now() - make_interval(days => %s)
GROUP BY normalised ORDER BY n DESC, last DESC LIMIT %s
"""
ORPHANS_SQL = """
UPDATE inbox SET claimed_at = now() WHERE update_id IN (
    SELECT update_id FROM inbox
    WHERE done_at IS NULL AND claimed_at < now() - make_interval(secs => %s)
    ORDER BY update_id LIMIT %s FOR UPDATE SKIP LOCKED
) RETURNING update_id, body
"""
SIGNALS_SQL = """
SELECT f.kind, max(q.question), q.normalised, max(q.language), f.entry, count(*) AS n
FROM feedback f JOIN questions q ON q.token = f.token
WHERE f.kind IN ('picked', 'none', 'unhelpful') AND f.at >= now() - make_interval(days => %s)
GROUP BY f.kind, q.normalised, f.entry
UNION ALL
SELECT 'declined', max(question), normalised, max(language), NULL, count(*) AS n
FROM questions
WHERE outcome = 'no_match' AND asked_at >= now() - make_interval(days => %s)
GROUP BY normalised
ORDER BY n DESC
"""
UNAVAILABLE = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def migrate(connection: psycopg.Connection) -> None:
    """Apply the migrations this database lacks, in order, in one transaction."""
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        applied = {v for (v,) in connection.execute("SELECT version FROM schema_migrations")}
        for version, sql in enumerate(MIGRATIONS, start=1):
            if version not in applied:
                connection.execute(sql)
                connection.execute(
                    "INSERT INTO schema_migrations (version) VALUES (%s)", (version,)
                )
                logger.info("database migrated to version %d", version)


class PostgresStore(Store):
    """Question log, preferences, webhook inbox and knowledge versions in PostgreSQL."""

    shared = True

    def __init__(self, url: str, capacity: int = 10_000) -> None:
        self.url = url
        self._stopping = threading.Event()
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=POOL_SIZE,
            timeout=CONNECT_SECONDS,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_SECONDS},
            open=False,
            name="stakhanov-bot",
        )
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_SECONDS) as first:
                migrate(first)
            self._pool.open(wait=True, timeout=CONNECT_SECONDS * 2)
        except (psycopg.Error, PoolTimeout) as exc:
            self._pool.close()
            raise StoreError(f"DATABASE_URL: cannot use the database ({exc})") from None
        super().__init__("DATABASE_URL", capacity)

    def _close(self) -> None:
        self._stopping.set()
        self._pool.close()

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple]:
        try:
            with self._pool.connection() as connection:
                cursor = connection.execute(sql, params)
                return cursor.fetchall() if cursor.description else []
        except UNAVAILABLE as exc:
            raise StoreError(f"the database is unavailable ({exc})") from None
        except psycopg.Error as exc:
            raise StoreError(f"the database refused a query ({exc})") from None

    def _insert_questions(self, rows: list[QuestionRow]) -> None:
        try:
            with self._pool.connection() as connection, connection.transaction():
                connection.cursor().executemany(
                    "INSERT INTO questions"
                    " (asked_at, question, normalised, outcome, language, token, entry)"
                    " VALUES (to_timestamp(%s), %s, %s, %s, %s, %s, %s)",
                    rows,
                )
        except UNAVAILABLE as exc:
            raise StoreError(str(exc)) from None

    def unanswered(self, limit: int = 10, days: int = 30) -> list[Unanswered]:
        rows = self._run(UNANSWERED_SQL, (days, limit))
        return [
            Unanswered(question, normalised, count, last, language, outcome)
            for normalised, count, last, question, language, outcome in rows
        ]

    def stats(self, days: int = 14) -> Stats:
        rows = self._run(
            "SELECT outcome, count(*), count(*) FILTER"
            " (WHERE asked_at >= now() - interval '1 day') FROM questions GROUP BY outcome"
        )
        return build_stats(
            [(outcome, n) for outcome, n, _ in rows],
            [(outcome, n) for outcome, _, n in rows],
            self._run(
                "SELECT to_char(asked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), outcome, count(*)"
                " FROM questions WHERE asked_at >= now() - make_interval(days => %s)"
                " GROUP BY 1, 2 ORDER BY 1",
                (days,),
            ),
            self._run(
                "SELECT entry, count(*) FILTER (WHERE kind = 'helpful'),"
                " count(*) FILTER (WHERE kind = 'unhelpful') FROM feedback"
                " WHERE kind IN ('helpful', 'unhelpful') AND entry IS NOT NULL"
                " AND at >= now() - make_interval(days => %s) GROUP BY entry",
                (days,),
            ),
        )

    def record_feedback(self, kind: str, token: str | None, entry: str | None) -> None:
        try:
            self._run(
                "INSERT INTO feedback (kind, token, entry) VALUES (%s, %s, %s)",
                (kind, token, entry),
            )
        except StoreError as exc:
            logger.warning("feedback cannot be written: %s", exc)

    def signals(self, days: int = 30) -> list[Signal]:
        return [Signal(*row) for row in self._run(SIGNALS_SQL, (days, days))]

    def decide(self, normalised: str, decision: str) -> None:
        self._run(
            "INSERT INTO decisions (normalised, decision) VALUES (%s, %s) ON CONFLICT"
            " (normalised) DO UPDATE SET decision = EXCLUDED.decision, at = now()",
            (normalised, decision),
        )

    def decisions(self) -> dict[str, str]:
        return dict(self._run("SELECT normalised, decision FROM decisions"))

    def language(self, user_id: int) -> str | None:
        try:
            rows = self._run("SELECT language FROM languages WHERE user_id = %s", (user_id,))
        except StoreError as exc:
            logger.warning("preferences cannot be read: %s", exc)
            return None
        return rows[0][0] if rows else None

    def set_language(self, user_id: int, language: str | None) -> None:
        try:
            if language is None:
                self._run("DELETE FROM languages WHERE user_id = %s", (user_id,))
            else:
                self._run(
                    "INSERT INTO languages VALUES (%s, %s) ON CONFLICT (user_id)"
                    " DO UPDATE SET language = EXCLUDED.language",
                    (user_id, language),
                )
        except StoreError as exc:
            logger.warning("preferences cannot be written: %s", exc)

    def accept_update(self, update_id: int, body: bytes) -> bool:
        rows = self._run(
            "INSERT INTO inbox (update_id, body) VALUES (%s, %s)"
            " ON CONFLICT DO NOTHING RETURNING update_id",
            (update_id, body),
        )
        return bool(rows)

    def finish_update(self, update_id: int) -> None:
        self._run("UPDATE inbox SET done_at = now() WHERE update_id = %s", (update_id,))

    def renew_updates(self, update_ids: list[int]) -> None:
        self._run(
            "UPDATE inbox SET claimed_at = now() WHERE update_id = ANY(%s) AND done_at IS NULL",
            (update_ids,),
        )

    def orphaned_updates(self, lease: float, limit: int = 100) -> list[bytes]:
        self._run("DELETE FROM inbox WHERE done_at < now() - interval '1 day'")
        rows = self._run(ORPHANS_SQL, (lease, limit))
        return [bytes(body) for _, body in sorted(rows)]

    def publish_knowledge(self, data: bytes) -> None:
        version = digest(data)
        try:
            with self._pool.connection() as connection, connection.transaction():
                connection.execute("LOCK TABLE knowledge IN EXCLUSIVE MODE")
                latest = connection.execute(
                    "SELECT digest FROM knowledge ORDER BY id DESC LIMIT 1"
                ).fetchone()
                if latest and latest[0] == version:
                    return
                connection.execute(
                    "INSERT INTO knowledge (digest, body) VALUES (%s, %s)", (version, data)
                )
                connection.execute(
                    "DELETE FROM knowledge WHERE id <= (SELECT max(id) FROM knowledge) - %s",
                    (KEEP_VERSIONS,),
                )
                connection.execute("SELECT pg_notify(%s, %s)", (CHANNEL, version))
        except psycopg.Error as exc:
            raise StoreError(f"the knowledge could not be shared ({exc})") from None

    def latest_knowledge(self) -> bytes | None:
        rows = self._run("SELECT body FROM knowledge ORDER BY id DESC LIMIT 1")
        return bytes(rows[0][0]) if rows else None

    def watch_knowledge(self, callback: Callable[[], None]) -> None:
        threading.Thread(
            target=self._listen, args=(callback,), name="knowledge-watch", daemon=True
        ).start()

    def _listen(self, callback: Callable[[], None]) -> None:
        """LISTEN for new versions; after every (re)connection, check once in case one was
        published while this instance was not listening."""
        failing = False
        while not self._stopping.is_set():
            try:
                with psycopg.connect(
                    self.url, autocommit=True, connect_timeout=CONNECT_SECONDS
                ) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    failing = False
                    callback()
                    while not self._stopping.is_set():
                        for _ in connection.notifies(timeout=1.0):
                            callback()
            except psycopg.Error as exc:
                if not failing:
                    logger.warning("not listening for knowledge changes: %s; retrying", exc)
                failing = True
                self._stopping.wait(RELISTEN_DELAY)
