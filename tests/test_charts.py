"""/stats as a picture, when matplotlib is installed; text only otherwise."""

from __future__ import annotations

import builtins

import pytest

from bot.charts import stats_png
from bot.store import Stats

DAYS = (
    ("2026-12-01", {"answered": 5, "clarify": 1, "no_match": 2}),
    ("2026-12-02", {"answered": 7, "clarify": 0, "no_match": 1}),
)


def test_outcomes_per_day_become_a_png():
    pytest.importorskip("matplotlib")
    png = stats_png(Stats({}, {}, DAYS))
    assert png is not None and png.startswith(b"\x89PNG")


def test_without_matplotlib_there_is_no_picture(monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    assert stats_png(Stats({}, {}, DAYS)) is None


def test_no_days_no_picture():
    assert stats_png(Stats({}, {}, ())) is None
