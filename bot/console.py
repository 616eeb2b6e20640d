"""The local console: ask questions in a terminal, no Telegram needed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot import replies
from bot.knowledge import Entry, KnowledgeError, LiveKnowledge
from bot.matching import Candidate, Thresholds

HELP = """Type a question and press Enter; after "did you mean", type an option's number.
Commands:
  :topics   list what I can answer
  :debug    toggle showing the entry id, score and runners-up
  :lang XX  answer in en, ru or uk (:lang alone: detect from the question)
  :reload   re-read the knowledge file
  :help     this help
  :quit     leave (Ctrl-D works too)"""

HISTORY_FILE = Path("~/.stakhanov_bot_history").expanduser()


class Console:
    """A read-eval-print loop over the live knowledge base."""

    def __init__(
        self,
        live: LiveKnowledge,
        thresholds: Thresholds,
        out: TextIO,
        language: str | None = None,
    ) -> None:
        self.live = live
        self.thresholds = thresholds
        self.out = out
        self.language = language
        self.debug = False
        self.offered: list[Entry] = []
        self.offered_language = "en"
        self.topic: str | None = None
        """The last answer's topic: a short follow-up ("and where?") is read with it."""

    def say(self, text: str) -> None:
        self.out.write(replies.terminal_safe(text) + "\n")
        self.out.flush()

    def handle(self, line: str) -> bool:
        """Handle one input line; False means the user asked to leave."""
        line = line.strip()
        if not line:
            return True
        if line.startswith(":"):
            return self.command(line[1:].split())
        if line.isascii() and line.isdigit() and 1 <= int(line) <= len(self.offered):
            self.pick(self.offered[int(line) - 1])
            return True
        self.ask(line)
        return True

    def pick(self, entry: Entry) -> None:
        """Show the entry chosen from the last "did you mean" options."""
        self.offered = []
        self.topic = replies.first_question(entry, self.offered_language)
        self.say(replies.entry_plain(self.live.kb, entry, self.offered_language))
        self.say("")

    def ask(self, question: str) -> None:
        kb = self.live.kb
        reply = replies.reply_to(
            kb, question, language=self.language, thresholds=self.thresholds, previous=self.topic
        )
        self.topic = reply.topic or self.topic
        self.say(replies.plain(reply, kb))
        self.offered = [entry for entry, _ in reply.suggestions]
        self.offered_language = reply.language
        if self.offered:
            self.say(replies.message("pick_option", reply.language, count=len(self.offered)))
        if self.debug:
            self.say(debug_lines(reply))
        self.say("")

    def command(self, words: list[str]) -> bool:
        name, args = (words[0].lower(), words[1:]) if words else ("help", [])
        actions: dict[str, Callable[[list[str]], None]] = {
            "help": lambda _: self.say(HELP),
            "topics": lambda _: self.say(self.topics()),
            "debug": lambda _: self.toggle_debug(),
            "reload": lambda _: self.reload(),
            "lang": self.set_language,
        }
        if name in ("quit", "q", "exit"):
            return False
        action = actions.get(name)
        if action is None:
            self.say(f"Unknown command :{name}. Type :help for the list.")
        else:
            action(args)
        return True

    def topics(self) -> str:
        language = self.language or "en"
        return "\n".join(f"  {e.id:24} {e.text('title', language)}" for e in self.live.kb.entries)

    def toggle_debug(self) -> None:
        self.debug = not self.debug
        self.say(f"Debug output {'on' if self.debug else 'off'}.")

    def reload(self) -> None:
        try:
            changes = self.live.reload()
        except KnowledgeError as exc:
            self.say("Reload failed; still serving the previous knowledge:\n" + str(exc))
            return
        self.say("Reloaded: " + changes.summary(self.live.kb))

    def set_language(self, args: list[str]) -> None:
        from bot.language import SUPPORTED, supported

        if not args or args[0].lower() == "auto":
            self.language = None
            self.say("Answer language: detected from each question.")
        elif supported(args[0]):
            self.language = supported(args[0])
            self.say(f"Answer language: {self.language}.")
        else:
            self.say(f"Unknown language {args[0]!r}; choose one of {', '.join(SUPPORTED)}.")


def debug_lines(reply: replies.Reply) -> str:
    """Entry id, score, normalised question and runners-up, for :debug."""
    best = reply.match.best
    lines = [
        f"[debug] status={reply.status} language={reply.language} "
        f"entry={best.entry_id if best else '-'} score={reply.score:.1f}",
        f"[debug] normalised: {reply.match.normalised or '(nothing left)'}",
    ]
    if best:
        lines.append(f"[debug] matched phrasing: {best.phrasing}")
        lines.append(f"[debug] signals: {signals(best)}")
    if reply.match.confidence is not None:
        lines.append(f"[debug] confidence that it is the right entry: {reply.match.confidence:.3f}")
    if reply.match.read_with:
        lines.append(f"[debug] read as a follow-up to: {reply.match.read_with}")
    if reply.match.out_of_scope:
        lines.append(
            f"[debug] declined: closest to out-of-scope example {reply.match.out_of_scope!r}"
        )
    runners = "; ".join(
        f"{c.entry_id} {c.score:.1f} ({signals(c)})" for c in reply.match.candidates[1:4]
    )
    lines.append(f"[debug] runners-up: {runners or '-'}")
    return "\n".join(lines)


def signals(candidate: Candidate) -> str:
    semantic = "off" if candidate.semantic is None else f"cosine {candidate.semantic:.3f}"
    return f"lexical {candidate.lexical:.1f}, semantic {semantic}"


def run(console: Console, stdin: TextIO, interactive: bool) -> int:
    """Loop until :quit or end of input; a prompt and history only on a terminal."""
    if interactive:
        _enable_history()
        console.say(f"stakhanov-bot console: {console.live.kb.summary()}. Type :help for commands.")
    while True:
        try:
            line = input("? ") if interactive else stdin.readline()
        except EOFError:
            break
        except KeyboardInterrupt:
            console.say("")
            continue
        if not interactive and line == "":
            break
        if not console.handle(line):
            break
    if interactive:
        _save_history()
    return 0


def _enable_history() -> None:
    try:
        import readline
    except ImportError:
        return
    try:
        readline.read_history_file(HISTORY_FILE)
    except OSError:
        pass
    readline.set_history_length(1000)


def _save_history() -> None:
    try:
        import readline

        readline.write_history_file(HISTORY_FILE)
    except (ImportError, OSError):
        pass
