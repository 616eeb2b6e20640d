"""The Telegram front end: thin handlers over the pure core, wired in `build_application`.

Handlers parse the update, call the core (`replies`, `knowledge`, `store`) and render the
reply. Callback data carries only ids, checked against the knowledge being served.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import re
import signal
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import httpx
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import (
    BadRequest,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot import language as lang
from bot import replies
from bot.knowledge import (
    MAX_FILE_BYTES,
    Entry,
    KnowledgeBase,
    KnowledgeError,
    LiveKnowledge,
    Source,
    home_path,
)
from bot.settings import Settings
from bot.store import LOG_NAME, PREFERENCES_NAME, Preferences, QuestionLog, replace_file

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 1000
REQUEST_TIMEOUT = 20.0
CONNECTIONS = 16  # a small pool: httpcore scans every pooled connection per request
TOPICS_PER_PAGE = 8
MAX_UPDATE_BYTES = 1024 * 1024  # a webhook body larger than this is refused unread
SEND_RETRY_DELAYS = (0.5, 1.0, 2.0)  # seconds before each retry of a failed send: 3.5 s at most
TOKEN_CHECKS = 3  # getMe calls before a 401/404 on getUpdates counts as a revoked token
EXIT_REVOKED = 3  # exit status when Telegram rejects the token while the bot runs
CHAT_BURST = 5  # questions a chat may send at once before it is slowed down
CHAT_RATE = 1.0  # questions per second a chat gets after that: Telegram's own per-chat pace
SLOW_DOWN_EVERY = 10.0  # seconds between two "slow down" notes to one chat
MAX_TRACKED_CHATS = 10_000  # then chats whose bucket is full again are forgotten
HANGUP_QUIET = 0.3  # seconds without SIGHUP before reloading: a burst makes one reload
EXAMPLE_ENTRIES = ("record-1935", "death", "stakhanovite-meaning", "city-renamed")
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
USER_COMMANDS = [
    BotCommand("start", "What I know, with examples"),
    BotCommand("topics", "Everything I can answer"),
    BotCommand("lang", "Choose the answer language"),
    BotCommand("help", "How to ask"),
]
ADMIN_COMMANDS = [
    *USER_COMMANDS,
    BotCommand("reload", "Admin: re-read the knowledge file"),
    BotCommand("unanswered", "Admin: questions I could not answer"),
    BotCommand("stats", "Admin: answer counts"),
]


@dataclass
class Services:
    """What the handlers share, kept in `application.bot_data`."""

    settings: Settings
    live: LiveKnowledge
    log: QuestionLog
    preferences: Preferences
    changing: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held by every change to the knowledge (reload, upload, SIGHUP): one at a time, and
    each reports the state that is live when it finishes."""
    hangup_pending: bool = False
    budget: ChatBudget = field(default_factory=lambda: ChatBudget())
    last_hangup: float = 0.0
    early_hangups: list[int] = field(default_factory=list)
    """SIGHUPs received while the process was starting, before the loop could handle them."""


def services_of(application: Application) -> Services:
    return application.bot_data["services"]


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return services_of(context.application)


def ui_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """The user's chosen language, else their Telegram language, else English."""
    chosen = (context.user_data or {}).get("lang")
    user = update.effective_user
    return chosen or lang.supported(user.language_code if user else None) or lang.DEFAULT


def keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup | None:
    buttons = [
        [InlineKeyboardButton(label[:60], callback_data=data) for label, data in row]
        for row in rows
    ]
    return InlineKeyboardMarkup(buttons) if buttons else None


def entry_keyboard(entries: list[Entry], language: str) -> InlineKeyboardMarkup | None:
    return keyboard([[(e.text("title", language), f"a:{e.id}")] for e in entries])


async def send_entry(message: Message, kb: KnowledgeBase, entry: Entry, language: str) -> None:
    related = [kb.by_id[r] for r in entry.related if r in kb.by_id]
    await message.reply_text(
        replies.entry_html(kb, entry, language),
        parse_mode=ParseMode.HTML,
        link_preview_options=NO_PREVIEW,
        reply_markup=entry_keyboard(related, language),
    )


