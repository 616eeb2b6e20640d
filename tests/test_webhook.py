"""`stakhanov-bot run --webhook-url`: PTB's webhook server answers updates Telegram posts to it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from bot.knowledge import default_path
from bot.telegram_app import webhook_secret
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
    except urllib.error.URLError:
        return 0


@pytest.fixture
def webhook_bot(tmp_path):
    with FakeBotAPI() as fake:
        shutil.copytree(default_path().parent, tmp_path / "knowledge")
        port = free_port()
        url = f"http://127.0.0.1:{port}/hook"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MATCH_", "KNOWLEDGE"))}
        env.update(
            TELEGRAM_BOT_TOKEN=fake.token,
            TELEGRAM_API_BASE_URL=fake.base_url,
            KNOWLEDGE_FILE=str(tmp_path / "knowledge" / "faq.yaml"),
            DATA_DIR=str(tmp_path / "data"),
        )
        command = [
            sys.executable,
            "-m",
            "bot",
            "run",
            "--webhook-url",
            url,
            "--listen",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE)
        try:
            fake.wait_for("setWebhook", timeout=30)
            deadline = time.monotonic() + 10
            while post(url, {"update_id": 0}, None) not in (200, 403):
                assert time.monotonic() < deadline, "webhook server did not start"
                time.sleep(0.1)
            yield fake, url
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0


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
