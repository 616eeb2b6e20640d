"""The Application: every handler wired, start-up and shutdown, and `run`."""

from __future__ import annotations

import asyncio
import logging
import signal
from urllib.parse import urlparse

from telegram import (
    BotCommandScopeChat,
    Update,
)
from telegram.constants import ChatType
from telegram.error import (
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import replies
from bot.knowledge import (
    LiveKnowledge,
)
from bot.settings import Settings
from bot.store import Store, StoreError, open_store
from bot.telegram.admin import (
    ADMIN_COMMANDS,
    USER_COMMANDS,
    adopt_shared_knowledge,
    files_command,
    on_hangup,
    on_shared_knowledge,
    reload_command,
    stats,
    unanswered,
    upload,
)
from bot.telegram.chat import (
    button,
    help_command,
    lang_command,
    not_text,
    other_document,
    question,
    restore_preferences,
    start,
    topics,
    unknown_command,
)
from bot.telegram.client import EXIT_REVOKED, CheckedBot, checked_bot
from bot.telegram.common import Services, services_of, ui_language
from bot.telegram.curation import suggestion_button, suggestions
from bot.telegram.inline import inline_query
from bot.telegram.webhook import finish_update, serve_webhook, webhook_secret

logger = logging.getLogger(__name__)

LAST_GROUP = 100  # handlers run group by group: this one after every other


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
    """Reload on SIGHUP (and now, if one came during start-up); with a shared store, serve
    the knowledge the instances share and follow its changes; register the command lists."""
    svc = services_of(application)
    loop = asyncio.get_running_loop()
    if hasattr(signal, "SIGHUP"):
        loop.add_signal_handler(signal.SIGHUP, lambda: on_hangup(application))
        if svc.early_hangups:
            on_hangup(application)
    if svc.store.shared:
        await adopt_shared_knowledge(application)
        svc.store.watch_knowledge(lambda: notify_loop(loop, application))
    bot = application.bot
    await bot.set_my_commands(USER_COMMANDS)
    for admin in services_of(application).settings.admin_ids:
        try:
            await bot.set_my_commands(ADMIN_COMMANDS, scope=BotCommandScopeChat(admin))
        except TelegramError as exc:
            logger.info("admin commands not registered for %s: %s", admin, exc)
    logger.info("bot @%s started: %s", bot.username, services_of(application).live.kb.summary())


def notify_loop(loop: asyncio.AbstractEventLoop, application: Application) -> None:
    """From the store's listening thread: let the event loop adopt the new knowledge."""
    try:
        loop.call_soon_threadsafe(on_shared_knowledge, application)
    except RuntimeError:
        pass  # the loop has closed: the bot is stopping


async def on_shutdown(application: Application) -> None:
    await asyncio.to_thread(services_of(application).store.close)


def build_application(
    settings: Settings,
    live: LiveKnowledge,
    store: Store,
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
        store,
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
    application.add_handler(CommandHandler("files", files_command))
    application.add_handler(CommandHandler("unanswered", unanswered))
    application.add_handler(CommandHandler("stats", stats))
    application.add_handler(CommandHandler("suggestions", suggestions))
    application.add_handler(CallbackQueryHandler(suggestion_button, pattern=r"^g:"))
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
    application.add_handler(TypeHandler(Update, finish_update), group=LAST_GROUP)
    application.add_error_handler(on_error)
    return application


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


def _serve(
    settings: Settings,
    live: LiveKnowledge,
    webhook_url: str | None,
    listen: str,
    port: int,
    early_hangups: list[int] | None,
) -> None:
    try:
        store = open_store(settings.data_dir, settings.database_url)
    except StoreError as exc:
        raise StartupError(str(exc), 2) from None
    application = build_application(settings, live, store, early_hangups)
    if webhook_url:
        asyncio.run(_run_webhook(application, webhook_url, listen, port))
        return
    bot = application.bot
    if isinstance(bot, CheckedBot):
        bot.token_state.on_revoked = application.stop_running
    application.run_polling(allowed_updates=Update.ALL_TYPES)
    if isinstance(bot, CheckedBot) and bot.token_state.revoked:
        raise StartupError(
            "TELEGRAM_BOT_TOKEN was rejected by the Bot API while running (revoked?)",
            EXIT_REVOKED,
        )


async def _run_webhook(application: Application, webhook_url: str, listen: str, port: int) -> None:
    """Like PTB's run_webhook, with our receiver: start, serve until a stop signal, then
    answer what was accepted and shut down."""
    secret = webhook_secret(application.bot.token)
    try:
        async with application:
            await on_startup(application)
            await application.start()
            try:
                await serve_webhook(
                    application,
                    urlparse(webhook_url).path.strip("/"),
                    listen,
                    port,
                    secret,
                    lambda: application.bot.set_webhook(
                        webhook_url, secret_token=secret, allowed_updates=Update.ALL_TYPES
                    ),
                )
            finally:
                await application.stop()
    finally:
        await on_shutdown(application)
