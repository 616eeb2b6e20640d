"""SIGHUP from the first moment, and many at once (issue 12, item 10)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.knowledge import default_path
from tests.conftest import file_of
from tests.fake_bot_api import FakeBotAPI


@pytest.fixture
def fake():
    with FakeBotAPI(username="stakhanov_signal_bot") as server:
        yield server


def start(fake: FakeBotAPI, root: Path) -> tuple[subprocess.Popen, Path]:
    shutil.copytree(default_path().parent, root / "knowledge")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MATCH_", "KNOWLEDGE"))}
    env.update(
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_API_BASE_URL=fake.base_url,
        KNOWLEDGE_FILE=str(root / "knowledge" / "faq.yaml"),
        DATA_DIR=str(root / "data"),
        LOG_LEVEL="INFO",
    )
    log_path = root / "bot.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=root,
        env=env,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return process, log_path


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=20)


def wait_for_line(log_path: Path, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while text not in log_path.read_text(errors="replace"):
        assert time.monotonic() < deadline, log_path.read_text(errors="replace")
        time.sleep(0.05)


def test_a_sighup_while_starting_is_a_reload_not_a_death(fake, tmp_path):
    process, log_path = start(fake, tmp_path)
    time.sleep(0.3)
    process.send_signal(signal.SIGHUP)
    fake.wait_for("getUpdates", timeout=60)
    wait_for_line(log_path, "knowledge reloaded on SIGHUP")
    assert process.poll() is None
    assert stop(process) == 0


def test_a_burst_of_sighups_is_coalesced(fake, tmp_path):
    process, log_path = start(fake, tmp_path)
    fake.wait_for("getUpdates", timeout=30)
    for _ in range(100):
        process.send_signal(signal.SIGHUP)
        time.sleep(0.01)
    wait_for_line(log_path, "knowledge reloaded on SIGHUP")
    time.sleep(6)
    reloads = log_path.read_text().count("knowledge reloaded on SIGHUP")
    assert reloads == 1
    assert stop(process) == 0


def test_an_upload_without_knowledge_file_goes_to_data_dir_not_the_package(fake, tmp_path):
    shipped = file_of(default_path().parent, "death")
    before = shipped.read_bytes()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MATCH_", "KNOWLEDGE"))}
    env.update(
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_API_BASE_URL=fake.base_url,
        ADMIN_USER_IDS="4242",
        DATA_DIR=str(tmp_path / "data"),
    )
    new = before.replace(
        b"Aleksei Stakhanov died in 1977", b"[uploaded] Aleksei Stakhanov died in 1977", 1
    )
    try:
        for run in range(2):
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            fake.wait_for("getUpdates", timeout=30, count=run + 1)
            if run == 0:
                fake.send_document(new, shipped.name, user_id=4242)
                fake.wait_for("sendMessage", lambda p: "Installed" in p.get("text", ""))
            fake.send_text("how did stakhanov die", user_id=500 + run)
            fake.wait_for(
                "sendMessage",
                lambda p, u=500 + run: p.get("chat_id") == u and "[uploaded]" in p.get("text", ""),
            )
            assert stop(process) == 0
        assert shipped.read_bytes() == before
        home = tmp_path / "data" / "knowledge"
        assert (home / "faq.d" / shipped.name).read_bytes() == new
        assert (home / "faq.yaml").read_bytes() == default_path().read_bytes()
    finally:
        shipped.write_bytes(before)
