"""Handlers for people asking: commands, questions, buttons and language preferences."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from telegram import (
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import (
    BadRequest,
    TelegramError,
)
from telegram.ext import (
    ContextTypes,
)

from bot import language as lang
from bot import replies
from bot.knowledge import (
    Entry,
    KnowledgeBase,
)
from bot.telegram.common import (
    EXAMPLE_ENTRIES,
    MAX_QUESTION_CHARS,
    NO_PREVIEW,
    TOKEN,
    TOPICS_PER_PAGE,
    answer_rows,
    keyboard,
    new_token,
    pick_rows,
    services,
    ui_language,
)

logger = logging.getLogger(__name__)

FOLLOW_UP_SECONDS = 600.0
"""A short question within ten minutes of an answer may follow it up ("and where?"); later,
it starts afresh."""


def remembered_topic(update: Update, context: ContextTypes.DEFAULT_TYPE, now: float) -> str | None:
    """The topic of the last answer to this user in this chat, if recent enough."""
    user = update.effective_user
    topics = (context.chat_data or {}).get("topics", {})
    topic, when = topics.get(user.id if user else None, (None, 0.0))
    return topic if topic is not None and now - when <= FOLLOW_UP_SECONDS else None


def remember_pick(
    update: Update, context: ContextTypes.DEFAULT_TYPE, entry: Entry, language: str
) -> None:
    """An entry picked from buttons is the topic: its first question stands for it."""
    topic = replies.first_question(entry, language)
    remember_topic(update, context, topic, asyncio.get_running_loop().time())


def remember_topic(
    update: Update, context: ContextTypes.DEFAULT_TYPE, topic: str | None, now: float
) -> None:
    """Keep an answer's topic for this user's follow-ups in this chat (a group has several)."""
    user = update.effective_user
    if topic is not None and user is not None and context.chat_data is not None:
        context.chat_data.setdefault("topics", {})[user.id] = (topic, now)


async def send_entry(
    message: Message, kb: KnowledgeBase, entry: Entry, language: str, token: str | None = None
) -> None:
    related = [kb.by_id[r] for r in entry.related if r in kb.by_id]
    await message.reply_text(
        replies.entry_html(kb, entry, language),
        parse_mode=ParseMode.HTML,
        link_preview_options=NO_PREVIEW,
        reply_markup=keyboard(answer_rows(entry, related, language, token or new_token())),
    )


async def send_reply(message: Message, kb: KnowledgeBase, reply: replies.Reply, token: str) -> None:
    """Render a matched question: the answer, a clarification, or an honest decline."""
    language = reply.language
    if reply.entry is not None:
        await send_entry(message, kb, reply.entry, language, token)
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
            reply_markup=keyboard(
                pick_rows([entry for entry, _ in reply.suggestions], language, token)
            ),
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
        previous=remembered_topic(update, context, now),
    )
    remember_topic(update, context, reply.topic, now)
    token = new_token()
    if not reply.match.small_talk:
        best = reply.match.best
        svc.store.record(
            text,
            reply.match.normalised,
            reply.status,
            reply.language,
            token,
            best.entry_id if best else None,
        )
    await send_reply(message, kb, reply, token)


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
    entry_id, _, token = value.rpartition(":")
    if kind == "a" and value in kb.by_id:
        await acknowledge(query)
        remember_pick(update, context, kb.by_id[value], language)
        if query.message is not None:
            await send_entry(query.message, kb, kb.by_id[value], language)
    elif kind == "p" and entry_id in kb.by_id and TOKEN.fullmatch(token):
        await acknowledge(query)
        await feedback(context, "picked", token, entry_id)
        remember_pick(update, context, kb.by_id[entry_id], language)
        if query.message is not None:
            await send_entry(query.message, kb, kb.by_id[entry_id], language, token)
    elif kind == "n" and TOKEN.fullmatch(value):
        await acknowledge(query)
        await feedback(context, "none", value, None)
        await edit(query, replies.message("none_noted", language))
    elif (
        kind == "f"
        and value[:2] in ("+:", "-:")
        and entry_id[2:] in kb.by_id
        and TOKEN.fullmatch(token)
    ):
        kind = "helpful" if value[0] == "+" else "unhelpful"
        await feedback(context, kind, token, entry_id[2:])
        await acknowledge(query, replies.message("feedback_thanks", language))
        await without_thumbs(query)
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


async def feedback(
    context: ContextTypes.DEFAULT_TYPE, kind: str, token: str, entry_id: str | None
) -> None:
    await asyncio.to_thread(services(context).store.record_feedback, kind, token, entry_id)


async def without_thumbs(query: CallbackQuery) -> None:
    """Take the 👍/👎 row off an answer once one is pressed (the related buttons stay)."""
    message = query.message
    markup = getattr(message, "reply_markup", None)
    if markup is None:
        return
    rows = [row for row in markup.inline_keyboard if not row[0].callback_data.startswith("f:")]
    try:
        await query.edit_message_reply_markup(InlineKeyboardMarkup(rows) if rows else None)
    except TelegramError as exc:
        logger.info("feedback buttons not removed: %s", exc)


async def remember_language(
    update: Update, context: ContextTypes.DEFAULT_TYPE, language: str | None
) -> None:
    if update.effective_user is not None:
        prefs = services(context).store
        await asyncio.to_thread(prefs.set_language, update.effective_user.id, language)


async def restore_preferences(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Before any handler: a user's remembered language, read once per user and process."""
    user = update.effective_user
    if user is None or context.user_data is None or "restored" in context.user_data:
        return
    context.user_data["restored"] = True
    remembered = await asyncio.to_thread(services(context).store.language, user.id)
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
