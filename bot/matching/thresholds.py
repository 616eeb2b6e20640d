"""The scores at which a question is answered, offered choices, or declined."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Thresholds:
    """Scores (0-100) at which a question is answered or a clarification offered."""

    answer: float = 70.0
    clarify: float = 50.0
    margin: float = 2.0

    def __post_init__(self) -> None:
        if not 0 <= self.clarify <= self.answer <= 100:
            raise ValueError("thresholds need 0 <= clarify <= answer <= 100")
        if self.margin < 0:
            raise ValueError("the margin must not be negative")
