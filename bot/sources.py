"""The archived sources' text: read only from the knowledge's `sources/` folder, and the
verbatim test a quote of it must pass.

Quotes and texts are compared in `quote_form`, where typographic quotes, dashes and line breaks
don't count, so a quote copied from a rendering of the article still matches its plain text.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

MAX_SOURCE_BYTES = 2 * 1024 * 1024  # the seed article is 3 KB; a source this large is a mistake
SOURCES_DIR = "sources"

_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'"})
_DASHES = re.compile(r"\s*[\u2010-\u2015\u2212-]+\s*")
_SPACE = re.compile(r"\s+")


def quote_form(text: str) -> str:
    """Text with only whitespace, typographic quotes and dashes made uniform."""
    return _SPACE.sub(" ", _DASHES.sub("-", text.translate(_QUOTES))).strip()


class SourceTextError(Exception):
    """A source's archived text that may not or cannot be read."""


def read_source_text(knowledge_path: Path, name: str) -> str:
    """The archived text `name`, which must be a regular file inside the knowledge folder's
    `sources/`, at most MAX_SOURCE_BYTES.

    The confinement is checked on the resolved path before anything is opened, so a file
    outside `sources/` is refused the same way whether or not it exists (no oracle), and a
    FIFO or device is never opened for reading.
    """
    folder = (knowledge_path.parent / SOURCES_DIR).resolve()
    target = (knowledge_path.parent / name).resolve()
    if Path(name).is_absolute() or not target.is_relative_to(folder) or target == folder:
        raise SourceTextError(f"must be a file inside {SOURCES_DIR}/ beside the knowledge file")
    try:
        if not stat.S_ISREG(target.stat().st_mode):
            raise SourceTextError("is not a regular file")
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise SourceTextError("is not a regular file")
            data = handle.read(MAX_SOURCE_BYTES + 1)
    except FileNotFoundError:
        raise SourceTextError("not found") from None
    except OSError:
        raise SourceTextError("cannot be read") from None
    if len(data) > MAX_SOURCE_BYTES:
        raise SourceTextError(f"is larger than {MAX_SOURCE_BYTES // 1024 // 1024} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SourceTextError("is not valid UTF-8") from None


def quote_difference(quote: str, text: str, context: int = 30) -> str:
    """Where a quote stops matching its source: the part that matched, what the quote has
    next, and what the source has there instead."""
    low, high = 0, len(quote)
    while low < high:  # the longest start of the quote found in the text
        middle = (low + high + 1) // 2
        if quote[:middle] in text:
            low = middle
        else:
            high = middle - 1
    if low == 0:
        return f'no part of it is in the source: "{shorten(quote)}"'
    at = text.index(quote[:low]) + low
    matched = quote[max(0, low - context) : low]
    return (
        f'it matches up to "…{matched}", then has "{quote[low : low + context]}"'
        f' where the source has "{text[at : at + context]}"'
    )


def shorten(text: str, limit: int = 80) -> str:
    """The text cut to `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
