"""The HTTP mapping against a real aiohttp server on 127.0.0.1: statuses, bodies and dropped connections.

Kept apart from the pure mapping tests: every test here is async and shares the local server fixture.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import BaseTestServer, TestServer

from carriers.errors import CarrierAmbiguousError, CarrierRateLimited, CarrierUnavailable
from carriers.http import error_from_exception, error_from_response

NOW = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


# -- against a real local server ---------------------------------------------------------------------------


@pytest.fixture
async def server() -> AsyncIterator[BaseTestServer]:
    async def busy(_: web.Request) -> web.Response:
        return web.Response(status=429, text='{"response":{"errors":[{"code":"10429"}]}}')

    async def html_503(_: web.Request) -> web.Response:
        return web.Response(status=503, text="<html><body>Service Unavailable</body></html>", content_type="text/html")

    async def dated(_: web.Request) -> web.Response:
        return web.Response(status=429, headers={"Retry-After": "Mon, 03 Mar 2025 08:00:09 GMT"})

    async def reset(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()  # drop the connection after the request arrived
        await asyncio.sleep(0)
        return web.Response()

    app = web.Application()
    app.router.add_get("/busy", busy)
    app.router.add_get("/down", html_503)
    app.router.add_get("/dated", dated)
    app.router.add_post("/reset", reset)
    async with TestServer(app) as test_server:
        yield test_server


async def test_answers_and_dropped_connections_from_a_server(server: BaseTestServer) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(server.make_url("/busy")) as response:
            busy = await error_from_response(
                response, now=NOW, creates=False, carrier="ups", operation="create_shipment"
            )
        async with session.get(server.make_url("/down")) as response:
            down = await error_from_response(
                response, now=NOW, creates=False, carrier="ups", operation="create_shipment"
            )
        async with session.get(server.make_url("/dated")) as response:
            dated = await error_from_response(
                response, now=NOW, creates=False, carrier="ups", operation="create_shipment"
            )
    assert isinstance(busy, CarrierRateLimited)
    assert busy.retry_after is None
    assert isinstance(down, CarrierUnavailable)
    assert down.status == 503
    assert down.message == "HTTP 503: Service Unavailable"
    assert isinstance(dated, CarrierRateLimited)
    assert dated.retry_after == 9.0

    # Connection errors before and after sending, in the same test: one server, one event loop.
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError) as refused:
            await session.post(f"http://127.0.0.1:{closed_port}/pickups")
        with pytest.raises(aiohttp.ClientError) as dropped:
            await session.post(server.make_url("/reset"), data=b"{}")
    assert (
        type(error_from_exception(refused.value, creates=True, carrier="ups", operation="create_shipment"))
        is CarrierUnavailable
    )
    assert (
        type(error_from_exception(dropped.value, creates=True, carrier="ups", operation="create_shipment"))
        is CarrierAmbiguousError
    )
