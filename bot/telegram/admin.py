"""Admin handlers: reload, upload, /unanswered, /stats, and SIGHUP reloads."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from telegram import (
    BotCommand,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.ext import (
    Application,
    ContextTypes,
)

from bot import bundle, replies
from bot.bundle import MAX_FILE_BYTES, TOO_LARGE, Bundle, KnowledgeError
from bot.charts import stats_png
from bot.knowledge import home_path
from bot.store import Stats, StoreError, Unanswered
from bot.telegram.chat import whole_number
from bot.telegram.common import HANGUP_QUIET, Services, services, services_of

logger = logging.getLogger(__name__)

STATS_DAYS = 14  # days /stats shows one by one

USER_COMMANDS = [
    BotCommand("start", "What I know, with examples"),
    BotCommand("topics", "Everything I can answer"),
    BotCommand("lang", "Choose the answer language"),
    BotCommand("help", "How to ask"),
]


ADMIN_COMMANDS = [
    *USER_COMMANDS,
    BotCommand("reload", "Admin: re-read the knowledge file"),
    BotCommand("files", "Admin: the knowledge files, one to download"),
    BotCommand("unanswered", "Admin: questions I could not answer"),
    BotCommand("stats", "Admin: answer counts"),
    BotCommand("suggestions", "Admin: what use suggests adding"),
]


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
            shared = await share(svc)
    except KnowledgeError as exc:
        text = f"Reload failed; still serving the previous knowledge.\n{problems_text(exc)}"
        await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML)
        return
    logger.info("knowledge reloaded by /reload: %s", summary)
    await update.effective_message.reply_text(f"Reloaded. {summary}{shared}")


async def upload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Admin: a .yaml document replaces the knowledge file of its name if the result validates."""
    if not await admin_allowed(update, context, "knowledge upload"):
        return
    message = update.effective_message
    document = message.document
    if document.file_size is not None and document.file_size > MAX_FILE_BYTES:
        await message.reply_text(f"That {TOO_LARGE}; nothing changed.")
        return
    data = bytes(await (await document.get_file()).download_as_bytearray())
    svc = services(context)
    async with svc.changing:
        reply = await install_upload(svc, document.file_name, data)
    await message.reply_text(reply, parse_mode=ParseMode.HTML)


async def install_upload(svc: Services, filename: str | None, data: bytes) -> str:
    """Validate, back up, write and serve an uploaded knowledge file (the main file, a part
    of the same name, or a new part); the reply (HTML)."""
    live = svc.live
    try:
        name = live.files.upload_name(filename)
    except KnowledgeError as exc:
        return f"That file cannot be used; nothing changed.\n{problems_text(exc)}"
    try:
        target = await asyncio.to_thread(
            live.upload_target, home_path(svc.settings.data_dir).parent
        )
    except OSError as exc:
        logger.error("cannot prepare %s for the knowledge file: %s", svc.settings.data_dir, exc)
        return "The file could not be saved; nothing changed."
    files = live.files.with_file(name, data).rebased(target)
    try:
        kb = await asyncio.to_thread(live.parse, files)
    except KnowledgeError as exc:
        uploaded = str(target.parent / name)
        named = KnowledgeError([p.replace(uploaded, "uploaded file") for p in exc.problems])
        return f"That file has problems; nothing changed.\n{problems_text(named)}"
    try:
        backups = await asyncio.to_thread(bundle.write, files, svc.settings.data_dir / "backups")
    except OSError as exc:
        logger.error("cannot write the knowledge file %s: %s", target, exc)
        return "The file is valid but could not be saved; nothing changed."
    changes = live.install(kb, files)
    logger.info("knowledge file %s replaced by upload: %s", name, changes.summary(kb))
    saved = backed_up(backups)
    shared = replies.escape(await share(svc))
    return f"Installed {replies.escape(name)}. {replies.escape(changes.summary(kb))}{saved}{shared}"


