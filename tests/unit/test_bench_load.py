"""The benchmarks' lean HTTP client: answers read whole however they are cut, kept-alive connections, and a
clear error for what it does not read (a figure built on misread answers would be wrong without a sign)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from aiohttp import web

from tests.bench.load import Connection, UnexpectedAnswer, request_bytes


@pytest.fixture
async def echo_url() -> AsyncIterator[str]:
    """An aiohttp server on loopback answering ``POST /echo`` with the body it received and its headers."""

    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        return web.json_response({"body": body.decode(), "key": request.headers.get("Idempotency-Key")}, status=201)

    app = web.Application()
    app.router.add_post("/echo", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/echo"
    finally:
        await runner.cleanup()


async def test_requests_go_one_after_the_other_on_one_kept_alive_connection(echo_url: str) -> None:
    connection = await Connection.open(echo_url)
    try:
        for n in range(3):
            request = request_bytes("POST", echo_url, {"Idempotency-Key": f"k-{n}"}, f'{{"n": {n}}}'.encode())
            status, body = await connection.send(request)
            assert status == 201
            assert body == f'{{"body": "{{\\"n\\": {n}}}", "key": "k-{n}"}}'.encode()
        assert not connection.closed
    finally:
        connection.close()


@asynccontextmanager
async def answering(answer: Callable[[asyncio.StreamWriter], object]) -> AsyncIterator[str]:
    """A loopback server that reads one request's head and lets ``answer`` write whatever it likes; yields
    its URL. Close the clients inside the block: leaving it waits for the server's side to end."""
    handlers: list[asyncio.Task[None]] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        result = answer(writer)
        if asyncio.iscoroutine(result):
            await result
        if not writer.is_closing():
            await writer.drain()
            await reader.read()  # until the client closes its end
            writer.close()
        await writer.wait_closed()

    def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.append(asyncio.ensure_future(serve(reader, writer)))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    finally:
        server.close()
        await server.wait_closed()
        await asyncio.wait_for(asyncio.gather(*handlers), 5.0)


async def test_an_answer_cut_into_many_segments_is_read_whole() -> None:
    async def in_pieces(writer: asyncio.StreamWriter) -> None:
        for piece in (b"HTTP/1.1 202 Accepted\r\nContent-Le", b"ngth: 11\r\n", b"\r\nhello", b" world"):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.01)

    async with answering(in_pieces) as url:
        connection = await Connection.open(url)
        try:
            assert await connection.send(request_bytes("GET", url, {})) == (202, b"hello world")
        finally:
            connection.close()


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "a chunked answer"),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello", "an answer without Content-Length"),
    ],
)
async def test_an_answer_it_cannot_read_is_an_error_that_says_why(head: bytes, message: str) -> None:
    async with answering(lambda writer: writer.write(head)) as url:
        connection = await Connection.open(url)
        try:
            with pytest.raises(UnexpectedAnswer, match=message):
                await connection.send(request_bytes("GET", url, {}))
        finally:
            connection.close()


async def test_a_connection_the_server_closes_fails_the_request_waiting_on_it() -> None:
    async with answering(lambda writer: writer.close()) as url:
        connection = await Connection.open(url)
        with pytest.raises(ConnectionError, match="closed the connection"):
            await connection.send(request_bytes("GET", url, {}))
        assert connection.closed
