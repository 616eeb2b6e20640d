"""Proposals from use: what people picked, declined, or thumbed down, most frequent first."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass

from bot.knowledge import KnowledgeBase
from bot.matching import OUT_OF_SCOPE
from bot.store import Signal

SHOWN = 10  # suggestions offered at a time
NEAREST = 2  # entries offered as "a phrasing of ..." for a question no pick settled


@dataclass(frozen=True)
class Suggestion:
    key: str
    """A short digest of the normalised question: stable while the list changes."""
    kind: str
    """phrasing (people picked this entry for it), example (declined, or answered and
    thumbed down: perhaps out of scope) or unlabelled ("none of these")."""
    question: str
    normalised: str
    language: str
    count: int
    entry: str | None
    """For a phrasing, the entry people picked."""
    nearest: tuple[str, ...]
    """The entries the matcher finds nearest, for the admin to choose from."""
    why: str

    def choices(self) -> tuple[str, ...]:
        """The entries this question may become a phrasing of, the likeliest first."""
        first = (self.entry,) if self.entry else ()
        return first + tuple(e for e in self.nearest if e != self.entry)


def key_of(normalised: str) -> str:
    return hashlib.sha256(normalised.encode()).hexdigest()[:8]


def suggest(
    kb: KnowledgeBase, signals: list[Signal], decisions: dict[str, str], limit: int = SHOWN
) -> list[Suggestion]:
    """One suggestion per normalised question not yet decided or already in the knowledge."""
    groups: dict[str, list[Signal]] = defaultdict(list)
    for signal in signals:
        if signal.normalised.strip():
            groups[signal.normalised].append(signal)
    found = [
        s
        for normalised, group in groups.items()
        if normalised not in decisions and (s := _suggestion(kb, normalised, group)) is not None
    ]
    found.sort(key=lambda s: (-s.count, s.question))
    return found[:limit]


def _suggestion(kb: KnowledgeBase, normalised: str, group: list[Signal]) -> Suggestion | None:
    question = max(group, key=lambda s: s.count).question
    if question in kb.out_of_scope:
        return None
    language = group[0].language
    count = sum(s.count for s in group)
    why = ", ".join(_why(s) for s in sorted(group, key=lambda s: -s.count))
    candidates, _ = kb.index.search(question, limit=NEAREST + 1)
    nearest = tuple(c.entry_id for c in candidates if c.entry_id != OUT_OF_SCOPE)[:NEAREST]
    match = kb.index.match(question)
    answered = match.best.entry_id if match.status == "answered" and match.best else None
    picks = [s for s in group if s.kind == "picked" and s.entry in kb.by_id]
    if picks:
        entry = max(picks, key=lambda s: s.count).entry
        if answered == entry or question in kb.by_id[entry].questions.get(language, ()):
            return None
        return Suggestion(
            key_of(normalised),
            "phrasing",
            question,
            normalised,
            language,
            count,
            entry,
            nearest,
            why,
        )
    if answered and not any(s.kind == "unhelpful" for s in group):
        return None  # declined once, answered now
    kind = "unlabelled" if all(s.kind == "none" for s in group) else "example"
    return Suggestion(
        key_of(normalised), kind, question, normalised, language, count, None, nearest, why
    )


def _why(signal: Signal) -> str:
    times = f"{signal.count}×"
    if signal.kind == "picked":
        return f"picked {signal.entry} {times}"
    if signal.kind == "unhelpful":
        return f"👎 on {signal.entry} {times}"
    if signal.kind == "none":
        return f"“none of these” {times}"
    return f"declined {times}"
