"""Cross-validation of the knowledge: each phrasing held out and matched against the rest.

A phrasing that its own entry no longer answers once it is left out is one that nothing else
in the file backs up: a question worded like it would miss too. The check reports those, the
pairs of entries that take each other's phrasings, the entries thin in a language, the
out-of-scope examples that decline real phrasings, and the phrasings with no words of their own
(stop words or interrogatives alone, which only the encoder can read). It uses the matcher the bot serves with
(the semantic signal included when it is on), so its figures are the bot's.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.knowledge import KnowledgeBase
from bot.matching import OUT_OF_SCOPE, Thresholds
from bot.normalise import names_nothing

THIN_PHRASINGS = 10  # fewer phrasings than this in a language: questions in it will miss
THIN_SHARE = 0.45  # or under this share answered when held out (0.64-0.70 on average)
FLOOR_ANSWERED = 0.62  # per language, held-out phrasings their entry answers (0.643-0.701)
CEILING_WRONG = 0.045  # per language, held-out phrasings another entry answers (0.034-0.038)
CEILING_STOLEN = 0.005  # per language, declined by an out-of-scope example (0.0005-0.0056)
SHOWN = 12  # misses, confusions and steals listed in the text report


@dataclass(frozen=True)
class Outcome:
    entry: str
    language: str
    phrasing: str
    status: str
    """right; clarify (its entry among the suggestions); wrong (another entry answered);
    missed (declined, or suggestions without its entry); stolen (an out-of-scope example
    declined it where its entry would have answered)."""
    got: str | None = None
    """The entry answered or suggested first, or the out-of-scope example that declined it."""


@dataclass(frozen=True)
class LanguageFigures:
    phrasings: int
    right: int
    clarify: int
    wrong: int
    missed: int
    stolen: int

    @property
    def answered_share(self) -> float:
        return self.right / self.phrasings if self.phrasings else 1.0

    @property
    def wrong_share(self) -> float:
        return self.wrong / self.phrasings if self.phrasings else 0.0


@dataclass
class CheckReport:
    outcomes: list[Outcome]
    thin: list[tuple[str, str, int, float]] = field(default_factory=list)
    """(entry, language, phrasings, share answered when held out)."""
    wordless: list[tuple[str, str, str]] = field(default_factory=list)
    """(entry, language, phrasing) of phrasings with no words the lexical signal can use."""

    def by_language(self) -> dict[str, LanguageFigures]:
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for outcome in self.outcomes:
            counts[outcome.language][outcome.status] += 1
        return {
            language: LanguageFigures(
                sum(c.values()), c["right"], c["clarify"], c["wrong"], c["missed"], c["stolen"]
            )
            for language, c in sorted(counts.items())
        }

    def confusions(self) -> list[tuple[str, str, int]]:
        """(entry, the entry that took its phrasings, how many), most first."""
        pairs = Counter(
            (o.entry, o.got) for o in self.outcomes if o.status == "wrong" and o.got is not None
        )
        return [(a, b, n) for (a, b), n in pairs.most_common()]

    def steals(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "stolen"]

    def problems(self) -> list[str]:
        """Why the check fails: a language below the floors, or an example declining a
        phrasing."""
        found = []
        for language, f in self.by_language().items():
            if f.answered_share < FLOOR_ANSWERED:
                found.append(
                    f"[{language}] {f.answered_share:.1%} of phrasings answered by their entry"
                    f" when held out, below {FLOOR_ANSWERED:.0%}"
                )
            if f.wrong_share > CEILING_WRONG:
                found.append(
                    f"[{language}] {f.wrong_share:.1%} of phrasings answered by another entry,"
                    f" above {CEILING_WRONG:.0%}"
                )
            if f.stolen / max(f.phrasings, 1) > CEILING_STOLEN:
                found.append(
                    f"[{language}] {f.stolen} phrasings declined by an out-of-scope example,"
                    f" above {CEILING_STOLEN:.1%}"
                )
        return found

    @property
    def passed(self) -> bool:
        return not self.problems()

    def regressions(self, before: CheckReport) -> list[str]:
        """What got worse since `before`: a language answering a smaller share of its held-out
        phrasings, more of them answered wrongly, or an example declining more of them."""
        found = []
        old = before.by_language()
        for language, f in self.by_language().items():
            was = old.get(language)
            if was is None:
                continue
            if f.answered_share < was.answered_share - REGRESSION_SLACK:
                found.append(
                    f"[{language}] held-out phrasings answered by their entry:"
                    f" {was.answered_share:.1%} → {f.answered_share:.1%}"
                )
            if f.wrong > was.wrong:
                found.append(f"[{language}] answered by another entry: {was.wrong} → {f.wrong}")
            if f.stolen > was.stolen:
                found.append(
                    f"[{language}] declined by an out-of-scope example: {was.stolen} → {f.stolen}"
                )
        return found

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "problems": self.problems(),
            "languages": {
                language: {
                    "phrasings": f.phrasings,
                    "right": f.right,
                    "clarify": f.clarify,
                    "wrong": f.wrong,
                    "missed": f.missed,
                    "stolen": f.stolen,
                    "answered_share": round(f.answered_share, 4),
                }
                for language, f in self.by_language().items()
            },
            "entries": self.entry_figures(),
            "confusions": [
                {"entry": a, "taken_by": b, "count": n} for a, b, n in self.confusions()
            ],
            "thin": [
                {"entry": e, "language": lang, "phrasings": n, "answered_share": round(share, 4)}
                for e, lang, n, share in self.thin
            ],
            "wordless": [
                {"entry": e, "language": lang, "phrasing": text} for e, lang, text in self.wordless
            ],
            "misses": [
                {
                    "entry": o.entry,
                    "language": o.language,
                    "phrasing": o.phrasing,
                    "status": o.status,
                    "got": o.got,
                }
                for o in self.outcomes
                if o.status != "right"
            ],
        }

    def entry_figures(self) -> dict[str, dict[str, dict[str, int]]]:
        """Per entry and language: phrasings, and how many were answered right when held out."""
        figures: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
        for o in self.outcomes:
            cell = figures[o.entry].setdefault(o.language, {"phrasings": 0, "right": 0})
            cell["phrasings"] += 1
            cell["right"] += o.status == "right"
        return dict(figures)

    def entry_table(self) -> list[str]:
        """Per entry, the share of its held-out phrasings it answers, in each language."""
        figures = self.entry_figures()
        languages = sorted({lang for cells in figures.values() for lang in cells})
        width = max((len(e) for e in figures), default=5)
        lines = ["Per entry, held-out phrasings answered (of how many):"]
        lines.append("  " + "entry".ljust(width) + "".join(f"{lang:>12}" for lang in languages))
        for entry, cells in figures.items():
            shown = [
                f"{cells[lang]['right'] / cells[lang]['phrasings']:5.0%} of {cells[lang]['phrasings']:3}"
                if lang in cells
                else f"{'-':>12}"
                for lang in languages
            ]
            lines.append("  " + entry.ljust(width) + "".join(f"{cell:>12}" for cell in shown))
        return lines

    def text(self) -> str:
        lines = ["Each phrasing held out and matched against the rest of the knowledge:"]
        for language, f in self.by_language().items():
            lines.append(
                f"  [{language}] {f.phrasings} phrasings: {f.answered_share:.1%} answered by their"
                f" entry, {f.clarify} clarify, {f.wrong} another entry, {f.missed} missed,"
                f" {f.stolen} declined by an out-of-scope example"
            )
        lines += self.entry_table()
        confusions = self.confusions()
        if confusions:
            lines.append("Entries answering each other's phrasings (entry ← taken by, count):")
            lines += [f"  {a} ← {b}: {n}" for a, b, n in confusions[:SHOWN]]
        if self.thin:
            lines.append(
                f"Thin (under {THIN_PHRASINGS} phrasings, or under {THIN_SHARE:.0%} answered"
                " when held out):"
            )
            lines += [
                f"  {e} [{lang}]: {n} phrasings, {share:.0%}" for e, lang, n, share in self.thin
            ]
        if self.wordless:
            lines.append("Phrasings with no words of their own (only the encoder reads them):")
            lines += [f"  [{lang}] {text!r} of {e}" for e, lang, text in self.wordless[:SHOWN]]
        for status, heading in (
            ("wrong", "Phrasings another entry answers:"),
            ("missed", "Phrasings nothing else backs up (declined, or not among the suggestions):"),
        ):
            listed = [o for o in self.outcomes if o.status == status]
            if listed:
                lines.append(heading)
                lines += [
                    f"  [{o.language}] {o.phrasing!r} of {o.entry} → {o.got or '-'}"
                    for o in listed[:SHOWN]
                ]
                if len(listed) > SHOWN:
                    lines.append(f"  …and {len(listed) - SHOWN} more (--json lists all)")
        steals = self.steals()
        if steals:
            lines.append("Phrasings an out-of-scope example declines:")
            lines += [
                f"  [{o.language}] {o.phrasing!r} of {o.entry} ← {o.got!r}" for o in steals[:SHOWN]
            ]
        problems = self.problems()
        lines.append("FAIL:\n  " + "\n  ".join(problems) if problems else "PASS")
        return "\n".join(lines)


REGRESSION_SLACK = 0.002  # a share may move this much (one phrasing in ~500) without counting


def phrasing_rows(kb: KnowledgeBase) -> Iterator[tuple[str, str, str, int]]:
    """(entry id, language, phrasing, row in the index) for every question phrasing."""
    lexical = kb.index.lexical
    rows: dict[tuple[str, str], int] = {}
    for row, (entry_id, text, _) in enumerate(lexical.phrasing_tokens()):
        rows.setdefault((entry_id, text), row)
    for entry in kb.entries:
        for language, phrasings in entry.questions.items():
            for phrasing in dict.fromkeys(phrasings):
                yield entry.id, language, phrasing, rows[(entry.id, phrasing)]


def check(kb: KnowledgeBase, thresholds: Thresholds | None = None) -> CheckReport:
    """Hold out each question phrasing of `kb` in turn and match it against the rest."""
    outcomes = [
        _outcome(kb, entry_id, language, phrasing, row, thresholds)
        for entry_id, language, phrasing, row in phrasing_rows(kb)
    ]
    tokens = kb.index.lexical.normaliser.tokens
    wordless = [
        (o.entry, o.language, o.phrasing) for o in outcomes if names_nothing(tokens(o.phrasing))
    ]
    report = CheckReport(outcomes, wordless=wordless)
    for entry_id, languages in report.entry_figures().items():
        for language, cell in sorted(languages.items()):
            share = cell["right"] / cell["phrasings"]
            if cell["phrasings"] < THIN_PHRASINGS or share < THIN_SHARE:
                report.thin.append((entry_id, language, cell["phrasings"], share))
    return report


def _outcome(
    kb: KnowledgeBase,
    entry_id: str,
    language: str,
    phrasing: str,
    row: int,
    thresholds: Thresholds | None,
) -> Outcome:
    match = kb.index.match(phrasing, thresholds, held_out=row)
    first = match.best.entry_id if match.best else None
    if match.status == "answered":
        status = "right" if first == entry_id else "wrong"
        return Outcome(entry_id, language, phrasing, status, first)
    if match.status == "clarify":
        suggested = [c.entry_id for c in match.candidates[:3]]
        status = "clarify" if entry_id in suggested else "missed"
        return Outcome(entry_id, language, phrasing, status, first)
    if match.out_of_scope is not None and first == entry_id:
        return Outcome(entry_id, language, phrasing, "stolen", match.out_of_scope)
    return Outcome(entry_id, language, phrasing, "missed", first if first != OUT_OF_SCOPE else None)
