"""Handler helpers on real PTB objects: group addressing, topics pages, logging hygiene."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from telegram import Bot, Message, Update

from bot.settings import Settings
from bot.telegram.app import update_kind
from bot.telegram.chat import (
    FOLLOW_UP_SECONDS,
    addressed_text,
    remember_topic,
    remembered_topic,
    topics_page,
)
from bot.telegram.logs import RedactingFormatter, configure_logging
from bot.telegram.webhook import webhook_secret

TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijk"
BOT = Bot(TOKEN)


def message(text: str, **extra) -> Message:
    data = {
        "message_id": 1,
        "date": 0,
        "chat": {"id": -1, "type": "group"},
        "from": {"id": 7, "is_bot": False, "first_name": "Ann"},
        "text": text,
        **extra,
    }
    return Message.de_json(data, BOT)


def test_group_mention_is_addressed_and_stripped():
    text = "@Stakhanov_Bot when did he die"
    msg = message(text, entities=[{"type": "mention", "offset": 0, "length": 14}])
    assert addressed_text(msg, "stakhanov_bot", 99) == "when did he die"


def test_group_chatter_is_not_addressed():
    msg = message("when did he die")
    assert addressed_text(msg, "stakhanov_bot", 99) is None


def test_mention_of_another_bot_is_not_addressed():
    msg = message("@other_bot hi", entities=[{"type": "mention", "offset": 0, "length": 10}])
    assert addressed_text(msg, "stakhanov_bot", 99) is None


def test_reply_to_the_bot_is_addressed():
    bot_message = {
        "message_id": 5,
        "date": 0,
        "chat": {"id": -1, "type": "group"},
        "from": {"id": 99, "is_bot": True, "first_name": "Bot"},
        "text": "an answer",
    }
    msg = message("and when?", reply_to_message=bot_message)
    assert addressed_text(msg, "stakhanov_bot", 99) == "and when?"


def test_topics_pages_cover_every_entry_once(kb):
    seen: list[str] = []
    page = 0
    while True:
        text, markup = topics_page(kb, "en", page)
        ids = [
            b.callback_data
            for row in markup.inline_keyboard
            for b in row
            if b.callback_data.startswith("a:")
        ]
        seen += ids
        if not any(
            b.callback_data == f"t:{page + 1}" for row in markup.inline_keyboard for b in row
        ):
            break
        page += 1
    assert sorted(seen) == sorted(f"a:{e.id}" for e in kb.entries)
    assert text.startswith(f"Topics ({page + 1}/{page + 1})")


def test_callback_data_fits_telegram_limit(kb):
    for entry in kb.entries:
        assert len(f"a:{entry.id}".encode()) <= 64


def test_update_kind_names_the_kind_not_the_content():
    update = Update(1, message=message("secret question"))
    assert update_kind(update) == "message"


def test_log_formatter_redacts_the_token_even_in_tracebacks():
    formatter = RedactingFormatter([TOKEN], "%(message)s")
    try:
        raise RuntimeError(f"POST https://api.telegram.org/bot{TOKEN}/getUpdates failed")
    except RuntimeError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, "", 0, "url %s", (TOKEN,), sys.exc_info())
    text = formatter.format(record)
    assert TOKEN not in text and "[token]" in text


def test_configured_logging_silences_httpx_request_lines():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging(Settings(token=TOKEN, log_level="DEBUG"))
        assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])


def test_an_exception_ending_a_thread_is_logged_with_the_token_redacted(capsys):
    import threading

    root = logging.getLogger()
    saved = root.handlers[:], root.level, threading.excepthook
    try:
        configure_logging(Settings(token=TOKEN, log_level="INFO"))

        def fail() -> None:
            raise RuntimeError(f"request to /bot{TOKEN}/sendMessage failed")

        thread = threading.Thread(target=fail, name="worker")
        thread.start()
        thread.join()
    finally:
        root.handlers[:], _, threading.excepthook = saved
        root.setLevel(saved[1])
    err = capsys.readouterr().err
    assert "thread worker ended with an error" in err and "RuntimeError" in err
    assert TOKEN not in err and "[token]" in err


def test_webhook_secret_is_stable_and_not_the_token():
    secret = webhook_secret(TOKEN)
    assert secret == webhook_secret(TOKEN) and TOKEN not in secret


def test_a_topic_older_than_the_follow_up_window_is_forgotten():
    context = SimpleNamespace(chat_data={})
    update = SimpleNamespace(effective_user=SimpleNamespace(id=7))
    remember_topic(update, context, "When was he born?", 100.0)
    assert remembered_topic(update, context, 100.0 + FOLLOW_UP_SECONDS) == "When was he born?"
    assert remembered_topic(update, context, 100.5 + FOLLOW_UP_SECONDS) is None
