"""End to end: `stakhanov-bot run` (the real Application) against a fake Bot API on 127.0.0.1."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.knowledge import default_path, load
from bot.matching import Thresholds
from tests.conftest import file_of
from tests.fake_bot_api import FakeBotAPI

ADMINS = (1001, 1002, 1003, 1004, 1005, 1006)
BOT_NAME = "stakhanov_test_bot"
CLARIFY_CANDIDATES = (
    "miners",
    "workers",
    "coal stakhanov",
    "stakhanov",
    "the movement",
    "historian",
)
_users = itertools.count(5000)


@pytest.fixture(scope="module")
def fake():
    with FakeBotAPI(username=BOT_NAME) as server:
        yield server


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bot")
    shutil.copytree(default_path().parent, root / "knowledge")
    return root


@pytest.fixture(scope="module")
def bot(fake, workdir):
    """The bot process, started once for this module, stopped with SIGTERM at the end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MATCH_", "KNOWLEDGE"))}
    env.update(
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_API_BASE_URL=fake.base_url,
        ADMIN_USER_IDS=",".join(map(str, ADMINS)),
        KNOWLEDGE_FILE=str(workdir / "knowledge" / "faq.yaml"),
        DATA_DIR=str(workdir / "data"),
        LOG_LEVEL="DEBUG",
    )
    log = (workdir / "bot.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=workdir, env=env, stdout=log, stderr=log
    )
    try:
        fake.wait_for("getUpdates", timeout=30)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=20)
        log.close()
    assert code == 0, (workdir / "bot.log").read_text()


def mark_death_answer(path: Path, marker: str) -> str:
    """Prefix the death entry's English answer with a marker; returns the original text."""
    original = path.read_text(encoding="utf-8")
    entry = original.index("  - id: death\n")
    answer = original.index('      en: "', original.index("    answer:", entry)) + len(
        '      en: "'
    )
    path.write_text(original[:answer] + marker + " " + original[answer:], encoding="utf-8")
    return original


def death_file(workdir: Path) -> Path:
    """The knowledge file (a part in faq.d/) that holds the death entry."""
    return file_of(workdir / "knowledge", "death")


def marked_upload(path: Path, marker: str) -> tuple[bytes, bytes]:
    """The knowledge file as it is and with the death answer marked; the file is left as it is."""
    original = mark_death_answer(path, marker).encode()
    new = path.read_bytes()
    path.write_bytes(original)
    return original, new


def messages_to(fake: FakeBotAPI, chat_id: int) -> list[dict]:
    return [c.params for c in fake.calls_to("sendMessage") if c.params.get("chat_id") == chat_id]


def next_reply(fake: FakeBotAPI, chat_id: int, action, timeout: float = 15) -> dict:
    """Do something, then return the next message the bot sends to that chat."""
    before = len(messages_to(fake, chat_id))
    action()
    calls = fake.wait_for(
        "sendMessage", lambda p: p.get("chat_id") == chat_id, timeout=timeout, count=before + 1
    )
    return calls[before].params


def ask(fake: FakeBotAPI, text: str, user_id: int | None = None, **kwargs) -> dict:
    user = user_id or next(_users)
    return next_reply(
        fake, kwargs.get("chat_id") or user, lambda: fake.send_text(text, user_id=user, **kwargs)
    )


def buttons(params: dict) -> list[tuple[str, str]]:
    rows = (params.get("reply_markup") or {}).get("inline_keyboard", [])
    return [(b["text"], b["callback_data"]) for row in rows for b in row]


def sent_message(fake: FakeBotAPI, chat_id: int) -> dict:
    return fake.sent_messages(chat_id)[-1]


def test_commands_are_registered_at_startup(fake, bot):
    calls = fake.wait_for("setMyCommands")
    names = [c["command"] for c in calls[0].params["commands"]]
    assert names == ["start", "topics", "lang", "help"]


def test_start_says_what_it_knows_with_example_buttons(fake, bot):
    reply = ask(fake, "/start")
    assert all(
        name in reply["text"] for name in ("RFE/RL", "Wikipedia", "Great Soviet Encyclopedia")
    )
    examples = buttons(reply)
    assert 3 <= len(examples) <= 4 and all(data.startswith("a:") for _, data in examples)


