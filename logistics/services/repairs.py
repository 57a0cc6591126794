"""Repair use cases for the case system: create the logistics of a case, read it, cancel, reschedule.

Every change is one transaction: the repair, its history, the booking intents it needs and the notifications
it causes commit together, or not at all. Carrier calls happen after the commit (see ``bookings``).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from logistics.clock import Clock
from logistics.domain.journey import Actor, JourneyState, LegDirection, LegMethod, LegStatus, initial_state
from logistics.domain.model import Change, DomainRuleError, Leg, Repair, Routed, Slot, WorkWeek
from logistics.domain.references import leg_reference
from logistics.domain.routing import (
    Method,
    PickupSlot,
    RoutingDecision,
    RoutingRequest,
)
from logistics.errors import Conflict, IdempotencyMismatch, InvalidRequest, NotFound, RuleRefused
from logistics.services import carrier_requests, outbox
from logistics.services.bookings import Bookings
from logistics.services.label_links import new_link
from logistics.services.notifications import record
from logistics.services.outbox import Operation, new_intent
from logistics.services.ports import AlreadyStored, HistoryEntry, Page, RepairFilter, Store, StoredCarrierEvent
from logistics.services.routing import Routing

logger = logging.getLogger(__name__)


class CreateRepair(RoutingRequest):
    """What the case system sends to create the logistics of a case."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    case_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")
    include_self_test_results: bool = False


class Reschedule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    preferred_date: date | None = None


@dataclass(frozen=True)
class Created:
    repair: Repair
    decision: RoutingDecision
    label_token: str
    label_expires_at: datetime


def new_repair_id(now: datetime) -> str:
    """``rp_`` and 20 hex digits: the milliseconds since 1970 (12 digits), then 32 random bits.

    Ids that follow time keep a repair's rows (legs, history, intents, notifications, all keyed by its id)
    at the right edge of their indexes: the repairs committed together share index pages instead of each
    dirtying its own, which is most of what a COMMIT writes and waits for. Two repairs collide only if made
    in the same millisecond with the same 32 random bits; the insert then fails rather than overwrite.
    """
    return f"rp_{int(now.timestamp() * 1000):012x}{secrets.token_hex(4)}"