async def send_reply(message: Message, kb: KnowledgeBase, reply: replies.Reply) -> None:
    """Render a matched question: the answer, a clarification, or an honest decline."""
    language = reply.language
    if reply.entry is not None:
        await send_entry(message, kb, reply.entry, language)
    elif reply.suggestions:
        text = (
            replies.escape(replies.message("clarify", language))
            if reply.status == "clarify"
            else replies.decline_html(language, reply.further, "closest")
        )
        await message.reply_text(
            text,
            parse_mode=ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
            reply_markup=entry_keyboard([entry for entry, _ in reply.suggestions], language),
        )
    elif reply.match.small_talk:
        await message.reply_text(replies.message(replies.small_talk_reply(reply), language))
    else:
        await message.reply_text(
            replies.decline_html(language, reply.further, "no_match_hint"),
            parse_mode=ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
        )


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet, say what the bot knows, and offer example questions."""
    language = ui_language(update, context)
    kb = services(context).live.kb
    examples = [kb.by_id[i] for i in EXAMPLE_ENTRIES if i in kb.by_id] or list(kb.entries[:4])
    text = replies.message("start", language, sources=replies.source_names(kb))
    rows = [[(replies.first_question(e, language), f"a:{e.id}")] for e in examples]
    await update.effective_message.reply_text(
        replies.escape(text), parse_mode=ParseMode.HTML, reply_markup=keyboard(rows)
    )


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain how to ask and list the commands."""
    text = replies.message("help", ui_language(update, context), username=context.bot.username)
    await update.effective_message.reply_text(text)


