"""The `stakhanov-bot` command line, driven as a user would: through a real process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import COMMANDS

ROOT = Path(__file__).resolve().parent.parent
JSON_FIELDS = {
    "question",
    "read_with",
    "confidence",
    "status",
    "language",
    "signals",
    "entry_id",
    "score",
    "answer",
    "sources",
    "suggestions",
    "further_sources",
}


def run(*args: str, stdin: bytes | str = b"", cwd: Path | None = None, env: dict | None = None):
    data = stdin.encode() if isinstance(stdin, str) else stdin
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("KNOWLEDGE", "MATCH_"))}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=data,
        capture_output=True,
        cwd=cwd or ROOT,
        env=environment,
        timeout=60,
    )


def json_lines(output: bytes) -> list[dict]:
    return [json.loads(line) for line in output.decode().splitlines()]


def test_ask_json_answers_with_a_verbatim_quote_from_another_folder(tmp_path):
    result = run("ask", "--json", "how much coal did Stakhanov mine in one shift", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (answer,) = json_lines(result.stdout)
    assert set(answer) == JSON_FIELDS
    assert answer["status"] == "answered" and answer["entry_id"] == "record-1935"
    assert answer["language"] == "en" and 0 <= answer["score"] <= 100
    source = answer["sources"][0]
    assert set(source) == {"title", "publisher", "url", "published", "quote"}
    assert source["publisher"] == "RFE/RL" and "102 tons of coal" in source["quote"]
    assert answer["suggestions"] == []


def test_ask_reads_one_result_per_stdin_line_in_order():
    questions = "when did he die\n\nwho won the 1988 olympics\nкогда умер стаханов\n"
    result = run("ask", "--json", stdin=questions)
    answers = json_lines(result.stdout)
    assert [a["question"] for a in answers] == questions.splitlines()
    assert [a["status"] for a in answers] == ["answered", "no_match", "no_match", "answered"]
    assert answers[3]["language"] == "ru" and "1977" in answers[3]["answer"]
    assert answers[1]["entry_id"] is None and answers[1]["sources"] == []


def test_ask_survives_invalid_utf8_on_stdin():
    result = run("ask", "--json", stdin=b"when did he \xff\xfe die\n\xc3\n")
    assert result.returncode == 0, result.stderr
    answers = json_lines(result.stdout)
    assert len(answers) == 2 and answers[0]["entry_id"] == "death"


def test_clarify_result_lists_suggestions():
    result = run("ask", "--json", "stakhanov 1935", env={"MATCH_ANSWER_THRESHOLD": "100"})
    (answer,) = json_lines(result.stdout)
    assert answer["status"] == "clarify" and answer["answer"] is None
    assert 1 <= len(answer["suggestions"]) <= 3
    assert set(answer["suggestions"][0]) == {"entry_id", "question", "score"}


def test_ask_lang_overrides_detection():
    (answer,) = json_lines(run("ask", "--json", "--lang", "uk", "when did he die").stdout)
    assert answer["language"] == "uk" and "1977" in answer["answer"]
    assert re.search("[а-яіїє]", answer["answer"])


def test_ask_plain_text_shows_answer_quote_and_link():
    result = run("ask", "how did Stakhanov die")
    text = result.stdout.decode()
    assert "psychiatric hospital" in text and "RFE/RL" in text and "https://www.rferl.org/" in text


def test_validate_summarises_a_good_file():
    result = run("validate")
    assert result.returncode == 0
    assert re.search(r"OK: \d+ entries, \d+ phrasings, \d+ sources", result.stdout.decode())


def test_validate_lists_every_error_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: []\nentries: [{id: Bad Id}]\n", encoding="utf-8")
    result = run("validate", str(bad))
    err = result.stderr.decode()
    assert result.returncode == 1
    assert "Traceback" not in err and str(bad) in err and "problems" in err


def test_knowledge_option_and_setting_choose_the_file(tmp_path, write_knowledge):
    path = write_knowledge()
    by_option = json_lines(run("ask", "--json", "--knowledge", str(path), "102 tons").stdout)
    by_setting = json_lines(
        run("ask", "--json", "102 tons", env={"KNOWLEDGE_FILE": str(path)}).stdout
    )
    assert by_option[0]["entry_id"] == by_setting[0]["entry_id"] == "record"


def test_unreadable_knowledge_file_is_a_message_not_a_traceback(tmp_path):
    result = run("ask", "x", "--knowledge", str(tmp_path / "missing.yaml"))
    assert result.returncode == 1
    assert b"file not found" in result.stderr and b"Traceback" not in result.stderr


def test_bad_setting_is_named():
    result = run("ask", "x", env={"MATCH_ANSWER_THRESHOLD": "lots"})
    assert result.returncode == 2 and b"MATCH_ANSWER_THRESHOLD" in result.stderr


def test_console_through_a_pipe_prints_answers_without_prompts():
    script = "when did he die\n:debug\n102 tons\n:topics\n:nonsense\n:quit\nnever read\n"
    result = run("console", stdin=script)
    out = result.stdout.decode()
    assert result.returncode == 0
    assert "1977" in out and "[debug] status=answered" in out and "entry=record-1935" in out
    assert "record-1935" in out.split(":topics")[-1] or "The 1935 record" in out
    assert "Unknown command :nonsense" in out
    assert not any(line.startswith("? ") for line in out.splitlines())
    assert "never read" not in out


def test_console_debug_shows_the_confidence_behind_a_fused_decision():
    result = run("console", stdin=":debug\nhow many tonnes did he cut that night\n")
    assert re.search(r"\[debug\] confidence that it is the right entry: 0\.\d{3}", result.stdout.decode())


def test_console_reload_reports_changes(write_knowledge):
    path = write_knowledge()
    result = run("console", "--knowledge", str(path), stdin=":reload\n")
    assert "Reloaded: 2 entries" in result.stdout.decode()


def test_console_ends_at_end_of_input():
    assert run("console", stdin="").returncode == 0


def test_offline_commands_do_not_import_telegram():
    code = "import sys, bot.cli, bot.console, bot.replies, bot.evaluation; print('telegram' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT)
    assert result.stdout.strip() == b"False"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_is_documented_in_readme(command):
    assert f"stakhanov-bot {command}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_unanswered_prints_a_yaml_stub_of_cases_to_label(tmp_path):
    import yaml

    from bot.store import SqliteStore

    log = SqliteStore(tmp_path)
    for _ in range(2):
        log.record('who won the "1988" olympics', "who won 1988 olymp", "no_match", "en")
    log.record("когда родился Стаханов", "когд родил stakhanov", "clarify", "ru")
    log.record("when did he die", "when die", "answered", "en")
    log.close()
    result = run("unanswered", env={"DATA_DIR": str(tmp_path), "DATABASE_URL": ""})
    assert result.returncode == 0, result.stderr
    stub = yaml.safe_load(result.stdout)
    assert stub["cases"] == [
        {"q": 'who won the "1988" olympics', "lang": "en", "expect": None},
        {"q": "когда родился Стаханов", "lang": "ru", "expect": None},
    ]
    assert "2x" in result.stdout.decode()


def test_invalid_utf8_in_argv_gives_a_json_answer_not_a_traceback():
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--json", os.fsdecode(b"when did he die \xff")],
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0 and b"Traceback" not in result.stderr
    (answer,) = json_lines(result.stdout)
    assert answer["question"] == "when did he die \ufffd"


def test_a_lone_carriage_return_does_not_split_a_question():
    result = run("ask", "--json", stdin=b"when did\rhe die\n102 tons\r\n")
    assert [a["question"] for a in json_lines(result.stdout)] == ["when did\rhe die", "102 tons"]


def test_unanswered_on_a_corrupt_log_is_a_message_not_a_traceback(tmp_path):
    (tmp_path / "questions.sqlite3").write_bytes(b"this is not a database" * 100)
    result = run("unanswered", env={"DATA_DIR": str(tmp_path), "DATABASE_URL": ""})
    assert result.returncode == 1 and b"Traceback" not in result.stderr
    assert b"cannot be read" in result.stderr


def test_unanswered_shows_control_characters_instead_of_sending_them(tmp_path):
    from bot.store import SqliteStore

    log = SqliteStore(tmp_path)
    log.record("evil \x9b31m \u202egnp.exe", "evil", "no_match", "en")
    log.close()
    out = run("unanswered", env={"DATA_DIR": str(tmp_path), "DATABASE_URL": ""}).stdout.decode()
    assert "\x9b" not in out and "\u202e" not in out
    assert "\\u009b" in out and "\\u202e" in out


def test_console_echo_shows_control_characters_instead_of_sending_them():
    out = run("console", stdin=":evil\x1b]0;pwned\x07\n").stdout.decode()
    assert "\x1b" not in out and "\\u001b" in out


def test_console_lang_auto_is_accepted():
    out = run("console", stdin=":lang uk\n:lang auto\n").stdout.decode()
    assert "detected from each question" in out and "Unknown language" not in out


def test_ask_json_in_russian_carries_the_quote_translation():
    (answer,) = json_lines(run("ask", "--json", "когда умер стаханов").stdout)
    assert answer["language"] == "ru" and answer["sources"][0]["translation"]


def curation_env(tmp_path: Path, write_knowledge) -> dict[str, str]:
    """A small knowledge file and a question log in which people picked 'death' twice for a
    question the file lacks."""
    from bot.store import SqliteStore

    path = write_knowledge()
    store = SqliteStore(tmp_path / "data")
    for token in ("tok1", "tok2"):
        store.record("stakhanov's last year", "stakhanov last year", "clarify", "en", token)
    store.flush()
    for token in ("tok1", "tok2"):
        store.record_feedback("picked", token, "death")
    store.close()
    return {
        "KNOWLEDGE_FILE": str(path),
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": "",
        "SEMANTIC_MATCHING": "off",
    }


def test_suggestions_accept_writes_the_phrasing_after_its_trial(tmp_path, write_knowledge):
    env = curation_env(tmp_path, write_knowledge)
    listing = run("suggestions", "--json", env=env)
    (suggestion,) = json.loads(listing.stdout)
    assert (suggestion["kind"], suggestion["entry"]) == ("phrasing", "death")
    accepted = run("accept", suggestion["key"], "death", env=env)
    assert accepted.returncode == 0, accepted.stderr
    assert b"Done:" in accepted.stdout and b"check, held-out phrasings answered" in accepted.stdout
    assert "stakhanov's last year" in Path(env["KNOWLEDGE_FILE"]).read_text()
    assert json.loads(run("suggestions", "--json", env=env).stdout) == []


def test_ignore_keeps_a_suggestion_from_coming_back(tmp_path, write_knowledge):
    env = curation_env(tmp_path, write_knowledge)
    (suggestion,) = json.loads(run("suggestions", "--json", env=env).stdout)
    assert run("ignore", suggestion["key"], env=env).returncode == 0
    assert json.loads(run("suggestions", "--json", env=env).stdout) == []


def test_accepting_an_unknown_key_is_a_message_not_a_traceback(tmp_path, write_knowledge):
    result = run("accept", "deadbeef", "death", env=curation_env(tmp_path, write_knowledge))
    assert result.returncode == 1 and b"no suggestion 'deadbeef'" in result.stderr
    assert b"Traceback" not in result.stderr


def test_console_number_without_options_pending_gets_a_hint():
    out = run("console", stdin="2\n", env={"SEMANTIC_MATCHING": "off"}).stdout.decode()
    assert "nothing to choose from" in out and "  1. " not in out


def test_console_picks_a_did_you_mean_option_by_its_number():
    out = run("console", stdin="coal record\n1\n", env={"SEMANTIC_MATCHING": "off"}).stdout.decode()
    assert "  1. " in out
    picked = out.split("  1. ", 1)[1].splitlines()[0]
    answer = out.rsplit("Type the number", 1)[-1]
    assert "don't cover" not in answer and "Source" in answer, (picked, answer)


def test_console_asks_for_an_option_number_in_the_askers_language():
    out = run("console", stdin="рекорд угля\n", env={"SEMANTIC_MATCHING": "off"}).stdout.decode()
    assert "  1. " in out and "Введите номер варианта (1-" in out
    assert "Type the number" not in out


def test_ask_after_reads_a_short_question_as_a_follow_up():
    result = run("ask", "--json", "--after", "When was Stakhanov born?", "where?")
    (answer,) = json_lines(result.stdout)
    assert answer["entry_id"] == "birthplace"
    assert answer["read_with"] == "When was Stakhanov born?"


def test_console_reads_a_short_question_with_the_last_answer():
    out = run("console", stdin="When was Stakhanov born?\nwhere?\n").stdout.decode()
    assert "village of Lugovaya" in out and "not sure which" not in out


def test_console_reads_a_follow_up_to_an_entry_picked_by_number():
    stdin = "coal record\n1\nwhen was that?\n"
    out = run("console", stdin=stdin, env={"SEMANTIC_MATCHING": "off"}).stdout.decode()
    follow_up = out.split("Type the number", 1)[1].split("102 tons", 1)[1]
    assert "102 tons" in follow_up and "don't cover" not in follow_up
