"""Tests for the fake Telegram Bot API server, driven by python-telegram-bot itself."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)

try:
    from tests.fake_bot_api import FakeBotAPI
except ImportError:  # tests/ is not a package (or not importable as one)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from fake_bot_api import FakeBotAPI

# PTB 22 itself warns about RetryAfter.retry_after becoming a timedelta when building the error.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)


@pytest.fixture
def fake() -> FakeBotAPI:
    with FakeBotAPI() as api:
        yield api
    assert not api.server_errors, api.server_errors


def make_bot(fake: FakeBotAPI, token: str | None = None) -> Bot:
    return Bot(
        token or fake.token,
        base_url=f"{fake.base_url}/bot",
        base_file_url=f"{fake.base_url}/file/bot",
    )


def make_app(fake: FakeBotAPI) -> Application:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text(update.effective_message.text)

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="yes")]])
        await update.effective_message.reply_text("Continue?", reply_markup=keyboard)

    async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer("ok")
        await query.edit_message_text(f"You chose {query.data}")

    app = (
        Application.builder()
        .token(fake.token)
        .base_url(f"{fake.base_url}/bot")
        .base_file_url(f"{fake.base_url}/file/bot")
        .rate_limiter(AIORateLimiter(max_retries=3))
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(button))
    return app


@contextlib.asynccontextmanager
async def running(app: Application) -> AsyncIterator[Application]:
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


@pytest.mark.asyncio
async def test_get_me(fake: FakeBotAPI) -> None:
    async with make_bot(fake) as bot:  # initialize() already calls getMe
        me = await bot.get_me()
    assert me.id == fake.bot_id
    assert me.username == fake.username
    assert me.is_bot and me.can_join_groups and me.supports_inline_queries
    assert [c.method for c in fake.calls] == ["getMe", "getMe"]
    assert fake.calls_to("getMe")[0].params == {}


@pytest.mark.asyncio
async def test_send_message_with_inline_keyboard_is_recorded(fake: FakeBotAPI) -> None:
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("A", callback_data="a"),
                InlineKeyboardButton("B", url="https://x.y"),
            ]
        ]
    )
    async with make_bot(fake) as bot:
        message = await bot.send_message(1001, "pick one", reply_markup=keyboard)
        second = await bot.send_message(1001, "again", disable_notification=True)

    assert message.message_id == 1 and second.message_id == 2
    assert message.text == "pick one"
    assert message.from_user.id == fake.bot_id
    assert message.reply_markup == keyboard
    params = fake.calls_to("sendMessage")[0].params
    assert params["chat_id"] == 1001
    assert params["text"] == "pick one"
    assert params["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "A", "callback_data": "a"}, {"text": "B", "url": "https://x.y"}]
        ]
    }
    assert fake.calls_to("sendMessage")[1].params["disable_notification"] is True
    sent = fake.sent_messages(1001)
    assert [m["text"] for m in sent] == ["pick one", "again"]
    assert sent[0]["reply_markup"] == params["reply_markup"]
    assert sent[0]["chat"] == {"id": 1001, "type": "private", "first_name": "User1001"}
    assert fake.sent_messages(42) == []


@pytest.mark.asyncio
async def test_429_is_retried_by_aioratelimiter(fake: FakeBotAPI) -> None:
    fake.fail_next("sendMessage", retry_after=1)
    bot = ExtBot(
        fake.token,
        base_url=f"{fake.base_url}/bot",
        base_file_url=f"{fake.base_url}/file/bot",
        rate_limiter=AIORateLimiter(max_retries=3),
    )
    async with bot:
        started = time.monotonic()
        message = await bot.send_message(1001, "survives flood control")
        elapsed = time.monotonic() - started

    assert message.text == "survives flood control"
    calls = fake.calls_to("sendMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].time - calls[0].time >= 1.0
    assert 1.0 <= elapsed < 3.0
    assert [m["text"] for m in fake.sent_messages()] == ["survives flood control"]


@pytest.mark.asyncio
async def test_429_without_rate_limiter_raises_retry_after(fake: FakeBotAPI) -> None:
    fake.fail_next("sendMessage", retry_after=7)
    fake.fail_next("sendMessage", status=400, description="Bad Request: chat not found")
    async with make_bot(fake) as bot:
        with pytest.raises(RetryAfter) as exc_info:
            await bot.send_message(1001, "x")
        assert "Retry in 7 seconds" in str(exc_info.value)
        with pytest.raises(BadRequest, match="(?i)chat not found"):
            await bot.send_message(1001, "x")
        assert (await bot.send_message(1001, "x")).text == "x"


@pytest.mark.asyncio
async def test_echo_round_trip_through_get_updates(fake: FakeBotAPI) -> None:
    async with running(make_app(fake)):
        update = fake.send_text("hello there", first_name="Bea")
        [reply] = await fake.wait_for_async(
            "sendMessage", lambda p: p["text"] == "hello there", timeout=5
        )
    assert reply.params["chat_id"] == 1001
    assert reply.result["chat"]["id"] == 1001
    assert fake.sent_messages(1001)[0]["text"] == "hello there"
    assert update["update_id"] == 1 and update["message"]["from"]["first_name"] == "Bea"
    # PTB calls getMe (initialize), deleteWebhook (bootstrap), then long-polls getUpdates
    methods = [c.method for c in fake.calls]
    assert methods[:3] == ["getMe", "deleteWebhook", "getUpdates"]
    polls = fake.calls_to("getUpdates")
    assert polls[0].params["timeout"] == 1 and polls[0].params["offset"] == 0
    # after stop() the update has been confirmed via offset and is gone
    assert polls[-1].params["offset"] == 2 and polls[-1].params["timeout"] == 0
    assert fake.pending_updates() == []


@pytest.mark.asyncio
async def test_command_button_and_edit_round_trip(fake: FakeBotAPI) -> None:
    async with running(make_app(fake)):
        fake.send_text("/start")
        [keyboard_call] = await fake.wait_for_async("sendMessage")
        markup = keyboard_call.params["reply_markup"]
        assert markup["inline_keyboard"][0][0]["callback_data"] == "yes"
        sent = fake.sent_messages()[-1]
        fake.press_button("yes", message=sent)
        [answer] = await fake.wait_for_async("answerCallbackQuery")
        [edit] = await fake.wait_for_async("editMessageText")
    assert answer.params["text"] == "ok"
    assert edit.params["message_id"] == sent["message_id"]
    assert edit.params["chat_id"] == 1001
    texts = [m["text"] for m in fake.sent_messages(1001)]
    assert texts == ["Continue?", "You chose yes"]
    assert "reply_markup" not in fake.sent_messages()[-1]


@pytest.mark.asyncio
async def test_document_download(fake: FakeBotAPI) -> None:
    content = b"name: test\nitems:\n  - 1\n  - 2\n"
    update = fake.send_document(content, "config.yaml")
    document = update["message"]["document"]
    assert document["file_name"] == "config.yaml"
    assert document["mime_type"] == "application/x-yaml"
    async with make_bot(fake) as bot:
        file = await bot.get_file(document["file_id"])
        assert file.file_size == len(content)
        assert file.file_path == f"{fake.base_url}/file/bot{fake.token}/documents/file_1.yaml"
        data = await file.download_as_bytearray()
        with pytest.raises(BadRequest, match="(?i)invalid file_id"):
            await bot.get_file("nope")
    assert bytes(data) == content
    assert fake.calls_to("downloadFile")[0].params == {"file_path": "documents/file_1.yaml"}


@pytest.mark.asyncio
async def test_wrong_token_is_unauthorized(fake: FakeBotAPI) -> None:
    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with make_bot(fake, token="987654321:AAWrongTokenWrongTokenWrongToken_x") as bot:
            await bot.get_me()
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{fake.base_url}/bot987:wrong/getMe")
        download = await client.get(f"{fake.base_url}/file/bot987:wrong/documents/x")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert download.status_code == 401
    assert all(c.status == 401 for c in fake.calls)


@pytest.mark.asyncio
async def test_uploads_and_other_send_methods(fake: FakeBotAPI) -> None:
    async with make_bot(fake) as bot:
        message = await bot.send_document(
            -1001234567890, document=b"a: 1\n\r\x00\xff", filename="out.yaml", caption="here"
        )
        await bot.set_my_commands([("start", "Start"), ("help", "Help")])
        commands = await bot.get_my_commands()
        await bot.send_chat_action(1001, "typing")
        assert await bot.do_api_request("someFutureMethod", api_kwargs={"x": 1}) is True
        # the uploaded file can be fetched back
        file = await bot.get_file(message.document.file_id)
        data = await file.download_as_bytearray()
    params = fake.calls_to("sendDocument")[0].params
    assert params["chat_id"] == -1001234567890 and params["caption"] == "here"
    assert params["document"]["file_name"] == "out.yaml"
    assert params["document"]["content"] == b"a: 1\n\r\x00\xff"
    assert message.chat.type == "supergroup"
    assert message.document.file_name == "out.yaml"
    assert bytes(data) == b"a: 1\n\r\x00\xff"
    assert [c.command for c in commands] == ["start", "help"]
    assert fake.calls_to("setMyCommands")[0].params["commands"] == [
        {"command": "start", "description": "Start"},
        {"command": "help", "description": "Help"},
    ]
    assert fake.calls_to("someFutureMethod")[0].params == {"x": "1"}  # unknown field: kept as str


def test_json_and_form_bodies_are_parsed(fake: FakeBotAPI) -> None:
    url = f"{fake.base_url}/bot{fake.token}/sendMessage"
    markup = {"inline_keyboard": [[{"text": "x", "callback_data": "y"}]]}
    with httpx.Client() as client:
        as_json = client.post(url, json={"chat_id": 5, "text": "j", "reply_markup": markup})
        as_form = client.post(
            url,
            data={
                "chat_id": "5",
                "text": "123",
                "reply_markup": json.dumps(markup),
                "entities": json.dumps([{"type": "bold", "offset": 0, "length": 1}]),
            },
        )
    assert as_json.json()["ok"] and as_form.json()["ok"]
    first, second = fake.calls_to("sendMessage")
    assert first.params == {"chat_id": 5, "text": "j", "reply_markup": markup}
    assert second.params["text"] == "123"  # text is never coerced
    assert second.params["chat_id"] == 5
    assert second.params["reply_markup"] == markup
    assert second.params["entities"] == [{"type": "bold", "offset": 0, "length": 1}]
    assert as_form.json()["result"]["message_id"] == 2


def test_get_updates_offset_limit_and_long_poll(fake: FakeBotAPI) -> None:
    url = f"{fake.base_url}/bot{fake.token}/getUpdates"
    for text in ("one", "two", "three"):
        fake.send_text(text)
    with httpx.Client(timeout=10) as client:
        got = client.post(url, data={"limit": "2"}).json()["result"]
        assert [u["message"]["text"] for u in got] == ["one", "two"]
        got = client.post(url, data={"offset": "2"}).json()["result"]
        assert [u["update_id"] for u in got] == [2, 3]
        assert [u["update_id"] for u in fake.pending_updates()] == [2, 3]
        # confirming everything, then long polling with nothing pending waits for `timeout`
        started = time.monotonic()
        got = client.post(url, data={"offset": "4", "timeout": "1"}).json()["result"]
        assert got == [] and 0.9 <= time.monotonic() - started < 2
        # a long poll returns as soon as an update arrives
        started = time.monotonic()
        threading.Timer(0.2, fake.send_text, args=("late",)).start()
        got = client.post(url, data={"offset": "4", "timeout": "5"}).json()["result"]
        assert [u["message"]["text"] for u in got] == ["late"]
        assert time.monotonic() - started < 1.5


@pytest.mark.asyncio
async def test_drop_and_delay(fake: FakeBotAPI) -> None:
    fake.drop_next("sendMessage")
    fake.delay_next("sendMessage", 0.5)
    async with make_bot(fake) as bot:
        with pytest.raises(NetworkError):
            await bot.send_message(1001, "dropped")
        started = time.monotonic()
        message = await bot.send_message(1001, "slow")
        assert time.monotonic() - started >= 0.5
    assert message.text == "slow"
    assert [c.status for c in fake.calls_to("sendMessage")] == [0, 200]
    assert [m["text"] for m in fake.sent_messages()] == ["slow"]


def test_wait_for_times_out_with_listing(fake: FakeBotAPI) -> None:
    with httpx.Client() as client:
        client.post(
            f"{fake.base_url}/bot{fake.token}/sendMessage", data={"chat_id": "1", "text": "hi"}
        )
    assert len(fake.wait_for("sendMessage", lambda p: p["text"] == "hi")) == 1
    with pytest.raises(AssertionError) as exc_info:
        fake.wait_for("sendMessage", lambda p: p["text"] == "bye", timeout=0.2)
    message = str(exc_info.value)
    assert "'sendMessage'" in message and "sendMessage [200]" in message and '"hi"' in message


def test_generated_updates_parse_in_ptb(fake: FakeBotAPI) -> None:
    text = "/start@stakhanov_test_bot héllo 👋 @stakhanov_test_bot"
    update = Update.de_json(fake.send_text(text, chat_id=-42, chat_type="group"), None)
    message = update.message
    assert message.chat.type == "group"
    assert list(message.parse_entities().values()) == [
        "/start@stakhanov_test_bot",
        "@stakhanov_test_bot",
    ]
    sticker = Update.de_json(fake.send_sticker(), None).message.sticker
    assert sticker.emoji == "👍"
    photo = Update.de_json(fake.send_photo(caption="pic"), None).message
    assert photo.caption == "pic" and len(photo.photo) == 2
    voice = Update.de_json(fake.send_voice(), None).message.voice
    assert voice.file_id and voice.mime_type == "audio/ogg"
    inline = Update.de_json(fake.send_inline_query("abc"), None).inline_query
    assert inline.query == "abc"
    raw = fake.push_update({"update_id": 100, "message": update.message.to_dict()})
    assert raw["update_id"] == 100
    assert fake.push_update({"edited_message": {}})["update_id"] == 101


@pytest.mark.asyncio
async def test_telegram_limits_are_enforced(fake: FakeBotAPI) -> None:
    async with make_bot(fake) as bot:
        with pytest.raises(BadRequest, match="(?i)message is too long"):
            await bot.send_message(1001, "x" * 4097)
        assert await bot.send_message(1001, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
        with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
            await bot.send_message(
                1001,
                "x",
                reply_markup=InlineKeyboardMarkup(
                    [[InlineKeyboardButton("x", callback_data="y" * 65)]]
                ),
            )
