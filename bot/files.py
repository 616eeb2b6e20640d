"""Replacing files without losing anything: backups first, atomic writes, fsynced folders."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path


def replace_file(path: Path, data: bytes, backups: Path) -> Path | None:
    """Back up `path` (if it exists) into `backups`, then write `data` to it atomically.

    Returns the backup's path. A symlinked `path` keeps its link: the file it points to is
    replaced. The new file keeps the old one's permissions. A backup is written whole or not
    at all (a full disk leaves no empty backup behind, and then nothing is replaced).
    """
    target = path.resolve() if path.is_symlink() else path
    backup = back_up(path, backups)
    write_atomically(target, data)
    return backup


def back_up(path: Path, backups: Path) -> Path | None:
    """A copy of `path` (if it exists) in `backups`, named with the time; its path."""
    target = path.resolve() if path.is_symlink() else path
    if not target.exists():
        return None
    backups.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    backup = backups / f"{path.stem}-{stamp}{path.suffix}"
    write_atomically(backup, target.read_bytes(), mode=target.stat().st_mode & 0o777)
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
