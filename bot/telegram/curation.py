"""Admin: /suggestions and its buttons. Accepting one edits the knowledge file only after the
trial (validation, `check` and every evaluation set, before → after) finds nothing worse."""

from __future__ import annotations

import asyncio
import logging

from telegram import CallbackQuery, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot import replies
from bot.curation import accept as curation
from bot.curation.edits import OUT_OF_SCOPE_TARGET
from bot.curation.suggestions import Suggestion, suggest
from bot.curation.trial import Figures
from bot.store import StoreError
from bot.telegram.admin import admin_allowed, backed_up, log_unavailable, share
from bot.telegram.common import Services, fits, keyboard, services

logger = logging.getLogger(__name__)

SHOWN = 5  # suggestions per /suggestions message: each brings a row of buttons
DAYS = 30  # of use the suggestions are drawn from


async def current_suggestions(svc: Services) -> list[Suggestion]:
    store = svc.store
    await asyncio.to_thread(store.flush)
    signals = await asyncio.to_thread(store.signals, DAYS)
    decisions = await asyncio.to_thread(store.decisions)
    return await asyncio.to_thread(suggest, svc.live.kb, signals, decisions, SHOWN)


def suggestion_rows(number: int, s: Suggestion) -> list[tuple[str, str]]:
    buttons = [(f"{number}: + {entry}", f"g:{s.key}:{entry}") for entry in s.choices()[:2]]
    buttons.append((f"{number}: out of scope", f"g:{s.key}:{OUT_OF_SCOPE_TARGET}"))
    buttons.append((f"{number}: ignore", f"g:{s.key}:-"))
    return [(label, data) for label, data in buttons if fits(data)]


async def suggestions(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Admin: what use suggests adding (most frequent first), each with its buttons."""
    if not await admin_allowed(update, context, "/suggestions"):
        return
    try:
        found = await current_suggestions(services(context))
    except StoreError as exc:
        await log_unavailable(update, exc)
        return
    if not found:
        await update.effective_message.reply_text(
            f"No suggestions: nothing picked, declined or thumbed down in the last {DAYS} days"
            " that the knowledge doesn't already cover or you haven't decided on."
        )
        return
    lines = [f"<b>Suggestions from the last {DAYS} days</b>"]
    rows = []
    for number, s in enumerate(found, start=1):
        lines.append(
            f"{number}. [{s.language}] {replies.escape(s.question[:200])}"
            f" <i>({replies.escape(s.why)})</i>"
        )
        rows.append(suggestion_rows(number, s))
    lines.append("Accepting runs validate, check and the evaluation sets first.")
    await update.effective_message.reply_text(
        replies.fit_lines(lines), parse_mode=ParseMode.HTML, reply_markup=keyboard(rows)
    )
    context.application.create_task(measure_served(services(context)), update=update)


async def measure_served(svc: Services) -> Figures:
    """The served knowledge's figures, measured once per version: /suggestions starts them
    while the admin reads the list, since a trial needs them and they take as long as it."""
    live = svc.live
    return await asyncio.to_thread(
        svc.figures.get, live.kb, live.files, svc.settings.thresholds, svc.eval_sets
    )


async def suggestion_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Admin: accept a suggestion (as a phrasing or out of scope) or ignore it."""
    query = update.callback_query
    if not await admin_allowed(update, context, "a suggestion button"):
        await query.answer()
        return
    _, key, target = (query.data or "").split(":", 2)
    svc = services(context)
    found = {s.key: s for s in await current_suggestions(svc)}
    chosen = found.get(key)
    if chosen is None:
        await query.answer("Already decided, or no longer suggested.", show_alert=True)
        return
    if target == "-":
        await asyncio.to_thread(svc.store.decide, chosen.normalised, "ignored")
        await query.answer("Ignored: it won't be suggested again.")
        return
    if target != OUT_OF_SCOPE_TARGET and target not in svc.live.kb.by_id:
        await query.answer("That entry is no longer in the knowledge.", show_alert=True)
        return
    await query.answer("Checking the change: validate, check, evaluation sets…")
    async with svc.changing:
        text = await accept(svc, chosen, target)
    await reply(query, text)


async def reply(query: CallbackQuery, text: str) -> None:
    if query.message is not None:
        await query.message.reply_text(text, parse_mode=ParseMode.HTML)


async def accept(svc: Services, chosen: Suggestion, target: str) -> str:
    """Edit, try, and only then write, install and share; the reply (HTML)."""
    live, settings = svc.live, svc.settings
    before = await measure_served(svc)
    try:
        done = await asyncio.to_thread(
            curation.accept,
            live,
            chosen,
            target,
            before,
            settings.thresholds,
            svc.eval_sets,
            settings.data_dir,
        )
    except curation.Refused as exc:
        if exc.trial is None:
            return f"Refused; nothing changed: {replies.escape(str(exc))}"
        reasons = "\n".join(f"• {replies.escape(p)}" for p in exc.trial.problems)
        return f"Refused; nothing written. {replies.escape(exc.description)} would make:\n{reasons}"
    except OSError as exc:
        logger.error("cannot write the knowledge file: %s", exc)
        return "The change passed its checks but could not be saved; nothing changed."
    assert done.trial.kb is not None and done.trial.after is not None
    live.install(done.trial.kb, done.files)
    svc.figures.put(done.files, done.trial.after)
    await asyncio.to_thread(svc.store.decide, chosen.normalised, curation.decision(target))
    shared = await share(svc)
    logger.info("suggestion accepted: %s", done.description)
    saved = backed_up(done.backups)
    figures = "\n".join(replies.escape(line) for line in done.trial.after.lines(before))
    return (
        f"Done: {replies.escape(done.description)}.{saved}{replies.escape(shared)}\n"
        f"<b>Before → after</b>\n{figures}"
    )