def test_question_is_answered_with_its_source(fake, bot):
    reply = ask(fake, "how much coal did Stakhanov mine in one shift")
    assert reply["parse_mode"] == "HTML"
    assert "102 tons" in reply["text"] and "<blockquote>" in reply["text"]
    assert 'href="https://www.rferl.org/a/' in reply["text"] and "(2010)" in reply["text"]
    related, thumbs = buttons(reply)[:-2], buttons(reply)[-2:]
    assert related and all(data.startswith("a:") for _, data in related)
    assert [label for label, _ in thumbs] == ["👍", "👎"]


def test_answer_follows_the_question_language(fake, bot):
    assert "1977" in ask(fake, "когда умер Стаханов")["text"]
    assert "Джерело" in ask(fake, "коли помер Стаханов?")["text"]


def test_clarify_then_button_answers_the_chosen_entry(fake, bot):
    kb = load(default_path())
    question = next(
        q for q in CLARIFY_CANDIDATES if kb.index.match(q, Thresholds()).status == "clarify"
    )
    user = next(_users)
    reply = ask(fake, question, user)
    *suggestions, (none_label, none_data) = buttons(reply)
    assert 1 <= len(suggestions) <= 3 and none_label == "None of these"
    label, data = suggestions[0]
    entry = kb.by_id[data.split(":")[1]]
    message = sent_message(fake, user)
    answer = next_reply(fake, user, lambda: fake.press_button(data, message=message, user_id=user))
    assert entry.answer["en"][:40].replace("'", "&#x27;")[:20] in answer["text"]
    fake.wait_for("answerCallbackQuery")


def test_no_match_is_declined_and_shows_in_unanswered(fake, bot):
    reply = ask(fake, "who won the 1988 olympics")
    assert "don't cover" in reply["text"] and "/topics" in reply["text"]
    listing = ask(fake, "/unanswered", ADMINS[0])
    assert "who won the 1988 olympics" in listing["text"]


def test_a_question_near_a_topic_is_declined_with_the_closest_topics(fake, bot):
    reply = ask(fake, "what is komsomolskaya pravda")
    assert "don't cover" in reply["text"] and "closest topics" in reply["text"]
    assert ("Was the record real?", "inflated-claims") in [
        (label, data.split(":")[1]) for label, data in buttons(reply)
    ]


def test_stats_count_outcomes(fake, bot):
    ask(fake, "when did he die")
    reply = ask(fake, "/stats", ADMINS[0])
    assert "Overall:" in reply["text"] and "Last 24 hours:" in reply["text"]
    assert " answered" in reply["text"] and "no_match" in reply["text"]


def test_non_admin_is_refused_and_the_attempt_logged(fake, bot, workdir):
    user = next(_users)
    assert "not allowed" in ask(fake, "/reload", user)["text"]
    assert "not allowed" in ask(fake, "/unanswered", user)["text"]
    assert f"refused /reload for user {user}" in (workdir / "bot.log").read_text()


def test_admin_reload_swaps_in_the_edited_file(fake, bot, workdir):
    path = death_file(workdir)
    original = mark_death_answer(path, "[reloaded]")
    try:
        reply = ask(fake, "/reload", ADMINS[1])
        assert reply["text"].startswith("Reloaded.") and "Changed: death" in reply["text"]
        assert "[reloaded]" in ask(fake, "how did stakhanov die")["text"]
    finally:
        path.write_text(original, encoding="utf-8")
        ask(fake, "/reload", ADMINS[1])


def test_admin_reload_of_a_broken_file_keeps_the_old_knowledge(fake, bot, workdir):
    path = death_file(workdir)
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(
            original.replace("related: [", "related: [no-such-entry, ", 1), encoding="utf-8"
        )
        reply = ask(fake, "/reload", ADMINS[2])
        assert "Reload failed" in reply["text"] and "unknown entry id" in reply["text"]
        assert f"faq.d/{path.name}: entry 'death'" in reply["text"]
        assert "1977" in ask(fake, "when did stakhanov die")["text"]
    finally:
        path.write_text(original, encoding="utf-8")


