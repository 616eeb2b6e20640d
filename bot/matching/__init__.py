"""Matching a question to the knowledge: a lexical and a semantic signal, and the decision.

`reading` prepares a question once for both signals (a letter's closing, split words, Latin
letters or the wrong keyboard layout for Cyrillic); `lexical` scores token overlap (typos,
transliteration, stop words, IDF weights);
`encoder` loads the sentence encoder in the background; `semantic` scores its cosine;
`embeddings` keeps phrasing vectors on disk;
`weights` keeps the encoder's weights ready to load; `decision` fuses both signals into
answer, "did you mean" or decline; `followups` reads a short question with the one before
it; `thresholds` holds the scores it decides by.

The names below load their module on first use, so importing one light piece (the settings
need only `thresholds`) doesn't import numpy and the matchers: a command can start loading
the encoder before it reads the knowledge.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.matching.decision import Candidate, Match, Matcher, Status
    from bot.matching.lexical import OUT_OF_SCOPE, LexicalIndex
    from bot.matching.semantic import Embedder
    from bot.matching.thresholds import Thresholds

HOMES = {
    "Candidate": "decision",
    "Match": "decision",
    "Matcher": "decision",
    "Status": "decision",
    "OUT_OF_SCOPE": "lexical",
    "LexicalIndex": "lexical",
    "Embedder": "semantic",
    "Thresholds": "thresholds",
}

__all__ = [
    "OUT_OF_SCOPE",
    "Candidate",
    "Embedder",
    "LexicalIndex",
    "Match",
    "Matcher",
    "Status",
    "Thresholds",
]


def __getattr__(name: str) -> Any:
    if name not in HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{HOMES[name]}"), name)
