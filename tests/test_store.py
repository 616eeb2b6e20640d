"""The store's promises, kept the same by SQLite (one instance) and PostgreSQL (several).

Every test taking `store` runs against both; PostgreSQL is the server in DATABASE_URL, else
one started for the run from the installed binaries, else those runs are skipped with the
reason.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

import pytest

from bot.store import SqliteStore, StoreError, open_store


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    if request.param == "sqlite":
        opened = SqliteStore(tmp_path / "data")
    else:
        opened = open_store(tmp_path, request.getfixturevalue("postgres_url"))
    yield opened
    opened.close()


def columns(store, table: str) -> list[str]:
    if isinstance(store, SqliteStore):
        with sqlite3.connect(store.path) as db:
            return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
    rows = store._run(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
        " ORDER BY ordinal_position",
        (table,),
    )
    return [name for (name,) in rows]


def test_unanswered_lists_declined_and_unclear_questions_by_frequency(store):
    store.record("who won the 1988 olympics", "who won 1988 olymp", "no_match", "en")
    store.record("Who won the 1988 Olympics?", "who won 1988 olymp", "no_match", "en")
    store.record("miners", "miner", "clarify", "en")
    store.record("when did he die", "when die", "answered", "en")
    store.flush()
    rows = store.unanswered()
    assert [(r.normalised, r.count) for r in rows] == [("who won 1988 olymp", 2), ("miner", 1)]
    assert rows[0].question == "Who won the 1988 Olympics?" and rows[1].outcome == "clarify"


def test_stats_count_every_outcome(store):
    for outcome in ("answered", "answered", "clarify", "no_match"):
        store.record("q", "q", outcome, "en")
    store.flush()
    stats = store.stats()
    assert stats.overall == {"answered": 2, "clarify": 1, "no_match": 1}
    assert stats.last_day == stats.overall


def test_log_stores_no_user_identity(store):
    store.record("q", "q", "no_match", "uk")
    store.flush()
    assert columns(store, "questions") == [
        "id",
        "asked_at",
        "question",
        "normalised",
        "outcome",
        "language",
        "token",
        "entry",
    ]
    assert columns(store, "feedback") == ["id", "at", "kind", "token", "entry"]


def test_empty_log_reads_as_nothing(store):
    assert store.unanswered() == [] and store.stats().overall["answered"] == 0


def test_a_lone_surrogate_is_logged_and_the_writer_keeps_going(store):
    store.record("who was he \ud800", "\udfff", "no_match", "en")
    store.record("miners", "miner", "no_match", "en")
    assert store.flush()
    assert {r.normalised for r in store.unanswered()} == {"\ufffd", "miner"}
    assert store._writer._thread.is_alive()


def test_a_row_the_store_refuses_is_skipped_and_the_rest_of_its_batch_written(store, caplog):
    with caplog.at_level(logging.ERROR, logger="bot.store"):
        store.record("bad outcome", "bad", "maybe", "en")
        store.record("good", "good", "no_match", "en")
        assert store.flush()
    assert [r.normalised for r in store.unanswered()] == ["good"]
    assert "could not be written" in caplog.text


def test_a_chosen_language_is_remembered_and_can_be_forgotten(store):
    store.set_language(42, "uk")
    store.set_language(42, "ru")
    assert store.language(42) == "ru" and store.language(43) is None
    store.set_language(42, None)
    assert store.language(42) is None


def test_an_update_is_accepted_once(store):
    assert store.accept_update(7, b'{"update_id": 7}')
    assert not store.accept_update(7, b'{"update_id": 7}')


def test_an_unfinished_update_is_taken_over_once_after_its_lease(store):
    store.accept_update(1, b"one")
    store.accept_update(2, b"two")
    store.finish_update(2)
    assert store.orphaned_updates(lease=60) == []
    time.sleep(0.3)
    assert store.orphaned_updates(lease=0.2) == [b"one"]
    assert store.orphaned_updates(lease=0.2) == []


def test_an_update_still_being_answered_is_not_taken_over(store):
    store.accept_update(1, b"one")
    time.sleep(0.3)
    store.renew_updates([1])
    assert store.orphaned_updates(lease=0.2) == []


def test_a_finished_update_is_still_refused_when_delivered_again(store):
    store.accept_update(5, b"five")
    store.finish_update(5)
    assert not store.accept_update(5, b"five")


def test_knowledge_published_on_one_instance_is_read_and_announced_on_another(postgres_url):
    first, second = open_store(None, postgres_url), open_store(None, postgres_url)
    heard = threading.Event()
    try:
        second.watch_knowledge(heard.set)
        assert heard.wait(5)  # once on listening: something may have changed meanwhile
        heard.clear()
        first.publish_knowledge(b"version: 1\n")
        assert heard.wait(5)
        assert second.latest_knowledge() == b"version: 1\n"
    finally:
        first.close()
        second.close()


def test_publishing_the_same_knowledge_twice_makes_one_version(postgres_url):
    store = open_store(None, postgres_url)
    try:
        store.publish_knowledge(b"a")
        store.publish_knowledge(b"a")
        assert store._run("SELECT count(*) FROM knowledge") == [(1,)]
    finally:
        store.close()


def test_one_instance_shares_nothing(tmp_path):
    store = SqliteStore(tmp_path)
    store.publish_knowledge(b"a")
    assert store.latest_knowledge() is None and not store.shared
    store.close()


def test_migrations_run_once_however_many_instances_start(postgres_url):
    stores = []
    threads = [
        threading.Thread(target=lambda: stores.append(open_store(None, postgres_url)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert len(stores) == 3
        assert stores[0]._run("SELECT version FROM schema_migrations ORDER BY 1") == [(1,), (2,)]
    finally:
        for store in stores:
            store.close()


def test_an_unreachable_database_is_an_error_naming_database_url(tmp_path):
    pytest.importorskip("psycopg")
    with pytest.raises(StoreError, match="DATABASE_URL"):
        open_store(tmp_path, "postgresql://nobody@127.0.0.1:9/none?connect_timeout=1")


def test_reads_from_a_database_that_went_away_are_store_errors(postgres_server, tmp_path):
    from tests import postgres

    url = postgres.create_database(postgres_server)
    store = open_store(tmp_path, url)
    try:
        postgres.drop_database(postgres_server, url)
        with pytest.raises(StoreError):
            store.stats()
        store.record("q", "q", "no_match", "en")  # never raises
        store.flush()
    finally:
        store.close()


def test_unwritable_log_is_reported_once_and_never_raises(tmp_path, caplog):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data folder should be")
    log = SqliteStore(blocker)
    with caplog.at_level(logging.ERROR, logger="bot.store"):
        for _ in range(3):
            log.record("q", "q", "no_match", "en")
            log.flush()
    log.close()
    assert len([r for r in caplog.records if "cannot be written" in r.getMessage()]) == 1


def test_locked_database_does_not_block_recording(tmp_path, caplog):
    log = SqliteStore(tmp_path)
    log.record("first", "first", "no_match", "en")
    log.flush()
    locker = sqlite3.connect(log.path)
    locker.execute("BEGIN EXCLUSIVE")
    with caplog.at_level(logging.ERROR, logger="bot.store"):
        log.record("while locked", "while locked", "no_match", "en")
        log.flush()
    locker.rollback()
    locker.close()
    log.record("after", "after", "no_match", "en")
    log.flush()
    log.close()
    assert {r.question for r in log.unanswered()} >= {"first", "after"}


def test_a_pick_is_tied_to_the_question_it_answered(store):
    store.record("how many tons", "how many ton", "clarify", "en", token="t1", entry="quota")
    store.record("how many tons", "how many ton", "clarify", "en", token="t2", entry="quota")
    store.flush()
    store.record_feedback("picked", "t1", "record-1935")
    store.record_feedback("picked", "t2", "record-1935")
    (signal,) = [s for s in store.signals() if s.kind == "picked"]
    assert (signal.question, signal.entry, signal.count) == ("how many tons", "record-1935", 2)


def test_declines_none_of_these_and_thumbs_down_become_signals(store):
    store.record("who won in 1988", "who won 1988", "no_match", "en", token="a")
    store.record("miners", "miner", "clarify", "en", token="b", entry="movement")
    store.record("when did he die", "when die", "answered", "en", token="c", entry="death")
    store.flush()
    store.record_feedback("none", "b", None)
    store.record_feedback("unhelpful", "c", "death")
    kinds = {(s.kind, s.normalised, s.entry) for s in store.signals()}
    assert kinds == {
        ("declined", "who won 1988", None),
        ("none", "miner", None),
        ("unhelpful", "when die", "death"),
    }


def test_stats_count_per_day_and_thumbs_per_entry(store):
    store.record("q", "q", "answered", "en", token="x", entry="death")
    store.flush()
    store.record_feedback("helpful", "x", "death")
    store.record_feedback("helpful", "y", "death")
    store.record_feedback("unhelpful", "z", "death")
    stats = store.stats()
    ((day, counts),) = stats.days
    assert counts["answered"] == 1 and len(day) == 10
    assert stats.helpfulness == {"death": (2, 1)}


def test_a_decision_on_a_suggestion_is_remembered(store):
    store.decide("who won 1988", "ignored")
    store.decide("who won 1988", "example")
    assert store.decisions() == {"who won 1988": "example"}


def test_a_log_written_before_suggestions_existed_gains_their_columns(tmp_path):
    old = sqlite3.connect(tmp_path / "questions.sqlite3")
    old.execute(
        "CREATE TABLE questions (id INTEGER PRIMARY KEY, asked_at REAL NOT NULL, question TEXT"
        " NOT NULL, normalised TEXT NOT NULL, outcome TEXT NOT NULL, language TEXT NOT NULL)"
    )
    old.execute("INSERT INTO questions VALUES (1, 1e9, 'old', 'old', 'no_match', 'en')")
    old.commit()
    old.close()
    store = SqliteStore(tmp_path)
    store.record("new", "new", "no_match", "en", token="t")
    store.flush()
    store.close()
    assert {r.question for r in store.unanswered(days=100_000)} == {"old", "new"}
    assert columns(store, "questions")[-2:] == ["token", "entry"]
