"""A knowledge base's files, read, replaced and shared as one unit.

The knowledge is a main YAML file (`faq.yaml`: sources, synonyms, and possibly entries) and
the parts in the folder named after it (`faq.d/*.yaml`: entries and out-of-scope examples),
loaded in name order as one knowledge base. A file on its own, without that folder, is the
whole knowledge, as before the split. Nothing here parses YAML: finding the parts is a
directory listing, so a remembered knowledge base starts without PyYAML.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.files import back_up, replace_file

MAX_FILE_BYTES = 2 * 1024 * 1024  # twice the largest part ever shipped (1.1 MB, before the split)
MAX_TOTAL_BYTES = 8 * MAX_FILE_BYTES  # all files together; about 15 times today's knowledge
MAX_PARTS = 200  # a part per topic; far more would mean a folder the loader was not meant for
TOO_LARGE = f"file is larger than {MAX_FILE_BYTES // 2**20} MiB"
PARTS_SUFFIX = ".d"
PART_SUFFIXES = (".yaml", ".yml")
PART_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
PACKED = b"# stakhanov-bot knowledge files\n"
"""How a packed split knowledge starts (a YAML comment, so it is never mistaken for a file)."""


class KnowledgeError(Exception):
    """A knowledge file that cannot be served, with every problem found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Bundle:
    """The bytes of every file of one knowledge base: the main file first (by its name),
    then its parts by their path relative to the main file's folder, in load order."""

    path: Path
    files: tuple[tuple[str, bytes], ...]

    @classmethod
    def single(cls, path: Path, data: bytes) -> Bundle:
        """A knowledge base of one file."""
        return cls(path, ((path.name, data),))

    @property
    def parts_dir(self) -> Path:
        return parts_dir(self.path)

    @property
    def main(self) -> bytes:
        return self.files[0][1]

    @property
    def is_split(self) -> bool:
        return len(self.files) > 1

    def paths(self) -> Iterator[tuple[Path, bytes]]:
        """Each file's full path and bytes, in load order."""
        for name, data in self.files:
            yield self.path.parent / name, data

    def rebased(self, path: Path) -> Bundle:
        """The same files with the main file at `path` (and the parts beside it)."""
        parts = [(f"{parts_dir(path).name}/{Path(n).name}", d) for n, d in self.files[1:]]
        return Bundle(path, ((path.name, self.main), *parts))

    def with_file(self, name: str, data: bytes) -> Bundle:
        """The files with `name` (as `upload_name` gives it) replaced or, if new, added."""
        files = dict(self.files)
        files[name] = data
        main = (self.path.name, files.pop(self.path.name))
        return Bundle(self.path, (main, *sorted(files.items(), key=lambda f: _order(f[0]))))

    def named(self, base: str) -> str | None:
        """The file (main or part) whose own name is `base`, if any."""
        return next((name for name, _ in self.files if Path(name).name == base), None)

    def upload_name(self, filename: str | None) -> str:
        """Which file an uploaded document replaces: the file of the same name, else a new
        part when the knowledge is split, else (one file) the main file, as before parts."""
        base = Path(filename or "").name
        found = self.named(base)
        if found is not None:
            return found
        if not self.is_split:
            return self.path.name
        if not (PART_NAME.match(base) and base.endswith(PART_SUFFIXES)):
            known = ", ".join(Path(n).name for n, _ in self.files)
            raise KnowledgeError(
                [
                    f"the knowledge is split into files ({known}); name the upload after the "
                    "file it replaces, or give a new part a name of letters, digits, dots and "
                    "dashes ending in .yaml"
                ]
            )
        return f"{self.parts_dir.name}/{base}"

    def digest(self) -> bytes:
        """Identifies the files' names and contents together."""
        hashed = hashlib.sha256()
        for name, data in self.files:
            for piece in (name.encode(), data):
                hashed.update(len(piece).to_bytes(8, "big"))
                hashed.update(piece)
        return hashed.digest()

    def pack(self) -> bytes:
        """One byte string for another instance: the file itself when there is one, else
        every file's text by name."""
        if not self.is_split:
            return self.main
        texts = {name: data.decode("utf-8", "surrogateescape") for name, data in self.files}
        return PACKED + json.dumps(texts, ensure_ascii=False).encode("utf-8", "surrogateescape")

    @classmethod
    def unpack(cls, data: bytes, path: Path) -> Bundle:
        """What `pack` made, with the main file at `path`."""
        if not data.startswith(PACKED):
            return cls.single(path, data)
        try:
            texts = json.loads(data[len(PACKED) :].decode("utf-8", "surrogateescape"))
            files = [(n, t.encode("utf-8", "surrogateescape")) for n, t in texts.items()]
        except (ValueError, AttributeError) as exc:
            raise KnowledgeError([f"packed knowledge files cannot be read: {exc}"]) from None
        if not files:
            raise KnowledgeError(["packed knowledge files: none"])
        packed = cls(Path(files[0][0]), tuple(files))
        for name, _ in files[1:]:
            _check_part_name(name)
        return packed.rebased(path)


