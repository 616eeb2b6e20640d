"""The Bot API transport: pooled connections that check cheaply whether the server closed them."""

from __future__ import annotations

import asyncio
import logging

import httpx

from bot.telegram.transport import transport

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"


async def _closing_server(connections: list[int]) -> asyncio.Server:
    """Answers one request per connection, keep-alive promised, then hangs up."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        await reader.readuntil(b"\r\n\r\n")
        writer.write(RESPONSE)
        await writer.drain()
        writer.close()

    return await asyncio.start_server(serve, "127.0.0.1", 0)


def test_a_connection_the_server_closed_is_replaced_not_reused():
    async def run() -> tuple[list[int], list[int]]:
        connections: list[int] = []
        server = await _closing_server(connections)
        port = server.sockets[0].getsockname()[1]
        async with httpx.AsyncClient(transport=transport(4)) as client:
            first = await client.get(f"http://127.0.0.1:{port}/")
            await asyncio.sleep(0.2)
            second = await client.get(f"http://127.0.0.1:{port}/")
        server.close()
        await server.wait_closed()
        return [first.status_code, second.status_code], connections

    codes, connections = asyncio.run(run())
    assert codes == [200, 200]
    assert len(connections) == 2


def test_the_cheap_check_is_installed_without_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="bot.telegram.transport"):
        transport(4)
    assert caplog.records == []
