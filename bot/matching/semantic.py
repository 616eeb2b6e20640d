"""The semantic signal: a multilingual sentence encoder's cosine between question and phrasings.

The encoder is a package with its weights inside (nothing is downloaded) that runs on CPU.
Phrasings are embedded once per change (see `embeddings`); per question, one embedding and
one matrix-vector product. If the package is missing or the setting turns it off, there is
no semantic index and matching is lexical only.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from bot.matching.embeddings import EmbeddingCache, Progress, embed_all
from bot.matching.encoder import Encoder

QUESTION_CACHE = 2048  # recent question embeddings kept: buttons and repeats cost nothing
MAX_EMBED_CHARS = 1000  # a chat question is at most this long; longer text adds no meaning


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

    def held_out_similarities(self, row: int) -> np.ndarray:
        """Per row, the cosine to indexed text `row` (already embedded), itself excluded."""
        cosines = self.matrix @ self.matrix[row]
        cosines[row] = -1.0
        return cosines


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
