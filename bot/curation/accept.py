"""Accepting a suggestion: edit, try, and only when nothing gets worse, write (with a backup).

Shared by `/suggestions` and `stakhanov-bot accept`; serving the result (install, share) is
the caller's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot import bundle
from bot.bundle import Bundle
from bot.curation.edits import OUT_OF_SCOPE_TARGET, EditError, propose
from bot.curation.suggestions import Suggestion
from bot.curation.trial import Figures, Trial, run_trial
from bot.evaluation import EvalSet
from bot.knowledge import LiveKnowledge, home_path
from bot.matching import Thresholds


class Refused(Exception):
    """Nothing was written: the edit was impossible (`trial` None) or made things worse."""

    def __init__(self, reason: str, description: str = "", trial: Trial | None = None) -> None:
        super().__init__(reason)
        self.description = description
        self.trial = trial


@dataclass(frozen=True)
class Accepted:
    description: str
    files: Bundle
    trial: Trial
    backups: list[Path]


def decision(target: str) -> str:
    """What the store remembers of an accepted suggestion."""
    return "example" if target == OUT_OF_SCOPE_TARGET else "phrasing"


def accept(
    live: LiveKnowledge,
    chosen: Suggestion,
    target: str,
    before: Figures,
    thresholds: Thresholds | None,
    sets: dict[str, EvalSet],
    data_dir: Path,
) -> Accepted:
    """The suggestion as a phrasing of entry `target` (or an out-of-scope example), tried
    against `before` and written where an upload would go. Raises Refused, or OSError when
    the file cannot be written; either way nothing changed."""
    try:
        files, description = propose(live.files, chosen.question, chosen.language, target)
    except EditError as exc:
        raise Refused(str(exc)) from None
    trial = run_trial(before, files, live.embedder, thresholds, sets)
    if not trial.passed:
        raise Refused("; ".join(trial.problems), description, trial)
    files = files.rebased(live.upload_target(home_path(data_dir).parent))
    backups = bundle.write(files, data_dir / "backups")
    return Accepted(description, files, trial, backups)
