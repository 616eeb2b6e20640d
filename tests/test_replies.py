"""Replies carry the answer and its source, escaped for Telegram and within its limits."""

from __future__ import annotations

import pytest

from bot import replies
from bot.knowledge import load
from bot.matching import followups
from tests.conftest import SMALL_YAML


def test_plain_reply_has_answer_source_quote_and_link(kb):
    reply = replies.reply_to(kb, "when did he die")
    text = replies.plain(reply, kb)
    assert text.startswith(kb.by_id["death"].answer["en"])
    assert 'RFE/RL, "Ukraine City Marks Soviet-Era Stakhanov Movement" (2010)' in text
    assert "psychiatric hospital in 1977" in text and "https://www.rferl.org/" in text


def test_russian_reply_is_in_russian_with_translation_beside_quote(kb):
    reply = replies.reply_to(kb, "когда умер стаханов")
    text = replies.plain(reply, kb)
    assert reply.language == "ru" and text.startswith(kb.by_id["death"].answer["ru"])
    assert "Источник:" in text and "Перевод:" in text and "psychiatric hospital" in text


def test_html_reply_escapes_knowledge_text(write_knowledge):
    text = SMALL_YAML.replace(
        "He died in 1977 in a psychiatric hospital.", "He died <b>in 1977</b> & then?"
    )
    kb = load(write_knowledge(text))
    html = replies.entry_html(kb, kb.by_id["death"], "en")
    assert "He died &lt;b&gt;in 1977&lt;/b&gt; &amp; then?" in html
    assert '<a href="https://example.org/article">A Test Article</a>' in html
    assert "<blockquote>" in html


def test_html_reply_never_exceeds_telegram_limit(write_knowledge):
    long_answer = "word " * 2000
    kb = load(
        write_knowledge(
            SMALL_YAML.replace("He died in 1977 in a psychiatric hospital.", long_answer)
        )
    )
    assert len(replies.entry_html(kb, kb.by_id["death"], "en")) <= replies.TELEGRAM_LIMIT


def test_no_match_reply_is_an_honest_decline(kb):
    reply = replies.reply_to(kb, "who won the 1988 olympics")
    assert reply.status == "no_match"
    assert "don't cover" in replies.plain(reply, kb)


def test_language_detection_prefers_script_then_user_language():
    from bot.language import detect

    assert detect("коли помер Стаханов") == "uk"
    assert detect("когда умер Стаханов") == "ru"
    assert detect("Стаханов", fallback="uk") == "uk"
    assert detect("Стаханов", fallback="en") == "ru"
    assert detect("when did he die", fallback="ru") == "en"
    assert detect("102?", fallback="uk-UA") == "uk"


def test_ukrainian_without_its_own_letters_is_still_ukrainian():
    from bot.language import detect

    assert detect("стахановський рух") == "uk"
    assert detect("шахти там ще працюють?") == "uk"
    assert detect("комсомольская правда") == "ru"


def test_transliterated_russian_and_ukrainian_are_answered_in_their_language():
    from bot.language import detect

    assert detect("kogda umer stahanov") == "ru"
    assert detect("na kakoi shakhte on postavil rekord") == "ru"
    assert detect("chy buv vin chlenom partii") == "uk"
    assert detect("koly pomer stakhanov") == "uk"
    assert detect("stakhanov record") == "en"
    assert detect("102?") == "en"


def test_a_question_typed_on_the_wrong_keyboard_layout_is_answered_in_its_language(kb):
    reply = replies.reply_to(kb, "rjulf evth cnf[fyjd")
    assert (reply.status, reply.language, reply.entry.id) == ("answered", "ru", "death")
    assert replies.reply_to(kb, "rjkb gjvth cnf[fyjd").language == "uk"


def test_a_question_near_a_topic_is_declined_with_the_closest_topics(kb):
    reply = replies.reply_to(kb, "what is komsomolskaya pravda")
    assert reply.status == "no_match"
    assert [e.id for e, _ in reply.suggestions][:1] == ["inflated-claims"]
    assert "closest topics" in replies.plain(reply, kb)
    assert replies.to_json(reply, kb)["suggestions"][0]["entry_id"] == "inflated-claims"


def test_a_question_far_from_every_topic_offers_nothing(kb):
    assert replies.reply_to(kb, "who won the 1988 olympics").suggestions == ()


def test_fit_lines_counts_utf16_units_and_says_how_many_more():
    from bot.replies import TELEGRAM_LIMIT, fit_lines, utf16_len

    lines = [f"{n}× " + "😀" * 200 for n in range(50)]
    text = fit_lines(lines)
    assert utf16_len(text) <= TELEGRAM_LIMIT < len(text.encode("utf-16-le"))
    assert text.endswith(f"…and {50 - text.count('×')} more")


def test_a_reload_summary_of_150_changed_entries_fits_a_message(write_knowledge):
    from bot.knowledge import Changes, load
    from bot.replies import TELEGRAM_LIMIT, utf16_len

    kb = load(write_knowledge())
    ids = tuple(f"entry-{'x' * 50}-{n}" for n in range(150))
    summary = Changes(added=ids, removed=ids, changed=ids).summary(kb)
    assert utf16_len(summary) <= TELEGRAM_LIMIT and "…and 130 more" in summary


@pytest.mark.parametrize(
    ("question", "language", "says"),
    [
        ("who made you?", "en", "I'm a bot"),
        ("are you a bot or a human", "en", "I'm a bot"),
        ("are you chatgpt", "en", "I'm a bot"),
        ("ты бот?", "ru", "Я бот"),
        ("кто тебя создал", "ru", "Я бот"),
        ("хто тебе зробив", "uk", "Я бот"),
        ("ти людина чи бот?", "uk", "Я бот"),
    ],
)
def test_questions_about_the_bot_itself_are_answered_as_such(kb, question, language, says):
    reply = replies.reply_to(kb, question)
    assert reply.match.small_talk and reply.language == language
    assert replies.plain(reply, kb).startswith(says)


@pytest.mark.parametrize(("typed", "language"), [("1", None), ("2.", "ru"), (" 3 ", "uk")])
def test_an_option_number_with_nothing_to_choose_from_gets_a_hint_not_suggestions(
    kb, typed, language
):
    reply = replies.reply_to(kb, typed, language=language)
    assert (reply.status, reply.suggestions, reply.further) == ("no_match", (), ())
    hint = replies.MESSAGES["no_options"][reply.language]
    assert replies.plain(reply, kb) == hint


def test_a_number_that_is_a_fact_is_still_a_question(kb):
    assert replies.reply_to(kb, "102").status != "no_match"


def test_a_question_about_who_made_the_record_is_not_about_the_bot(kb):
    assert not replies.reply_to(kb, "who made the record").match.small_talk


def test_a_follow_ups_topic_carries_the_question_it_was_read_with(kb):
    first = replies.reply_to(kb, "When was Stakhanov born?")
    second = replies.reply_to(kb, "where?", previous=first.topic)
    third = replies.reply_to(kb, "and when did he die?", previous=second.topic)
    assert (first.topic, second.topic) == (
        "When was Stakhanov born?",
        "When was Stakhanov born? where?",
    )
    assert third.topic == "and when did he die?"


def test_a_chain_of_follow_ups_keeps_a_bounded_topic():
    assert len(followups.topic("where?", "x" * 10_000)) == followups.TOPIC_CHARS


def test_a_declined_question_has_no_topic(kb):
    assert replies.reply_to(kb, "what is the capital of France?").topic is None
