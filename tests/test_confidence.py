"""The confidence model that decides, with the encoder, between answering and offering choices."""

from __future__ import annotations

from dataclasses import replace

from bot.matching.confidence import ANSWER_PROBABILITY, Reading, probability, sure_enough

CLEAR = Reading(
    score=68.0,
    margin=20.0,
    lexical=60.0,
    cosine=0.6,
    lead_over_entries=0.3,
    lead_over_examples=0.2,
    encoder_first=1.0,
    example_rivalry=-20.0,
    named_words=3.0,
    names_nothing=0.0,
)


def test_both_signals_agreeing_clearly_answer_below_the_lexical_line():
    assert CLEAR.score < 70
    assert sure_enough(probability(CLEAR), answer_line=70.0)


def test_an_example_reading_as_close_as_the_entry_lowers_the_confidence():
    doubted = replace(CLEAR, lead_over_examples=0.0)
    assert probability(doubted) < probability(CLEAR)


def test_an_example_phrasing_rivalling_the_entrys_lowers_the_confidence():
    rivalled = replace(CLEAR, example_rivalry=5.0)
    assert probability(rivalled) < probability(CLEAR)


def test_a_question_of_interrogatives_alone_is_less_sure():
    assert probability(replace(CLEAR, names_nothing=1.0)) < probability(CLEAR)


def test_the_encoder_preferring_another_entry_lowers_the_confidence():
    other = replace(CLEAR, encoder_first=0.0, lead_over_entries=-0.1)
    assert probability(other) < probability(CLEAR)


def test_a_higher_score_is_surer():
    assert probability(replace(CLEAR, score=80.0, lexical=75.0)) > probability(CLEAR)


def test_the_answer_probability_decides_at_the_default_line():
    assert sure_enough(ANSWER_PROBABILITY + 0.01, answer_line=70.0)
    assert not sure_enough(ANSWER_PROBABILITY - 0.01, answer_line=70.0)


def test_raising_the_answer_line_asks_for_more_confidence():
    assert sure_enough(0.85, answer_line=70.0)
    assert not sure_enough(0.85, answer_line=80.0)
    assert sure_enough(0.65, answer_line=60.0)
