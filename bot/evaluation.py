"""Answer quality as numbers: run a labelled question set through the matcher."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.knowledge import KnowledgeBase
from bot.matching import Thresholds, followups

DEFAULT_SET = Path(__file__).resolve().parent.parent / "tests" / "eval" / "questions.yaml"


class EvalError(Exception):
    """An evaluation file that cannot be used."""


class Case(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    q: str
    lang: str = "en"
    expect: str | None
    also: tuple[str, ...] = ()
    """Other entries whose answer answers the question as well (counted as right)."""
    after: str | None = None
    """A question asked just before, in the same conversation: `q` is a follow-up to it."""
    after_expect: str | None = None
    """The entry that answers `after` (a label for readers; only its id is checked)."""


class Targets(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    min_top1_accuracy: float = Field(0.92, ge=0, le=1)
    max_false_answer_rate: float = Field(0.05, ge=0, le=1)


class EvalSet(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    thresholds: Targets = Targets()
    cases: tuple[Case, ...] = Field(min_length=1)


@dataclass(frozen=True)
class Miss:
    case: Case
    status: str
    got: str | None
    score: float

    def describe(self) -> str:
        expected = self.case.expect or "(decline)"
        got = self.got or "-"
        return (
            f"[{self.case.lang}] {self.case.q!r}: expected {expected}, "
            f"got {self.status} {got} ({self.score:.1f})"
        )


@dataclass
class Tally:
    in_scope: int = 0
    correct: int = 0
    clarify: int = 0
    offered_first: int = 0
    """In-scope questions whose "did you mean" offers the right entry first: one tap from it."""
    out_scope: int = 0
    false_answers: int = 0
    declined_by_example: int = 0
    """In-scope questions declined because an out-of-scope example read closer."""
    misses: list[Miss] = field(default_factory=list)

    @property
    def top1(self) -> float:
        return self.correct / self.in_scope if self.in_scope else 1.0

    @property
    def clarify_rate(self) -> float:
        return self.clarify / self.in_scope if self.in_scope else 0.0

    @property
    def offered_first_rate(self) -> float:
        return self.offered_first / self.in_scope if self.in_scope else 0.0

    @property
    def false_answer_rate(self) -> float:
        return self.false_answers / self.out_scope if self.out_scope else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "in_scope": self.in_scope,
            "top1_accuracy": round(self.top1, 4) if self.in_scope else None,
            "clarify_rate": round(self.clarify_rate, 4),
            "offered_first_rate": round(self.offered_first_rate, 4),
            "out_of_scope": self.out_scope,
            "false_answer_rate": round(self.false_answer_rate, 4),
            "declined_by_example": self.declined_by_example,
        }


@dataclass
class Report:
    targets: Targets
    by_language: dict[str, Tally]
    overall: Tally

    @property
    def passed(self) -> bool:
        return not self.failures()

    def failures(self) -> list[str]:
        """Each missed target, by language: "en: top-1 76.7 % < 80 %"."""
        found = []
        for name, t in [*sorted(self.by_language.items()), ("overall", self.overall)]:
            if t.in_scope and t.top1 < self.targets.min_top1_accuracy:
                found.append(f"{name}: top-1 {t.top1:.1%} < {self.targets.min_top1_accuracy:.0%}")
            if t.false_answer_rate > self.targets.max_false_answer_rate:
                found.append(
                    f"{name}: false answers {t.false_answer_rate:.1%} > "
                    f"{self.targets.max_false_answer_rate:.0%}"
                )
        return found

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "failures": self.failures(),
            "targets": self.targets.model_dump(),
            "overall": self.overall.as_dict(),
            "languages": {k: v.as_dict() for k, v in self.by_language.items()},
            "misses": [
                {
                    "question": m.case.q,
                    "language": m.case.lang,
                    "expected": m.case.expect,
                    "status": m.status,
                    "got": m.got,
                    "score": m.score,
                }
                for m in self.overall.misses
            ],
        }

    def text(self) -> str:
        rows = [
            f"{'':8} {'top-1':>7} {'clarify':>8} {'offered 1st':>12} {'false ans':>10} "
            f"{'in':>5} {'out':>5} "
            f"{'declined by example':>20}"
        ]
        for name, tally in [*sorted(self.by_language.items()), ("overall", self.overall)]:
            top1 = f"{tally.top1:7.1%}" if tally.in_scope else f"{'-':>7}"
            rows.append(
                f"{name:8} {top1} {tally.clarify_rate:8.1%} {tally.offered_first_rate:12.1%} "
                f"{tally.false_answer_rate:10.1%} {tally.in_scope:5} {tally.out_scope:5} "
                f"{tally.declined_by_example:20}"
            )
        target = (
            f"targets: top-1 >= {self.targets.min_top1_accuracy:.0%}, "
            f"false answers <= {self.targets.max_false_answer_rate:.0%} -> "
            f"{'PASS' if self.passed else 'FAIL: ' + '; '.join(self.failures())}"
        )
        misses = [f"misses ({len(self.overall.misses)}):"] + [
            "  " + m.describe() for m in self.overall.misses
        ]
        return "\n".join([*rows, target, *misses])


def figures(report: Report) -> dict[str, Any]:
    """A report without its misses: what a blind measurement may print."""
    return {key: value for key, value in report.as_dict().items() if key != "misses"}


def summary(reports: dict[str, Report]) -> str:
    """One line per set: cases, top-1 / false answers overall and per language, no misses."""
    languages = sorted({lang for r in reports.values() for lang in r.by_language})
    head = f"{'set':14} {'cases':>5} {'all':>13}" + "".join(f" {lang:>13}" for lang in languages)
    rows = [head + f" {'offered 1st':>12} {'declined by example':>20}  targets"]
    for name, report in reports.items():
        o = report.overall
        cells = [_pair(report.by_language.get(lang, Tally())) for lang in languages]
        rows.append(
            f"{name:14} {o.in_scope + o.out_scope:5} {_pair(o):>13}"
            + "".join(f" {cell:>13}" for cell in cells)
            + f" {100 * o.offered_first_rate:12.1f} {o.declined_by_example:20}"
            + f"  {'PASS' if report.passed else 'FAIL'}"
        )
    return "\n".join(
        [
            *rows,
            '(top-1 % / false answers %; offered 1st: % of in-scope questions whose "did you'
            ' mean" offers the right entry first)',
        ]
    )


def _pair(tally: Tally) -> str:
    if not tally.in_scope and not tally.out_scope:
        return "-"
    top1 = f"{100 * tally.top1:.1f}" if tally.in_scope else "-"
    return f"{top1} / {100 * tally.false_answer_rate:.1f}"


def load_set(path: str | Path) -> EvalSet:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return EvalSet.model_validate(raw)
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalError(f"{path}: cannot be read ({exc})") from None
    except yaml.YAMLError as exc:
        raise EvalError(f"{path}: invalid YAML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise EvalError(f"{path}: {where}: {first['msg']}") from None


def evaluate(
    kb: KnowledgeBase, cases: Iterable[Case], thresholds: Thresholds, targets: Targets
) -> Report:
    """Match every case and tally accuracy, clarifications and false answers."""
    by_language: dict[str, Tally] = {}
    overall = Tally()
    for case in cases:
        for entry_id in (case.expect, *case.also, case.after_expect):
            if entry_id is not None and entry_id not in kb.by_id:
                raise EvalError(f"case {case.q!r}: unknown entry id {entry_id!r}")
        match = kb.index.match(case.q, thresholds, previous=_topic(kb, case, thresholds))
        got = match.best.entry_id if match.best and match.status != "no_match" else None
        for tally in (by_language.setdefault(case.lang, Tally()), overall):
            _count(tally, case, match.status, got, match.score)
            if case.expect is not None and match.out_of_scope is not None:
                tally.declined_by_example += 1
    return Report(targets, by_language, overall)


def _topic(kb: KnowledgeBase, case: Case, thresholds: Thresholds) -> str | None:
    """What the case's question is read with: `after`, if the bot answered it."""
    if case.after is None:
        return None
    prior = kb.index.match(case.after, thresholds)
    return followups.topic(case.after, prior.read_with) if prior.status == "answered" else None


def _count(tally: Tally, case: Case, status: str, got: str | None, score: float) -> None:
    if case.expect is None:
        tally.out_scope += 1
        if status == "answered":
            tally.false_answers += 1
            tally.misses.append(Miss(case, status, got, score))
        return
    tally.in_scope += 1
    if status == "answered" and (got == case.expect or got in case.also):
        tally.correct += 1
        return
    if status == "clarify":
        tally.clarify += 1
        if got == case.expect or got in case.also:
            tally.offered_first += 1
    tally.misses.append(Miss(case, status, got, score))