def test_admin_upload_installs_a_valid_file_and_backs_up_the_old(fake, bot, workdir):
    path = death_file(workdir)
    original, new = marked_upload(path, "[uploaded]")
    try:
        reply = ask_upload(fake, new, path.name, ADMINS[3])
        assert reply["text"].startswith(f"Installed faq.d/{path.name}.")
        assert "Changed: death" in reply["text"]
        assert path.read_bytes() == new
        backups = list((workdir / "data" / "backups").glob(f"{path.stem}-*.yaml"))
        assert any(b.read_bytes() == original for b in backups)
        assert "[uploaded]" in ask(fake, "how did stakhanov die")["text"]
    finally:
        path.write_bytes(original)
        ask(fake, "/reload", ADMINS[3])


def test_admin_upload_of_an_invalid_file_changes_nothing(fake, bot, workdir):
    path = workdir / "knowledge" / "faq.yaml"
    before = path.read_bytes()
    reply = ask_upload(fake, b"entries: [\n", "broken.yml", ADMINS[4])
    assert "nothing changed" in reply["text"] and "invalid YAML" in reply["text"]
    assert str(path) not in reply["text"] and "uploaded file" in reply["text"]
    assert path.read_bytes() == before


def test_an_admin_sending_a_txt_file_is_told_the_format(fake, bot):
    reply = ask_upload(fake, b"hello", "faq.txt", ADMINS[4])
    assert ".yaml" in reply["text"] and "only read text" not in reply["text"]


def test_admin_files_lists_the_knowledge_files_being_served(fake, bot, workdir):
    reply = ask(fake, "/files", ADMINS[0])
    assert "faq.yaml (" in reply["text"] and f"faq.d/{death_file(workdir).name} (" in reply["text"]
    assert "new name to add a part" in reply["text"]


def test_admin_files_sends_the_file_asked_for_as_a_document(fake, bot, workdir):
    path = death_file(workdir)
    fake.send_text(f"/files {path.name}", user_id=ADMINS[0])
    sent = fake.wait_for("sendDocument", lambda p: p.get("chat_id") == ADMINS[0])[-1].params
    assert sent["document"]["file_name"] == path.name
    assert sent["document"]["content"] == path.read_bytes()


def test_admin_files_with_an_unknown_name_says_so(fake, bot):
    reply = ask(fake, "/files ../../etc/passwd", ADMINS[0])
    assert reply["text"] == "No knowledge file is called passwd; /files lists them."
    assert not fake.calls_to("sendDocument") or all(
        c.params["document"]["file_name"] != "passwd" for c in fake.calls_to("sendDocument")
    )


def test_files_for_a_non_admin_is_refused(fake, bot):
    assert "not allowed" in ask(fake, "/files faq.yaml", next(_users))["text"]


def test_upload_by_non_admin_is_refused(fake, bot, workdir):
    path = workdir / "knowledge" / "faq.yaml"
    before = path.read_bytes()
    assert "not allowed" in ask_upload(fake, before, "faq.yaml", next(_users))["text"]
    assert path.read_bytes() == before


def test_unanswered_of_emoji_questions_fits_one_message(fake, bot):
    for n in range(50):
        ask(fake, "😀" * 150 + f" zorblat{n}qux")
    reply = ask(fake, "/unanswered 50", ADMINS[5])
    assert "Unanswered, last 30 days" in reply["text"] and "more" in reply["text"]


def test_upload_racing_reload_leaves_the_uploaded_file_live(fake, bot, workdir):
    path = death_file(workdir)
    original, new = marked_upload(path, "[raced]")
    try:
        for round_ in range(3):
            uploader, reloader = ADMINS[round_], ADMINS[round_ + 3]
            fake.send_document(new, path.name, user_id=uploader)
            fake.send_text("/reload", user_id=reloader)
            fake.wait_for(
                "sendMessage",
                lambda p, u=uploader: p.get("chat_id") == u and "Installed" in p.get("text", ""),
            )
            fake.wait_for(
                "sendMessage",
                lambda p, r=reloader: p.get("chat_id") == r and "Reloaded" in p.get("text", ""),
            )
            assert "[raced]" in ask(fake, "how did stakhanov die")["text"]
            path.write_bytes(original)
            ask(fake, "/reload", reloader)
    finally:
        path.write_bytes(original)
        ask(fake, "/reload", ADMINS[3])


def ask_upload(fake: FakeBotAPI, content: bytes, name: str, user: int) -> dict:
    return next_reply(fake, user, lambda: fake.send_document(content, name, user_id=user))


