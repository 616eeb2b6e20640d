"""The trial of an edit: the new file must validate, and neither `check` nor any evaluation set
may get worse. Figures are kept for the reply: before → after."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from bot.bundle import Bundle
from bot.check import CheckReport, check
from bot.evaluation import DEFAULT_SET, EvalError, EvalSet, Report, evaluate, load_set
from bot.knowledge import KnowledgeBase, KnowledgeError, parse
from bot.matching import Thresholds
from bot.matching.semantic import Embedder

EVAL_DIR = DEFAULT_SET.parent  # the project's evaluation sets (absent from an installed wheel)
SLACK = 1e-9  # any drop counts: one question in a set is already a regression


@dataclass(frozen=True)
class Figures:
    check: CheckReport
    evals: dict[str, Report]

    def lines(self, before: Figures | None = None) -> list[str]:
        """One line for `check` and one per evaluation set; with `before`, "old → new"."""
        out = []
        now = self.check.by_language()
        was = before.check.by_language() if before else {}
        shares = [
            f"{lang} {_arrow(was[lang].answered_share if lang in was else None, f.answered_share)}"
            for lang, f in now.items()
        ]
        out.append("check, held-out phrasings answered: " + ", ".join(shares))
        for name, report in self.evals.items():
            old = before.evals.get(name) if before else None
            top1 = _arrow(old.overall.top1 if old else None, report.overall.top1)
            false = _arrow(
                old.overall.false_answer_rate if old else None, report.overall.false_answer_rate
            )
            out.append(f"{name}: top-1 {top1}, false answers {false}")
        return out


def _arrow(old: float | None, new: float) -> str:
    if old is None or abs(old - new) < SLACK:
        return f"{new:.1%}"
    return f"{old:.1%} → {new:.1%}"


@dataclass(frozen=True)
class Trial:
    kb: KnowledgeBase | None
    problems: list[str]
    before: Figures
    after: Figures | None

    @property
    def passed(self) -> bool:
        return self.kb is not None and not self.problems


def eval_sets(folder: Path = EVAL_DIR) -> dict[str, EvalSet]:
    sets = {}
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else ():
        try:
            sets[path.name] = load_set(path)
        except EvalError:
            continue
    return sets


def measure(kb: KnowledgeBase, thresholds: Thresholds | None, sets: dict[str, EvalSet]) -> Figures:
    """`check`, and every evaluation set written for this knowledge (a set naming entries the
    file lacks belongs to another knowledge file and is left out)."""
    evals = {}
    for name, evalset in sets.items():
        try:
            evals[name] = evaluate(kb, evalset.cases, thresholds, evalset.thresholds)
        except EvalError:
            continue
    return Figures(check(kb, thresholds), evals)


def regressions(before: Figures, after: Figures) -> list[str]:
    found = after.check.regressions(before.check)
    for name, report in after.evals.items():
        old = before.evals.get(name)
        if old is None:
            continue
        if report.overall.in_scope and report.overall.top1 < old.overall.top1 - SLACK:
            found.append(f"{name}: top-1 {old.overall.top1:.1%} → {report.overall.top1:.1%}")
        if report.overall.false_answer_rate > old.overall.false_answer_rate + SLACK:
            found.append(
                f"{name}: false answers {old.overall.false_answer_rate:.1%}"
                f" → {report.overall.false_answer_rate:.1%}"
            )
    return found


class FigureCache:
    """Figures of the knowledge being served, computed once per version of the file: a caller
    arriving while they are measured waits for them rather than measuring them again."""

    def __init__(self) -> None:
        self._digest = ""
        self._figures: Figures | None = None
        self._lock = threading.Lock()

    def get(
        self,
        kb: KnowledgeBase,
        files: Bundle,
        thresholds: Thresholds | None,
        sets: dict[str, EvalSet],
    ) -> Figures:
        digest = files.digest()
        with self._lock:
            if self._figures is None or digest != self._digest:
                self._figures, self._digest = measure(kb, thresholds, sets), digest
            return self._figures

    def put(self, files: Bundle, figures: Figures) -> None:
        """The figures of a version just measured (an accepted change): no need to redo them."""
        with self._lock:
            self._figures, self._digest = figures, files.digest()


def run_trial(
    before: Figures,
    files: Bundle,
    embedder: Embedder | None,
    thresholds: Thresholds | None,
    sets: dict[str, EvalSet],
) -> Trial:
    """Validate the changed knowledge `files` and compare its figures with `before`."""
    try:
        kb = parse(files, embedder)
    except KnowledgeError as exc:
        return Trial(None, list(exc.problems), before, None)
    after = measure(kb, thresholds, sets)
    return Trial(kb, regressions(before, after), before, after)
