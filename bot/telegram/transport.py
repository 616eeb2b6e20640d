"""The HTTP transport to the Bot API: httpx's, with connections whose liveness check is cheap.

Before each request httpcore asks every idle pooled connection whether the server has closed
it ("is the socket readable?"). anyio answers by rebuilding a dict of the socket's attributes,
with a getpeername() system call, just to hand back the socket. Under load that was an eighth of
the bot's event loop. Here each connection keeps its socket and answers with one poll.
"""

from __future__ import annotations

import logging
import select
import socket
import sys
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

logger = logging.getLogger(__name__)


def _readable(sock: socket.socket | None) -> bool:
    """Whether a read would return at once: data, or the end of a connection the server
    closed. A socket that is gone counts as readable, so the pool drops its connection."""
    fd = sock.fileno() if sock is not None else -1
    if fd < 0:
        return True
    if sys.platform == "win32":
        return bool(select.select([fd], [], [], 0)[0])
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    return bool(poll.poll(0))


class _Stream(httpcore.AsyncNetworkStream):
    """A connection that remembers its socket for the pool's liveness checks."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._socket = stream.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return _readable(self._socket)
        return self._stream.get_extra_info(info)


class _Backend(httpcore.AsyncNetworkBackend):
    """httpcore's anyio backend, its connections wrapped in `_Stream`."""

    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return _Stream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._backend.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def transport(connections: int) -> httpx.AsyncHTTPTransport:
    """httpx's transport with `connections` pooled connections that check liveness cheaply.

    httpx has no parameter for the network backend, so it is set on the transport's pool; if a
    later httpx or httpcore moves it, the transport works as shipped (slower), with a warning.
    """
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    made = httpx.AsyncHTTPTransport(limits=limits)
    pool = getattr(made, "_pool", None)
    if hasattr(pool, "_network_backend"):
        pool._network_backend = _Backend()
    else:
        logger.warning("httpx's pool has moved: Bot API connections use httpx's default checks")
    return made
