"""Replacing files: a backup first, atomic writes, modes and links kept, nothing half-written."""

from __future__ import annotations

import os

import pytest

from bot.files import replace_file


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