def topics_page(
    kb: KnowledgeBase, language: str, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    pages = max(1, -(-len(kb.entries) // TOPICS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = kb.entries[page * TOPICS_PER_PAGE : (page + 1) * TOPICS_PER_PAGE]
    rows = [[(e.text("title", language), f"a:{e.id}")] for e in shown]
    nav = [("‹", f"t:{page - 1}")] if page > 0 else []
    nav += [("›", f"t:{page + 1}")] if page + 1 < pages else []
    if nav:
        rows.append(nav)
    return replies.message("topics", language, page=page + 1, pages=pages), keyboard(rows)


async def topics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List every entry's title as buttons, a page at a time."""
    text, markup = topics_page(services(context).live.kb, ui_language(update, context), 0)
    await update.effective_message.reply_text(text, reply_markup=markup)


async def lang_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Let the user choose the answer language: `/lang uk` at once, else with buttons."""
    choice = (context.args or [""])[0].lower()
    if choice == "auto" or lang.supported(choice) == choice:
        chosen = None if choice == "auto" else choice
        if chosen:
            context.user_data["lang"] = chosen
        else:
            context.user_data.pop("lang", None)
        await remember_language(update, context, chosen)
        key = "language_set" if chosen else "language_auto"
        await update.effective_message.reply_text(
            replies.message(key, chosen or ui_language(update, context))
        )
        return
    language = ui_language(update, context)
    rows = [
        [("English", "l:en"), ("Русский", "l:ru"), ("Українська", "l:uk")],
        [(replies.message("auto", language), "l:auto")],
    ]
    await update.effective_message.reply_text(
        replies.message("choose_language", language), reply_markup=keyboard(rows)
    )


def addressed_text(message: Message, bot_username: str, bot_id: int) -> str | None:
    """The question in a group message meant for the bot (mention or reply), else None."""
    text = message.text or ""
    mention = f"@{bot_username}".lower()
    mentioned = any(
        entity.type == MessageEntity.MENTION and value.lower() == mention
        for entity, value in message.parse_entities([MessageEntity.MENTION]).items()
    )
    replied = (
        message.reply_to_message is not None
        and message.reply_to_message.from_user is not None
        and message.reply_to_message.from_user.id == bot_id
    )
    if not (mentioned or replied):
        return None
    return re.sub(re.escape(mention), " ", text, flags=re.IGNORECASE).strip()


class ChatBudget:
    """A token bucket per chat: CHAT_BURST questions at once, then CHAT_RATE a second, so
    one chat cannot fill the bot's overall sending budget and delay everyone else."""

    def __init__(self) -> None:
        self._buckets: dict[int, tuple[float, float]] = {}
        self._warned: dict[int, float] = {}

    def take(self, chat_id: int, now: float) -> bool:
        tokens, last = self._buckets.get(chat_id, (CHAT_BURST, now))
        tokens = min(CHAT_BURST, tokens + (now - last) * CHAT_RATE)
        allowed = tokens >= 1
        self._buckets[chat_id] = (tokens - 1 if allowed else tokens, now)
        if len(self._buckets) > MAX_TRACKED_CHATS:
            self._forget_full(now)
        return allowed

    def should_warn(self, chat_id: int, now: float) -> bool:
        """At most one "slow down" note per chat per SLOW_DOWN_EVERY seconds."""
        if now - self._warned.get(chat_id, -SLOW_DOWN_EVERY) < SLOW_DOWN_EVERY:
            return False
        self._warned[chat_id] = now
        return True

    def _forget_full(self, now: float) -> None:
        self._buckets = {
            chat: (tokens, last)
            for chat, (tokens, last) in self._buckets.items()
            if tokens + (now - last) * CHAT_RATE < CHAT_BURST
        }
        self._warned = {c: t for c, t in self._warned.items() if now - t < SLOW_DOWN_EVERY}


async def question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a text question; log it for /unanswered and /stats."""
    message = update.effective_message
    text = message.text or ""
    if message.chat.type != ChatType.PRIVATE:
        text = addressed_text(message, context.bot.username, context.bot.id)
        if text is None:
            return
    chosen = (context.user_data or {}).get("lang")
    user = update.effective_user
    fallback = user.language_code if user else None
    if len(text) > MAX_QUESTION_CHARS:
        language = chosen or lang.detect(text[:200], fallback)
        await message.reply_text(replies.message("too_long", language, limit=MAX_QUESTION_CHARS))
        return
    svc = services(context)
    now = asyncio.get_running_loop().time()
    if not svc.budget.take(message.chat.id, now):
        if svc.budget.should_warn(message.chat.id, now):
            language = chosen or lang.detect(text[:200], fallback)
            await message.reply_text(replies.message("slow_down", language))
        return
    kb = svc.live.kb
    reply = await asyncio.to_thread(
        replies.reply_to,
        kb,
        text,
        language=chosen,
        fallback=fallback,
        thresholds=svc.settings.thresholds,
    )
    if not reply.match.small_talk:
        svc.log.record(text, reply.match.normalised, reply.status, reply.language)
    await send_reply(message, kb, reply)


def whole_number(text: str) -> int | None:
    """An ASCII whole number, or None: `str.isdigit` also accepts "²", which `int` refuses."""
    return int(text) if re.fullmatch(r"-?[0-9]{1,6}", text) else None


async def other_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A document that is not .yaml/.yml: admins are told the format, others to send text."""
    user = update.effective_user
    if user is not None and user.id in services(context).settings.admin_ids:
        await update.effective_message.reply_text(
            "Knowledge files are accepted as .yaml or .yml documents; nothing changed."
        )
        return
    await not_text(update, context)


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A /command the bot doesn't have: say so, and point to /help."""
    await update.effective_message.reply_text(
        replies.message("unknown_command", ui_language(update, context))
    )


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice and the like: ask for text."""
    await update.effective_message.reply_text(
        replies.message("text_only", ui_language(update, context))
    )


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a button press: an entry, a topics page or a language; always acknowledged."""
    query = update.callback_query
    language = ui_language(update, context)
    kind, _, value = (query.data or "").partition(":")
    kb = services(context).live.kb
    if kind == "a" and value in kb.by_id:
        await acknowledge(query)
        if query.message is not None:
            await send_entry(query.message, kb, kb.by_id[value], language)
    elif kind == "t" and whole_number(value) is not None:
        await acknowledge(query)
        text, markup = topics_page(kb, language, whole_number(value))
        await edit(query, text, reply_markup=markup)
    elif kind == "l" and value == "auto":
        context.user_data.pop("lang", None)
        await remember_language(update, context, None)
        await acknowledge(query)
        await edit(query, replies.message("language_auto", language))
    elif kind == "l" and lang.supported(value) == value:
        context.user_data["lang"] = value
        await remember_language(update, context, value)
        await acknowledge(query)
        await edit(query, replies.message("language_set", value))
    else:
        await acknowledge(query, replies.message("gone", language), show_alert=True)


async def remember_language(
    update: Update, context: ContextTypes.DEFAULT_TYPE, language: str | None
) -> None:
    if update.effective_user is not None:
        prefs = services(context).preferences
        await asyncio.to_thread(prefs.set_language, update.effective_user.id, language)


async def restore_preferences(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Before any handler: a user's remembered language, read once per user and process."""
    user = update.effective_user
    if user is None or context.user_data is None or "restored" in context.user_data:
        return
    context.user_data["restored"] = True
    remembered = await asyncio.to_thread(services(context).preferences.language, user.id)
    if remembered and "lang" not in context.user_data:
        context.user_data["lang"] = remembered


async def acknowledge(query: CallbackQuery, text: str | None = None, **kwargs: Any) -> None:
    """Answer a callback query; if Telegram refuses (too old, already answered), the
    button's action still happens."""
    try:
        await query.answer(text, **kwargs)
    except TelegramError as exc:
        logger.info("callback query not acknowledged: %s", exc)


async def edit(query: CallbackQuery, text: str, **kwargs: Any) -> None:
    """Edit the button's message; pressing the same button twice changes nothing, quietly."""
    try:
        await query.edit_message_text(text, **kwargs)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Inline mode: the best matching entries as shareable answers with their sources."""
    query = update.inline_query
    svc = services(context)
    kb = svc.live.kb
    text = query.query[:MAX_QUESTION_CHARS]
    language = (context.user_data or {}).get("lang") or lang.detect(
        text, query.from_user.language_code
    )
    if text.strip():
        candidates, _ = await asyncio.to_thread(kb.index.search, text, 5)
        floor = svc.settings.thresholds.clarify
        entries = [kb.by_id[c.entry_id] for c in candidates if c.score >= floor]
    else:
        entries = [kb.by_id[i] for i in EXAMPLE_ENTRIES if i in kb.by_id]
    if text.strip() and not entries:
        further = replies.further_sources(kb, candidates, language)
        await query.answer([no_match_result(language, further)], cache_time=30, is_personal=True)
        return
    results = [
        InlineQueryResultArticle(
            id=entry.id,
            title=entry.text("title", language),
            description=entry.text("answer", language)[:120],
            input_message_content=InputTextMessageContent(
                replies.entry_html(kb, entry, language),
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
            ),
        )
        for entry in entries
    ]
    await query.answer(results, cache_time=30, is_personal=True)


def no_match_result(language: str, further: tuple[Source, ...]) -> InlineQueryResultArticle:
    """The inline result for a question no entry answers: the honest decline, shareable."""
    return InlineQueryResultArticle(
        id="no-match",
        title=replies.message("inline_no_match", language),
        description=replies.message("no_match_hint", language),
        input_message_content=InputTextMessageContent(
            replies.decline_html(language, further, "no_match_hint"),
            parse_mode=ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
        ),
    )


async def admin_allowed(update: Update, context: ContextTypes.DEFAULT_TYPE, action: str) -> bool:
    """Admins in a private chat may; anyone else is told no, and the attempt is logged."""
    user = update.effective_user
    message = update.effective_message
    if user is None or user.id not in services(context).settings.admin_ids:
        logger.warning(
            "refused %s for user %s: not an admin", action, user.id if user else "unknown"
        )
        await message.reply_text("Sorry, you are not allowed to do that.")
        return False
    if update.effective_chat is None or update.effective_chat.type != ChatType.PRIVATE:
        await message.reply_text("Admin commands work only in a private chat with me.")
        return False
    return True


def problems_text(exc: KnowledgeError, limit: int = 3500) -> str:
    """Validation problems, escaped, cut to fit one message with its heading."""
    return replies.fit_lines([f"• {replies.escape(p)}" for p in exc.problems], limit)


async def reload_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Admin: re-read and validate the knowledge file; swap it in or keep the old one."""
    if not await admin_allowed(update, context, "/reload"):
        return
    svc = services(context)
    live = svc.live
    try:
        async with svc.changing:
            changes = await asyncio.to_thread(live.reload)
            summary = changes.summary(live.kb)
    except KnowledgeError as exc:
        text = f"Reload failed; still serving the previous knowledge.\n{problems_text(exc)}"
        await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML)
        return
    logger.info("knowledge reloaded by /reload: %s", summary)
    await update.effective_message.reply_text("Reloaded. " + summary)


async def upload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Admin: a .yaml document replaces the knowledge file if it validates."""
    if not await admin_allowed(update, context, "knowledge upload"):
        return
    message = update.effective_message
    document = message.document
    if document.file_size is not None and document.file_size > MAX_FILE_BYTES:
        await message.reply_text("That file is larger than 1 MiB; nothing changed.")
        return
    data = bytes(await (await document.get_file()).download_as_bytearray())
    svc = services(context)
    async with svc.changing:
        reply = await install_upload(svc, data)
    await message.reply_text(reply, parse_mode=ParseMode.HTML)


async def install_upload(svc: Services, data: bytes) -> str:
    """Validate, back up, write and serve an uploaded knowledge file; the reply (HTML)."""
    live = svc.live
    try:
        target = await asyncio.to_thread(live.upload_target, home_path(svc.settings.data_dir).parent)
        kb = await asyncio.to_thread(live.parse, data, target)
    except KnowledgeError as exc:
        named = KnowledgeError([p.replace(str(target), "uploaded file") for p in exc.problems])
        return f"That file has problems; nothing changed.\n{problems_text(named)}"
    except OSError as exc:
        logger.error("cannot prepare %s for the knowledge file: %s", svc.settings.data_dir, exc)
        return "The file could not be saved; nothing changed."
    backups = svc.settings.data_dir / "backups"
    try:
        backup = await asyncio.to_thread(replace_file, target, data, backups)
    except OSError as exc:
        logger.error("cannot write the knowledge file %s: %s", target, exc)
        return "The file is valid but could not be saved; nothing changed."
    live.path = target
    changes = live.install(kb)
    logger.info("knowledge replaced by upload: %s", changes.summary(kb))
    saved = f" Previous file backed up as {replies.escape(backup.name)}." if backup else ""
    return f"Installed. {replies.escape(changes.summary(kb))}{saved}"


async def log_unavailable(update: Update, exc: sqlite3.Error) -> None:
    logger.warning("question log cannot be read: %s", exc)
    await update.effective_message.reply_text(
        f"The question log cannot be read right now ({exc}); answering is not affected. "
        "Try again later."
    )


async def unanswered(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Admin: the most frequent recent questions that got no answer or a clarification."""
    if not await admin_allowed(update, context, "/unanswered"):
        return
    arg = context.args[0] if context.args else "10"
    number = whole_number(arg)
    limit = min(number, 50) if number is not None and number > 0 else 10
    log = services(context).log
    try:
        await asyncio.to_thread(log.flush)
        rows = await asyncio.to_thread(log.unanswered, limit)
    except sqlite3.Error as exc:
        await log_unavailable(update, exc)
        return
    if not rows:
        await update.effective_message.reply_text("No unanswered questions in the last 30 days.")
        return
    lines = [f"<b>Unanswered, last 30 days (top {len(rows)}):</b>"]
    for row in rows:
        when = row.last_asked.strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"{row.count}× {replies.escape(row.question[:200])} <i>(last {when})</i>")
    await update.effective_message.reply_text(
        replies.fit_lines(lines), parse_mode=ParseMode.HTML
    )


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Admin: answered / clarify / no_match counts, overall and for the last 24 hours."""
    if not await admin_allowed(update, context, "/stats"):
        return
    log = services(context).log
    try:
        await asyncio.to_thread(log.flush)
        counts = await asyncio.to_thread(log.stats)
    except sqlite3.Error as exc:
        await log_unavailable(update, exc)
        return

    def line(label: str, c: dict[str, int]) -> str:
        return (
            f"{label}: {c['answered']} answered, {c['clarify']} clarify, {c['no_match']} no_match"
        )

    await update.effective_message.reply_text(
        line("Overall", counts.overall) + "\n" + line("Last 24 hours", counts.last_day)
    )


def update_kind(update: object) -> str:
    """The kind of an update (message, callback_query, ...), never its content."""
    if isinstance(update, Update):
        for name in ("message", "edited_message", "callback_query", "inline_query", "channel_post"):
            if getattr(update, name) is not None:
                return name
        return "other update"
    return type(update).__name__


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the error with the kind of update, apologise in private chats, keep running.

    Network trouble while polling (no update) is retried by PTB itself: one line. A Bot API
    failure while replying is logged in one line; a timed-out reply may still have been
    delivered, so it gets no apology. Anything else is a bug: logged with its traceback.
    """
    error = context.error
    kind = update_kind(update)
    if update is None and isinstance(error, NetworkError | RetryAfter):
        logger.warning("Bot API request failed, retrying: %s", error)
        return
    if isinstance(error, TimedOut):
        logger.warning("Bot API request timed out while handling %s: %s", kind, error)
        return
    if isinstance(error, TelegramError):
        logger.error("Bot API error while handling %s: %s", kind, error)
    else:
        logger.error("error while handling %s", kind, exc_info=error)
    if isinstance(update, Update) and update.effective_message and update.effective_chat:
        if update.effective_chat.type == ChatType.PRIVATE:
            try:
                await update.effective_message.reply_text(
                    replies.message("error", ui_language(update, context))
                )
            except TelegramError:
                pass


async def on_startup(application: Application) -> None:
    """Reload on SIGHUP (and now, if one came during start-up); register the command lists."""
    svc = services_of(application)
    if hasattr(signal, "SIGHUP"):
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, lambda: on_hangup(application))
        if svc.early_hangups:
            on_hangup(application)
    bot = application.bot
    await bot.set_my_commands(USER_COMMANDS)
    for admin in services_of(application).settings.admin_ids:
        try:
            await bot.set_my_commands(ADMIN_COMMANDS, scope=BotCommandScopeChat(admin))
        except TelegramError as exc:
            logger.info("admin commands not registered for %s: %s", admin, exc)
    logger.info("bot @%s started: %s", bot.username, services_of(application).live.kb.summary())


def on_hangup(application: Application) -> None:
    """SIGHUP: one reload once the signals have been quiet for HANGUP_QUIET seconds, so a
    burst of them (a script, a supervisor) costs one reload, not one each."""
    svc = services_of(application)
    svc.last_hangup = asyncio.get_running_loop().time()
    if not svc.hangup_pending:
        svc.hangup_pending = True
        application.create_task(reload_on_signal(application))


async def reload_on_signal(application: Application) -> None:
    svc = services_of(application)
    loop = asyncio.get_running_loop()
    while (wait := svc.last_hangup + HANGUP_QUIET - loop.time()) > 0:
        await asyncio.sleep(wait)
    async with svc.changing:
        svc.hangup_pending = False
        try:
            changes = await asyncio.to_thread(svc.live.reload)
        except KnowledgeError as exc:
            logger.error("SIGHUP reload failed; still serving the previous knowledge:\n%s", exc)
            return
        logger.info("knowledge reloaded on SIGHUP: %s", changes.summary(svc.live.kb))


async def on_shutdown(application: Application) -> None:
    await asyncio.to_thread(services_of(application).log.close)


@dataclass
class TokenState:
    revoked: bool = False
    on_revoked: Callable[[], None] = lambda: None


class CheckedBot(ExtBot):
    """A bot whose getUpdates tells a rejected token from a passing proxy error.

    Telegram answers 401 or 404 for a revoked token, and PTB then stops polling for good
    while the process lives on. A proxy or load balancer can give the same status for a
    moment. So a 401/404 on getUpdates is checked with getMe (TOKEN_CHECKS times, a second
    apart): if getMe works, the error is retried like any network error; if the token is
    rejected every time, the application stops gracefully and `run` exits with EXIT_REVOKED,
    for a supervisor to alert on.
    """

    __slots__ = ("token_state",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        with self._unfrozen():
            self.token_state = TokenState()

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        if self.token_state.revoked:
            await asyncio.sleep(0.1)
            return ()
        try:
            return await super().get_updates(*args, **kwargs)
        except InvalidToken:
            if not await self._token_rejected():
                logger.warning("getUpdates said the token is invalid, but getMe works: retrying")
                raise NetworkError("getUpdates answered 401/404 while the token works") from None
            self.token_state.revoked = True
            self.token_state.on_revoked()
            return ()

    async def _token_rejected(self) -> bool:
        for attempt in range(TOKEN_CHECKS):
            if attempt:
                await asyncio.sleep(1.0)
            try:
                await self.get_me()
                return False
            except InvalidToken:
                continue
            except TelegramError:
                return False
        return True


class RetryingRequest(HTTPXRequest):
    """Bot API requests retried, with backoff and a bound, when that cannot duplicate a
    message: on a 5xx answer (the Bot API answered, so it did not perform the method) and
    when the connection could not be opened (nothing was sent). A connection dropped after
    sending is not retried: the message may have gone out, and nobody should read it twice.
    """

    __slots__ = ()

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        for delay in (*SEND_RETRY_DELAYS, None):
            try:
                code, payload = await super().do_request(*args, **kwargs)
            except NetworkError as exc:
                if delay is None or not isinstance(exc.__cause__, httpx.ConnectError):
                    raise
                logger.info("Bot API unreachable (%s); retrying in %.1f s", exc, delay)
            else:
                if code < 500 or delay is None:
                    return code, payload
                logger.info("Bot API answered %s; retrying in %.1f s", code, delay)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")


def checked_bot(settings: Settings) -> CheckedBot:
    """The bot with the settings' API address, rate limiter, pool and timeouts."""

    def request(kind: type[HTTPXRequest] = HTTPXRequest) -> HTTPXRequest:
        return kind(
            connection_pool_size=CONNECTIONS,
            pool_timeout=REQUEST_TIMEOUT,
            read_timeout=REQUEST_TIMEOUT,
            write_timeout=REQUEST_TIMEOUT,
        )

    return CheckedBot(
        settings.require_token(),
        base_url=settings.bot_api_url,
        base_file_url=settings.file_api_url,
        request=request(RetryingRequest),
        get_updates_request=request(),
        rate_limiter=AIORateLimiter(
            overall_max_rate=settings.max_messages_per_second, max_retries=3
        ),
    )


def build_application(
    settings: Settings,
    live: LiveKnowledge,
    log: QuestionLog,
    early_hangups: list[int] | None = None,
) -> Application:
    """The bot's Application: settings, rate limiter, concurrency and every handler."""
    application = (
        Application.builder()
        .bot(checked_bot(settings))
        .concurrent_updates(True)
        .post_init(on_startup)
        .post_shutdown(on_shutdown)
        .build()
    )
    application.bot_data["services"] = Services(
        settings,
        live,
        log,
        Preferences(settings.data_dir / PREFERENCES_NAME),
        early_hangups=early_hangups if early_hangups is not None else [],
    )
    application.add_handler(TypeHandler(Update, restore_preferences), group=-1)
    private = filters.ChatType.PRIVATE
    fresh = filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CommandHandler("topics", topics))
    application.add_handler(CommandHandler("lang", lang_command))
    application.add_handler(CommandHandler("reload", reload_command))
    application.add_handler(CommandHandler("unanswered", unanswered))
    application.add_handler(CommandHandler("stats", stats))
    application.add_handler(CallbackQueryHandler(button))
    application.add_handler(InlineQueryHandler(inline_query))
    application.add_handler(MessageHandler(fresh & filters.TEXT & ~filters.COMMAND, question))
    yaml_file = filters.Document.FileExtension("yaml") | filters.Document.FileExtension("yml")
    application.add_handler(MessageHandler(fresh & private & yaml_file, upload))
    application.add_handler(MessageHandler(fresh & private & filters.COMMAND, unknown_command))
    application.add_handler(MessageHandler(fresh & private & filters.Document.ALL, other_document))
    application.add_handler(
        MessageHandler(fresh & private & ~filters.TEXT & ~filters.StatusUpdate.ALL, not_text)
    )
    application.add_error_handler(on_error)
    return application


class RedactingFormatter(logging.Formatter):
    """Formats records with every secret (the bot token) replaced, tracebacks included."""

    def __init__(self, secrets: list[str], fmt: str) -> None:
        super().__init__(fmt)
        self._secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, "[token]")
        return text


