"""Inline mode: answers offered in any chat as you type @bot question."""

from __future__ import annotations

import asyncio

from telegram import (
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import (
    ContextTypes,
)

from bot import replies
from bot.knowledge import (
    Source,
)
from bot.telegram.common import EXAMPLE_ENTRIES, MAX_QUESTION_CHARS, NO_PREVIEW, services


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Inline mode: the best matching entries as shareable answers with their sources."""
    query = update.inline_query
    svc = services(context)
    kb = svc.live.kb
    text = query.query[:MAX_QUESTION_CHARS]
    language = (context.user_data or {}).get("lang") or replies.language_of(
        kb, text, query.from_user.language_code
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
