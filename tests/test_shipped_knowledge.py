"""The shipped FAQ covers the article, cites it verbatim and finds its own phrasings."""

from __future__ import annotations

import pytest

from bot.knowledge import default_path, load
from bot.normalise import names_nothing

KB = load(default_path())
FACTS = [
    "102",
    "14 times",
    "1935",
    "icon",
    "1977",
    "alcoholic",
    "psychiatric hospital",
    "1988",
    "Komsomolskaya Pravda",
    "hate",
    "repression",
    "third Five-Year Plan",
    "Semystiaha",
    "nostalg",
    "Komsomol members",
    "75th",
    "August 31",
    "Miners Day",
    "cultural center",
    "roads",
    "Kadiyivka",
    "1978",
    "Luhansk Oblast",
    "no working mines",
    "safety",
    "economically depressed",
    "portrait",
    "Ukrainian Service",
]


def test_shipped_knowledge_loads_and_cites_the_article():
    assert 45 <= len(KB.entries) <= 60
    source = next(iter(KB.sources.values()))
    assert source.kind == "archived" and source.text
    assert source.publisher == "RFE/RL" and source.published == "2010"
    assert source.url.endswith("/2074704.html")


@pytest.mark.parametrize("fact", FACTS)
def test_every_fact_of_the_article_is_in_some_answer(fact):
    assert any(fact.lower() in e.answer["en"].lower() for e in KB.entries), fact


@pytest.mark.parametrize("entry", KB.entries, ids=lambda e: e.id)
def test_entry_has_enough_phrasings_in_every_language(entry):
    assert len(entry.questions["en"]) >= 6
    assert len(entry.questions.get("ru", ())) >= 5
    assert len(entry.questions.get("uk", ())) >= 5
    assert set(entry.answer) >= {"en", "ru", "uk"} and set(entry.title) >= {"en", "ru", "uk"}


@pytest.mark.parametrize("entry", KB.entries, ids=lambda e: e.id)
def test_every_own_phrasing_finds_its_entry(entry):
    """Except a follow-up of interrogatives alone ("who was he", "а сколько их всего было?"):
    its words read as "where is it?" would, so only the encoder can place it."""
    for language, questions in entry.questions.items():
        for question in questions:
            if names_nothing(KB.index.lexical.normaliser.tokens(question)):
                continue
            match = KB.index.match(question)
            assert match.status == "answered", (language, question, match.candidates[:2])
            assert match.best.entry_id == entry.id, (language, question, match.candidates[:2])


def test_time_sensitive_answers_say_as_of_2010():
    for entry_id in ("mines-today", "economy", "government-view"):
        assert "2010" in KB.by_id[entry_id].answer["en"], entry_id


def test_contested_claims_are_attributed():
    assert "Semystiaha" in KB.by_id["nostalgia"].answer["en"]
    assert "Semystiaha" in KB.by_id["government-view"].answer["en"]
    assert "reported" in KB.by_id["record-1935"].answer["en"]


def test_every_referenced_source_is_cited_and_was_read_on_a_recorded_date():
    cited = {c.source for e in KB.entries for c in e.citations}
    for source in KB.sources.values():
        assert source.id in cited, source.id
        if source.kind == "referenced":
            assert source.accessed and source.licence and source.language in {"en", "ru", "uk"}


def test_the_answer_about_the_bots_sources_cites_every_listed_source():
    """"Where does your information come from?" names all the sources, not the first alone."""
    entry = KB.by_id["article-source"]
    assert {c.source for c in entry.citations} == set(KB.sources)
    assert "single article" not in entry.answer["en"]
