"""The question log and file replacement: nothing is lost, and failures never stop answers."""

from __future__ import annotations

import logging
import os
import sqlite3

import pytest

from bot.store import QuestionLog, replace_file


@pytest.fixture
def log(tmp_path):
    question_log = QuestionLog(tmp_path / "data" / "questions.sqlite3")
    yield question_log
    question_log.close()


def test_unanswered_lists_declined_and_unclear_questions_by_frequency(log):
    log.record("who won the 1988 olympics", "who won 1988 olymp", "no_match", "en")
    log.record("Who won the 1988 Olympics?", "who won 1988 olymp", "no_match", "en")
    log.record("miners", "miner", "clarify", "en")
    log.record("when did he die", "when die", "answered", "en")
    log.flush()
    rows = log.unanswered()
    assert [(r.normalised, r.count) for r in rows] == [("who won 1988 olymp", 2), ("miner", 1)]
    assert rows[0].question == "Who won the 1988 Olympics?"


def test_stats_count_every_outcome(log):
    for outcome in ("answered", "answered", "clarify", "no_match"):
        log.record("q", "q", outcome, "en")
    log.flush()
    stats = log.stats()
    assert stats.overall == {"answered": 2, "clarify": 1, "no_match": 1}
    assert stats.last_day == stats.overall


def test_log_stores_no_user_identity(log):
    log.record("q", "q", "no_match", "uk")
    log.flush()
    with sqlite3.connect(log.path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(questions)")]
    assert columns == ["id", "asked_at", "question", "normalised", "outcome", "language"]


def test_empty_log_reads_as_nothing(log):
    assert log.unanswered() == [] and log.stats().overall["answered"] == 0


def test_unwritable_log_is_reported_once_and_never_raises(tmp_path, caplog):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data folder should be")
    log = QuestionLog(blocker / "questions.sqlite3")
    with caplog.at_level(logging.ERROR, logger="bot.store"):
        for _ in range(3):
            log.record("q", "q", "no_match", "en")
        log.flush()
    log.close()
    assert len([r for r in caplog.records if "cannot be written" in r.getMessage()]) == 1


def test_locked_database_does_not_block_recording(tmp_path, caplog):
    path = tmp_path / "questions.sqlite3"
    log = QuestionLog(path)
    log.record("first", "first", "no_match", "en")
    log.flush()
    locker = sqlite3.connect(path)
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


def test_replace_file_backs_up_then_writes_atomically(tmp_path):
    target = tmp_path / "faq.yaml"
    target.write_bytes(b"old")
    backup = replace_file(target, b"new", tmp_path / "backups")
    assert target.read_bytes() == b"new" and backup.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backups", "faq.yaml"]


def test_replace_file_leaves_nothing_behind_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "faq.yaml"
    target.write_bytes(b"old")

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        replace_file(target, b"new", tmp_path / "backups")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_lone_surrogate_is_logged_and_the_writer_keeps_going(log):
    log.record("who was he \ud800", "\udfff", "no_match", "en")
    log.record("miners", "miner", "no_match", "en")
    assert log.flush()
    assert {r.normalised for r in log.unanswered()} == {"\ufffd", "miner"}
    assert log._writer.is_alive()


def test_replace_file_keeps_the_file_mode_and_the_backup_has_it_too(tmp_path):
    target = tmp_path / "faq.yaml"
    target.write_bytes(b"old")
    target.chmod(0o644)
    backup = replace_file(target, b"new", tmp_path / "backups")
    assert target.stat().st_mode & 0o777 == 0o644
    assert backup.stat().st_mode & 0o777 == 0o644


def test_replace_file_through_a_symlink_keeps_the_link(tmp_path):
    real = tmp_path / "real" / "faq.yaml"
    real.parent.mkdir()
    real.write_bytes(b"old")
    link = tmp_path / "faq.yaml"
    link.symlink_to(real)
    replace_file(link, b"new", tmp_path / "backups")
    assert link.is_symlink() and real.read_bytes() == b"new"


def test_a_backup_that_cannot_be_written_leaves_no_empty_file_and_changes_nothing(
    tmp_path, monkeypatch
):
    target = tmp_path / "faq.yaml"
    target.write_bytes(b"old")
    real_fsync = os.fsync

    def full_disk(fd):
        if os.fstat(fd).st_size == 3:
            raise OSError(28, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError):
        replace_file(target, b"new", tmp_path / "backups")
    assert target.read_bytes() == b"old"
    assert list((tmp_path / "backups").iterdir()) == []
