"""The `stakhanov-bot` command line: thin commands that turn expected errors into messages."""

from __future__ import annotations

import argparse
import gc
import io
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot import __version__
from bot.language import SUPPORTED

if TYPE_CHECKING:
    from bot.curation.suggestions import Suggestion
    from bot.knowledge import LiveKnowledge
    from bot.matching import Embedder
    from bot.matching.embeddings import EmbeddingCache
    from bot.settings import Settings
    from bot.store import Signal, Store

# The modules behind the commands (pydantic, numpy, the matcher) load inside the commands, so
# `run` can catch a SIGHUP within milliseconds of starting rather than after the imports; and
# a command opens the knowledge before importing anything else, so the encoder's weights load
# in the background while the rest is imported and read.

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
HANGUPS: list[int] = []
"""SIGHUPs received while `run` starts, before its event loop handles them: each a reload."""


class CommandError(Exception):
    """An expected failure: printed as a message, never as a traceback."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def knowledge_path(args: argparse.Namespace, settings: Settings) -> Path:
    """--knowledge, else KNOWLEDGE_FILE, else the file an upload left in DATA_DIR, else the
    knowledge file shipped with the package."""
    from bot.knowledge import default_path, home_path

    chosen = getattr(args, "knowledge", None) or settings.knowledge_file
    if chosen:
        return Path(chosen)
    uploaded = home_path(settings.data_dir)
    return uploaded if uploaded.is_file() else default_path()


def make_embedder(settings: Settings) -> Embedder | None:
    """The semantic signal's encoder and cache, or None when it is off or not installed."""
    from bot.matching.encoder import load_encoder

    encoder = load_encoder(settings.semantic_matching, settings.cache_dir)
    if encoder is None:
        return None
    from bot.matching import Embedder

    return Embedder(encoder, open_cache(settings), progress=report_progress)


def open_cache(settings: Settings) -> EmbeddingCache:
    """The cache folder's file: phrasing embeddings, corpus tokens and validated knowledge."""
    from bot.knowledge import EMBEDDINGS_NAME, shipped_embeddings
    from bot.matching.embeddings import EmbeddingCache

    return EmbeddingCache(settings.cache_dir / EMBEDDINGS_NAME, shipped=shipped_embeddings())


def report_progress(done: int, total: int) -> None:
    """A long first build shows how far it got on standard error (one line if not a terminal)."""
    if sys.stderr.isatty():
        end = "\n" if done >= total else ""
        print(f"\rembedding {total} new phrasings: {done}/{total}", end=end, file=sys.stderr)
    elif done >= total:
        print(f"embedded {total} new phrasings (cached for next time)", file=sys.stderr)


def open_knowledge(args: argparse.Namespace, settings: Settings) -> LiveKnowledge:
    """The knowledge for a command, kept until exit: its objects are frozen out of the
    garbage collector, so the collection at exit skips them (0.05 s of every `ask`)."""
    embedder = make_embedder(settings)  # first: the encoder loads while the knowledge is read
    from bot.knowledge import KnowledgeError, LiveKnowledge

    cache = embedder.cache if embedder else open_cache(settings)
    try:
        live = LiveKnowledge(knowledge_path(args, settings), embedder, cache)
    except KnowledgeError as exc:
        raise CommandError(f"cannot load the knowledge file:\n{exc}") from None
    gc.freeze()
    return live


def utf8_lines(stream: TextIO) -> TextIO:
    """Standard input decoded as UTF-8 with replacement, so bad bytes never crash; only "\\n"
    ends a line (a lone "\\r" inside a question does not split it in two)."""
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        return stream
    return io.TextIOWrapper(buffer, encoding="utf-8", errors="replace", newline="\n")


