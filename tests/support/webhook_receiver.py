"""A case system's webhook receiver, as a real aiohttp app on loopback: verifies every delivery with the
``standardwebhooks`` library, checks its body against the schema of its type in ``openapi.yaml``'s
``webhooks:`` section, and keeps what it received. It can be told to fail its next N deliveries. A
notification that does not match its schema is refused (400) and fails the test when the receiver closes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.support.openapi import SpecMismatch, check_notification

DEV_SECRET = "whsec_ZGV2ZWxvcG1lbnQtd2ViaG9vay1zZWNyZXQtMzJi"
TOLERANCE_S = 5 * 60  # the library's own tolerance


@dataclass
class Receiver:
    url: str
    secret: str
    received: list[dict[str, Any]] = field(default_factory=list)
    rejected: int = 0
    fail_next: int = 0
    off_spec: list[str] = field(default_factory=list)

    def types(self) -> set[str]:
        return {str(message["payload"]["type"]) for message in self.received}

    def by_repair(self) -> dict[str, list[dict[str, Any]]]:
        """Deduplicated by message id, in sequence order, per repair."""
        seen: dict[str, dict[str, Any]] = {}
        for message in self.received:
            seen[message["id"]] = message
        grouped: dict[str, list[dict[str, Any]]] = {}
        for message in seen.values():
            grouped.setdefault(message["payload"]["repair_id"], []).append(message["payload"])
        return {k: sorted(v, key=lambda p: p["sequence"]) for k, v in grouped.items()}


class _VirtualTimeWebhook(Webhook):
    """The library's verification, with its timestamp tolerance measured against the test's clock."""

    def __init__(self, secret: str, now: Callable[[], datetime]) -> None:
        super().__init__(secret)
        self._now = now

    def _Webhook__verify_timestamp(self, timestamp_header: str) -> datetime:
        timestamp = datetime.fromtimestamp(float(timestamp_header), tz=UTC)
        if abs((timestamp - self._now()).total_seconds()) > TOLERANCE_S:
            raise WebhookVerificationError("Message timestamp outside the tolerance")
        return timestamp


@asynccontextmanager
async def webhook_receiver(now: Callable[[], datetime], secret: str = DEV_SECRET) -> AsyncIterator[Receiver]:
    verifier = _VirtualTimeWebhook(secret, now)
    receiver = Receiver(url="", secret=secret)

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        if receiver.fail_next > 0:
            receiver.fail_next -= 1
            return web.Response(status=503)
        try:
            payload = verifier.verify(body, dict(request.headers))
        except Exception:  # any verification failure is a refusal
            receiver.rejected += 1
            return web.Response(status=400)
        try:
            check_notification(payload)
        except SpecMismatch as exc:
            receiver.off_spec.append(str(exc))
            return web.Response(status=400)
        receiver.received.append({"id": request.headers["webhook-id"], "payload": payload})
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hooks", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hooks"
    try:
        yield receiver
    finally:
        await runner.cleanup()
    assert not receiver.off_spec, f"notifications not matching openapi.yaml: {receiver.off_spec[:3]}"


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
