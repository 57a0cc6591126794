"""The service under test: the real application, on a real loopback port, with a real store.

Only the clock is manual and label rendering runs in a thread pool instead of processes (same code path,
faster to start). Everything else is wired exactly as ``logistics serve`` wires it.

The store is SQLite in the test's folder, or the PostgreSQL database ``database_under_test`` names: the
test folders that run on both stores set it for each test (see ``tests/conftest.py``), so every service a
test starts, through the ``service`` fixture or ``running_service`` itself, runs on that store.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from logistics.api.connections import listen
from logistics.api.keys import SERVICES
from logistics.api.services import ServiceSet
from logistics.app import create_app
from logistics.config import ApiKey, Settings
from tests.support.clock import ManualClock
from tests.support.openapi import check_response

database_under_test: ContextVar[str | None] = ContextVar("database_under_test", default=None)
"""The PostgreSQL database (its URL) the services of the running test store in; None: SQLite."""

SAMPLE_CENTRES = ("fr-lyon", "de-frankfurt", "es-madrid", "gb-birmingham", "pl-wroclaw")


@dataclass
class Service:
    base_url: str
    http: aiohttp.ClientSession
    clock: ManualClock
    app: web.Application
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def services(self) -> ServiceSet:
        return self.app[SERVICES]

    def auth(self, who: str = "case_system") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    async def call(
        self,
        method: str,
        path: str,
        who: str | None = "case_system",
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        data: Any = None,
        params: dict[str, str] | None = None,
    ) -> tuple[int, Any, aiohttp.ClientResponse]:
        all_headers = {**(self.auth(who) if who else {}), **(headers or {})}
        async with self.http.request(
            method, self.base_url + path, json=json, data=data, headers=all_headers, params=params
        ) as response:
            raw = await response.read()
            check_response(method, response.url.path, response.status, response.content_type, raw)
            body: Any = raw
            if response.content_type in ("application/json", "application/problem+json"):
                import json as _json

                body = _json.loads(raw)
            return response.status, body, response


def test_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_path": tmp_path / "logistics.db",
        "dev_keys_path": None,
        "workers_enabled": False,
        "public_base_url": "http://127.0.0.1:8080",
        # The sample coverage books French customers' parcels with Colissimo: enabled without keys, as in
        # development (its calls are refused). Tests of Colissimo journeys point it at the fake instead.
        "carriers": {"sim": {}, "colissimo": {}},
    }
    url = database_under_test.get()
    if url is not None:
        values["database_url"] = url
    values.update(overrides)
    return Settings(**values)


def make_keys() -> tuple[list[ApiKey], dict[str, str]]:
    plain = {"case_system": secrets.token_urlsafe(16), "operator": secrets.token_urlsafe(16)}
    keys = [
        ApiKey(name="case", role="case_system", sha256=ApiKey.digest(plain["case_system"])),
        ApiKey(name="ops", role="operator", sha256=ApiKey.digest(plain["operator"])),
    ]
    for centre in SAMPLE_CENTRES:
        plain[centre] = secrets.token_urlsafe(16)
        keys.append(ApiKey(name=centre, role="repair_centre", centre_id=centre, sha256=ApiKey.digest(plain[centre])))
    return keys, plain


@asynccontextmanager
async def running_service(tmp_path: Path, clock: ManualClock | None = None, **overrides: Any) -> AsyncIterator[Service]:
    clock = clock or ManualClock()
    keys, plain = make_keys()
    executor = ThreadPoolExecutor(max_workers=2)
    app = create_app(test_settings(tmp_path, **overrides), clock=clock, label_executor=executor, api_keys=keys)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    settings = app[SERVICES].settings
    # The listener ``logistics serve`` uses: connection cap, head timeout, parser errors as problems.
    listener, _ = await listen(
        runner,
        "127.0.0.1",
        0,
        max_connections=settings.max_connections,
        header_timeout_s=settings.header_timeout_s,
    )
    port = listener.sockets[0].getsockname()[1]
    try:
        async with aiohttp.ClientSession() as http:
            yield Service(base_url=f"http://127.0.0.1:{port}", http=http, clock=clock, app=app, keys=plain)
    finally:
        listener.close()
        await runner.cleanup()
        executor.shutdown(wait=True)
