"""Phrasing embeddings on disk, keyed by model and text, so a load embeds only what changed.

Two layers are read: the user's cache (SQLite, written as texts are embedded) and the
read-only cache shipped with the package for the shipped knowledge file, so the first run
after install embeds nothing. A cache that cannot be opened or written is not an error:
embeddings are then only kept in memory, and that is logged once.

Whole-corpus results are kept too, each under a key that changes with everything it depends
on, so an unchanged start reads each back in one piece: the corpus's lexical tokens and the
validated knowledge model (JSON, in the SQLite file), and the embedding matrix (a `.npy` file
in the folder beside it, mapped into memory, so a start reads none of it up front).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

STORED_DTYPE = np.float16  # halves the file; cosines move by < 0.001, far below any threshold
BATCH = 64  # texts embedded per call: large enough to amortise, small enough to report progress

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    model TEXT NOT NULL,
    key BLOB NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS corpora (
    key BLOB PRIMARY KEY,
    used REAL NOT NULL,
    matrix BLOB NOT NULL
)
"""
KEPT_CORPORA = 8  # whole-corpus JSON values kept: the live knowledge's and recent edits'
KEPT_MATRICES = 3  # 20 MB each (float32, so a start converts nothing): the live one and two edits

Progress = Callable[[int, int], None]


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class EmbeddingCache:
    """Vectors by (model, text): a writable SQLite file, over an optional read-only one."""

    def __init__(self, path: Path | None, shipped: Path | None = None) -> None:
        self.path = path
        self._memory: dict[tuple[str, bytes], np.ndarray] = {}
        self._latest: dict[str, tuple[Sequence[str], np.ndarray]] = {}
        self._shipped = _open_read_only(shipped) if shipped else None
        self._db: sqlite3.Connection | None = None
        self._warned = False
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(path, timeout=5, check_same_thread=False)
                self._db.executescript(_SCHEMA)
            except (OSError, sqlite3.Error) as exc:
                self._warn(exc)
                self._db = None

    def _warn(self, exc: Exception) -> None:
        if not self._warned:
            log.warning(
                "embedding cache %s unavailable (%s): keeping embeddings in memory", self.path, exc
            )
            self._warned = True

    def get(self, model: str, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors of those texts that have one."""
        found: dict[str, np.ndarray] = {}
        keys = {text_key(t): t for t in texts}
        for key, text in keys.items():
            if (model, key) in self._memory:
                found[text] = self._memory[(model, key)]
        for db in (self._db, self._shipped):
            missing = [k for k, t in keys.items() if t not in found]
            if db is None or not missing:
                continue
            try:
                for key, blob in _select(db, model, missing):
                    found[keys[key]] = np.frombuffer(blob, dtype=STORED_DTYPE).astype(np.float32)
            except sqlite3.Error as exc:
                self._warn(exc)
        return found

    def put(self, model: str, vectors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Store vectors; returns them as stored, so fresh and cached runs agree exactly."""
        rows = [(model, text_key(t), v.astype(STORED_DTYPE).tobytes()) for t, v in vectors.items()]
        stored = {}
        for text, (_, key, blob) in zip(vectors, rows, strict=True):
            stored[text] = np.frombuffer(blob, dtype=STORED_DTYPE).astype(np.float32)
            self._memory[(model, key)] = stored[text]
        if self._db is None:
            return stored
        try:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)", rows)
        except sqlite3.Error as exc:
            self._warn(exc)
        return stored

    def corpus(self, key: bytes) -> Any:
        """What `store_corpus` stored (a JSON value): one read at start-up instead of
        thousands of lookups."""
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT matrix FROM corpora WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            self._warn(exc)
            return None
        try:
            return json.loads(row[0]) if row else None
        except ValueError:
            return None

    def store_corpus(self, key: bytes, value: Any) -> None:
        if self._db is None:
            return
        blob = json.dumps(value, ensure_ascii=False).encode()
        try:
            with self._db:
                self._db.execute(
                    "INSERT OR REPLACE INTO corpora VALUES (?, ?, ?)",
                    (key, time.time(), blob),
                )
                self._db.execute(
                    "DELETE FROM corpora WHERE key NOT IN "
                    "(SELECT key FROM corpora ORDER BY used DESC LIMIT ?)",
                    (KEPT_CORPORA,),
                )
        except sqlite3.Error as exc:
            self._warn(exc)

    def remember(self, model: str, texts: Sequence[str], matrix: np.ndarray) -> None:
        """Keep the latest corpus's unit vectors in memory, for `latest` after an edit."""
        self._latest[model] = (texts, matrix)

    def latest(self, model: str) -> tuple[dict[str, int], np.ndarray]:
        """The row of each text of the corpus last remembered for `model`, and its matrix."""
        texts, matrix = self._latest.get(model, ((), np.zeros((0, 0), dtype=np.float32)))
        return {t: i for i, t in enumerate(texts)}, matrix

    def matrix(self, key: bytes) -> np.ndarray | None:
        """A corpus's matrix as `store_matrix` kept it, mapped into memory (read-only)."""
        folder = self._matrices()
        if folder is None:
            return None
        try:
            return np.load(folder / f"{key.hex()}.npy", mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError):
            return None

    def store_matrix(self, key: bytes, matrix: np.ndarray) -> None:
        """Keep a corpus's matrix as a `.npy` file beside the cache (written whole, then
        renamed into place), and only the few most recently stored."""
        folder = self._matrices()
        if folder is None:
            return
        target = folder / f"{key.hex()}.npy"
        partial = target.with_name(f"{target.stem}.{os.getpid()}.partial")
        try:
            folder.mkdir(exist_ok=True)
            with partial.open("wb") as out:
                np.save(out, matrix, allow_pickle=False)
            os.replace(partial, target)
            kept = sorted(folder.glob("*.npy"), key=lambda f: f.stat().st_mtime, reverse=True)
            for old in kept[KEPT_MATRICES:]:
                old.unlink(missing_ok=True)
        except OSError as exc:
            self._warn(exc)
        finally:
            partial.unlink(missing_ok=True)

    def _matrices(self) -> Path | None:
        if self.path is None or self._db is None:
            return None
        return self.path.with_name(f"{self.path.stem}.corpora")


