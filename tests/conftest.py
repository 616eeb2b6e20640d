"""Shared fixtures: the shipped knowledge base and small knowledge files written per test."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeBase, KnowledgeError, default_path, load
from tests import postgres

SOURCE_TEXT = (
    "In 1935, miner Aleksei Stakhanov was reported to have extracted 102 tons of coal during "
    "one shift -- which was 14 times his quota and determined to be a record amount.\n\n"
    "Stakhanov died an alcoholic in a psychiatric hospital in 1977.\n"
)

SMALL_YAML = """\
version: 1
sources:
  - id: src
    title: "A Test Article"
    publisher: "Test Press"
    url: "https://example.org/article"
    published: "2010"
    text: "sources/source.txt"
synonyms:
  stakhanov: [stahanov, стаханов]
entries:
  - id: record
    title: {en: "The record"}
    questions:
      en: ["How much coal did Stakhanov mine in one shift?", "102 tons"]
    answer: {en: "He was reported to have mined 102 tons in one shift."}
    citations:
      - source: src
        quote: "In 1935, miner Aleksei Stakhanov was reported to have extracted 102 tons of coal during one shift -- which was 14 times his quota and determined to be a record amount."
    related: [death]
  - id: death
    title: {en: "His death"}
    questions:
      en: ["When did Stakhanov die?", "How did he die?"]
    answer: {en: "He died in 1977 in a psychiatric hospital."}
    citations:
      - source: src
        quote: "Stakhanov died an alcoholic in a psychiatric hospital in 1977."
"""


def problems_of(path: Path) -> list[str]:
    """Every problem loading the knowledge at `path` reports (it must fail)."""
    with pytest.raises(KnowledgeError) as caught:
        load(path)
    return caught.value.problems


def file_of(knowledge: Path, entry_id: str) -> Path:
    """The file of a knowledge folder (faq.yaml or a part in faq.d/) that holds an entry."""
    for path in [knowledge / "faq.yaml", *sorted((knowledge / "faq.d").glob("*.yaml"))]:
        if f"  - id: {entry_id}\n" in path.read_text(encoding="utf-8"):
            return path
    raise LookupError(entry_id)


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The knowledge base shipped with the project."""
    return load(default_path())


@pytest.fixture
def write_knowledge(tmp_path: Path) -> Callable[..., Path]:
    """Write a knowledge file (the small valid one by default) beside its source text."""

    def write(text: str = SMALL_YAML, name: str = "faq.yaml", source: str = SOURCE_TEXT) -> Path:
        (tmp_path / "sources").mkdir(exist_ok=True)
        (tmp_path / "sources" / "source.txt").write_text(source, encoding="utf-8")
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """An admin URL of a PostgreSQL server (DATABASE_URL's, else one started for this run)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed: pip install -e '.[test]'")
    if postgres.ADMIN_URL:
        yield postgres.ADMIN_URL
        return
    try:
        server = postgres.LocalServer()
    except postgres.Unavailable as exc:
        pytest.skip(f"PostgreSQL store tests skipped: {exc}")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database for one test."""
    url = postgres.create_database(postgres_server)
    yield url
    postgres.drop_database(postgres_server, url)


def _own_database() -> Iterator[None]:
    """With DATABASE_URL set, everything started meanwhile uses a database of its own."""
    if not postgres.ADMIN_URL:
        yield
        return
    before = os.environ["DATABASE_URL"]
    url = postgres.create_database(postgres.ADMIN_URL)
    os.environ["DATABASE_URL"] = url
    try:
        yield
    finally:
        os.environ["DATABASE_URL"] = before
        postgres.drop_database(postgres.ADMIN_URL, url)


@pytest.fixture(scope="module", autouse=True)
def module_database() -> Iterator[None]:
    yield from _own_database()


@pytest.fixture(autouse=True)
def test_database(module_database: None) -> Iterator[None]:
    yield from _own_database()
