"""The Bot API client: a token check on 401/404, and sends retried only when that is safe."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from telegram import (
    Update,
)
from telegram.error import (
    InvalidToken,
    NetworkError,
    TelegramError,
)
from telegram.ext import (
    AIORateLimiter,
    ExtBot,
)
from telegram.request import HTTPXRequest

from bot.settings import Settings
from bot.telegram.transport import transport

logger = logging.getLogger(__name__)

REQUEST_TIMEOUT = 20.0


CONNECTIONS = 16  # a small pool: httpcore scans every pooled connection per request


SEND_RETRY_DELAYS = (0.5, 1.0, 2.0)  # seconds before each retry of a failed send: 3.5 s at most


TOKEN_CHECKS = 3  # getMe calls before a 401/404 on getUpdates counts as a revoked token


EXIT_REVOKED = 3  # exit status when Telegram rejects the token while the bot runs


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
    Requests beyond the pool's connections wait here, not in httpcore's queue, which is scanned
    whole each time a connection frees (quadratic under load: a third of the bot's time).
    """

    __slots__ = ("_slots",)

    def __init__(self, *, connection_pool_size: int, **kwargs: Any) -> None:
        super().__init__(connection_pool_size=connection_pool_size, **kwargs)
        self._slots = asyncio.Semaphore(connection_pool_size)

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        for delay in (*SEND_RETRY_DELAYS, None):
            try:
                async with self._slots:
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
            httpx_kwargs={"transport": transport(CONNECTIONS)},
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
