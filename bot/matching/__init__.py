"""Matching a question to the knowledge: a lexical and a semantic signal, and the decision.

`lexical` scores token overlap (typos, transliteration, stop words, IDF weights);
`semantic` scores a sentence encoder's cosine; `embeddings` keeps phrasing vectors on disk;
`decision` fuses both into answer, "did you mean" or decline.
"""

from bot.matching.decision import Candidate, Match, Matcher, Status, Thresholds
from bot.matching.lexical import OUT_OF_SCOPE, LexicalIndex
from bot.matching.semantic import Embedder

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
