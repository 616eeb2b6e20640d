"""Webhook mode: a small Tornado server in front of the Application, with an inbox in the store.

Telegram (or a load balancer in front of several instances) POSTs each update here. The secret
header is checked before the body is read, and bodies are capped. An update is kept in the
store's inbox before it is acknowledged, so each is answered once: a redelivery (Telegram
retrying, a load balancer failing over) finds it there already, and an update whose instance
died before answering it is taken over by another instance after TAKE_OVER_AFTER seconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import tornado.web
from telegram import Update
from telegram.ext import Application, ContextTypes
from tornado.httpserver import HTTPServer

from bot.store import Store, StoreError
from bot.telegram.common import Services, services, services_of

logger = logging.getLogger(__name__)
T = TypeVar("T")

MAX_UPDATE_BYTES = 1024 * 1024  # Telegram's updates are a few kilobytes; larger bodies are refused
TAKE_OVER_AFTER = 10.0  # seconds an accepted update may stay unfinished before others take it
SWEEP_EVERY = 2.0  # seconds between renewing this instance's claims and looking for orphans
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
STOP_WAIT = 5.0  # seconds a stopping instance waits for updates it is still accepting


async def in_inbox_thread(svc: Services, function: Callable[..., T], *args: Any) -> T:
    """Run a store call off the loop without waiting behind CPU-heavy matching: the time
    between sending an answer and recording it is the only window for a duplicate."""
    return await asyncio.get_running_loop().run_in_executor(svc.inbox_pool, function, *args)


def webhook_secret(token: str) -> str:
    """A webhook secret derived from the token: the same on every instance, never the token."""
    return hashlib.sha256(f"stakhanov-bot webhook:{token}".encode()).hexdigest()[:48]


@tornado.web.stream_request_body
class UpdateReceiver(tornado.web.RequestHandler):
    """POST: one update. Refused unread without the secret; acknowledged once it is kept."""

    def initialize(self, bot_application: Application, secret: str) -> None:
        self.bot_application = bot_application
        self.secret = secret
        self.chunks: list[bytes] = []

    def prepare(self) -> None:
        sent = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(sent.encode(), self.secret.encode()):
            raise tornado.web.HTTPError(403)

    def data_received(self, chunk: bytes) -> None:
        self.chunks.append(chunk)

    async def post(self) -> None:
        body = b"".join(self.chunks)
        try:
            data = json.loads(body)
            update_id = data["update_id"]
            if not isinstance(update_id, int) or isinstance(update_id, bool):
                raise TypeError(update_id)
        except (ValueError, TypeError, KeyError):
            raise tornado.web.HTTPError(400) from None
        try:
            await receive(self.bot_application, update_id, body, data)
        except StoreError as exc:
            logger.error("update %d not accepted (Telegram will retry): %s", update_id, exc)
            raise tornado.web.HTTPError(503) from None

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if not isinstance(value, tornado.web.HTTPError):
            super().log_exception(typ, value, tb)


async def receive(application: Application, update_id: int, body: bytes, data: dict) -> None:
    """Keep the update in the inbox, then queue it, unless it was accepted before. While
    stopping, refuse it (503): Telegram or the balancer delivers it again, elsewhere."""
    svc = services_of(application)
    if not svc.accepting:
        raise tornado.web.HTTPError(503, reason="Stopping")
    svc.receiving += 1
    try:
        if await in_inbox_thread(svc, svc.store.accept_update, update_id, body):
            svc.in_flight.add(update_id)
            await application.update_queue.put(Update.de_json(data, application.bot))
    finally:
        svc.receiving -= 1


async def stop_receiving(svc: Services) -> None:
    """Refuse new updates and let those being accepted reach the queue (at most STOP_WAIT
    seconds), so the Application, stopping next, answers every update acknowledged here."""
    svc.accepting = False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STOP_WAIT
    while svc.receiving and loop.time() < deadline:
        await asyncio.sleep(0.01)


async def finish_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The last handler of every update: an inbox update is done, nobody takes it over."""
    svc = services(context)
    if update.update_id in svc.in_flight:
        try:
            await in_inbox_thread(svc, svc.store.finish_update, update.update_id)
        except StoreError as exc:
            logger.warning("update %d answered but not marked done: %s", update.update_id, exc)
        svc.in_flight.discard(update.update_id)


async def take_over_orphans(application: Application) -> None:
    """Every SWEEP_EVERY seconds: renew the claims on updates still being answered here, and
    answer the updates that an instance accepted and never finished."""
    svc = services_of(application)
    store: Store = svc.store
    while True:
        await asyncio.sleep(SWEEP_EVERY)
        try:
            if svc.in_flight:
                await asyncio.to_thread(store.renew_updates, sorted(svc.in_flight))
            for body in await asyncio.to_thread(store.orphaned_updates, TAKE_OVER_AFTER):
                data = json.loads(body)
                logger.info(
                    "taking over update %d from an instance that stopped", data["update_id"]
                )
                svc.in_flight.add(data["update_id"])
                await application.update_queue.put(Update.de_json(data, application.bot))
        except StoreError as exc:
            logger.warning("webhook inbox unavailable: %s", exc)


async def serve_webhook(
    application: Application,
    url_path: str,
    listen: str,
    port: int,
    secret: str,
    register: Callable[[], Awaitable[object]],
) -> None:
    """Receive updates on `listen:port/url_path` (then `register` the webhook) until SIGINT or
    SIGTERM; the caller then answers the updates already accepted."""
    app = tornado.web.Application(
        [(rf"/{url_path}/?", UpdateReceiver, {"bot_application": application, "secret": secret})]
    )
    server = HTTPServer(app, max_body_size=MAX_UPDATE_BYTES)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    server.listen(port, address=listen)
    await register()
    sweeper = asyncio.create_task(take_over_orphans(application))
    try:
        await stop.wait()
    finally:
        server.stop()
        sweeper.cancel()
        await stop_receiving(services_of(application))
        await server.close_all_connections()