async def files_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Admin: list the knowledge files being served, or send one (/files NAME) to edit and
    upload back under the same name."""
    if not await admin_allowed(update, context, "/files"):
        return
    files = services(context).live.files
    message = update.effective_message
    if not context.args:
        await message.reply_text(files_listing(files))
        return
    wanted = Path(" ".join(context.args)).name
    found = files.named(wanted)
    if found is None:
        await message.reply_text(f"No knowledge file is called {wanted[:100]}; /files lists them.")
        return
    await message.reply_document(
        dict(files.files)[found],
        filename=wanted,
        caption="Edit it and send it back with this name to replace it.",
    )


def files_listing(files: Bundle) -> str:
    """The files of the knowledge being served, with their sizes, and how to use them."""
    lines = [f"The knowledge being served ({files.path.parent}):"]
    lines += [f"{name} ({len(data) / 1024:.0f} KB)" for name, data in files.files]
    lines.append(
        "/files NAME sends one. Send a file back with the same name to replace it"
        + (", or with a new name to add a part." if files.is_split else ".")
    )
    return "\n".join(lines)


def backed_up(backups: list[Path]) -> str:
    """A sentence naming the backups a change made (HTML), or empty."""
    if not backups:
        return ""
    names = ", ".join(replies.escape(b.name) for b in backups)
    return f" Previous file{'s' if len(backups) > 1 else ''} backed up as {names}."


async def share(svc: Services) -> str:
    """Offer the knowledge now served to the other instances; a sentence for the admin's
    reply (empty with a store for one instance)."""
    if not svc.store.shared:
        return ""
    try:
        await asyncio.to_thread(svc.store.publish_knowledge, svc.live.files.pack())
    except StoreError as exc:
        logger.error("knowledge not shared with the other instances: %s", exc)
        return f" Not shared with the other instances: {exc}."
    return " Every instance now serves it."


def on_shared_knowledge(application: Application) -> None:
    """Another instance published knowledge: adopt it once, however many notices came."""
    svc = services_of(application)
    if not svc.adopt_pending:
        svc.adopt_pending = True
        application.create_task(adopt_shared_knowledge(application))


async def adopt_shared_knowledge(application: Application) -> None:
    """Serve the knowledge last published by any instance, if it differs from ours: validated
    here, written (with backups) where an upload would go, then swapped in."""
    svc = services_of(application)
    live = svc.live
    async with svc.changing:
        svc.adopt_pending = False
        try:
            data = await asyncio.to_thread(svc.store.latest_knowledge)
        except StoreError as exc:
            logger.warning("shared knowledge cannot be read: %s", exc)
            return
        if data is None or data == live.files.pack():
            return
        try:
            target = await asyncio.to_thread(
                live.upload_target, home_path(svc.settings.data_dir).parent
            )
            files = Bundle.unpack(data, target)
            kb = await asyncio.to_thread(live.parse, files)
        except (KnowledgeError, OSError) as exc:
            logger.error("knowledge shared by another instance is refused here:\n%s", exc)
            return
        try:
            await asyncio.to_thread(bundle.write, files, svc.settings.data_dir / "backups")
        except OSError as exc:
            logger.error("shared knowledge served but not saved to %s: %s", target, exc)
        changes = live.install(kb, files)
        logger.info("knowledge adopted from another instance: %s", changes.summary(kb))


async def log_unavailable(update: Update, exc: StoreError) -> None:
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
    log = services(context).store
    try:
        await asyncio.to_thread(log.flush)
        rows = await asyncio.to_thread(log.unanswered, limit)
    except StoreError as exc:
        await log_unavailable(update, exc)
        return
    if not rows:
        await update.effective_message.reply_text("No unanswered questions in the last 30 days.")
        return
    lines = [f"<b>Unanswered, last 30 days (top {len(rows)}):</b>"]
    for row in rows:
        when = row.last_asked.strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"{row.count}× {replies.escape(row.question[:200])} <i>(last {when})</i>")
    await update.effective_message.reply_text(replies.fit_lines(lines), parse_mode=ParseMode.HTML)


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Admin: outcomes overall, today and per day, the trend, 👍/👎 per entry, and the top
    unanswered questions."""
    if not await admin_allowed(update, context, "/stats"):
        return
    log = services(context).store
    try:
        await asyncio.to_thread(log.flush)
        counts = await asyncio.to_thread(log.stats, STATS_DAYS)
        top = await asyncio.to_thread(log.unanswered, 3)
    except StoreError as exc:
        await log_unavailable(update, exc)
        return
    chart = await asyncio.to_thread(stats_png, counts)
    if chart is not None:
        await update.effective_message.reply_photo(chart, caption="Outcomes per day")
    await update.effective_message.reply_text(replies.fit_lines(stats_lines(counts, top)))


def stats_lines(counts: Stats, top: list[Unanswered]) -> list[str]:
    def line(label: str, c: dict[str, int]) -> str:
        return (
            f"{label}: {c['answered']} answered, {c['clarify']} clarify, {c['no_match']} no_match"
        )

    lines = [line("Overall", counts.overall), line("Last 24 hours", counts.last_day)]
    if counts.days:
        lines.append(f"Answered share per day (last {STATS_DAYS} days, UTC):")
        for day, c in counts.days:
            total = sum(c.values())
            share = c["answered"] / total if total else 0.0
            bar = "█" * round(share * 10) + "░" * (10 - round(share * 10))
            lines.append(f"{day[5:]} {bar} {share:4.0%} of {total}")
        lines.append(trend(counts.days))
    if counts.helpfulness:
        lines.append("Helpful 👍 / 👎 per entry:")
        ranked = sorted(counts.helpfulness.items(), key=lambda kv: (-kv[1][1], -kv[1][0], kv[0]))
        lines += [f"{entry}: {up} / {down}" for entry, (up, down) in ranked]
    if top:
        lines.append("Top unanswered (/unanswered for more, /suggestions to act):")
        lines += [f"{row.count}× {row.question[:100]}" for row in top]
    return lines


def trend(days: tuple[tuple[str, dict[str, int]], ...]) -> str:
    """The answered share of the older half of the days against the newer half."""
    half = len(days) // 2
    if half == 0:
        return "Trend: too few days yet."
    shares = []
    for part in (days[:half], days[half:]):
        answered = sum(c["answered"] for _, c in part)
        total = sum(sum(c.values()) for _, c in part)
        shares.append(answered / total if total else 0.0)
    return f"Trend: answered {shares[0]:.0%} → {shares[1]:.0%} (older days → newer days)"


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
        shared = await share(svc)
        logger.info("knowledge reloaded on SIGHUP: %s%s", changes.summary(svc.live.kb), shared)