def parts_dir(path: Path) -> Path:
    """The folder of a main file's parts: `faq.d` beside `faq.yaml`."""
    return path.with_name(path.stem + PARTS_SUFFIX)


def main_file(path: Path) -> Path:
    """The main file of the knowledge `path` belongs to: itself; for a folder, the
    `faq.yaml` in it; for a part given by mistake (`faq.d/city.yaml`), the `faq.yaml` beside
    its folder. Anything else is returned as given, for the loader to report."""
    if path.is_dir():
        inside = [path / f"faq{suffix}" for suffix in PART_SUFFIXES]
        return next((main for main in inside if main.is_file()), path)
    folder = path.parent
    if folder.name.endswith(PARTS_SUFFIX):
        stem = folder.name.removesuffix(PARTS_SUFFIX)
        for suffix in PART_SUFFIXES:
            main = folder.with_name(stem + suffix)
            if main.is_file():
                return main
    return path


def read(path: Path) -> Bundle:
    """The main file at `path` and its parts; KnowledgeError names what cannot be read."""
    files = [(path.name, read_bytes(path))]
    folder = parts_dir(path)
    if folder.is_dir():
        parts = _part_paths(folder)
        if any(p.name == path.name for p in parts):
            raise KnowledgeError(
                [f"{folder / path.name}: a part may not have the main file's name (rename it)"]
            )
        files += [(f"{folder.name}/{p.name}", read_bytes(p)) for p in parts]
    if sum(len(d) for _, d in files) > MAX_TOTAL_BYTES:
        raise KnowledgeError(
            [f"{path}: its files together are larger than {_mib(MAX_TOTAL_BYTES)}"]
        )
    return Bundle(path, tuple(files))


def _part_paths(folder: Path) -> list[Path]:
    try:
        found = sorted(
            (
                p
                for p in folder.iterdir()
                if p.suffix in PART_SUFFIXES and not p.name.startswith(".")
            ),
            key=lambda p: _order(p.name),
        )
    except OSError as exc:
        raise KnowledgeError([f"{folder}: cannot be listed ({exc.strerror or exc})"]) from None
    if len(found) > MAX_PARTS:
        raise KnowledgeError([f"{folder}: more than {MAX_PARTS} parts"])
    for part in found:
        _check_part_name(part.name, folder)
    return found


def _check_part_name(name: str, folder: Path | None = None) -> None:
    base = Path(name).name
    if not PART_NAME.match(base) or (folder is None and name.count("/") != 1):
        where = f"{folder}/" if folder else ""
        raise KnowledgeError(
            [f"{where}{name}: a part's name has only letters, digits, dots and dashes"]
        )


def _order(name: str) -> tuple[str, str]:
    return (Path(name).name, name)


def _mib(size: int) -> str:
    return f"{size // 2**20} MiB"


def read_bytes(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise KnowledgeError([f"{path}: {TOO_LARGE}"])
        data = path.read_bytes()
    except FileNotFoundError:
        raise KnowledgeError([f"{path}: file not found"]) from None
    except IsADirectoryError:
        raise KnowledgeError([f"{path}: is a directory, not a knowledge file"]) from None
    except OSError as exc:
        raise KnowledgeError([f"{path}: cannot be read ({exc.strerror or exc})"]) from None
    if len(data) > MAX_FILE_BYTES:
        raise KnowledgeError([f"{path}: {TOO_LARGE}"])
    return data


def write(bundle: Bundle, backups: Path) -> list[Path]:
    """Make the files at `bundle.path` what the bundle holds: each changed file backed up and
    written atomically, each part no longer in it backed up and removed; the backups made.
    Parts are written before the main file, and each file is whole, but a crash between two
    files can leave a mix; the next load then names what does not fit."""
    kept = {path for path, _ in bundle.paths()}
    made: list[Path] = []
    for path, data in reversed(list(bundle.paths())):
        if path.is_file() and path.read_bytes() == data:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        backup = replace_file(path, data, backups)
        if backup:
            made.append(backup)
    folder = bundle.parts_dir
    if folder.is_dir():
        for stale in _part_paths(folder):
            if stale not in kept:
                backup = back_up(stale, backups)
                stale.unlink()
                if backup:
                    made.append(backup)
    return made
