"""Shared fixtures: the shipped knowledge base and small knowledge files written per test."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeBase, default_path, load

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
