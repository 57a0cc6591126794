"""Repair-centre use cases: receipt of a device (by scan, tracking number or repair id) and dispatch.

A centre sees and acts on only the devices routed to it: anything else is "not found", exactly as if it
did not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from logistics.clock import Clock
from logistics.domain.intake import PREFIX as INTAKE_PREFIX
from logistics.domain.intake import read_intake_payload
from logistics.domain.journey import JourneyState, LegDirection, LegMethod
from logistics.domain.model import DomainRuleError, Leg, ReceiptCheck, Repair
from logistics.domain.references import leg_reference
from logistics.domain.text import plain_text
from logistics.errors import Conflict, InvalidRequest, NotFound
from logistics.services import carrier_requests, outbox
from logistics.services.bookings import Bookings
from logistics.services.label_links import new_link
from logistics.services.notifications import record
from logistics.services.outbox import Operation, new_intent
from logistics.services.ports import BookingIntent, Page, RepairFilter, Store, Transaction
from logistics.services.routing import Routing

ITEM_NAME = r"^[a-z_]{1,40}$"
ItemName = Annotated[str, StringConstraints(pattern=ITEM_NAME)]  # an item kind, as on the packing slip


class Receipt(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    scan: Annotated[str, plain_text(200, min_length=0)] | None = Field(
        default=None, description="the label's 2D payload"
    )
    tracking_number: Annotated[str, plain_text(40, min_length=0)] | None = None
    repair_id: Annotated[str, plain_text(40, min_length=0)] | None = None
    condition: str = Field(default="as_expected", pattern=ITEM_NAME)
    items_received: tuple[ItemName, ...] | None = Field(default=None, max_length=20)
    drive_present: bool | None = None
    note: Annotated[str, plain_text(500, min_length=0)] | None = None

    @model_validator(mode="after")
    def _one_identifier(self) -> Receipt:
        given = [x for x in (self.scan, self.tracking_number, self.repair_id) if x]
        if len(given) != 1:
            raise ValueError("give exactly one of scan, tracking_number or repair_id")
        return self


class Dispatch(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    repair_id: Annotated[str, plain_text(40)]
    outcome: Literal["repaired", "replaced"]
    replacement_serial: Annotated[str, plain_text(50)] | None = Field(default=None, validate_default=True)
    self_test_passed: bool | None = None

    @field_validator("replacement_serial")
    @classmethod
    def _serial_goes_with_a_replacement(cls, serial: str | None, info: ValidationInfo) -> str | None:
        outcome = info.data.get("outcome")
        if outcome == "replaced" and serial is None:
            raise ValueError("a replaced device needs the serial of the unit sent back")
        if outcome == "repaired" and serial is not None:
            raise ValueError("a repaired device goes back with its own serial: give none")
        return serial


@dataclass(frozen=True)
class Dispatched:
    repair: Repair
    label_token: str
    label_expires_at: datetime


def _same_dispatch(repair: Repair, command: Dispatch) -> bool:
    serial = command.replacement_serial if command.outcome == "replaced" else None
    return repair.outcome == command.outcome and repair.replacement_serial == serial


def expected_items(repair: Repair) -> tuple[str, ...]:
    """The item kinds on the packing slip (the computer itself is implied)."""
    return tuple(sorted({item.kind.value for item in repair.entitlement.items}))


class Centres:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        routing: Routing,
        bookings: Bookings,
        *,
        intake_secret: bytes,
        link_ttl: timedelta,
    ) -> None:
        self._store = store
        self._clock = clock
        self._routing = routing
        self._bookings = bookings
        self._secret = intake_secret
        self._link_ttl = link_ttl

    async def _locate(self, centre_id: str, receipt: Receipt) -> str:
        reader = self._store.reader()
        repair_id: str | None = None
        if receipt.scan:
            scan = read_intake_payload(self._secret, receipt.scan)
            if scan is None:
                raise InvalidRequest(
                    "the scanned code is not a label of this service",
                    code="receipt.bad_scan",
                    fields=[{"name": "scan", "reason": "unknown or damaged payload"}],
                )
            repair_id = scan.repair_id
        elif receipt.tracking_number:
            found = await reader.find_leg(None, receipt.tracking_number)
            repair_id = found[0] if found else None
        else:
            repair_id = receipt.repair_id
        repair = await reader.get_repair(repair_id, centre_id) if repair_id else None
        if repair is None:
            raise NotFound("no such repair at this centre", code="repair.not_found")
        return repair.id

    async def find(self, centre_id: str, code: str) -> Repair:
        """The centre's device that a scanned label (its 2D payload) or a typed tracking number names; a code
        that names nothing of this centre is "not found", whatever it names elsewhere."""
        code = code.strip()
        try:
            receipt = Receipt(scan=code) if code.startswith(f"{INTAKE_PREFIX}|") else Receipt(tracking_number=code)
        except ValidationError as exc:  # empty or longer than any code of ours
            raise NotFound("no such repair at this centre", code="repair.not_found") from exc
        try:
            repair_id = await self._locate(centre_id, receipt)
        except InvalidRequest as exc:  # a damaged or foreign 2D code
            raise NotFound("no such repair at this centre", code="repair.not_found") from exc
        repair = await self._store.reader().get_repair(repair_id)
        assert repair is not None
        return repair

    async def receive(self, centre_id: str, receipt: Receipt, source: str) -> Repair:
        repair_id = await self._locate(centre_id, receipt)
        now = self._clock.now()
        async with self._store.transaction() as tx:
            repair = await tx.get_repair(repair_id)
            assert repair is not None
            if repair.state is JourneyState.AT_CENTRE and repair.outbound is None:
                return repair  # scanned in already: a second scan (or a retried request) changes nothing
            expected = expected_items(repair)
            check = ReceiptCheck(
                condition=receipt.condition,
                items_received=receipt.items_received if receipt.items_received is not None else expected,
                drive_present=receipt.drive_present,
                note=receipt.note,
            )
            courier_booked = repair.state is JourneyState.AWAITING_PICKUP and repair.inbound.pickup_confirmation
            try:
                changes = repair.receive(now, source, check, expected, repair.entitlement.defective_media_retention)
            except DomainRuleError as exc:
                raise Conflict(exc.message, code=exc.code) from exc
            cancel_pickup = await self._pickup_to_cancel(tx, repair, now) if courier_booked else None
            await tx.save_repair(repair)
            await tx.schedule_poll(repair.id, LegDirection.INBOUND, None, False)
            await record(tx, repair, changes, now)
        if cancel_pickup is not None:
            # Received before its courier came (brought in, or delivered by another carrier): the courier is
            # cancelled at the carrier; a refusal is flagged on the repair.
            await self._bookings.attempt(cancel_pickup.reference)
        return repair

    @staticmethod
    async def _pickup_to_cancel(tx: Transaction, repair: Repair, now: datetime) -> BookingIntent | None:
        undoing = await outbox.compensate(tx, await tx.intent(repair.inbound.pickup_reference), "received", now)
        return undoing[0] if undoing else None

    async def dispatch(self, centre_id: str, command: Dispatch, source: str) -> Dispatched:
        now = self._clock.now()
        current = await self._store.reader().get_repair(command.repair_id, centre_id)
        if current is None:
            raise NotFound("no such repair at this centre", code="repair.not_found")
        centre = self._routing.coverage.centres.get(centre_id)
        if centre is None:
            raise Conflict("the centre is not in the coverage in service", code="centre.unknown")
        carrier = current.routed.return_carrier or current.inbound.carrier
        outbound = Leg(
            direction=LegDirection.OUTBOUND,
            method=LegMethod.CENTRE_DISPATCH,
            carrier=carrier,
            booking_reference=leg_reference(current.id, LegDirection.OUTBOUND),
        )
        token, link = new_link(current.id, LegDirection.OUTBOUND, now, self._link_ttl)
        if current.outbound is not None and _same_dispatch(current, command):
            # Dispatched already with the same outcome (a retry whose first answer was lost): answer again,
            # with a new label link, and book nothing more.
            async with self._store.transaction() as tx:
                await tx.add_label_link(link)
            return Dispatched(repair=current, label_token=token, label_expires_at=link.expires_at)
        async with self._store.transaction() as tx:
            repair = await tx.get_repair(command.repair_id)
            assert repair is not None
            try:
                changes = repair.dispatch(
                    now, source, command.outcome, command.replacement_serial, outbound, command.self_test_passed
                )
            except DomainRuleError as exc:
                raise Conflict(exc.message, code=exc.code) from exc
            shipment = carrier_requests.shipment_request(
                outbound.booking_reference,
                centre.address,
                repair.site,
                carrier_requests.repair_parcels(repair),
                now.date(),
                is_return=False,
            )
            booking = new_intent(
                outbound.booking_reference,
                repair.id,
                LegDirection.OUTBOUND,
                Operation.CREATE_SHIPMENT,
                carrier,
                shipment.model_dump(mode="json"),
                now,
                lease=self._bookings.lease,
                carrier_request=shipment,
            )
            await tx.add_intent(booking)
            await tx.add_label_link(link)
            await tx.save_repair(repair)
            await record(tx, repair, changes, now)
        outcome = await self._bookings.run_in_budget(booking)
        repair_after = (outcome.repair if outcome else None) or await self._store.reader().get_repair(command.repair_id)
        assert repair_after is not None
        return Dispatched(repair=repair_after, label_token=token, label_expires_at=link.expires_at)

    async def repairs(
        self,
        centre_id: str,
        view: Literal["expected", "at_centre", "dispatched"],
        limit: int,
        cursor: str | None,
    ) -> Page:
        # A device the centre has dispatched is listed as dispatched at once, though it is still at the centre
        # until the carrier collects it (its journey state changes with the carrier's first scan).
        states, dispatched = {
            "expected": (
                (JourneyState.AWAITING_PICKUP, JourneyState.AWAITING_DROP_OFF, JourneyState.IN_TRANSIT_TO_CENTRE),
                None,
            ),
            "at_centre": ((JourneyState.AT_CENTRE,), False),
            "dispatched": ((JourneyState.AT_CENTRE, JourneyState.IN_TRANSIT_TO_CUSTOMER, JourneyState.DELIVERED), True),
        }[view]
        flt = RepairFilter(centre_id=centre_id, states=states, dispatched=dispatched)
        try:
            return await self._store.reader().list_repairs(flt, limit, cursor)
        except ValueError as exc:
            raise InvalidRequest(
                "the cursor is not one this service issued",
                code="request.bad_cursor",
                fields=[{"name": "cursor", "in": "query", "reason": str(exc)}],
            ) from exc