def test_group_messages_are_answered_only_when_addressed(fake, bot):
    group, user = -100500, next(_users)
    fake.send_text("when did he die", user_id=user, chat_id=group, chat_type="supergroup")
    reply = ask(fake, f"@{BOT_NAME} when did he die", user, chat_id=group, chat_type="supergroup")
    assert "1977" in reply["text"] and len(messages_to(fake, group)) == 1
    bot_message = sent_message(fake, group)
    followup = ask(
        fake,
        "and where is the city",
        user,
        chat_id=group,
        chat_type="supergroup",
        reply_to_message=bot_message,
    )
    assert "Luhansk" in followup["text"]


def test_a_short_follow_up_is_read_with_the_last_answer(fake, bot):
    user = next(_users)
    assert "1906" in ask(fake, "When was Stakhanov born?", user)["text"]
    assert "Lugovaya" in ask(fake, "where?", user)["text"]


def test_a_follow_up_in_a_group_reads_only_its_own_askers_last_answer(fake, bot):
    group, ann, bob = -100600, next(_users), next(_users)
    where = f"@{BOT_NAME} where?"
    ask(fake, f"@{BOT_NAME} When was Stakhanov born?", ann, chat_id=group, chat_type="supergroup")
    assert "Lugovaya" not in ask(fake, where, bob, chat_id=group, chat_type="supergroup")["text"]
    assert "Lugovaya" in ask(fake, where, ann, chat_id=group, chat_type="supergroup")["text"]


def test_a_follow_up_to_a_picked_option_reads_the_picked_entry(fake, bot):
    user = next(_users)
    options = ask(fake, "coal tons", user)
    data = next(data for _, data in buttons(options) if data.startswith("p:record-1935:"))
    message = sent_message(fake, user)
    picked = next_reply(fake, user, lambda: fake.press_button(data, message=message, user_id=user))
    assert "102 tons" in picked["text"]
    assert "102 tons" in ask(fake, "when was that?", user)["text"]


def test_inline_query_offers_answers_with_sources(fake, bot):
    fake.send_inline_query("when did stakhanov die", user_id=next(_users))
    call = fake.wait_for(
        "answerInlineQuery", lambda p: p["results"][0]["id"] == "death", timeout=15
    )[0]
    content = call.params["results"][0]["input_message_content"]
    assert content["parse_mode"] == "HTML" and "1977" in content["message_text"]
    assert "rferl.org" in content["message_text"]


def test_inline_query_matching_nothing_gets_a_hint_result(fake, bot):
    fake.send_inline_query("what is the capital of peru", user_id=next(_users))
    call = fake.wait_for(
        "answerInlineQuery",
        lambda p: not p["results"] or p["results"][0]["id"] == "no-match",
        timeout=15,
    )[0]
    (result,) = call.params["results"]
    assert result["id"] == "no-match" and "don't cover" in result["title"]
    assert "/topics" in result["input_message_content"]["message_text"]


def test_sticker_gets_a_hint_to_send_text(fake, bot):
    user = next(_users)
    assert "text" in next_reply(fake, user, lambda: fake.send_sticker(user_id=user))["text"]


def test_over_long_question_is_refused_politely(fake, bot):
    assert "too long" in ask(fake, "why " * 400)["text"]


def test_html_in_a_question_is_never_echoed_unescaped(fake, bot):
    reply = ask(fake, "<b>who</b> & <script>stakhanov</script>")
    assert "<script>" not in reply["text"]


def test_stale_button_is_acknowledged_politely(fake, bot):
    user = next(_users)
    ask(fake, "when did he die", user)
    message = sent_message(fake, user)
    fake.press_button("a:entry-removed-since", message=message, user_id=user)
    call = fake.wait_for("answerCallbackQuery", lambda p: "no longer" in p.get("text", ""))[0]
    assert call.params["show_alert"] is True


def test_language_choice_applies_to_later_answers(fake, bot):
    user = next(_users)
    choice = ask(fake, "/lang", user)
    assert ("Українська", "l:uk") in buttons(choice)
    message = sent_message(fake, user)
    fake.press_button("l:uk", message=message, user_id=user)
    fake.wait_for("editMessageText", lambda p: "українською" in p.get("text", ""))
    assert "Джерело" in ask(fake, "when did he die", user)["text"]


