"""Label documents of a repair: what goes on each leg's label, rendered off the event loop, cached.

Rendering is CPU-bound (reportlab), so it runs in a process pool: a burst of downloads never stalls the
event loop. Identical descriptions give identical bytes, so the cache is keyed by the description's content
and the same key serves as the ETag. Concurrent requests for the same label share one render.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from datetime import datetime
from decimal import Decimal
from typing import Literal, NamedTuple

from pydantic import ValidationError

from labels import (
    SUPPORTED_LANGUAGES,
    CarrierLabelImage,
    DeviceInfo,
    DispatchSlip,
    LabelAddress,
    LabelDescription,
    PackedItem,
    PackingInstructions,
    PickupInfo,
    SupportHours,
    render_label,
)
from labels.catalogue import resolve_language
from logistics.clock import Clock
from logistics.domain.intake import intake_payload
from logistics.domain.journey import JourneyState, LegDirection, LegMethod
from logistics.domain.model import Repair
from logistics.domain.routing import Item, ItemKind, ProductLine, SiteAddress
from logistics.errors import Conflict, NotFound
from logistics.services import carrier_requests
from logistics.services.label_links import link_is_live, token_hash
from logistics.services.ports import Store
from logistics.services.repairs import CreateRepair
from logistics.services.routing import Routing

logger = logging.getLogger(__name__)

PageFormat = Literal["4x6", "a4"]

# When the support line answers, printed in the customer's language; regions may give their own phone.
SUPPORT_HOURS = SupportHours(first_day=1, last_day=5, opens="08:00", closes="17:00")

CARRIER_TITLES = {"sim": "Simulated Carrier", "ups": "UPS", "dhl_express": "DHL Express", "colissimo": "Colissimo"}


class LabelDocument(NamedTuple):
    """A rendered document: the PDF, its entity tag (unquoted) and the file name it is saved under."""

    pdf: bytes
    etag: str
    filename: str


def document_filename(repair: Repair, direction: LegDirection, page_format: PageFormat) -> str:
    """Named after the case and the leg, so that saved labels are told apart: "C-1001-inbound-a4.pdf".
    Case ids are letters, digits and ``._:-``; the colon, refused in Windows file names, becomes "_"."""
    return f"{repair.case_id.replace(':', '_')}-{direction.value}-{page_format}.pdf"


def printed_fields(command: CreateRepair) -> Iterator[tuple[str, str]]:
    """The fields of a repair's creation that its documents print, named as in the request."""
    site, device = command.site, command.device
    yield "site.name", site.name
    if site.company is not None:
        yield "site.company", site.company
    for index, line in enumerate(site.street_lines):
        yield f"site.street_lines.{index}", line
    yield "site.postal_code", site.postal_code
    yield "site.city", site.city
    yield "site.phone", site.phone
    yield "device.model", device.model
    yield "device.serial_number", device.serial_number
    for index, item in enumerate(command.entitlement.items):
        if item.description is not None:
            yield f"entitlement.items.{index}.description", item.description


def dispatch_slip(repair: Repair) -> DispatchSlip:
    """What goes back: the outcome, the replacement's serial, and the items that came with the device."""
    assert repair.outcome is not None
    return DispatchSlip(
        outcome=repair.outcome,
        replacement_serial=repair.replacement_serial if repair.outcome == "replaced" else None,
        items=packed_items(repair.entitlement.items),
    )


def packed_items(items: Iterable[Item]) -> tuple[PackedItem, ...]:
    """The case's items as the packing slip lists them (kind named by the catalogue, the case's note)."""
    return tuple(PackedItem(kind=item.kind.value, note=item.description, quantity=item.quantity) for item in items)


def _address(site: SiteAddress) -> LabelAddress:
    """The site as a label prints it (the label has no subdivision or e-mail)."""
    return LabelAddress.model_validate(site, from_attributes=True)


def document_key(description: LabelDescription, page_format: PageFormat) -> str:
    """The cache key and ETag of a rendered label: a digest of everything the PDF is made from.

    The carrier's label is binary (a GIF, a PDF) and never goes through a JSON serialiser: the text fields
    are serialised without it, and the carrier label enters the digest as its content type and raw bytes."""
    digest = hashlib.sha256(page_format.encode())
    digest.update(b"\n" + description.model_dump_json(exclude={"carrier_label"}).encode())
    carrier_label = description.carrier_label
    if carrier_label is not None:
        digest.update(b"\n" + carrier_label.content_type.encode() + b"\n")
        digest.update(carrier_label.data)
    return digest.hexdigest()[:32]


