"""`stakhanov-bot run --webhook-url`: updates Telegram (or a load balancer) posts are answered
once each, by whichever instance is alive."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.knowledge import default_path
from bot.telegram.webhook import webhook_secret
from tests.fake_bot_api import FakeBotAPI


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post(url: str, update: dict, secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(url, json.dumps(update).encode(), headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, ConnectionError):
        return 0  # refused, or reset by an instance shutting down: not acknowledged


@contextlib.contextmanager
def webhook_instance(fake: FakeBotAPI, folder: Path, **settings: str) -> Iterator[str]:
    """`stakhanov-bot run --webhook-url` with its own knowledge copy and data folder; yields
    the webhook URL once it answers, and checks a clean exit on SIGTERM."""
    if not (folder / "knowledge").exists():
        shutil.copytree(default_path().parent, folder / "knowledge")
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MATCH_", "KNOWLEDGE"))}
    env.update(
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_API_BASE_URL=fake.base_url,
        KNOWLEDGE_FILE=str(folder / "knowledge" / "faq.yaml"),
        DATA_DIR=str(folder / "data"),
        **settings,
    )
    command = [sys.executable, "-m", "bot", "run", "--webhook-url", url]
    command += ["--listen", "127.0.0.1", "--port", str(port)]
    log = (folder / "bot.log").open("wb")
    process = subprocess.Popen(command, cwd=folder, env=env, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while post(url, {"update_id": 0}, None) not in (200, 403):
            assert process.poll() is None, (folder / "bot.log").read_text()
            assert time.monotonic() < deadline, "webhook server did not start"
            time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=20)
        log.close()
    assert code == 0, (folder / "bot.log").read_text()


@pytest.fixture
def webhook_bot(tmp_path):
    with FakeBotAPI() as fake, webhook_instance(fake, tmp_path) as url:
        fake.wait_for("setWebhook", timeout=30)
        yield fake, url


def update(text: str, update_id: int) -> dict:
    user = {"id": 42, "is_bot": False, "first_name": "Ann", "language_code": "en"}
    message = {
        "message_id": update_id,
        "date": 0,
        "chat": {"id": 42, "type": "private"},
        "from": user,
        "text": text,
    }
    return {"update_id": update_id, "message": message}


def test_webhook_is_registered_with_a_secret_that_is_not_the_token(webhook_bot):
    fake, url = webhook_bot
    params = fake.calls_to("setWebhook")[0].params
    assert params["url"] == url
    assert (
        params["secret_token"] == webhook_secret(fake.token)
        and fake.token not in params["secret_token"]
    )


def test_webhook_update_is_answered(webhook_bot):
    fake, url = webhook_bot
    assert post(url, update("when did stakhanov die", 1), webhook_secret(fake.token)) == 200
    call = fake.wait_for("sendMessage", lambda p: p["chat_id"] == 42, timeout=15)[0]
    assert "1977" in call.params["text"]


def test_webhook_refuses_posts_without_the_secret(webhook_bot):
    fake, url = webhook_bot
    assert post(url, update("when did stakhanov die", 2), "wrong") == 403


def test_an_oversized_body_without_the_secret_is_refused_unread(webhook_bot):
    fake, url = webhook_bot
    body = b"x" * (50 * 1024 * 1024)
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, ConnectionError):
        status = 0
    assert status in (0, 400, 413)
    assert time.monotonic() - started < 5
    secret = webhook_secret(fake.token)
    assert post(url, update("when did he die", 7), secret) == 200
    fake.wait_for("sendMessage", lambda p: "1977" in p.get("text", ""), timeout=15)


def test_a_redelivered_update_is_answered_once(webhook_bot):
    fake, url = webhook_bot
    secret = webhook_secret(fake.token)
    question = update("when did stakhanov die", 11)
    assert post(url, question, secret) == 200
    assert post(url, question, secret) == 200
    fake.wait_for("sendMessage", lambda p: p["chat_id"] == 42, timeout=15)
    time.sleep(1.0)
    assert len([c for c in fake.calls_to("sendMessage") if c.params["chat_id"] == 42]) == 1


def test_the_secret_is_checked_before_the_body_is_read(webhook_bot):
    fake, url = webhook_bot
    port = int(url.split(":")[2].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(
            b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-Telegram-Bot-Api-Secret-Token: wrong\r\nContent-Length: 500000\r\n\r\n"
        )
        assert connection.recv(100).startswith(b"HTTP/1.1 403")


def test_an_update_accepted_before_a_crash_is_answered_after_the_restart(tmp_path):
    from bot.store import open_store

    store = open_store(tmp_path / "data", os.environ.get("DATABASE_URL"))
    store.accept_update(21, json.dumps(update("when did stakhanov die", 21)).encode())
    store.close()
    with FakeBotAPI() as fake, webhook_instance(fake, tmp_path):
        call = fake.wait_for("sendMessage", lambda p: p["chat_id"] == 42, timeout=30)[0]
        assert "1977" in call.params["text"]


def test_knowledge_uploaded_on_one_instance_is_served_by_the_other(tmp_path, postgres_url):
    from tests.conftest import file_of
    from tests.test_telegram_e2e import marked_upload

    shared = {"DATABASE_URL": postgres_url, "ADMIN_USER_IDS": "42"}
    with (
        FakeBotAPI() as fake,
        webhook_instance(fake, tmp_path / "a", **shared) as first,
        webhook_instance(fake, tmp_path / "b", **shared) as second,
    ):
        secret = webhook_secret(fake.token)
        part = file_of(tmp_path / "a" / "knowledge", "death")
        _, marked = marked_upload(part, "SHARED-MARK")
        document = fake.send_document(marked, part.name, user_id=42)
        assert post(first, document, secret) == 200
        fake.wait_for("sendMessage", lambda p: p["text"].startswith("Installed"), timeout=60)
        deadline = time.monotonic() + 30
        for asked in itertools.count(1):
            question = fake.send_text("when did stakhanov die", user_id=43)
            assert post(second, question, secret) == 200
            calls = fake.wait_for(
                "sendMessage", lambda p: p["chat_id"] == 43, timeout=15, count=asked
            )
            if "SHARED-MARK" in calls[-1].params["text"]:
                break
            assert time.monotonic() < deadline, "the other instance never served the upload"
            time.sleep(0.5)


def test_sigterm_under_load_answers_every_acknowledged_update_and_exits(tmp_path):
    acknowledged: list[int] = []
    lock = threading.Lock()
    with FakeBotAPI() as fake:
        secret = webhook_secret(fake.token)
        updates = [fake.send_text("when did stakhanov die", user_id=60_000 + i) for i in range(600)]

        def sender(share: list[dict], url: str) -> None:
            for item in share:
                if post(url, item, secret) == 200:
                    with lock:
                        acknowledged.append(item["message"]["chat"]["id"])

        with webhook_instance(fake, tmp_path) as url:
            threads = [threading.Thread(target=sender, args=(updates[i::8], url)) for i in range(8)]
            for thread in threads:
                thread.start()
            while len(acknowledged) < 100:
                time.sleep(0.01)
        for thread in threads:
            thread.join()
        answered = {c.params["chat_id"] for c in fake.calls_to("sendMessage")}
        assert set(acknowledged) <= answered