def test_topics_lists_every_entry_across_pages(fake, bot):
    user = next(_users)
    first = ask(fake, "/topics", user)
    entries = [d for _, d in buttons(first) if d.startswith("a:")]
    message = sent_message(fake, user)
    fake.press_button("t:1", message=message, user_id=user)
    page = fake.wait_for("editMessageText", lambda p: p.get("chat_id") == user)[0].params
    more = [d for _, d in buttons(page) if d.startswith("a:")]
    assert entries and more and not set(entries) & set(more)


def test_lang_with_an_argument_sets_the_language_at_once(fake, bot):
    user = next(_users)
    assert "українською" in ask(fake, "/lang uk", user)["text"]
    assert "Джерело" in ask(fake, "when did he die", user)["text"]


def test_an_unknown_command_points_to_help(fake, bot):
    assert "/help" in ask(fake, "/frobnicate")["text"]


def test_thanks_get_you_are_welcome_not_hello(fake, bot):
    reply = ask(fake, "thanks!")["text"]
    assert "welcome" in reply and "Hello" not in reply


def test_a_typed_option_number_gets_a_hint_not_three_unrelated_entries(fake, bot):
    sent = ask(fake, "1")
    assert "nothing to choose from" in sent["text"] and "reply_markup" not in sent


def test_greetings_are_not_logged_as_unanswered(fake, bot):
    ask(fake, "hi")
    ask(fake, "thanks!")
    reply = ask(fake, "/unanswered 50", ADMINS[1])
    assert "× hi" not in reply["text"] and "thanks" not in reply["text"]


def test_pressing_the_same_page_twice_brings_no_apology(fake, bot):
    user = next(_users)
    ask(fake, "/topics", user)
    message = sent_message(fake, user)
    fake.fail_next(
        "editMessageText",
        status=400,
        description="Bad Request: message is not modified: specified new message content "
        "and reply markup are exactly the same as a current content and reply markup",
    )
    before = len(messages_to(fake, user))
    fake.press_button("t:0", message=message, user_id=user)
    fake.wait_for("editMessageText", lambda p: p.get("chat_id") == user, include_failed=True)
    fake.press_button("t:1", message=message, user_id=user)
    fake.wait_for("editMessageText", lambda p: p.get("chat_id") == user)
    assert len(messages_to(fake, user)) == before


def test_a_failed_callback_acknowledgement_still_gives_the_answer(fake, bot):
    user = next(_users)
    ask(fake, "/start", user)
    fake.fail_next(
        "answerCallbackQuery",
        status=400,
        description="Bad Request: query is too old and response timeout expired or query ID "
        "is invalid",
    )
    reply = next_reply(
        fake,
        user,
        lambda: fake.press_button("a:death", message=sent_message(fake, user), user_id=user),
    )
    assert "1977" in reply["text"]


def test_forged_page_number_of_superscript_digits_is_refused_politely(fake, bot):
    user = next(_users)
    ask(fake, "/topics", user)
    fake.press_button("t:²", message=sent_message(fake, user), user_id=user)
    call = fake.wait_for("answerCallbackQuery", lambda p: "no longer" in p.get("text", ""))[0]
    assert call.params["show_alert"] is True


def test_unanswered_with_a_superscript_argument_uses_the_default(fake, bot):
    reply = ask(fake, "/unanswered ²", ADMINS[0])
    assert "Unanswered" in reply["text"] or "No unanswered" in reply["text"]


def test_reply_hit_by_flood_limit_is_still_delivered(fake, bot):
    user = next(_users)
    fake.fail_next("sendMessage", status=429, retry_after=1)
    reply = ask(fake, "when did he die", user)
    assert "1977" in reply["text"]
    statuses = [c.status for c in fake.calls_to("sendMessage") if c.params.get("chat_id") == user]
    assert statuses[-2:] == [429, 200]


def test_sighup_reloads_the_knowledge_file(fake, bot, workdir):
    path = death_file(workdir)
    original = mark_death_answer(path, "(SIGHUP)")
    try:
        bot.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 15
        while "(SIGHUP)" not in ask(fake, "how did stakhanov die")["text"]:
            assert time.monotonic() < deadline, "SIGHUP did not reload"
            time.sleep(0.2)
    finally:
        path.write_text(original, encoding="utf-8")
        bot.send_signal(signal.SIGHUP)


