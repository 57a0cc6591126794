"""The HTTP listener: connections accepted, bounded and timed, and requests the parser refuses answered as
problem+json.

What aiohttp's own site does not do, and a service on a shared host needs:

- **A cap on open connections**, below the process's file limit, so that clients can never make the process
  run out of descriptors (then every ``accept`` fails and even ``/health`` goes unanswered). When the cap is
  reached, the oldest connection that has not yet sent a whole request head is closed to make room: a client
  that trickles its headers loses its place to one that sends a request. A connection that cannot be given
  room is closed at once. Either way one WARNING line says so (at most one a minute).
- **A time limit on a request head**: a connection that has not completed a request within
  ``header_timeout_s`` of opening, or of its previous answer, is closed (aiohttp's keep-alive timer, which
  runs from the start of a connection, set to this value).
- **Requests the HTTP parser refuses** (a request line or header over its limit, too many headers, broken
  framing) answered as problem+json with 414, 431 or 400, echoing nothing of what was sent: a header that is
  too long may be an ``Authorization`` header.
- **The soft limit on open files raised to the hard limit** at start, where the system allows it.

Uses only aiohttp's public classes: ``web.RequestHandler`` subclassed for the protocol, the runner's
``web.Server`` as its manager, and ``loop.create_server`` for the socket.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import time
from collections import OrderedDict
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, BadHttpMethod, LineTooLong

from logistics.api.problems import PROBLEM_TYPE, SERVER_NAME

logger = logging.getLogger(__name__)

FILES_KEPT_FREE = 200  # descriptors left for the database, the label workers, outgoing calls and an accept batch
MAX_LINE = 8190  # aiohttp's own limits on a request line and on one header
MAX_HEADERS = 100
_HEAD_END = b"\r\n\r\n"


def raise_file_limit() -> int:
    """Raise the soft limit on open files to the hard limit; return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            logger.warning("could not raise the open-file limit from %d to %d: %s", soft, target, exc)
    return soft


def connection_cap(configured: int, file_limit: int) -> int:
    """The connections allowed at once: the setting, but never so many that the process runs out of files."""
    return max(1, min(configured, file_limit - FILES_KEPT_FREE))


class ConnectionGuard:
    """Counts open connections and decides, at the cap, which one gives way."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._open: OrderedDict[GuardedRequestHandler, None] = OrderedDict()  # oldest first
        self._last_warning = -3600.0
        self.refused = 0
        self.evicted = 0

    @property
    def open_connections(self) -> int:
        return len(self._open)

    def admit(self, handler: GuardedRequestHandler) -> bool:
        if len(self._open) >= self.cap:
            victim = next((h for h in self._open if not h.head_seen), None)
            if victim is None:
                self.refused += 1
                self._warn("closing a new connection")
                return False
            self.evicted += 1
            self._warn("closing the oldest connection that has not sent a whole request")
            self.release(victim)
            victim.force_close()
        self._open[handler] = None
        return True

    def release(self, handler: GuardedRequestHandler) -> None:
        self._open.pop(handler, None)

    def _warn(self, action: str) -> None:
        now = time.monotonic()
        if now - self._last_warning >= 60:
            self._last_warning = now
            logger.warning(
                "connection cap reached (%d open, max_connections %d): %s (so far %d evicted, %d refused)",
                len(self._open),
                self.cap,
                action,
                self.evicted,
                self.refused,
            )


class GuardedRequestHandler(web.RequestHandler):
    """aiohttp's protocol for one connection, admitted by the guard and answering parser errors as problems."""

    def __init__(self, manager: web.Server, *, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._guard = guard
        self.head_seen = False  # a whole request head has arrived on this connection
        self._first_line_length: int | None = None  # the first request line's length, once it ended
        self._head_tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if not self._guard.admit(self):
            self.force_close()
            transport.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._guard.release(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self.head_seen:
            seen = self._head_tail + data
            if self._first_line_length is None and (end := seen.find(b"\r\n")) >= 0:
                self._first_line_length = end
            if _HEAD_END in seen:
                self.head_seen = True
                self._head_tail = b""
            else:
                # Keep what is needed to recognise the end of the head and the first line's length.
                self._head_tail = seen if self._first_line_length is None else seen[-3:]
                if len(self._head_tail) > MAX_LINE + 2:
                    self._head_tail = self._head_tail[-(MAX_LINE + 2) :]
                    self._first_line_length = self._first_line_length or MAX_LINE + 1
        super().data_received(data)

    def handle_error(
        self,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status != 400 or not isinstance(exc, BadHttpMessage):
            return super().handle_error(request, status, exc, message)
        status, code, title, detail = self._classify(exc)
        # The parser's own message quotes what it refused: never logged nor sent back.
        log = logger.debug if isinstance(exc, BadHttpMethod) else logger.warning
        log("refused a request the HTTP parser could not read: %s (%d %s)", type(exc).__name__, status, code)
        body = {
            "type": f"urn:problem:logistics:{code}",
            "title": title,
            "status": status,
            "code": code,
            "detail": detail,
        }
        response = web.Response(
            status=status,
            text=json.dumps(body),
            content_type=PROBLEM_TYPE,
            headers={"Server": SERVER_NAME},
        )
        response.force_close()
        return response

    def _classify(self, exc: BadHttpMessage) -> tuple[int, str, str, str]:
        if isinstance(exc, LineTooLong):
            if self._request_line_too_long(exc):
                return 414, "request.uri_too_long", "URI Too Long", f"the request line may be at most {MAX_LINE} bytes"
            return (
                431,
                "request.headers_too_large",
                "Request Header Fields Too Large",
                f"a header line may be at most {MAX_LINE} bytes",
            )
        if "too many headers" in str(exc).lower():
            return (
                431,
                "request.headers_too_large",
                "Request Header Fields Too Large",
                f"a request may carry at most {MAX_HEADERS} headers",
            )
        return 400, "request.malformed", "Bad Request", "the request is not valid HTTP/1.1"

    def _request_line_too_long(self, exc: LineTooLong) -> bool:
        if not self.head_seen and self._first_line_length is None:
            return True  # no line ended yet on this connection: it is the request line that is too long
        if not self.head_seen and self._first_line_length is not None:
            return self._first_line_length > MAX_LINE
        # A later request on a kept-alive connection: the parser quotes the request target for the request line.
        line = exc.args[0] if exc.args else b""
        return isinstance(line, bytearray) or bytes(line[:1]) == b"/"


async def listen(
    runner: web.AppRunner,
    host: str,
    port: int,
    *,
    max_connections: int,
    header_timeout_s: float,
    backlog: int = 128,
    reuse_port: bool = False,
) -> tuple[asyncio.Server, ConnectionGuard]:
    """Serve ``runner``'s application on ``host:port`` through guarded connections. ``reuse_port``: share the
    port with the other serving processes of ``logistics serve --processes N`` (``SO_REUSEPORT``)."""
    loop = asyncio.get_running_loop()
    server = runner.server
    assert server is not None, "the runner must be set up first"
    guard = ConnectionGuard(connection_cap(max_connections, resource.getrlimit(resource.RLIMIT_NOFILE)[0]))

    def protocol() -> GuardedRequestHandler:
        return GuardedRequestHandler(
            server,
            guard=guard,
            loop=loop,
            keepalive_timeout=header_timeout_s,
            max_line_size=MAX_LINE,
            max_field_size=MAX_LINE,
            max_headers=MAX_HEADERS,
            access_log=None,
        )

    listener = await loop.create_server(
        protocol, host, port, backlog=backlog, reuse_address=True, reuse_port=reuse_port or None
    )
    return listener, guard