class OneLineNetworkErrors(logging.Filter):
    """PTB's network retry loop logs expected outages with a traceback; keep them to one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.exc_info
            and record.name.startswith("telegram")
            and "Network Retry Loop" in record.getMessage()
        ):
            error = record.exc_info[1]
            record.msg = f"{record.getMessage()} ({type(error).__name__}: {error})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def configure_logging(settings: Settings) -> None:
    """Log to stderr at LOG_LEVEL, the token redacted; httpx's per-request lines silenced."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        RedactingFormatter(
            [settings.token or ""], "%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    )
    handler.addFilter(OneLineNetworkErrors())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    threading.excepthook = log_thread_exception


def log_thread_exception(args: threading.ExceptHookArgs) -> None:
    """An exception that ends a thread goes through the logging (and its redaction) too."""
    logger.error(
        "thread %s ended with an error",
        args.thread.name if args.thread else "?",
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )


def webhook_secret(token: str) -> str:
    """A webhook secret derived from the token: the same on every instance, never the token."""
    return hashlib.sha256(f"stakhanov-bot webhook:{token}".encode()).hexdigest()[:48]


class StartupError(Exception):
    """The bot could not start for a reason the operator can fix; `code` is the exit status."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def run(
    settings: Settings,
    live: LiveKnowledge,
    webhook_url: str | None,
    listen: str,
    port: int,
    early_hangups: list[int] | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM: long polling, or PTB's webhook server."""
    try:
        _serve(settings, live, webhook_url, listen, port, early_hangups)
    except InvalidToken:
        raise StartupError("TELEGRAM_BOT_TOKEN was rejected by the Bot API", 2) from None
    except NetworkError as exc:
        reason = str(exc).replace(settings.token or "\0", "[token]")
        raise StartupError(
            f"cannot reach the Bot API at {settings.api_base_url}: {reason}", 1
        ) from None


