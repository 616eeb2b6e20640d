"""`stakhanov-bot eval` measures answer quality; CI runs it on both evaluation sets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.evaluation import Case, EvalError, Targets, evaluate, load_set
from bot.matching import Thresholds

ROOT = Path(__file__).resolve().parent.parent
SETS = ROOT / "tests" / "eval"
# Measured floors (a ratchet): raise them when quality improves, never lower them silently.
# Top-1 floors last raised to the measured figures on 2026-12-06, at the end of its third session
# (the comments give older weakest points).
# Top-1 and the most false answers overall, measured with the fused matcher; then, if given,
# the same per language (else each language may sit 5 points lower, with up to 15 % false).
# Issue 13 added 21 entries from new sources; the old sets lost 1-4 points of top-1 to the
# new neighbours (typo'd and terse questions now clarify), measured and left as the new floors.
# Three more from Encyclopedia.com came with 22 cases relabelled to them: 21 more questions
# answered right and 2 fewer over all sets, and rates shifted by the relabelled denominators.
# The thirteenth session's answer line (an out-of-scope example reading as close as the best entry
# raises it; a clear agreement lowers it further) traded top-1 for false answers on purpose: top-1
# floors lowered to the measured figures where they fell (0.1-3.1 points), false-answer ceilings
# tightened to the measured figures everywhere; the comments give the weakest points since then.
# The sixteenth session's confidence model (bot/matching/confidence.py) replaced that line: over
# the studied sets +94 right answers, 18 fewer wrong ones and 6 more false; over the four newest
# sets, kept out of its fit, +18 right and 3 fewer false. Floors were set to the measured figures
# where a set fell (top-1 by up to 1 point, false answers by up to 11 points on newtopics6).
FLOORS = {
    "questions.yaml": (0.97, 0.02),
    "holdout.yaml": (0.97, 0),
    "holdout2.yaml": (0.97, 0),
    "holdout3.yaml": (0.95, 0.02),
    "holdout4.yaml": (0.96, 0.02),
    "holdout5.yaml": (0.97, 0.03),
    "holdout6.yaml": (0.98, 0),
    "holdout7.yaml": (0.96, 0.06),  # 94.97 %: two shift-length cases relabelled in, one clarifies
    "holdout8.yaml": (0.95, 0.08, 0.92, 0.11),  # Ukrainian 94.1 %, English false 10.3 %
    "holdout9.yaml": (0.97, 0.04),
    # 6 relabelled to stakhanovite-rewards; 3 age-at-death cases relabelled to death (2026-12-07)
    # leave a language's false answers the same but of 15, not 16 (20.0 %)
    "realstyle1.yaml": (0.91, 0, 0.9, 0),  # Ukrainian 90.9 %, en/ru/uk false 0.0 %
    # a repression follow-up now clarifies; "how many died in Stalin's repressions" is answered
    # by the repression entry since this session's phrasings (Russian false 2 of 11); English
    # 83.8 %: "Describe how the movement came to an end" clarifies since "describe" is a stop word
    "realstyle2.yaml": (0.91, 0.07, 0.88, 0.17),  # English 90.9 %, Ukrainian false 16.7 %
    # English 76.5 % (its shift-length question, relabelled in, clarifies); relabels to
    # second-record and record-1935 leave its one Ukrainian false answer 1 of 5 (18.2 % with also)
    "realstyle3.yaml": (0.92, 0.07, 0.89, 0.19),  # English 91.9 %, Ukrainian false 18.2 %
    "realstyle4.yaml": (0.92, 0.03, 0.9, 0.1),  # English 90.2 %, Ukrainian false 9.1 %
    # sealed until measured once, last: lexical only 73.9 % / 11.4 %, fused 80.0 % / 14.3 %
    # Ukrainian 71.7 % ("ким працював стаханов потім" now offers Karaganda first), ru/uk false 25 %
    # its 3 age-at-death cases relabelled to death (2026-12-07): a language's false answers the
    # same, of one case fewer (27.3 %)
    "realstyle5.yaml": (0.85, 0.08, 0.83, 0.19),  # Ukrainian 87.0 %, Ukrainian false 18.2 %
    # the new topics' blind set: measured once at 78.0 % / 9.1 % (see its header); six
    # detail questions whose entry says its sources don't give the detail were relabelled
    # to that entry, and the Ukrainian medical-cause one is declined (uk 76.2 %)
    "newtopics1.yaml": (0.89, 0.03, 0.88, 0.12),  # Ukrainian 88.4 %, Russian false 11.1 %
    # the second blind set for them: measured once at 87.9 % / 20.0 % (see its header);
    # nine such detail questions relabelled likewise
    "newtopics2.yaml": (0.93, 0.02, 0.89, 0.05),  # Ukrainian 91.7 %, Ukrainian false 4.5 %
    # written blind over all topics: measured once at 86.7 % / 4.4 % (see its header); the bot's
    # "about me" reply now declines "who made you"
    "realstyle6.yaml": (0.96, 0.03, 0.92, 0.07),  # Ukrainian 92.9 %, Ukrainian false 6.7 %
    # two more blind sets over all topics, measured once at 87.8 % / 3.8 % and 88.2 % / 4.2 %;
    # since then six detail questions were relabelled (see their headers)
    "realstyle7.yaml": (0.92, 0, 0.9, 0),  # English 90.9 %, en/ru/uk false 0.0 %
    "realstyle8.yaml": (0.94, 0.02, 0.91, 0.05),  # English 93.1 %, Ukrainian false 4.5 %
    # the last two blind sets of the session, measured once at 72.0 % / 7.4 % and 79.8 % / 12.5 %
    # Ukrainian 84.1 % since "усі" (all) became a stop word (2026-12-07, seventh session): "Назвіть усі
    # назви, які в різні часи мало місто Кадіївка" now only offers its entry
    "realstyle9.yaml": (0.86, 0.02, 0.84, 0.04),  # Russian 87.3 %, Ukrainian false 3.7 %
    "newtopics3.yaml": (0.91, 0.03, 0.89, 0.09),  # English 91.1 %, Ukrainian false 8.3 %
    # sealed until the session's matcher was final, measured once at 82.0 % / 2.5 % (see its header)
    "realstyle10.yaml": (0.91, 0.03, 0.88, 0.04),  # English 88.9 %, en/ru false 3.7 %
    # the Encyclopedia.com entries' blind set, measured once at 62.5 % / 3.3 %, then studied: 80.8 %
    # after 48 phrasings for those thin entries
    "newtopics4.yaml": (0.9, 0.04, 0.82, 0.1),  # Ukrainian 82.9 %, Russian false 10.0 %
    # this session's two blind sets, measured on arrival at 70.6 % / 10.0 % and 66.7 % / 15.6 %
    # (see their headers), then studied
    "realstyle11.yaml": (0.88, 0.05, 0.86, 0.1),  # English 88.3 %, English false 10.0 %
    "newtopics5.yaml": (0.85, 0.05, 0.77, 0.14),  # English 90.0 %, English false 13.3 %
    # sealed until the end of the session's work, measured once at 80.0 % / 21.7 % (see its header)
    "realstyle12.yaml": (0.91, 0.04, 0.9, 0.1),  # Ukrainian 91.7 %, Russian false 10.0 %
    # the last blind set of its session, measured three times unseen, not studied (see its header)
    # Ukrainian 73.3 % since the 2026-12-07 Ukrainian phrasings (one case fell from 70.0 to 69.8);
    # 71.7 % since the ninth session's phrasings (+39 right over the studied sets): two Ukrainian
    # near-ties (later career or the Industrial Academy; the second record or the record beaten)
    # now offer both
    "realstyle13.yaml": (0.8, 0, 0.7, 0),  # Ukrainian 70.0 %, en/ru/uk false 0.0 %
    # blind, with a sixth style (misremembered premises), measured twice unseen (see its header)
    "realstyle14.yaml": (0.75, 0, 0.7, 0),  # English 76.7 %, en/ru/uk false 0.0 %
    # blind, the 24 issue-13 topics only, measured on arrival at 86.5 % / 31.5 % (see its header)
    # English 91.1 % since the precision words became stop words (2026-12-07, seventh session):
    # "How many roubles did the top Stakhanovites get as a bonus?" now only offers its entry
    "newtopics6.yaml": (0.92, 0.17, 0.91, 0.27),  # English 91.1 %, Russian false 26.3 %
    # blind, seven styles, measured twice unseen (on arrival and at the session's end; see its header)
    "realstyle15.yaml": (0.85, 0, 0.79, 0),  # Ukrainian 85.7 %, en/ru/uk false 0.0 %
    # blind, seven styles, harder: measured on arrival at 68.2 % / 8.3 %, unseen at the end of
    # that session at 75.0 % / 8.3 % (see its header)
    "realstyle16.yaml": (0.79, 0.05, 0.76, 0.13),  # English 79.7 %, English false 12.5 %
    # blind, seven new styles, measured on arrival at 67.2 % / 8.3 % and unseen at the end of that
    # session at 69.3 % / 6.2 % (see its header)
    "realstyle17.yaml": (0.69, 0.03, 0.64, 0.07),  # Ukrainian 71.9 %, Russian false 6.2 %
    # blind, eight new styles, measured on arrival at 76.0 % / 6.2 % (see its header), studied
    # since 2026-12-07 (fact-checking and filler words, dropped examples)
    "realstyle18.yaml": (0.81, 0.03, 0.78, 0.07),  # English 78.1 %, English false 6.2 %
    # blind, eight more new styles, measured on arrival at 83.2 % / 11.6 % (see its header), studied
    "realstyle19.yaml": (0.87, 0.03, 0.83, 0.07),  # English 84.9 %, Russian false 6.7 %
    # blind, eight new styles each, measured on arrival at 77.6 % / 12.5 % and 77.6 % / 10.4 %
    # and twice more unseen (see their headers)
    "realstyle20.yaml": (0.77, 0.03, 0.73, 0.07),  # Russian 78.1 %, English false 6.2 %
    "realstyle21.yaml": (0.77, 0.07, 0.68, 0.13),  # Ukrainian 75.0 %, Ukrainian false 12.5 %
    # blind, eight new styles each, measured on arrival at 77.6 % / 16.7 % and 75.5 % / 20.8 %
    # (see their headers)
    "realstyle22.yaml": (0.77, 0.07, 0.73, 0.07),  # Ukrainian 81.2 %, en/ru/uk false 6.2 %
    "realstyle23.yaml": (0.75, 0.09, 0.73, 0.19),  # English 82.8 %, Russian false 18.8 %
    # blind, the 24 issue-13 topics only, measured on arrival at 87.5 % / 25.0 % (see its header)
    "newtopics7.yaml": (0.87, 0.12, 0.82, 0.15),  # English 82.5 %, Russian false 15.0 %
    # blind, eight new styles each, measured on arrival at 80.2 % / 12.5 % and 63.5 % / 12.5 %
    # (see their headers)
    "realstyle24.yaml": (0.8, 0.07, 0.75, 0.13),  # English 79.7 %, Russian false 12.5 %
    "realstyle25.yaml": (0.63, 0.05, 0.6, 0.07),  # English 68.8 %, en/uk false 6.2 %
    # blind, eight new styles each, measured on arrival at 66.1 % / 4.2 % and 74.5 % / 12.5 %
    # (see their headers)
    "realstyle26.yaml": (0.66, 0.05, 0.6, 0.07),  # Russian 60.9 %, ru/uk false 6.2 %
    "realstyle27.yaml": (0.74, 0.07, 0.67, 0.13),  # English 78.1 %, Ukrainian false 12.5 %
    # blind, eight new styles, measured on arrival at the end of its session: 80.2 % / 22.9 %
    "realstyle28.yaml": (0.8, 0.15, 0.78, 0.19),  # Ukrainian 79.7 %, English false 18.8 %
    # blind, eight new styles each, measured on arrival at 75.5 % / 8.3 % and 71.4 % / 10.4 %
    # (see their headers)
    # and unseen at the ninth session's end at 76.0 % / 10.4 % and 72.9 % / 10.4 %; studied since
    # the tenth session (chat spelling and framing words)
    "realstyle29.yaml": (0.78, 0.11, 0.75, 0.32),  # Ukrainian 75.0 %, Russian false 31.2 %
    "realstyle30.yaml": (0.75, 0.07, 0.68, 0.13),  # English 68.8 %, Ukrainian false 12.5 %
    # blind, eight new styles each, measured on arrival at 76.6 % / 12.5 % and 69.8 % / 25.0 %,
    # the same unseen at the tenth session's end (see their headers); studied since the eleventh
    # (opinion and explain-simply framing: 79.2 % and 70.3 %); realstyle31 78.6 % since the twelfth
    # (a topic set aside is not read: its sarcastic "..., а не ради денег на дороги" was the point)
    "realstyle31.yaml": (0.74, 0.05, 0.71, 0.13),  # Ukrainian 73.4 %, English false 12.5 %
    "realstyle32.yaml": (0.66, 0.17, 0.65, 0.25),  # Russian 65.6 %, Russian false 25.0 %
    # blind, eight new styles each, measured on arrival at 75.0 % / 20.8 % and 70.8 % / 6.2 %;
    # unseen at the eleventh session's end at 78.1 % (the wrong keyboard layout read, a style of
    # realstyle33's brief) and 70.8 % (see their headers); studied since the twelfth (lists of N
    # facts, topics set aside, euphemisms for his death: realstyle33 82.8 %)
    "realstyle33.yaml": (0.8, 0.11, 0.7, 0.13),  # English 71.9 %, en/ru false 12.5 %
    "realstyle34.yaml": (0.69, 0.05, 0.64, 0.07),  # English 70.3 %, en/uk false 6.2 %
    # blind, eight new styles each, measured on arrival at 78.1 % / 8.3 % and 67.7 % / 22.9 %
    # (see their headers)
    "realstyle35.yaml": (0.78, 0.03, 0.73, 0.07),  # English 76.6 %, English false 6.2 %
    "realstyle36.yaml": (0.64, 0.15, 0.57, 0.19),  # Ukrainian 59.4 %, Ukrainian false 18.8 %
    # blind, eight new styles each, measured on arrival at 72.4 % / 16.7 % and 67.7 % / 8.3 %
    # (see their headers)
    "realstyle37.yaml": (0.69, 0.09, 0.6, 0.13),  # English 62.5 %, Ukrainian false 12.5 %
    "realstyle38.yaml": (0.66, 0.05, 0.64, 0.13),  # Ukrainian 64.1 %, Ukrainian false 12.5 %
    # blind, eight new styles each, measured on arrival at 65.6 % / 6.2 % and 69.8 % / 10.4 %
    # (see their headers)
    "realstyle39.yaml": (0.68, 0.05, 0.64, 0.07),  # Ukrainian 65.6 %, ru/uk false 6.2 %
    "realstyle40.yaml": (0.71, 0.07, 0.65, 0.13),  # Ukrainian 68.8 %, English false 12.5 %
    # blind, eight new styles each, measured on arrival at 67.7 % / 12.5 % and 64.1 % / 2.1 %
    # (see their headers)
    "realstyle41.yaml": (0.67, 0.09, 0.53, 0.13),  # English 56.2 %, Russian false 12.5 %
    "realstyle42.yaml": (0.64, 0.03, 0.59, 0.07),  # English 59.4 %, English false 6.2 %
    # blind: eight personas, and the mix a public bot's logs would show; measured on arrival at
    # 78.6 % / 10.4 % and 88.5 % / 2.1 % (see their headers)
    "realstyle43.yaml": (0.78, 0.07, 0.65, 0.19),  # English 65.6 %, Ukrainian false 18.8 %
    "realstyle44.yaml": (0.88, 0.05, 0.87, 0.07),  # Russian 87.5 %, en/uk false 6.2 %
    # blind, measured on arrival with the confidence model: the logs' mix again (another writer)
    # and eight more personas, at 88.0 % / 6.2 % and 79.7 % / 6.2 % (see their headers)
    "realstyle45.yaml": (0.88, 0.07, 0.81, 0.13),  # English 81.2 %, Ukrainian false 12.5 %
    "realstyle46.yaml": (0.79, 0.07, 0.68, 0.13),  # Ukrainian 68.8 %, Russian false 12.5 %
    # two-message conversations: followups1 studied (the follow-up reading was designed on it),
    # followups2 blind, measured once before and once with it, and unseen after the story step
    # (see their headers)
    "followups1.yaml": (0.76, 0.13, 0.7, 0.17),  # Ukrainian 71.0 %, English false 16.7 %
    "followups2.yaml": (0.82, 0.15, 0.8, 0.23),  # Russian 80.7 %, Ukrainian false 22.2 %
    # blind, written after the follow-up reading was final, measured once (see its header)
    "followups3.yaml": (0.87, 0.13, 0.82, 0.17),  # Ukrainian 82.3 %, Russian false 16.7 %
    # a design set for follow-up traps (40 per language), studied
    "followups4.yaml": (0.77, 0.21, 0.72, 0.23),  # Russian 72.5 %, English false 22.5 %
}
# Questions an out-of-scope example declines although an entry answers them, by set.
DECLINED_BY_EXAMPLE: dict[str, int] = {
    "realstyle16.yaml": 1,
    "realstyle17.yaml": 2,
    "realstyle19.yaml": 2,
    "realstyle21.yaml": 3,
    "realstyle22.yaml": 1,
    "newtopics7.yaml": 1,
    # "you said anyone in any job could become one - so roughly how many actually did?" offered
    # the wrong entry first; since the ninth session's phrasings "how to become a miner" (which
    # keeps two traps out) declines it
    "newtopics4.yaml": 1,
    "realstyle25.yaml": 3,
    "realstyle26.yaml": 2,
    "realstyle27.yaml": 1,
    "realstyle29.yaml": 2,
    "realstyle31.yaml": 1,
    "realstyle32.yaml": 2,
    "realstyle33.yaml": 5,
    "realstyle35.yaml": 2,
    "realstyle36.yaml": 5,
    "realstyle37.yaml": 3,
    "realstyle38.yaml": 2,
    "realstyle40.yaml": 1,
    "realstyle41.yaml": 5,
    "realstyle43.yaml": 2,
    "realstyle44.yaml": 1,
    "followups2.yaml": 1,
    # "как их звали?" after the record's helpers: its reading with the question before now meets
    # the raised line (an example about names reads as close), so the reading alone stands, and an
    # example declines that (thirteenth session)
    "followups1.yaml": 1,
}
# None since "именно"/"саме" became stop words: "коли саме був рекорд, якого числа" had read as
# the article's date ("якого числа вийшла стаття"). holdout2 left this list with the encoder:
# "як працює відбійний молоток" (how does a jackhammer work) now reads as the portrait's coal
# hammer, 1 of its 14 Ukrainian traps. realstyle16 arrived with four: examples about a neighbouring
# detail (which paper first wrote of him, the palace's name, who else was made a Hero, what Torez is
# called now) decline a question its entry answers; dropping them lets other examples take over or
# adds false answers elsewhere (tried 2026-12-06). Two remain after that session's phrasings:
# the newspaper and the palace of culture. realstyle14's "Стаханов помер у 1990-х, вже за
# незалежної України?" was answered from the nostalgia entry until the quiz phrasings of
# 2026-12-06 (fourth session) lifted the death entry; then "скільки років було стаханову коли він
# помер" (his age at death) declined it, and since the death entry gives his age (2026-12-07,
# ninth session) and that example is gone, the nostalgia entry answers it again.
# On 2026-12-07 (sixth session) five examples that declined such a question and kept no trap out
# of any set were dropped (Soviet propaganda posters, the cultural centre's name, where he lived
# in Moscow, his retirement, how many mines Donetsk oblast has). On 2026-12-07 (ninth session) four
# more (who runs the city administration, why he was made a Hero in 1970, where he worked before
# the mine, the palace of culture's name): +6 right on the studied sets, no false answer more.
# Dropping all 15 examples that still decline an answerable question gains 1 and adds 5 false
# answers: other examples take over.
MEETS_TARGETS = {"questions.yaml", "holdout.yaml"}
MAX_FALSE_PER_LANGUAGE = 0.15


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_eval_reports_every_language_and_holds_the_floor(name):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "eval", str(SETS / name), "--json"],
        capture_output=True,
        cwd=ROOT,
        timeout=120,
    )
    report = json.loads(result.stdout)
    assert result.returncode == (0 if report["passed"] else 1)
    assert set(report["languages"]) == {"en", "ru", "uk"}
    top1, false_answers, *language_floor = FLOORS[name]
    language_top1, language_false = language_floor or (top1 - 0.05, MAX_FALSE_PER_LANGUAGE)
    for figures in [report["overall"], *report["languages"].values()]:
        assert figures["top1_accuracy"] >= language_top1
        assert figures["false_answer_rate"] <= language_false
    assert report["overall"]["top1_accuracy"] >= top1
    assert report["overall"]["false_answer_rate"] <= false_answers
    assert report["overall"]["declined_by_example"] <= DECLINED_BY_EXAMPLE.get(name, 0)
    assert report["passed"] or name not in MEETS_TARGETS


def test_evaluation_sets_are_large_enough_and_labelled_with_real_entries(kb):
    cases = load_set(SETS / "questions.yaml").cases
    in_scope = [c for c in cases if c.expect]
    assert len([c for c in in_scope if c.lang == "en"]) >= 150
    assert len([c for c in cases if c.expect is None]) >= 40
    assert len([c for c in cases if c.lang in ("ru", "uk")]) >= 40
    assert {c.expect for c in in_scope} <= set(kb.by_id)


def test_misses_are_listed_with_what_was_returned(kb):
    cases = [
        Case(q="who won the 1988 olympics", expect="death"),
        Case(q="when did he die", expect="death"),
    ]
    report = evaluate(kb, cases, Thresholds(), Targets())
    (miss,) = report.overall.misses
    assert miss.case.q == "who won the 1988 olympics" and miss.status == "no_match"
    assert "expected death, got no_match" in miss.describe()


def test_unknown_entry_in_a_case_is_an_error(kb):
    with pytest.raises(EvalError, match="unknown entry id"):
        evaluate(kb, [Case(q="x", expect="nope")], Thresholds(), Targets())


def test_text_report_has_a_row_per_language(kb):
    cases = [
        Case(q="when did he die", expect="death"),
        Case(q="когда умер стаханов", lang="ru", expect="death"),
    ]
    text = evaluate(kb, cases, Thresholds(), Targets()).text()
    assert "\nen " in text and "\nru " in text and "\noverall " in text


def test_a_failed_eval_says_which_language_and_target_missed(kb):
    cases = [
        Case(q="who won the 1988 olympics", expect="death"),
        Case(q="когда умер стаханов", lang="ru", expect="death"),
    ]
    report = evaluate(kb, cases, Thresholds(), Targets())
    assert report.failures() == ["en: top-1 0.0% < 92%", "overall: top-1 50.0% < 92%"]
    assert "FAIL: en: top-1 0.0% < 92%" in report.text()


def test_a_set_without_in_scope_questions_reports_no_top1(kb):
    report = evaluate(
        kb, [Case(q="who won the 1988 olympics", expect=None)], Thresholds(), Targets()
    )
    assert report.as_dict()["overall"]["top1_accuracy"] is None
    assert "100.0%" not in report.text().splitlines()[1]


def test_an_answer_from_an_also_entry_counts_as_right(kb):
    cases = [Case(q="when did he die", expect="record-1935", also=("death",))]
    report = evaluate(kb, cases, Thresholds(), Targets())
    assert report.overall.correct == 1 and not report.overall.misses


def test_a_did_you_mean_offering_the_right_entry_first_is_counted_apart(kb):
    cases = [
        Case(q="coal record", expect="record-1935"),
        Case(q="coal record", expect="inflated-claims"),
        Case(q="when did he die", expect="death"),
    ]
    report = evaluate(kb, cases, Thresholds(), Targets())
    assert report.overall.clarify == 2 and report.overall.offered_first == 1
    assert report.as_dict()["overall"]["offered_first_rate"] == round(1 / 3, 4)
    assert "offered 1st" in report.text()


def test_an_unknown_also_entry_is_an_error(kb):
    with pytest.raises(EvalError, match="unknown entry id 'nope'"):
        evaluate(kb, [Case(q="x", expect="death", also=("nope",))], Thresholds(), Targets())


def write_set(folder: Path, name: str, *questions: str) -> Path:
    cases = "".join(f'  - {{q: "{q}", lang: en, expect: death}}\n' for q in questions)
    path = folder / f"{name}.yaml"
    path.write_text(f"cases:\n{cases}", encoding="utf-8")
    return path


def test_several_sets_print_one_line_of_figures_each_and_no_misses(tmp_path):
    write_set(tmp_path, "first", "when did he die")
    write_set(tmp_path, "second", "when did he die", "who won the 1988 olympics")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "eval", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "SEMANTIC_MATCHING": "off"},
    )
    lines = result.stdout.splitlines()
    assert [line.split()[:3] for line in lines[1:3]] == [
        ["first", "1", "100.0"],
        ["second", "2", "50.0"],
    ]
    assert "olympics" not in result.stdout and result.returncode == 1


def test_the_figures_of_several_sets_as_json_leave_the_misses_out(tmp_path):
    first = write_set(tmp_path, "first", "who won the 1988 olympics")
    second = write_set(tmp_path, "second", "when did he die")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "eval", str(first), str(second), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "SEMANTIC_MATCHING": "off"},
    )
    report = json.loads(result.stdout)
    assert report["first"]["overall"]["top1_accuracy"] == 0.0 and not report["first"]["passed"]
    assert report["second"]["passed"] and "misses" not in report["second"]


def test_a_case_with_a_question_before_it_is_read_as_its_follow_up(kb):
    case = Case(
        q="where?", after="When was Stakhanov born?", after_expect="birth-date", expect="birthplace"
    )
    assert evaluate(kb, [case], Thresholds(), Targets()).overall.correct == 1