def cmd_console(args: argparse.Namespace, settings: Settings) -> int:
    """Ask questions interactively; answers come with their sources."""
    live = open_knowledge(args, settings)
    from bot.console import Console, run

    console = Console(live, settings.thresholds, sys.stdout, language=args.lang)
    stdin = utf8_lines(sys.stdin)
    return run(console, stdin, interactive=sys.stdin.isatty() and sys.stdout.isatty())


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """Answer one question, or one per stdin line, as text or JSON lines."""
    kb = open_knowledge(args, settings).kb
    from bot import replies
    from bot.normalise import without_surrogates

    previous = None
    if args.after is not None:
        after = without_surrogates(args.after)
        prior = replies.reply_to(kb, after, language=args.lang, thresholds=settings.thresholds)
        previous = prior.topic

    def answer(question: str) -> None:
        question = without_surrogates(question)
        reply = replies.reply_to(
            kb, question, language=args.lang, thresholds=settings.thresholds, previous=previous
        )
        if args.json:
            sys.stdout.write(json.dumps(replies.to_json(reply, kb), ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(replies.plain(reply, kb) + "\n\n")
        sys.stdout.flush()

    if args.question is not None:
        answer(args.question)
        return EXIT_OK
    for line in utf8_lines(sys.stdin):
        answer(line.rstrip("\r\n"))
    return EXIT_OK


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    """Check a knowledge file; print a summary, or every problem found."""
    from bot import bundle
    from bot.knowledge import KnowledgeError, parse

    path = bundle.main_file(Path(args.path) if args.path else knowledge_path(args, settings))
    try:
        files = bundle.read(path)
        kb = parse(files)
    except KnowledgeError as exc:
        count = len(exc.problems)
        raise CommandError(f"{path}: {count} problem{'s' if count != 1 else ''}:\n{exc}") from None
    parts = len(files.files) - 1
    with_parts = (
        f" and {parts} part{'s' if parts != 1 else ''} in {files.parts_dir}/" if parts else ""
    )
    print(f"{path}{with_parts}: OK: {kb.summary()}")
    return EXIT_OK


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    """Measure answer quality on labelled question sets: one report, or one line per set."""
    kb = open_knowledge(args, settings).kb
    from bot.evaluation import DEFAULT_SET, EvalError, evaluate, figures, load_set, summary

    paths = _eval_files(args.files or [str(DEFAULT_SET)])
    try:
        reports = {}
        for path in paths:
            evalset = load_set(path)
            reports[path.stem] = evaluate(
                kb, evalset.cases, settings.thresholds, evalset.thresholds
            )
    except EvalError as exc:
        raise CommandError(str(exc)) from None
    passed = all(report.passed for report in reports.values())
    if len(reports) > 1:
        result = {name: figures(report) for name, report in reports.items()}
        print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else summary(reports))
    elif args.json:
        print(json.dumps(next(iter(reports.values())).as_dict(), ensure_ascii=False, indent=2))
    else:
        print(next(iter(reports.values())).text())
    return EXIT_OK if passed else EXIT_FAILED


def _eval_files(names: list[str]) -> list[Path]:
    """The sets named, a folder standing for every `.yaml` set in it (in name order)."""
    paths: list[Path] = []
    for name in names:
        path = Path(name)
        if path.is_dir():
            found = sorted(path.glob("*.yaml"))
            if not found:
                raise CommandError(f"{path}: no evaluation sets (*.yaml) in this folder")
            paths.extend(found)
        else:
            paths.append(path)
    return paths


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """Cross-validate the knowledge: hold out each phrasing and match it against the rest."""
    from bot.check import check
    from bot.knowledge import KnowledgeError, LiveKnowledge

    path = Path(args.path) if args.path else knowledge_path(args, settings)
    try:
        kb = LiveKnowledge(path, make_embedder(settings)).kb
    except KnowledgeError as exc:
        raise CommandError(f"cannot load the knowledge file:\n{exc}") from None
    report = check(kb, settings.thresholds)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(report.text())
    return EXIT_OK if report.passed else EXIT_FAILED


def cmd_unanswered(args: argparse.Namespace, settings: Settings) -> int:
    """Turn logged unanswered questions into evaluation cases for the admin to label."""
    from bot import replies
    from bot.store import StoreError, open_store

    try:
        store = open_store(settings.data_dir, settings.database_url)
        try:
            rows = store.unanswered(args.limit, args.days)
        finally:
            store.close()
    except StoreError as exc:
        raise CommandError(
            f"the question log {store_name(settings)} cannot be read ({exc})"
        ) from None
    print(
        f"# {len(rows)} unanswered questions from {store_name(settings)}, last {args.days} days,"
        " most asked first."
    )
    print("# Label each case: set expect to the entry id that should answer it, or keep null if")
    print("# the sources don't cover it. For real gaps, also add the question as a phrasing of")
    print("# that entry in the knowledge file, then validate and /reload.")
    print("cases:")
    for row in rows:
        question = replies.terminal_safe(json.dumps(row.question, ensure_ascii=False))
        when = row.last_asked.strftime("%Y-%m-%d")
        print(
            f"  - {{q: {question}, lang: {row.language}, expect: null}}"
            f"  # {row.count}x, last {when}, got {row.outcome}"
        )
    return EXIT_OK


def cmd_suggestions(args: argparse.Namespace, settings: Settings) -> int:
    """List what use suggests adding to the knowledge, most frequent first."""
    live = open_knowledge(args, settings)
    from bot import replies
    from bot.curation.suggestions import suggest

    found = suggest(live.kb, *use_of(settings, args.days), limit=args.limit)
    if args.json:
        print(json.dumps([vars(s) for s in found], ensure_ascii=False, indent=2))
        return EXIT_OK
    if not found:
        print(f"No suggestions from the last {args.days} days.")
    for s in found:
        question = replies.terminal_safe(json.dumps(s.question, ensure_ascii=False))
        print(f"{s.key}  {s.kind:10} [{s.language}] {question}  ({s.why})")
        print(f"          accept as: {', '.join((*s.choices(), 'out-of-scope'))}")
    if found:
        print("stakhanov-bot accept KEY TARGET  |  stakhanov-bot ignore KEY")
    return EXIT_OK


def use_of(settings: Settings, days: int = 30) -> tuple[list[Signal], dict[str, str]]:
    """The store's signals and the admin's decisions so far."""
    from bot.store import StoreError

    store = open_store_or_fail(settings)
    try:
        store.flush()
        return store.signals(days), store.decisions()
    except StoreError as exc:
        raise CommandError(
            f"the question log {store_name(settings)} cannot be read ({exc})"
        ) from None
    finally:
        store.close()


def open_store_or_fail(settings: Settings) -> Store:
    from bot.store import StoreError, open_store

    try:
        return open_store(settings.data_dir, settings.database_url)
    except StoreError as exc:
        raise CommandError(str(exc)) from None


def find_suggestion(live: LiveKnowledge, settings: Settings, key: str) -> Suggestion:
    from bot.curation.suggestions import suggest

    found = {s.key: s for s in suggest(live.kb, *use_of(settings, 365), limit=10_000)}
    if key not in found:
        raise CommandError(f"no suggestion {key!r}: run `stakhanov-bot suggestions` for the keys")
    return found[key]


def cmd_accept(args: argparse.Namespace, settings: Settings) -> int:
    """Accept a suggestion: edit, then validate, check and evaluate before writing anything."""
    live = open_knowledge(args, settings)
    from bot.curation import accept as curation
    from bot.curation.trial import eval_sets, measure

    chosen = find_suggestion(live, settings, args.key)
    print(
        f"Trying {chosen.question!r} as {args.target} (validate, check, evaluation sets)…",
        file=sys.stderr,
    )
    sets = eval_sets()
    before = measure(live.kb, settings.thresholds, sets)
    try:
        done = curation.accept(
            live, chosen, args.target, before, settings.thresholds, sets, settings.data_dir
        )
    except curation.Refused as exc:
        if exc.trial is None:
            raise CommandError(f"refused, nothing written: {exc}") from None
        reasons = "\n  ".join(exc.trial.problems)
        raise CommandError(
            f"refused, nothing written: {exc.description} would make:\n  {reasons}"
        ) from None
    except OSError as exc:
        raise CommandError(f"the change passed but cannot be written: {exc}") from None
    store = open_store_or_fail(settings)
    try:
        store.decide(chosen.normalised, curation.decision(args.target))
        store.publish_knowledge(done.files.pack())
    finally:
        store.close()
    backups = f", backup {', '.join(map(str, done.backups))}" if done.backups else ""
    print(f"Done: {done.description}. Written to {done.files.path.parent}{backups}")
    assert done.trial.after is not None
    print("\n".join(done.trial.after.lines(before)))
    if not store.shared:
        print("A running bot serves it after /reload or `kill -HUP`.")
    return EXIT_OK


def cmd_ignore(args: argparse.Namespace, settings: Settings) -> int:
    """Ignore a suggestion: it will not be suggested again."""
    live = open_knowledge(args, settings)
    chosen = find_suggestion(live, settings, args.key)
    store = open_store_or_fail(settings)
    try:
        store.decide(chosen.normalised, "ignored")
    finally:
        store.close()
    print(f"Ignored: {chosen.question}")
    return EXIT_OK


def store_name(settings: Settings) -> str:
    """Where the question log is, for messages (never the database password)."""
    if settings.database_url:
        return "DATABASE_URL"
    from bot.store import LOG_NAME

    return str(settings.data_dir / LOG_NAME)


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the Telegram bot until SIGINT or SIGTERM."""
    settings.require_token()
    live = open_knowledge(args, settings)
    from bot.telegram.app import StartupError, run
    from bot.telegram.logs import configure_logging

    configure_logging(settings)
    try:
        run(settings, live, args.webhook_url, args.listen, args.port, HANGUPS)
    except StartupError as exc:
        raise CommandError(str(exc), exc.code) from None
    return EXIT_OK


COMMANDS = {
    "console": cmd_console,
    "ask": cmd_ask,
    "validate": cmd_validate,
    "eval": cmd_eval,
    "check": cmd_check,
    "suggestions": cmd_suggestions,
    "accept": cmd_accept,
    "ignore": cmd_ignore,
    "unanswered": cmd_unanswered,
    "run": cmd_run,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stakhanov-bot",
        description="Sourced answers about the Soviet Stakhanovite movement.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.add_argument("--knowledge", metavar="PATH", help="knowledge YAML file to use")
        return command

    console = add("console", "ask questions interactively (no Telegram needed)")
    console.add_argument("--lang", choices=SUPPORTED, help="answer in this language")

    ask = add("ask", "answer a question, or one question per line of standard input")
    ask.add_argument("question", nargs="?", help="the question (omit to read standard input)")
    ask.add_argument("--json", action="store_true", help="one JSON object per line")
    ask.add_argument("--lang", choices=SUPPORTED, help="answer in this language")
    ask.add_argument(
        "--after",
        metavar="QUESTION",
        help="read the question as a follow-up to this one, as if it had just been answered",
    )

    validate = add("validate", "check a knowledge file and summarise it")
    validate.add_argument("path", nargs="?", help="file to check (default: the one in use)")

    evaluate = add("eval", "measure answer quality on labelled question sets")
    evaluate.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="evaluation YAML files or folders of them (default: tests/eval/questions.yaml); "
        "with more than one set, one line of figures per set and no misses",
    )
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")

    cross = add("check", "cross-validate the knowledge: each phrasing held out and matched")
    cross.add_argument("path", nargs="?", help="file to check (default: the one in use)")
    cross.add_argument("--json", action="store_true", help="print the report as JSON")

    proposals = add("suggestions", "what use suggests adding to the knowledge, most frequent first")
    proposals.add_argument("--days", type=int, default=30, help="from the last N days (default 30)")
    proposals.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    proposals.add_argument("--json", action="store_true", help="print them as JSON")

    accept = add("accept", "accept a suggestion after validate, check and the evaluation sets")
    accept.add_argument("key", help="the suggestion's key (from `suggestions`)")
    accept.add_argument("target", help="the entry id to add it to, or out-of-scope")

    ignore = add("ignore", "ignore a suggestion: it will not be suggested again")
    ignore.add_argument("key", help="the suggestion's key (from `suggestions`)")

    stub = add("unanswered", "print logged unanswered questions as evaluation cases to label")
    stub.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    stub.add_argument("--days", type=int, default=30, help="from the last N days (default 30)")

    run = add("run", "run the Telegram bot (long polling, or a webhook server)")
    run.add_argument(
        "--webhook-url", metavar="URL", help="public HTTPS URL: serve a webhook instead of polling"
    )
    run.add_argument(
        "--listen",
        default="0.0.0.0",
        metavar="ADDR",
        help="webhook listen address (default 0.0.0.0)",
    )
    run.add_argument(
        "--port", type=int, default=8443, metavar="N", help="webhook port (default 8443)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command == "run" and hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, lambda number, _: HANGUPS.append(number))
    from bot.settings import SettingsError, from_env, load_dotenv_file

    try:
        load_dotenv_file()
        settings = from_env()
        return COMMANDS[args.command](args, settings)
    except SettingsError as exc:
        print(f"stakhanov-bot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CommandError as exc:
        print(f"stakhanov-bot: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