def corpus_key(model: str, texts: Sequence[str]) -> bytes:
    joined = "".join(f"\x1f{text}" for text in texts)
    return hashlib.sha256((model + joined).encode("utf-8", "surrogatepass")).digest()


def _open_read_only(path: Path) -> sqlite3.Connection | None:
    if not path.is_file():
        return None
    try:
        return sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )
    except sqlite3.Error:
        return None


def _select(db: sqlite3.Connection, model: str, keys: list[bytes]) -> Iterable[tuple[bytes, bytes]]:
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        marks = ",".join("?" * len(chunk))
        yield from db.execute(
            f"SELECT key, vector FROM embeddings WHERE model = ? AND key IN ({marks})",
            (model, *chunk),
        )


def embed_all(
    texts: Sequence[str],
    model: str,
    encode: Callable[[list[str]], np.ndarray],
    cache: EmbeddingCache,
    progress: Progress | None = None,
) -> np.ndarray:
    """Unit vectors for `texts`, in order: from the cache, embedding only the missing ones.

    After an edit, the rows of texts the previous corpus had are copied from its matrix, so a
    reload reads and normalises only the texts that changed (each row is normalised alone, so
    a copied row equals a freshly built one)."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    key = corpus_key(model, texts)
    stored = cache.matrix(key)
    if stored is not None and stored.shape[0] == len(texts):
        cache.remember(model, texts, stored)
        return stored
    rows, previous = cache.latest(model)
    unique = [t for t in dict.fromkeys(texts) if t not in rows]
    found = cache.get(model, unique)
    missing = [t for t in unique if t not in found]
    for start in range(0, len(missing), BATCH):
        batch = missing[start : start + BATCH]
        found.update(cache.put(model, dict(zip(batch, encode(batch), strict=True))))
        if progress:
            progress(min(start + BATCH, len(missing)), len(missing))
    fresh = {}
    if unique:
        vectors = _unit(np.stack([found[t] for t in unique]).astype(np.float32))
        fresh = dict(zip(unique, vectors, strict=True))
    matrix = np.stack([fresh[t] if t in fresh else previous[rows[t]] for t in texts])
    cache.store_matrix(key, matrix)
    cache.remember(model, texts, matrix)
    return matrix


def _unit(matrix: np.ndarray) -> np.ndarray:
    """The rows scaled to length 1, in place (the matrix is a fresh float32 copy)."""
    lengths = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))
    matrix /= np.maximum(lengths, 1e-9)[:, None]
    return matrix
