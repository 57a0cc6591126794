"""Builders for tracking tests: repairs put straight into the store, carrier events, a notification receiver."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError

from carriers import TrackingEvent, TrackingStatus
from logistics.domain.journey import JourneyState, LegDirection, LegMethod, LegStatus
from logistics.domain.model import Leg, Repair, Routed
from logistics.domain.routing import Device, Entitlement, ProductLine, ServiceLevel, SiteAddress, TurnaroundTargets

WEBHOOK_SECRET = "whsec_" + "dGVzdC1vbmx5LXdlYmhvb2stc2lnbmluZy1rZXktMzI="


def build_repair(
    repair_id: str,
    now: datetime,
    *,
    carrier: str = "line",
    tracking_number: str | None = None,
    state: JourneyState = JourneyState.AWAITING_DROP_OFF,
    leg_status: LegStatus = LegStatus.LABEL_CREATED,
    state_since: dict[str, datetime] | None = None,
    turnaround: TurnaroundTargets | None = None,
    country: str = "FR",
    subdivision: str | None = None,
    site_time_zone: str = "Europe/Paris",
) -> Repair:
    inbound = Leg(
        direction=LegDirection.INBOUND,
        method=LegMethod.CUSTOMER_DROP_OFF,
        carrier=carrier,
        status=leg_status,
        status_at=now,
        booking_reference=f"{repair_id}-in",
        tracking_number=tracking_number if tracking_number is not None else f"TN{repair_id.upper()}",
    )
    return Repair(
        id=repair_id,
        case_id=f"case-{repair_id}",
        centre_id="centre-lyon",
        region_id="fr-metro",
        language="fr",
        site=SiteAddress(
            name="Atelier Dupont",
            street_lines=("1 rue de la Paix",),
            city="Paris",
            postal_code="75002",
            country=country,
            subdivision=subdivision,
            phone="+33100000000",
        ),
        device=Device(product_line=ProductLine.NOTEBOOK, model="EliteBook 840", serial_number=f"SN{repair_id}"),
        entitlement=Entitlement(service_level=ServiceLevel.CUSTOMER_SHIP, country_of_purchase=country),
        routed=Routed(site_time_zone=site_time_zone, site_calendar_subdivision=subdivision),
        state=state,
        inbound=inbound,
        turnaround=turnaround,
        state_since=state_since if state_since is not None else {state.value: now},
        created_at=now,
        updated_at=now,
    )


def event(
    tracking_number: str,
    event_id: str,
    at: datetime,
    status: TrackingStatus,
    *,
    carrier: str = "line",
    code: str | None = None,
) -> TrackingEvent:
    return TrackingEvent(
        carrier=carrier,
        tracking_number=tracking_number,
        event_id=event_id,
        occurred_at=at,
        status=status,
        raw_code=code or status.value.upper(),
        raw_description=status.value.replace("_", " "),
        location="Lyon",
    )


@dataclass
class Receiver:
    """The case system's webhook endpoint: a real aiohttp app on 127.0.0.1 that verifies every delivery.

    ``fail_next`` answers that many verified deliveries with 503 (after recording them, as a receiver that
    processed the message but failed to answer would); ``stop()`` takes the endpoint off the network.
    """

    secret: str = WEBHOOK_SECRET
    verify: bool = True
    fail_next: int = 0
    always_status: int | None = None
    delay_s: float = 0.0
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    redirect_targets_hit: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    port: int = 0
    _runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hooks", self._hooks)
        app.router.add_post("/moved", self._moved)
        app.router.add_post("/elsewhere", self._elsewhere)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _hooks(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            body = await request.read()
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            if self.always_status is not None:
                return web.Response(status=self.always_status)
            if self.verify:
                try:
                    payload = Webhook(self.secret).verify(body, dict(request.headers))
                except WebhookVerificationError as exc:
                    self.rejected.append(str(exc))
                    return web.Response(status=401)
            else:
                payload = json.loads(body)
            self.received.append((request.headers["webhook-id"], payload))
            if self.fail_next > 0:
                self.fail_next -= 1
                return web.Response(status=503)
            return web.Response(status=204)
        finally:
            self.in_flight -= 1

    async def _moved(self, request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(location=self.url("/elsewhere"))

    async def _elsewhere(self, request: web.Request) -> web.Response:
        self.redirect_targets_hit += 1
        return web.Response(status=204)

    def sequences(self) -> dict[str, list[int]]:
        """Each repair's sequence numbers in arrival order, after dropping repeated ``webhook-id``s."""
        seen: set[str] = set()
        by_repair: dict[str, list[int]] = {}
        for message_id, payload in self.received:
            if message_id in seen:
                continue
            seen.add(message_id)
            by_repair.setdefault(payload["repair_id"], []).append(payload["sequence"])
        return by_repair
