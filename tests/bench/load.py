"""A lean HTTP/1.1 load generator for benchmarks whose client shares the machine with what it measures.

A benchmark that runs the service, its database and the load generator on one small host measures the client
too: with aiohttp's client each request costs this process about 0.45 ms of CPU, a tenth of what a create
costs the service. Here every request is serialised before the clock starts, connections are kept alive,
and an answer is read only as far as its status line and ``Content-Length``, so that the host's CPU goes to
the service and the database. It speaks just enough HTTP for the service's answers (``Content-Length``
bodies, no chunked encoding) and says so clearly when an answer is something else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import cast
from urllib.parse import urlsplit


class UnexpectedAnswer(Exception):
    """An answer this client does not read (chunked, or without ``Content-Length``)."""


def request_bytes(method: str, url: str, headers: Mapping[str, str], body: bytes = b"") -> bytes:
    """One HTTP/1.1 request, ready to write: request line, headers, ``Content-Length`` and body."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Connection(asyncio.Protocol):
    """One kept-alive connection, one request at a time."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._answer: asyncio.Future[tuple[int, bytes]] | None = None

    @classmethod
    async def open(cls, url: str) -> Connection:
        parts = urlsplit(url)
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(cls, parts.hostname or "127.0.0.1", parts.port or 80)
        return connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(ConnectionError(f"the server closed the connection: {exc}"))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        answer = self._answer
        if answer is None or answer.done():
            return
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self._buffer[:end]).split(b"\r\n")
        length = None
        for line in head[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                answer.set_exception(UnexpectedAnswer(f"a {value.strip().decode()} answer: {head[0]!r}"))
                return
        if length is None:
            answer.set_exception(UnexpectedAnswer(f"an answer without Content-Length: {head[0]!r}"))
            return
        total = end + 4 + length
        if len(self._buffer) < total:
            return
        body = bytes(self._buffer[end + 4 : total])
        del self._buffer[:total]
        answer.set_result((int(head[0].split(b" ", 2)[1]), body))

    @property
    def closed(self) -> bool:
        return self._transport is None or self._transport.is_closing()

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """Write ``request`` and wait for its answer: ``(status, body)``."""
        if self._transport is None:
            raise ConnectionError("the connection is closed")
        self._answer = asyncio.get_running_loop().create_future()
        self._transport.write(request)
        return await self._answer

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