class Repairs:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        routing: Routing,
        bookings: Bookings,
        *,
        link_ttl: timedelta,
        packing: carrier_requests.PackingRules | None = None,
    ) -> None:
        self._packing = packing or carrier_requests.PackingRules()
        self._store = store
        self._clock = clock
        self._routing = routing
        self._bookings = bookings
        self.link_ttl = link_ttl

    async def create(self, command: CreateRepair, source: str, *, origin: str | None = None) -> Created:
        """Create the logistics of a case and book its inbound leg.

        ``origin`` is given when the caller's request is idempotent (a digest of the caller and its
        Idempotency-Key): if a repair was created under it already (the first request's process died before
        it could answer, or its stored answer was lost or forgotten), that repair is answered again, with a
        new customer link, instead of being created twice. That case is rare, so it is found by the insert
        refusing the origin rather than by a read before every create.
        """
        now = self._clock.now()
        request = RoutingRequest(
            site=command.site,
            device=command.device,
            entitlement=command.entitlement,
            preferred_date=command.preferred_date,
        )
        decision = self._routing.quote(request)
        if not decision.eligible or decision.method is None or decision.carrier is None or not decision.centre_id:
            raise RuleRefused(
                "the repair cannot be routed",
                code="routing.refused",
                reasons=[r.model_dump() for r in decision.reasons],
            )
        coverage = self._routing.coverage
        centre = coverage.centres[decision.centre_id]
        region = coverage.regions.get(decision.region_id) if decision.region_id else None
        repair_id = new_repair_id(now)
        method = LegMethod.COURIER_PICKUP if decision.method is Method.COURIER_PICKUP else LegMethod.CUSTOMER_DROP_OFF
        slot = decision.slots[0] if decision.slots else None
        inbound = Leg(
            direction=LegDirection.INBOUND,
            method=method,
            carrier=decision.carrier,
            booking_reference=leg_reference(repair_id, LegDirection.INBOUND),
            pickup=Slot.model_validate(slot.model_dump()) if slot is not None else None,
        )
        parcels = carrier_requests.parcels_for(command.device.product_line, command.entitlement.items, self._packing)
        repair = Repair(
            id=repair_id,
            case_id=command.case_id,
            centre_id=centre.id,
            region_id=decision.region_id,
            language=command.language,
            site=command.site,
            device=command.device,
            entitlement=command.entitlement,
            include_self_test_results=command.include_self_test_results,
            routed=Routed(
                # Printed on the customer's packing instructions: in the repair's language where the region
                # gives it.
                drop_off=decision.drop_off_by_language.get(command.language, decision.drop_off),
                ship_by=decision.ship_by,
                # The pieces declared to carriers and printed on the labels, both ways.
                parcels=carrier_requests.kept_parcels(parcels),
                return_carrier=decision.return_carrier or decision.carrier,
                site_time_zone=decision.time_zone,
                # The calendar the site's days are counted in, as routing decided it from the address.
                site_calendar_subdivision=decision.calendar.subdivision if decision.calendar else None,
                # The region's working days and closures, which the site's turnaround clocks honour.
                site_business_days=WorkWeek.model_validate(region.business_days, from_attributes=True)
                if region is not None
                else None,
            ),
            state=initial_state(method),
            inbound=inbound,
            turnaround=decision.turnaround,
            state_since={initial_state(method).value: now},
            created_at=now,
            updated_at=now,
        )
        ship_date = slot.local_date if slot is not None else now.date()
        shipment = carrier_requests.shipment_request(
            inbound.booking_reference, command.site, centre.address, parcels, ship_date, is_return=True
        )
        token, link = new_link(repair_id, LegDirection.INBOUND, now, self.link_ttl)
        created = Change(
            kind="created",
            occurred_at=now,
            actor=Actor.CASE_SYSTEM,
            source=source,
            to_state=repair.state,
            leg=LegDirection.INBOUND,
            details={
                "method": method.value,
                "carrier": decision.carrier,
                "centre_id": centre.id,
                "reasons": [r.code for r in decision.reasons],
            },
        )
        booking = new_intent(
            inbound.booking_reference,
            repair_id,
            LegDirection.INBOUND,
            Operation.CREATE_SHIPMENT,
            decision.carrier,
            shipment.model_dump(mode="json"),
            now,
            lease=self._bookings.lease,
            carrier_request=shipment,
        )
        try:
            async with self._store.transaction() as tx:
                await tx.add_repair(repair, origin)
                await tx.add_intent(booking)
                await tx.add_label_link(link)
                await record(tx, repair, [created], now)
        except AlreadyStored:
            existing = await self._store.reader().repair_by_origin(origin) if origin is not None else None
            if existing is None:
                raise
            if not _made_by(existing, command):
                raise IdempotencyMismatch("this Idempotency-Key was used with a different request") from None
            return await self._answer_again(existing, decision, now)
        # Book now, so the caller usually gets the booking in the answer; what does not succeed now is
        # retried by the worker once the lease runs out, and the case system is notified when it lands.
        outcome = await self._bookings.run_in_budget(booking, repair=repair)
        stored = (outcome.repair if outcome else None) or await self._store.reader().get_repair(repair_id)
        assert stored is not None
        return Created(repair=stored, decision=decision, label_token=token, label_expires_at=link.expires_at)

    async def _answer_again(self, repair: Repair, decision: RoutingDecision, now: datetime) -> Created:
        token, link = new_link(repair.id, LegDirection.INBOUND, now, self.link_ttl)
        async with self._store.transaction() as tx:
            await tx.add_label_link(link)
        logger.info("repair %s existed already: answered again", repair.id)
        return Created(repair=repair, decision=decision, label_token=token, label_expires_at=link.expires_at)

    async def get(self, repair_id: str, centre_id: str | None = None) -> Repair:
        repair = await self._store.reader().get_repair(repair_id, centre_id)
        if repair is None:
            raise NotFound("no such repair", code="repair.not_found")
        return repair

    async def search(self, flt: RepairFilter, limit: int, cursor: str | None) -> Page:
        try:
            return await self._store.reader().list_repairs(flt, limit, cursor)
        except ValueError as exc:
            raise InvalidRequest(
                "the cursor is not one this service issued",
                code="request.bad_cursor",
                fields=[{"name": "cursor", "reason": str(exc)}],
            ) from exc

    async def history(self, repair_id: str, centre_id: str | None = None) -> list[HistoryEntry]:
        await self.get(repair_id, centre_id)
        return await self._store.reader().history(repair_id)

    async def custody(self, repair_id: str) -> tuple[Repair, list[HistoryEntry], list[StoredCarrierEvent]]:
        """The repair, its history and its carriers' scans: what the custody view is drawn from."""
        repair = await self.get(repair_id)
        reader = self._store.reader()
        return repair, await reader.history(repair.id), await reader.carrier_events(repair.id)

    async def cancel(self, repair_id: str, reason: str, source: str) -> Repair:
        now = self._clock.now()
        async with self._store.transaction() as tx:
            repair = await tx.get_repair(repair_id)
            if repair is None:
                raise NotFound("no such repair", code="repair.not_found")
            try:
                changes = repair.cancel(now, source, reason)
            except DomainRuleError as exc:
                raise Conflict(exc.message, code=exc.code) from exc
            if changes:
                # Undo at the carrier what was booked for the inbound leg; stop what was not booked yet.
                for reference in (repair.inbound.booking_reference, repair.inbound.pickup_reference):
                    await outbox.compensate(tx, await tx.intent(reference), "repair cancelled before booking", now)
                await tx.revoke_label_links(repair.id, now)
                await tx.save_repair(repair)
                await record(tx, repair, changes, now)
        await self._bookings.run_due_for(repair_id)
        return await self.get(repair_id)

    async def reschedule(
        self, repair_id: str, command: Reschedule, source: str, actor: Actor = Actor.CASE_SYSTEM
    ) -> tuple[Repair, RoutingDecision]:
        """Move the courier pickup to the first slot on or after the preferred date; ``actor`` is who asked
        (the case system, or the customer through the label link's page)."""
        now = self._clock.now()
        current = await self.get(repair_id)
        if current.state is not JourneyState.AWAITING_PICKUP:
            raise Conflict(
                "only a courier pickup that has not happened can be rescheduled",
                code="reschedule.not_possible",
            )
        decision = self._routing.quote(routing_request(current, command.preferred_date))
        if not decision.slots:
            raise RuleRefused(
                "no pickup slot is available",
                code="reschedule.no_slot",
                reasons=[r.model_dump() for r in decision.reasons],
            )
        first = decision.slots[0]
        leg = current.inbound
        if leg.pickup is not None and _same_window(first, leg.pickup) and leg.status is LegStatus.PICKUP_SCHEDULED:
            # Booked for that slot already (a retry of a reschedule that was done, or a move to where it is):
            # nothing to cancel or book again.
            return current, decision
        slot = Slot.model_validate(first.model_dump())
        async with self._store.transaction() as tx:
            repair = await tx.get_repair(repair_id)
            assert repair is not None
            old_reference = repair.inbound.pickup_reference
            try:
                changes = repair.reschedule(slot, now, source, actor)
            except DomainRuleError as exc:
                raise Conflict(exc.message, code=exc.code) from exc
            await outbox.compensate(tx, await tx.intent(old_reference), "rescheduled before booking", now)
            leg = repair.inbound
            if leg.tracking_number:
                pickup = carrier_requests.pickup_request(
                    leg.pickup_reference,
                    repair.site,
                    carrier_requests.repair_parcels(repair),
                    slot,
                    (leg.tracking_number,),
                )
                await tx.add_intent(
                    new_intent(
                        pickup.reference,
                        repair.id,
                        LegDirection.INBOUND,
                        Operation.SCHEDULE_PICKUP,
                        leg.carrier,
                        pickup.model_dump(mode="json"),
                        now,
                    )
                )
            await tx.save_repair(repair)
            await record(tx, repair, changes, now)
        await self._bookings.run_due_for(repair_id)
        return await self.get(repair_id), decision


def _same_window(slot: PickupSlot, held: Slot) -> bool:
    return (slot.local_date, slot.ready_time, slot.close_time) == (held.local_date, held.ready_time, held.close_time)


def routing_request(repair: Repair, preferred_date: date | None) -> RoutingRequest:
    """What routing needs to quote again for a stored repair."""
    return RoutingRequest(
        site=repair.site, device=repair.device, entitlement=repair.entitlement, preferred_date=preferred_date
    )


def _made_by(repair: Repair, command: CreateRepair) -> bool:
    """Whether ``repair`` is what ``command`` creates: same case, site, device and entitlement."""
    return (
        repair.case_id == command.case_id
        and repair.language == command.language
        and repair.site == command.site
        and repair.device == command.device
        and repair.entitlement == command.entitlement
        and repair.include_self_test_results == command.include_self_test_results
    )
