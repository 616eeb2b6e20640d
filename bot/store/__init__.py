"""What the bot keeps between updates, restarts and instances, behind one interface (`Store`).

SQLite files in DATA_DIR by default; PostgreSQL when DATABASE_URL is set, so several instances
share the question log, preferences, webhook inbox and knowledge.
"""

from __future__ import annotations

from pathlib import Path

from bot.store.base import Signal, Stats, Store, StoreError, Unanswered
from bot.store.sqlite import LOG_NAME, SqliteStore

__all__ = [
    "LOG_NAME",
    "Signal",
    "SqliteStore",
    "Stats",
    "Store",
    "StoreError",
    "Unanswered",
    "open_store",
]


def open_store(data_dir: Path, database_url: str | None = None) -> Store:
    """The shared PostgreSQL store when `database_url` is given, else SQLite in `data_dir`.

    Raises StoreError (naming DATABASE_URL) when the database cannot be used.
    """
    if database_url:
        try:
            from bot.store.postgres import PostgresStore
        except ImportError:
            raise StoreError(
                "DATABASE_URL is set but psycopg is not installed:"
                " pip install 'stakhanov-bot[postgres]'"
            ) from None
        return PostgresStore(database_url)
    return SqliteStore(data_dir)
