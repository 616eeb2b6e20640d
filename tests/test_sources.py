"""Several sources: archived ones are quoted verbatim, referenced ones are linked with a
locator; validation refuses what a careful editor would, and declines point further."""

from __future__ import annotations

import pytest

from bot import replies
from bot.knowledge import load
from tests.conftest import SMALL_YAML, problems_of

REFERENCED = """\
  - id: wiki
    kind: referenced
    title: "Alexei Stakhanov"
    publisher: "Wikipedia"
    url: "https://en.wikipedia.org/wiki/Alexei_Stakhanov"
    language: en
    licence: "CC BY-SA 4.0"
    accessed: "2026-12-05"
"""
BORN = """\
  - id: born
    title: {en: "When he was born"}
    questions:
      en: ["When was Stakhanov born?", "stakhanov birthday"]
    answer: {en: "Wikipedia gives 3 January 1906."}
    citations:
      - source: wiki
        locator: "infobox"
"""


def with_referenced(source: str = REFERENCED, entry: str = BORN) -> str:
    text = SMALL_YAML.replace("synonyms:", source + "synonyms:", 1)
    return text + entry


def test_a_referenced_source_loads_without_archived_text(write_knowledge):
    kb = load(write_knowledge(with_referenced()))
    assert kb.sources["wiki"].kind == "referenced" and kb.sources["wiki"].year == "2026-12-05"
    assert kb.by_id["born"].citations[0].locator == "infobox"


def test_a_referenced_source_without_licence_is_refused_by_name(write_knowledge):
    source = REFERENCED.replace('    licence: "CC BY-SA 4.0"\n', "")
    (problem,) = problems_of(write_knowledge(with_referenced(source)))
    assert "source 'wiki'" in problem and "licence" in problem


def test_a_referenced_source_without_url_is_refused_by_name(write_knowledge):
    source = REFERENCED.replace('    url: "https://en.wikipedia.org/wiki/Alexei_Stakhanov"\n', "")
    (problem,) = problems_of(write_knowledge(with_referenced(source)))
    assert "source 'wiki'" in problem and "url: missing" in problem


def test_an_entry_citing_a_source_not_listed_is_refused(write_knowledge):
    entry = BORN.replace("source: wiki", "source: britannica")
    (problem,) = problems_of(write_knowledge(with_referenced(entry=entry)))
    assert "entry 'born'" in problem and "unknown source id 'britannica'" in problem


def test_a_quote_from_a_referenced_source_is_refused(write_knowledge):
    entry = BORN.replace('locator: "infobox"', 'quote: "3 January 1906"')
    (problem,) = problems_of(write_knowledge(with_referenced(entry=entry)))
    assert "referenced, not archived" in problem and "locator" in problem


def test_an_archived_source_still_needs_a_verbatim_quote(write_knowledge):
    entry = BORN.replace("source: wiki", "source: src")
    (problem,) = problems_of(write_knowledge(with_referenced(entry=entry)))
    assert "archived: give a verbatim quote" in problem


def test_a_referenced_citation_shows_its_locator_instead_of_a_quote(write_knowledge):
    kb = load(write_knowledge(with_referenced()))
    entry = kb.by_id["born"]
    text = replies.entry_plain(kb, entry, "en")
    assert 'Wikipedia, "Alexei Stakhanov" (read 2026-12-05)' in text and "Where: infobox" in text
    assert "“" not in text
    markup = replies.entry_html(kb, entry, "en")
    assert "<i>infobox</i>" in markup and "<blockquote>" not in markup
    assert 'href="https://en.wikipedia.org/wiki/Alexei_Stakhanov"' in markup


def test_a_decline_names_only_listed_referenced_sources_with_links(write_knowledge):
    kb = load(write_knowledge(with_referenced()))
    reply = replies.reply_to(kb, "what was the weather on mars yesterday")
    assert reply.status == "no_match"
    assert [s.id for s in reply.further] == ["wiki"]
    assert "https://en.wikipedia.org/wiki/Alexei_Stakhanov" in replies.plain(reply, kb)
    assert replies.to_json(reply, kb)["further_sources"][0]["publisher"] == "Wikipedia"


def test_a_file_with_only_archived_sources_names_none_when_declining(write_knowledge):
    kb = load(write_knowledge())
    reply = replies.reply_to(kb, "what was the weather on mars yesterday")
    assert reply.further == () and "may find more" not in replies.plain(reply, kb)


def test_a_decline_prefers_the_sources_of_the_nearest_topics(kb):
    reply = replies.reply_to(kb, "what was the name of stakhanov's first wife")
    assert reply.status == "no_match" and len(reply.further) == 2
    assert {s.id for s in reply.further} <= {s.id for s in kb.sources.values()}
    assert all(s.kind == "referenced" for s in reply.further)


def test_the_city_is_called_kadiivka_now_with_its_source(kb):
    reply = replies.reply_to(kb, "what is the city called now?")
    assert reply.entry is not None and reply.entry.id == "city-name-now"
    text = replies.plain(reply, kb)
    assert "Kadiivka" in text and "2016" in text and "interfax.com.ua" in text


def test_the_birth_date_gives_both_calendars_with_their_sources(kb):
    reply = replies.reply_to(kb, "when was Stakhanov born?")
    assert reply.entry is not None and reply.entry.id == "birth-date"
    answer = reply.entry.text("answer", "en")
    assert "21 December 1905" in answer and "3 January 1906" in answer
    assert "Old Style" in answer and "Great Soviet Encyclopedia" in answer


def test_disagreeing_sources_are_each_named_in_the_answer(kb):
    quota = kb.by_id["quota"].text("answer", "en")
    assert "14.5" in quota and "Encyclopedia of Ukraine" in quota
    staged = kb.by_id["inflated-claims"].text("answer", "en")
    assert "staged" in staged and "Great Soviet Encyclopedia" in staged


@pytest.mark.parametrize(
    ("question", "entry"),
    [
        ("what did stakhanovites receive?", "stakhanovite-rewards"),
        ("сколько было стахановцев?", "stakhanovite-numbers"),
        ("що сталін сказав на нараді стахановців?", "stakhanovite-conference"),
    ],
)
def test_the_movement_questions_are_answered_from_encyclopedia_com(kb, question, entry):
    reply = replies.reply_to(kb, question)
    assert reply.entry is not None and reply.entry.id == entry
    assert "encyclopedia.com/history" in replies.plain(reply, kb)


def test_what_ordinary_stakhanovites_received_is_said_to_be_unknown(kb):
    answer = kb.by_id["stakhanovite-rewards"].text("answer", "en")
    assert "none of the sources used here says what ordinary Stakhanovites received" in answer
