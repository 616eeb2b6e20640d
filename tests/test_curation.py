"""The admin's curation loop, end to end against the fake Bot API: a user's pick becomes a
suggestion, the admin accepts it, and the knowledge file and /stats change; a change that
would make things worse is refused with its reason and nothing is written."""

from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path

import pytest

from bot.bundle import Bundle
from bot.curation import trial as trial_module
from bot.curation.edits import EditError, add_example, add_phrasing
from bot.curation.trial import FigureCache, measure, run_trial
from bot.knowledge import load
from tests import test_telegram_e2e as e2e
from tests.conftest import SMALL_YAML, file_of
from tests.test_telegram_e2e import ADMINS, _users, ask, buttons, next_reply, sent_message

fake, workdir, bot = e2e.fake, e2e.workdir, e2e.bot  # the running bot, one for this module

ADMIN = ADMINS[0]
TRIAL_TIMEOUT = 480  # seconds: the trial runs check and all 49 evaluation sets, twice at first
# (about 100 s each time on the 2-core machine, beside the running bot and the test process)


def press(fake, chat: int, data: str, timeout: float = 15) -> dict:
    message = sent_message(fake, chat)
    return next_reply(
        fake, chat, lambda: fake.press_button(data, message=message, user_id=chat), timeout
    )


def thumb(fake, user: int, data: str) -> None:
    """Press 👍 or 👎 and wait until the bot has thanked for it (so it is recorded)."""
    thanked = len(fake.calls_to("answerCallbackQuery"))
    fake.press_button(data, message=sent_message(fake, user), user_id=user)
    fake.wait_for("answerCallbackQuery", count=thanked + 1)


def button_for(reply: dict, prefix: str, suffix: str = "") -> str:
    return next(
        data for _, data in buttons(reply) if data.startswith(prefix) and data.endswith(suffix)
    )


def test_a_pick_becomes_a_phrasing_the_admin_accepts(fake, bot, workdir):
    user = next(_users)
    reply = ask(fake, "coal stakhanov", user)
    pick = button_for(reply, "p:who-was-stakhanov:")
    answer = press(fake, user, pick)
    thumb(fake, user, button_for(answer, "f:+:who-was-stakhanov:"))

    listing = ask(fake, "/suggestions", ADMIN)
    assert "coal stakhanov" in listing["text"] and "picked who-was-stakhanov" in listing["text"]
    accepted = press(fake, ADMIN, button_for(listing, "g:", ":who-was-stakhanov"), TRIAL_TIMEOUT)

    assert accepted["text"].startswith("Done:") and "Before → after" in accepted["text"]
    assert '"coal stakhanov"' in file_of(workdir / "knowledge", "who-was-stakhanov").read_text()
    assert list((workdir / "data" / "backups").iterdir())
    assert "Stakhanov" in ask(fake, "coal stakhanov")["text"]
    stats = ask(fake, "/stats", ADMIN)["text"]
    assert "who-was-stakhanov: 1 / 0" in stats and "Answered share per day" in stats
    if importlib.util.find_spec("matplotlib"):
        assert fake.calls_to("sendPhoto")  # the chart, with charting installed
    assert "coal stakhanov" not in ask(fake, "/suggestions", ADMIN)["text"]


def test_a_change_that_breaks_the_knowledge_is_refused_and_nothing_written(fake, bot, workdir):
    user = next(_users)
    answer = ask(fake, "when did stakhanov die", user)
    thumb(fake, user, button_for(answer, "f:-:death:"))
    before = knowledge_files(workdir)
    listing = ask(fake, "/suggestions", ADMIN)
    assert "👎 on death" in listing["text"]
    refused = press(fake, ADMIN, button_for(listing, "g:", ":out-of-scope"), TRIAL_TIMEOUT)
    assert refused["text"].startswith("Refused; nothing written")
    assert "reads the same as a phrasing of entry" in refused["text"]
    assert knowledge_files(workdir) == before


def knowledge_files(workdir: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in (workdir / "knowledge").rglob("*.yaml")}


def test_a_change_that_makes_check_worse_fails_its_trial(write_knowledge):
    path = write_knowledge(
        SMALL_YAML.replace('"How did he die?"', '"How did he die?", "How did Stakhanov die?"')
    )
    kb = load(path)
    before = measure(kb, None, {})
    data = add_example(path.read_bytes(), "how did he die in hospital")
    trial = run_trial(before, Bundle.single(path, data), None, None, {})
    assert not trial.passed
    assert any("declined by an out-of-scope example: 0 → 1" in p for p in trial.problems)


def test_figures_asked_for_while_being_measured_are_measured_once(write_knowledge, monkeypatch):
    path = write_knowledge()
    kb, files = load(path), Bundle.single(path, path.read_bytes())
    calls = []

    def slow_measure(*args):
        calls.append(args)
        time.sleep(0.2)
        return measure(*args)

    monkeypatch.setattr(trial_module, "measure", slow_measure)
    cache = FigureCache()
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get(kb, files, None, {})))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and results[0] is results[1]


def test_an_edit_keeps_the_rest_of_the_file_as_it_was(write_knowledge):
    path = write_knowledge(SMALL_YAML.replace("sources:", "# a comment kept\nsources:"))
    new = add_phrasing(path.read_bytes(), "death", "en", 'and "when" exactly?')
    assert new.startswith(path.read_bytes()[: path.read_bytes().index(b"entries:")])
    assert b"# a comment kept" in new and load_bytes(path, new)


def test_an_edit_to_an_unknown_entry_is_refused(write_knowledge):
    with pytest.raises(EditError, match="no entry 'nope'"):
        add_phrasing(write_knowledge().read_bytes(), "nope", "en", "x")


def load_bytes(path, data):
    path.write_bytes(data)
    return load(path).by_id["death"].questions["en"][-1] == 'and "when" exactly?'