def cap_webhook_bodies(limit: int = MAX_UPDATE_BYTES) -> None:
    """Make PTB's webhook server (Tornado) refuse request bodies over `limit` bytes.

    Tornado checks Content-Length against `max_body_size` before reading the body and stops
    reading a chunked one at the limit; PTB builds its HTTPServer without that option, so the
    class it uses is given a default. Telegram's updates are a few kilobytes: without this, an
    unauthenticated client could make the bot buffer 100 MB per request before the secret is
    checked.
    """
    from telegram.ext._utils import webhookhandler
    from tornado.httpserver import HTTPServer

    webhookhandler.HTTPServer = functools.partial(HTTPServer, max_body_size=limit)


def _serve(
    settings: Settings,
    live: LiveKnowledge,
    webhook_url: str | None,
    listen: str,
    port: int,
    early_hangups: list[int] | None,
) -> None:
    log = QuestionLog(settings.data_dir / LOG_NAME)
    application = build_application(settings, live, log, early_hangups)
    if webhook_url:
        cap_webhook_bodies()
        application.run_webhook(
            listen=listen,
            port=port,
            url_path=urlparse(webhook_url).path.strip("/"),
            webhook_url=webhook_url,
            secret_token=webhook_secret(settings.require_token()),
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        bot = application.bot
        if isinstance(bot, CheckedBot):
            bot.token_state.on_revoked = application.stop_running
        application.run_polling(allowed_updates=Update.ALL_TYPES)
        if isinstance(bot, CheckedBot) and bot.token_state.revoked:
            raise StartupError(
                "TELEGRAM_BOT_TOKEN was rejected by the Bot API while running (revoked?)",
                EXIT_REVOKED,
            )