class LabelDocuments:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        routing: Routing,
        executor: Executor | None,
        *,
        intake_secret: bytes,
        cache_entries: int,
        concurrency: int = 4,
        on_render: Callable[[str, str], None] = lambda page_format, cache: None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._routing = routing
        self._executor = executor
        self._secret = intake_secret
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cache_entries = cache_entries
        # The document key of a repair's leg as last described, by the repair's whole JSON, a digest of the
        # carrier's label and the coverage it was described with: a description depends on nothing else, so
        # a download of a cached label skips describing it (validating it and checking its every text).
        self._known: OrderedDict[tuple[str, bytes, LegDirection, str], tuple[object, str]] = OrderedDict()
        self._in_flight: dict[str, asyncio.Future[bytes]] = {}
        # At most a few label requests do their work on the event loop at a time: the others wait here,
        # cheaply, so that a burst of downloads queues behind itself and not in front of every other request.
        self._gate = asyncio.Semaphore(max(2, concurrency))
        self._on_render = on_render

    async def describe(self, repair: Repair, direction: LegDirection) -> LabelDescription:
        """What the leg's documents say, from the repair and the coverage in service."""
        return await self._describe_with(repair, direction, await self._carrier_label(repair, direction))

    async def _carrier_label(self, repair: Repair, direction: LegDirection) -> tuple[str, bytes] | None:
        """The carrier's own label of the leg as stored (content type and bytes), if the carrier issued one."""
        leg = repair.leg(direction)
        if leg is None or not leg.carrier_label:
            return None
        return await self._store.reader().carrier_label(repair.id, direction)

    async def _describe_with(
        self, repair: Repair, direction: LegDirection, stored: tuple[str, bytes] | None
    ) -> LabelDescription:
        try:
            return await self._describe(repair, direction, stored)
        except ValidationError as exc:
            # Data stored under older limits (text the labels cannot print, say): a clear refusal, not a 500.
            reason = exc.errors(include_url=False)[0]["msg"]
            raise Conflict(
                f"a label cannot be made from this repair's data: {reason}", code="label.unprintable"
            ) from exc

    async def _describe(
        self, repair: Repair, direction: LegDirection, stored: tuple[str, bytes] | None
    ) -> LabelDescription:
        leg = repair.leg(direction)
        if leg is None or leg.tracking_number is None:
            raise Conflict(
                "the label is not ready yet: the carrier has not confirmed the booking",
                code="label.not_ready",
            )
        centre = self._routing.coverage.centres.get(repair.centre_id)
        if centre is None:
            raise NotFound("the repair centre is not in the coverage in service", code="centre.unknown")
        inbound = direction is LegDirection.INBOUND
        sender, recipient = (repair.site, centre.address) if inbound else (centre.address, repair.site)
        notebook = repair.device.product_line is ProductLine.NOTEBOOK
        parcels = carrier_requests.repair_parcels(repair)
        weights = tuple(parcel.weight_kg for parcel in parcels)
        carrier_image = None if stored is None else CarrierLabelImage(content_type=stored[0], data=stored[1])
        instructions = None
        if inbound:
            pickup = None
            if leg.method is LegMethod.COURIER_PICKUP and leg.pickup is not None:
                pickup = PickupInfo(
                    date=leg.pickup.local_date,
                    ready_time=leg.pickup.ready_time.strftime("%H:%M"),
                    close_time=leg.pickup.close_time.strftime("%H:%M"),
                    time_zone=leg.pickup.time_zone,
                )
            drop_off, drop_off_language = (None, None) if pickup is not None else self._drop_off(repair)
            instructions = PackingInstructions(
                pickup=pickup,
                drop_off=drop_off,
                drop_off_language=drop_off_language,
                ship_by=repair.routed.ship_by if pickup is None else None,
                defective_media_retention=repair.entitlement.defective_media_retention,
                include_self_test_results=repair.include_self_test_results,
                items_to_include=packed_items(repair.entitlement.items),
                support_hours=SUPPORT_HOURS,
                support_phone=self._support_phone(repair),
                case_reference=repair.case_id,
            )
        ship_date = leg.pickup.local_date if leg.pickup else (leg.status_at or repair.updated_at).date()
        return LabelDescription(
            language=repair.language,
            direction="to_repair_centre" if inbound else "to_customer",
            carrier_name=CARRIER_TITLES.get(leg.carrier, leg.carrier),
            sender=_address(sender),
            recipient=_address(recipient),
            tracking_number=leg.tracking_number,
            routing_code=leg.routing_code,
            weight_kg=sum(weights, Decimal(0)),
            piece_number=1,
            piece_count=len(weights),
            piece_weights_kg=weights if len(weights) > 1 else (),
            ship_date=ship_date,
            case_reference=repair.case_id,
            intake_payload=intake_payload(self._secret, repair.id, direction),
            contains_lithium_battery=notebook,
            # A battery packed with the notebook, beside the one installed in it, needs the regulated mark.
            lithium_mark_required=notebook and any(item.kind is ItemKind.BATTERY for item in repair.entitlement.items),
            carrier_label=carrier_image,
            instructions=instructions,
            device=DeviceInfo(model=repair.device.model, serial_number=repair.device.serial_number),
            dispatch=None if inbound or repair.outcome is None else dispatch_slip(repair),
        )

    def _support_phone(self, repair: Repair) -> str | None:
        region = self._routing.coverage.regions.get(repair.region_id) if repair.region_id else None
        return region.support_phone if region is not None else None

    def _drop_off(self, repair: Repair) -> tuple[str | None, str | None]:
        """The region's drop-off text in the customer's language where the coverage has it, else as written,
        and the language it is in (None when the catalogues cannot name it). A region gone from the coverage
        leaves the text stored when the repair was created, in the coverage's language then."""
        region = self._routing.coverage.regions.get(repair.region_id) if repair.region_id else None
        if region is not None and region.self_shipment is not None:
            text, written_in = region.self_shipment.drop_off_with_language(resolve_language(repair.language))
            return text, written_in if written_in in SUPPORTED_LANGUAGES else None
        return repair.routed.drop_off, None

    async def render(self, repair: Repair, direction: LegDirection, page_format: PageFormat) -> LabelDocument:
        """The PDF, its ETag and its file name."""
        async with self._gate:
            pdf, etag = await self._render(repair, direction, page_format)
        return LabelDocument(pdf, etag, document_filename(repair, direction, page_format))

    async def _render(self, repair: Repair, direction: LegDirection, page_format: PageFormat) -> tuple[bytes, str]:
        """The PDF and its ETag."""
        coverage = self._routing.coverage
        stored = await self._carrier_label(repair, direction)
        label_digest = (
            b"" if stored is None else hashlib.blake2b(stored[1], digest_size=16).digest() + stored[0].encode()
        )
        seen = (repair.model_dump_json(), label_digest, direction, page_format)
        known = self._known.get(seen)
        if known is not None and known[0] is coverage and known[1] in self._cache:
            self._known.move_to_end(seen)
            self._cache.move_to_end(known[1])
            self._on_render(page_format, "hit")
            return self._cache[known[1]], known[1]
        description = await self._describe_with(repair, direction, stored)
        key = document_key(description, page_format)
        if self._cache_entries:
            self._known[seen] = (coverage, key)
            while len(self._known) > self._cache_entries:
                self._known.popitem(last=False)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            self._on_render(page_format, "hit")
            return cached, key
        pending = self._in_flight.get(key)
        if pending is not None:
            return await asyncio.shield(pending), key
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            pdf = await asyncio.get_running_loop().run_in_executor(
                self._executor, render_label, description, page_format
            )
            future.set_result(pdf)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            self._in_flight.pop(key, None)
        self._on_render(page_format, "rendered")
        if self._cache_entries:
            self._cache[key] = pdf
            while len(self._cache) > self._cache_entries:
                self._cache.popitem(last=False)
        return pdf, key

    async def render_for_token(self, token: str, page_format: PageFormat) -> LabelDocument | None:
        """The customer's label behind a link; None for an unknown, expired or revoked token alike."""
        if not token or len(token) > 128:
            return None
        async with self._gate:
            return await self._render_for_token(token, page_format)

    async def _render_for_token(self, token: str, page_format: PageFormat) -> LabelDocument | None:
        reader = self._store.reader()
        link = await reader.label_link(token_hash(token))
        now: datetime = self._clock.now()
        if link is None or not link_is_live(link, now):
            return None
        repair = await reader.get_repair(link.repair_id)
        if repair is None or repair.state is JourneyState.CANCELLED:
            return None  # a cancelled repair's links are revoked; one made since (an answer given again) too
        pdf, etag = await self._render(repair, link.leg, page_format)
        return LabelDocument(pdf, etag, document_filename(repair, link.leg, page_format))
