"""What every handler shares: the services in bot_data, the reply language, keyboards, the per-chat budget."""

from __future__ import annotations

import asyncio
import functools
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.ext import (
    Application,
    ContextTypes,
)

from bot import language as lang
from bot import replies
from bot.curation.trial import FigureCache, eval_sets
from bot.evaluation import EvalSet
from bot.knowledge import (
    Entry,
    LiveKnowledge,
)
from bot.settings import Settings
from bot.store import Store

MAX_QUESTION_CHARS = 1000


TOPICS_PER_PAGE = 8


CHAT_BURST = 5  # questions a chat may send at once before it is slowed down


CHAT_RATE = 1.0  # questions per second a chat gets after that: Telegram's own per-chat pace


SLOW_DOWN_EVERY = 10.0  # seconds between two "slow down" notes to one chat


MAX_TRACKED_CHATS = 10_000  # then chats whose bucket is full again are forgotten


INBOX_THREADS = 2  # accepting and finishing webhook updates: one store round trip each
HANGUP_QUIET = 0.3  # seconds without SIGHUP before reloading: a burst makes one reload


EXAMPLE_ENTRIES = ("record-1935", "death", "stakhanovite-meaning", "city-renamed")


NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


@dataclass
class Services:
    """What the handlers share, kept in `application.bot_data`."""

    settings: Settings
    live: LiveKnowledge
    store: Store
    changing: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held by every change to the knowledge (reload, upload, SIGHUP): one at a time, and
    each reports the state that is live when it finishes."""
    hangup_pending: bool = False
    adopt_pending: bool = False
    in_flight: set[int] = field(default_factory=set)
    """Webhook updates this instance accepted and is still answering."""
    accepting: bool = True
    """False once the webhook server is stopping: new updates are refused (503)."""
    receiving: int = 0
    """Webhook updates being accepted right now (stored, not yet queued)."""
    inbox_pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(INBOX_THREADS, thread_name_prefix="inbox")
    )
    """The inbox's own threads, never queued behind matching in the default pool."""
    budget: ChatBudget = field(default_factory=lambda: ChatBudget())
    last_hangup: float = 0.0
    early_hangups: list[int] = field(default_factory=list)
    """SIGHUPs received while the process was starting, before the loop could handle them."""
    figures: FigureCache = field(default_factory=FigureCache)
    """`check` and evaluation figures of the knowledge served, for accepted suggestions."""

    @functools.cached_property
    def eval_sets(self) -> dict[str, EvalSet]:
        """The evaluation sets a suggestion's trial runs (read once, when first needed)."""
        return eval_sets()


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


MAX_CALLBACK_BYTES = 64  # Telegram's limit on a button's callback data
TOKEN = re.compile(r"[A-Za-z0-9_-]{8}")


def new_token() -> str:
    """A random id tying a question to the buttons under its reply; nothing about the user."""
    return secrets.token_urlsafe(6)


def fits(data: str) -> bool:
    return len(data.encode()) <= MAX_CALLBACK_BYTES


def pick_rows(entries: list[Entry], language: str, token: str) -> list[list[tuple[str, str]]]:
    """ "Did you mean" buttons that remember which question they answer, then "none of these"."""
    rows = []
    for entry in entries:
        data = f"p:{entry.id}:{token}"
        rows.append([(entry.text("title", language), data if fits(data) else f"a:{entry.id}")])
    rows.append([(replies.message("none_of_these", language), f"n:{token}")])
    return rows


def answer_rows(
    entry: Entry, related: list[Entry], language: str, token: str
) -> list[list[tuple[str, str]]]:
    """Related entries as buttons, then 👍 / 👎 for the answer."""
    rows = [[(e.text("title", language), f"a:{e.id}")] for e in related]
    thumbs = [("👍", f"f:+:{entry.id}:{token}"), ("👎", f"f:-:{entry.id}:{token}")]
    if all(fits(data) for _, data in thumbs):
        rows.append(thumbs)
    return rows


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
