"""`check`: each phrasing held out and matched against the rest of the knowledge."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.check import check
from bot.knowledge import load
from tests.conftest import SMALL_YAML

ROOT = Path(__file__).resolve().parent.parent

BACKED_UP = SMALL_YAML.replace(
    '      en: ["How much coal did Stakhanov mine in one shift?", "102 tons"]',
    '      en: ["How much coal did Stakhanov mine in one shift?", "how much coal did he mine",'
    ' "coal mined in one shift", "102 tons", "tons of coal in his record shift"]',
).replace(
    '      en: ["When did Stakhanov die?", "How did he die?"]',
    '      en: ["When did Stakhanov die?", "How did he die?", "when did he die",'
    ' "the year Stakhanov died", "how did Stakhanov die"]',
)

CONFUSED = BACKED_UP.replace('"how did Stakhanov die"', '"coal mined in one shift by Stakhanov"')


@pytest.fixture
def backed_up(write_knowledge):
    return load(write_knowledge(BACKED_UP))


def outcome(report, phrasing):
    return next(o for o in report.outcomes if o.phrasing == phrasing)


def test_a_phrasing_that_others_back_up_is_answered_by_its_entry_when_held_out(backed_up):
    assert outcome(check(backed_up), "coal mined in one shift").status == "right"


def test_a_phrasing_nothing_else_backs_up_is_reported_as_missed(backed_up):
    report = check(backed_up)
    assert outcome(report, "102 tons").status == "missed"
    assert "102 tons" in report.text()


def test_held_out_phrasing_no_longer_counts_for_its_entry(backed_up):
    matcher = backed_up.index
    row = matcher.lexical.texts.index("102 tons")
    assert matcher.match("102 tons").status == "answered"
    assert matcher.match("102 tons", held_out=row).status == "no_match"


def test_an_entry_answering_another_entrys_phrasing_is_a_confusion(write_knowledge):
    report = check(load(write_knowledge(CONFUSED)))
    assert outcome(report, "coal mined in one shift by Stakhanov").status == "wrong"
    assert ("death", "record", 1) in report.confusions()


def test_an_out_of_scope_example_declining_a_phrasing_is_reported(write_knowledge):
    stealing = BACKED_UP + 'out_of_scope:\n  - "when did stakhanov die in the hospital"\n'
    report = check(load(write_knowledge(stealing)))
    (stolen,) = report.steals()
    assert stolen.phrasing == "When did Stakhanov die?"
    assert stolen.got == "when did stakhanov die in the hospital"


def test_a_language_with_few_phrasings_is_reported_thin(backed_up):
    assert ("record", "en", 5, pytest.approx(0.4, abs=0.41)) in [
        (e, lang, n, share) for e, lang, n, share in check(backed_up).thin
    ]


def test_a_phrasing_of_stop_words_or_interrogatives_alone_is_reported_wordless(write_knowledge):
    wordless = BACKED_UP.replace('"the year Stakhanov died"', '"and when was that?"')
    report = check(load(write_knowledge(wordless)))
    assert report.wordless == [("death", "en", "and when was that?")]
    assert "'and when was that?' of death" in report.text()


def test_more_wrong_answers_than_before_is_a_regression(write_knowledge, backed_up):
    after = check(load(write_knowledge(CONFUSED)))
    assert any("answered by another entry: 0 → " in r for r in after.regressions(check(backed_up)))
    assert check(backed_up).regressions(check(backed_up)) == []


def test_check_command_prints_figures_and_exits_1_below_the_floors(write_knowledge):
    path = write_knowledge(BACKED_UP)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check", str(path), "--json"],
        capture_output=True,
        cwd=ROOT,
        env={"SEMANTIC_MATCHING": "off", "PATH": "/usr/bin:/bin", "HOME": str(path.parent)},
        timeout=120,
    )
    import json

    report = json.loads(result.stdout)
    assert report["languages"]["en"]["phrasings"] == 10
    assert result.returncode == (0 if report["passed"] else 1)
