"""The words of the web pages, from the labels' message catalogues, and the journey as a customer reads it.

Pure: turns a repair and its history into the lines of the timeline and the steps to take next, in one
language, with times in the site's own time zone. Nothing here does I/O or knows HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from labels.catalogue import SUPPORTED_LANGUAGES, Catalogue, resolve_language
from logistics.domain.journey import Actor, JourneyState, LegDirection, LegMethod, LegStatus
from logistics.domain.model import Repair
from logistics.services.ports import HistoryEntry

LANGUAGES = SUPPORTED_LANGUAGES


@dataclass(frozen=True)
class Language:
    code: str
    name: str


@cache
def languages() -> tuple[Language, ...]:
    """The six languages a page can be read in, each named in itself."""
    return tuple(Language(code, Catalogue(code).text("web_language_name")) for code in LANGUAGES)


def best_language(requested: str | None, fallback: str) -> str:
    """``requested`` if it is one of ours, else ``fallback`` resolved (English when unknown)."""
    if requested and requested in LANGUAGES:
        return requested
    return resolve_language(fallback)


def from_accept_language(header: str) -> str:
    """The first language of an ``Accept-Language`` header that we have, by preference; English otherwise."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag and weight > 0:
            ranked.append((-weight, index, tag))
    for _, _, tag in sorted(ranked):
        primary = tag.replace("_", "-").split("-", 1)[0].lower()
        if primary in LANGUAGES:
            return primary
    return "en"


def _zone(name: object) -> ZoneInfo | None:
    try:
        return ZoneInfo(str(name)) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass(frozen=True)
class TimelineLine:
    at: datetime  # in the site's zone where known
    when: str
    text: str
    iso: str


class Texts:
    """Messages of one language, and dates and times as that language writes them."""

    def __init__(self, language: str) -> None:
        self.catalogue = Catalogue(language)
        self.language = self.catalogue.language

    def __call__(self, key: str, **values: object) -> str:
        return self.catalogue.text(key, **values)

    def date(self, value: date) -> str:
        return self.catalogue.date(value)

    def moment(self, value: datetime, zone: ZoneInfo | None) -> str:
        local = value.astimezone(zone) if zone else value
        return f"{self.catalogue.date(local.date())} {local:%H:%M}"

    def state(self, state: JourneyState) -> str:
        return self(f"web_state_{state.value}")


def timeline(repair: Repair, history: list[HistoryEntry], texts: Texts) -> list[TimelineLine]:
    """What a customer wants to know of the history, oldest first: no carrier chatter, no internal steps."""
    zone = _zone(repair.routed.site_time_zone)
    lines: list[TimelineLine] = []
    for entry in history:
        change = entry.change
        text: str | None = None
        if change.kind == "created":
            text = texts("web_event_created")
        elif change.kind == "state_changed" and change.to_state is not None:
            text = texts.state(change.to_state)
        elif change.kind == "leg_status" and change.status is LegStatus.PICKUP_SCHEDULED:
            text = texts("web_event_pickup_booked")
        elif change.kind == "leg_status" and change.status is LegStatus.LABEL_CREATED:
            if change.leg is LegDirection.INBOUND and change.actor is not Actor.CUSTOMER:
                text = texts("web_event_label_ready")
        elif change.kind == "leg_status" and change.status is LegStatus.OUT_FOR_DELIVERY:
            text = texts("web_event_out_for_delivery")
        elif change.kind == "rescheduled":
            moved_to = (change.details.get("to") or {}).get("local_date")
            if moved_to:
                text = texts("web_event_rescheduled", date=texts.date(date.fromisoformat(moved_to)))
        elif change.kind == "outcome":
            text = texts("web_event_replaced" if change.details.get("outcome") == "replaced" else "web_event_repaired")
        if text is not None and (not lines or lines[-1].text != text):
            local = change.occurred_at.astimezone(zone) if zone else change.occurred_at
            lines.append(TimelineLine(local, texts.moment(change.occurred_at, zone), text, local.isoformat()))
    return lines


@dataclass(frozen=True)
class NextSteps:
    """What the customer does now: paragraphs to read, and whether to print the label."""

    paragraphs: list[str]
    print_label: bool
    pickup_window: str | None = None
    drop_off: str | None = None


def next_steps(repair: Repair, leg: LegDirection, texts: Texts) -> NextSteps:
    state = repair.state
    if leg is LegDirection.INBOUND and state in (JourneyState.AWAITING_PICKUP, JourneyState.AWAITING_DROP_OFF):
        paragraphs = [texts("pack"), texts("backup")]
        if repair.entitlement.defective_media_retention:
            paragraphs.append(texts("dmr"))
        if repair.include_self_test_results:
            paragraphs.append(texts("self_test"))
        paragraphs.append(texts("web_next_print"))
        window = drop_off = None
        pickup = repair.inbound.pickup
        if repair.inbound.method is LegMethod.COURIER_PICKUP and pickup is not None:
            window = texts(
                "pickup_window",
                date=texts.date(pickup.local_date),
                ready=pickup.ready_time.strftime("%H:%M"),
                close=pickup.close_time.strftime("%H:%M"),
                zone=pickup.time_zone,
            )
        else:
            drop_off = repair.routed.drop_off or None
            if repair.routed.ship_by is not None:
                paragraphs.append(texts("web_ship_by", date=texts.date(repair.routed.ship_by)))
        return NextSteps(paragraphs, True, window, drop_off)
    if leg is LegDirection.OUTBOUND and state is JourneyState.AT_CENTRE:
        return NextSteps([texts("web_next_at_centre")], True)
    if state in (JourneyState.AWAITING_PICKUP, JourneyState.AWAITING_DROP_OFF, JourneyState.IN_TRANSIT_TO_CENTRE):
        return NextSteps([texts("web_next_in_transit")], False)
    if state is JourneyState.AT_CENTRE:
        return NextSteps([texts("web_next_at_centre")], False)
    if state is JourneyState.IN_TRANSIT_TO_CUSTOMER:
        tracking = repair.outbound.tracking_number if repair.outbound else None
        return NextSteps([texts("web_next_outbound", tracking=tracking or "—")], False)
    if state is JourneyState.DELIVERED:
        return NextSteps([texts("web_next_delivered")], False)
    return NextSteps([texts("web_next_cancelled")], False)
