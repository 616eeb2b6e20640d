"""Nothing a chat or a bad file can send breaks the core: hostile questions and knowledge files."""

from __future__ import annotations

import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import replies
from bot.bundle import Bundle
from bot.knowledge import KnowledgeBase, KnowledgeError, parse
from bot.normalise import Normaliser, words

HOSTILE_QUESTIONS = {
    "100 KB": "when did stakhanov die " * 4500,
    "control characters": "when\x00 did\x07 he\x1b die\x7f\x08",
    "ANSI escapes": "\x1b[31mwhen did he die\x1b[0m\x1b]0;title\x07",
    "emoji only": "🙂🔥⛏️💀",
    "right-to-left override": "\u202ewhen did he die\u202c",
    "combining marks": "wh\u0301e\u0308n di\u0327d he\u0300 die" + "\u0301" * 500,
    "full-width letters": "ｗｈｅｎ ｄｉｄ ｈｅ ｄｉｅ",
    "HTML injection": '<a href="javascript:alert(1)">when</a> did <b>he</b> die &amp;',
    "Markdown injection": "**when** did _he_ [die](http://evil.example) `rm -rf`",
    "zero-width joiners": "wh\u200ben di\u200dd he die",
    "lone surrogates": "when did he die \ud800",
    "only whitespace": " \t\n\r\u00a0\u3000 ",
}


@pytest.mark.parametrize("name", HOSTILE_QUESTIONS)
def test_hostile_question_gets_a_normal_reply(kb, name):
    question = HOSTILE_QUESTIONS[name]
    started = time.perf_counter()
    reply = replies.reply_to(kb, question)
    elapsed = time.perf_counter() - started
    assert reply.status in ("answered", "clarify", "no_match")
    assert 0 <= reply.score <= 100 and elapsed < 1.0
    text = replies.plain(reply, kb)
    assert text and "<script" not in text


def test_full_width_and_control_characters_still_find_the_answer(kb):
    for name in ("full-width letters", "control characters", "ANSI escapes"):
        assert replies.reply_to(kb, HOSTILE_QUESTIONS[name]).entry.id == "death", name


def test_html_in_knowledge_is_escaped_in_every_telegram_reply(kb):
    for entry in kb.entries:
        for language in ("en", "ru", "uk"):
            html = replies.entry_html(kb, entry, language)
            body = html.replace("<i>", "").replace("</i>", "").replace("<blockquote>", "")
            body = body.replace("</blockquote>", "").replace("</a>", "")
            assert "<" not in body.split('<a href="')[0]


def test_twenty_megabyte_knowledge_file_is_refused_before_parsing(tmp_path):
    big = tmp_path / "huge.yaml"
    with big.open("wb") as handle:
        handle.write(b"entries:\n")
        handle.write(b"  - x: " + b"a" * (20 * 1024 * 1024) + b"\n")
    from bot.knowledge import load

    started = time.perf_counter()
    with pytest.raises(KnowledgeError, match="larger than 2 MiB"):
        load(big)
    assert time.perf_counter() - started < 1.0


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=300))
def test_matching_never_raises_and_scores_stay_in_range(kb, question):
    match = kb.index.match(question)
    assert match.status in ("answered", "clarify", "no_match")
    assert all(0 <= c.score <= 100 for c in match.candidates)
    scores = [c.score for c in match.candidates]
    assert scores == sorted(scores, reverse=True)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=120))
def test_matching_is_deterministic(kb, question):
    assert kb.index.match(question) == kb.index.match(question)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_normalisation_never_raises_and_is_stable(text):
    normaliser = Normaliser({"stakhanov": ["stahanov", "стаханов"], "miners day": ["день шахтёра"]})
    tokens = normaliser.tokens(text)
    assert all(t and " " not in t for t in tokens)
    assert normaliser.tokens(text) == tokens
    assert all(w == w.casefold() for w in words(text))


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(yaml_values, st.fixed_dictionaries({"sources": yaml_values, "entries": yaml_values}))
)
def test_loader_turns_any_yaml_into_knowledge_or_a_validation_error(tmp_path_factory, value):
    data = yaml.safe_dump(value, allow_unicode=True).encode()
    path = tmp_path_factory.getbasetemp() / "any.yaml"
    try:
        assert isinstance(parse(Bundle.single(path, data)), KnowledgeBase)
    except KnowledgeError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_loader_turns_any_bytes_into_knowledge_or_a_validation_error(tmp_path_factory, data):
    try:
        parse(Bundle.single(tmp_path_factory.getbasetemp() / "bytes.yaml", data))
    except KnowledgeError as exc:
        assert exc.problems
