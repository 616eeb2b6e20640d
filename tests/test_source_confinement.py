"""A knowledge file can cite only archived texts in its own `sources/` folder (issue 12, item 1)."""

from __future__ import annotations

import os

from bot.knowledge import load
from bot.sources import MAX_SOURCE_BYTES
from tests.conftest import SMALL_YAML, problems_of


def with_text(text_path: str, quote: str | None = None) -> str:
    yaml = SMALL_YAML.replace('text: "sources/source.txt"', f'text: "{text_path}"')
    if quote is not None:
        yaml = yaml.replace(
            'quote: "Stakhanov died an alcoholic in a psychiatric hospital in 1977."',
            f'quote: "{quote}"',
        )
    return yaml


def test_absolute_path_to_a_system_file_is_refused(write_knowledge):
    (problem,) = problems_of(write_knowledge(with_text("/etc/passwd", quote="root:x:0:0")))
    assert "'/etc/passwd' must be a file inside sources/" in problem


def test_refusal_is_the_same_whether_or_not_the_outside_file_exists(write_knowledge):
    """No oracle: a guessed quote from /proc/self/environ gets the refusal a missing file gets."""
    environ = problems_of(write_knowledge(with_text("/proc/self/environ", quote="PATH=")))
    missing = problems_of(write_knowledge(with_text("/proc/self/nonexistent", quote="PATH=")))
    assert [p.replace("environ", "X") for p in environ] == [
        p.replace("nonexistent", "X") for p in missing
    ]
    assert "quote not found" not in " ".join(environ)


def test_parent_directory_escape_is_refused(write_knowledge):
    (problem,) = problems_of(write_knowledge(with_text("sources/../faq.yaml")))
    assert "must be a file inside sources/" in problem


def test_the_knowledge_file_itself_cannot_be_a_source(write_knowledge):
    (problem,) = problems_of(write_knowledge(with_text("faq.yaml")))
    assert "must be a file inside sources/" in problem


def test_symlink_inside_sources_pointing_outside_is_refused(write_knowledge, tmp_path):
    path = write_knowledge(with_text("sources/link.txt", quote="root:x:0:0"))
    (tmp_path / "sources" / "link.txt").symlink_to("/etc/passwd")
    (problem,) = problems_of(path)
    assert "must be a file inside sources/" in problem


def test_device_file_is_refused_without_reading_it(write_knowledge, tmp_path):
    path = write_knowledge(with_text("sources/zero"))
    (tmp_path / "sources" / "zero").symlink_to("/dev/zero")
    (problem,) = problems_of(path)
    assert "must be a file inside sources/" in problem


def test_fifo_is_refused_without_blocking(write_knowledge, tmp_path):
    path = write_knowledge(with_text("sources/pipe"))
    os.mkfifo(tmp_path / "sources" / "pipe")
    (problem,) = problems_of(path)
    assert "'sources/pipe' is not a regular file" in problem


def test_oversized_source_text_is_refused(write_knowledge):
    (problem,) = problems_of(write_knowledge(source="x" * (MAX_SOURCE_BYTES + 1)))
    assert "is larger than" in problem


def test_the_sources_folder_itself_is_refused(write_knowledge):
    (problem,) = problems_of(write_knowledge(with_text("sources")))
    assert "must be a file inside sources/" in problem


def test_a_regular_file_in_sources_is_read(write_knowledge):
    assert load(write_knowledge()).by_id["death"]