def test_token_never_appears_in_logs_at_debug(fake, bot, workdir):
    ask(fake, "when did he die")
    log = (workdir / "bot.log").read_text()
    assert "started" in log and "DEBUG" in log
    assert fake.token not in log and fake.token.split(":")[1] not in log


def test_run_without_token_fails_with_a_clear_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, capture_output=True, timeout=60
    )
    assert result.returncode == 2
    assert b"TELEGRAM_BOT_TOKEN" in result.stderr and b"Traceback" not in result.stderr


def test_unanswered_listing_escapes_what_users_typed(fake, bot):
    ask(fake, "<b>zzz</b> & <i>qqq</i>")
    listing = ask(fake, "/unanswered 50", ADMINS[5])
    assert "&lt;b&gt;zzz&lt;/b&gt; &amp; &lt;i&gt;qqq&lt;/i&gt;" in listing["text"]


def test_admin_commands_in_a_group_are_refused_without_leaking_the_log(fake, bot):
    group = -100777
    reply = ask(fake, "/unanswered", ADMINS[0], chat_id=group, chat_type="group")
    assert "private chat" in reply["text"] and "olympics" not in reply["text"]


def test_upload_writes_only_the_knowledge_file_whatever_its_name(fake, bot, workdir):
    path = death_file(workdir)
    content = path.read_bytes()
    before = {p for p in workdir.rglob("*") if p.is_file()}
    reply = ask_upload(fake, content, f"../../../../tmp/{path.name}", ADMINS[4])
    assert reply["text"].startswith(f"Installed faq.d/{path.name}.")
    after = {p for p in workdir.rglob("*") if p.is_file()}
    assert after == before and path.read_bytes() == content


def test_an_upload_of_a_new_name_adds_a_part_and_it_is_answered(fake, bot, workdir):
    part = workdir / "knowledge" / "faq.d" / "99-test-topic.yaml"
    source = (workdir / "knowledge" / "faq.d" / "20-death-and-later-views.yaml").read_text()
    quote = source[source.index("quote: ", source.index("  - id: death\n")) :].split("\n")[0]
    new = NEW_PART.replace("QUOTE", quote.removeprefix("quote: ")).encode()
    try:
        reply = ask_upload(fake, new, "../../99-test-topic.yaml", ADMINS[4])
        assert reply["text"].startswith("Installed faq.d/99-test-topic.yaml.")
        assert "Added: zorblat-topic" in reply["text"] and part.read_bytes() == new
        assert "[new part]" in ask(fake, "what is the zorblat quux")["text"]
    finally:
        part.unlink(missing_ok=True)
        ask(fake, "/reload", ADMINS[4])


NEW_PART = """\
entries:
  - id: zorblat-topic
    title: {en: "The zorblat"}
    questions:
      en: ["What is the zorblat quux?"]
    answer: {en: "[new part] Nothing."}
    citations:
      - source: rferl-2010
        quote: QUOTE
"""


def run_briefly(tmp_path, **settings) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env.update(settings, DATA_DIR=str(tmp_path / "data"))
    return subprocess.run(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, capture_output=True, timeout=60
    )


def test_unreachable_bot_api_is_a_one_line_error(tmp_path):
    token = "123456789:AAFakeTokenForTestsOnly_abcdefghijk"
    result = run_briefly(
        tmp_path, TELEGRAM_BOT_TOKEN=token, TELEGRAM_API_BASE_URL="http://127.0.0.1:9"
    )
    assert result.returncode == 1
    assert b"cannot reach the Bot API" in result.stderr and b"Traceback" not in result.stderr


def test_rejected_token_is_a_one_line_error_without_the_token(tmp_path):
    with FakeBotAPI() as server:
        other = "987654321:AAAnotherTokenTheServerDoesNotKnow_xyz"
        result = run_briefly(
            tmp_path, TELEGRAM_BOT_TOKEN=other, TELEGRAM_API_BASE_URL=server.base_url
        )
    assert result.returncode == 2
    assert b"TELEGRAM_BOT_TOKEN was rejected" in result.stderr
    assert b"Traceback" not in result.stderr and other.encode() not in result.stderr
