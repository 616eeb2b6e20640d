"""/stats as a picture: each day's questions, answered, clarified and declined, stacked.

Charting is optional (`pip install '.[charts]'`, matplotlib): without it, `stats_png` returns
None and /stats is text only.
"""

from __future__ import annotations

import io

from bot.store import Stats

COLOURS = {"answered": "#2e7d32", "clarify": "#f9a825", "no_match": "#c62828"}
LABELS = {"answered": "answered", "clarify": "did you mean", "no_match": "declined"}
SIZE = (6.4, 3.2)  # inches: a picture that reads at a phone's width
DPI = 120


def stats_png(stats: Stats) -> bytes | None:
    """A PNG of outcomes per day, or None without matplotlib or without days to show."""
    if not stats.days:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure
    except ImportError:
        return None
    figure = Figure(figsize=SIZE, dpi=DPI)
    axes = figure.subplots()
    days = [day[5:] for day, _ in stats.days]
    bottom = [0] * len(days)
    for outcome, colour in COLOURS.items():
        counts = [c[outcome] for _, c in stats.days]
        axes.bar(days, counts, bottom=bottom, color=colour, label=LABELS[outcome])
        bottom = [b + n for b, n in zip(bottom, counts, strict=True)]
    axes.set_title("Questions per day (UTC)")
    axes.legend(loc="upper left", fontsize="small")
    axes.tick_params(axis="x", labelrotation=45, labelsize="small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
