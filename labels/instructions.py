"""What the instruction sheet and packing slip say, as paragraphs in the label's language.

The words come from the message catalogue; this module decides which messages apply (Defective Media
Retention, self-test printouts, pickup window or drop-off, covered items) and in what order. It must
not place anything on a page.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from labels.catalogue import Catalogue
from labels.description import LabelDescription, PackedItem, PackingInstructions, PickupInfo, SupportHours
from labels.layout import grouped_for_reading
from labels.text_fitting import Paragraph

BULLET = "•"
CHECKBOX = "☐"


def packing_paragraphs(description: LabelDescription, catalogue: Catalogue) -> list[Paragraph]:
    """How to pack, data backup and erasure, what goes in the box and what does not."""
    options = description.instructions
    paragraphs = [
        Paragraph(catalogue.text("instructions_title"), "bold", 1.3),
        Paragraph(catalogue.text("pack"), space_before=0.5),
        Paragraph(catalogue.text("backup"), "bold", space_before=0.4),
    ]
    if options is not None and options.defective_media_retention:
        paragraphs.append(Paragraph(catalogue.text("dmr"), "bold", space_before=0.4))
    if options is not None and options.include_self_test_results:
        paragraphs.append(Paragraph(catalogue.text("self_test"), space_before=0.4))
    paragraphs.append(Paragraph(catalogue.text("include_title"), "bold", 1.1, space_before=0.6))
    paragraphs += [Paragraph(f"{BULLET} {item}") for item in items_in_box(options, catalogue)]
    paragraphs.append(Paragraph(catalogue.text("exclude_title"), "bold", 1.1, space_before=0.6))
    paragraphs.append(Paragraph(catalogue.text("exclude_items")))
    if description.contains_lithium_battery:
        paragraphs.append(Paragraph(f"UN3481 — {catalogue.text('lithium_mark')}", "bold", space_before=0.6))
    return paragraphs


def items_in_box(options: PackingInstructions | None, catalogue: Catalogue) -> list[str]:
    """The device, then each item the case lists, once, with its quantity."""
    return [catalogue.text("include_device"), *item_lines(options.items_to_include if options else (), catalogue)]


def item_lines(items: tuple[PackedItem, ...], catalogue: Catalogue) -> list[str]:
    """One line per kind of item (and note), quantities of repeated entries added up, in the case's order."""
    quantities: dict[tuple[str, str | None], int] = {}
    for item in items:
        key = (item.kind, item.note)
        quantities[key] = quantities.get(key, 0) + item.quantity
    lines = []
    for (kind, note), quantity in quantities.items():
        name = catalogue.text(f"item_{kind}")
        if note:
            name = f"{name} ({note})"
        lines.append(catalogue.text("item_quantity", quantity=quantity, item=name))
    return lines


def support_hours_text(hours: SupportHours, catalogue: Catalogue) -> str:
    return catalogue.text(
        "support_hours",
        first_day=catalogue.text(f"weekday_{hours.first_day}"),
        last_day=catalogue.text(f"weekday_{hours.last_day}"),
        opens=hours.opens,
        closes=hours.closes,
    )


def utc_offset(pickup: PickupInfo) -> str:
    """The pickup's offset from UTC on its day, such as "UTC+01:00": readable anywhere, unlike a zone id."""
    local = datetime.combine(pickup.date, time.fromisoformat(pickup.ready_time), ZoneInfo(pickup.time_zone))
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "−"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def logistics_paragraphs(description: LabelDescription, catalogue: Catalogue) -> list[Paragraph]:
    """Case number, pickup window or drop-off, support hours."""
    options = description.instructions
    case_reference = (options.case_reference if options else None) or description.case_reference
    paragraphs = [
        Paragraph(catalogue.text("case_title"), "bold", 0.8),
        Paragraph(case_reference, "bold", 1.5),
    ]
    if options is not None and options.pickup is not None:
        pickup = options.pickup
        window = catalogue.text(
            "pickup_window",
            date=catalogue.date(pickup.date),
            ready=pickup.ready_time,
            close=pickup.close_time,
            zone=utc_offset(pickup),
        )
        paragraphs += [
            Paragraph(catalogue.text("pickup_title"), "bold", space_before=0.8),
            Paragraph(window, "bold"),
            Paragraph(catalogue.text("pickup_ready")),
        ]
    elif options is not None and options.drop_off is not None:
        paragraphs.append(Paragraph(catalogue.text("drop_off_title"), "bold", space_before=0.8))
        if options.drop_off_language not in (None, catalogue.language):
            # The region has no text in the customer's language: say which language follows.
            language = catalogue.text(f"language_{options.drop_off_language}")
            paragraphs.append(Paragraph(catalogue.text("text_in_language", language=language), scale=0.9))
        paragraphs.append(Paragraph(options.drop_off))
        if options.ship_by is not None:
            paragraphs.append(Paragraph(catalogue.text("ship_by", date=catalogue.date(options.ship_by)), "bold"))
    if options is not None and (options.support_hours is not None or options.support_phone is not None):
        paragraphs.append(Paragraph(catalogue.text("support_title"), "bold", space_before=0.8))
        if options.support_phone is not None:
            paragraphs.append(Paragraph(f"{catalogue.text('phone')} {options.support_phone}", "bold"))
        if options.support_hours is not None:
            paragraphs.append(Paragraph(support_hours_text(options.support_hours, catalogue)))
        paragraphs.append(Paragraph(catalogue.text("support_quote"), scale=0.9))
    return paragraphs


def packing_slip_paragraphs(description: LabelDescription, catalogue: Catalogue) -> list[Paragraph]:
    """The checklist the repair centre ticks on receipt."""
    options = description.instructions
    paragraphs = [
        Paragraph(catalogue.text("packing_slip_title"), "bold", 1.4),
        Paragraph(catalogue.text("packing_slip_intro"), space_before=0.3),
        Paragraph(f"{catalogue.text('case_reference')}: {description.case_reference}", "bold", space_before=0.6),
        Paragraph(f"{catalogue.text('tracking_number')}: {grouped_for_reading(description.tracking_number)}"),
        Paragraph(f"{catalogue.text('ship_date')}: {catalogue.date(description.ship_date)}"),
        Paragraph(
            f"{description.sender.name} — {description.sender.postal_code} {description.sender.city}, "
            f"{description.sender.country}"
        ),
        *device_paragraphs(description, catalogue),
    ]
    items = items_in_box(options, catalogue)
    items[0] = catalogue.text("slip_device")
    if options is not None and options.defective_media_retention:
        items.append(catalogue.text("slip_media_removed"))
    if options is not None and options.include_self_test_results:
        items.append(catalogue.text("slip_self_test"))
    paragraphs.append(Paragraph(f"{CHECKBOX} {items[0]}", scale=1.1, space_before=0.8))
    paragraphs += [Paragraph(f"{CHECKBOX} {item}", scale=1.1, space_before=0.3) for item in items[1:]]
    paragraphs.append(Paragraph(f"{catalogue.text('slip_checked')}: ____________________", "bold", space_before=1.2))
    return paragraphs


def device_paragraphs(description: LabelDescription, catalogue: Catalogue) -> list[Paragraph]:
    """The device's model and serial number, when the description names the device."""
    if description.device is None:
        return []
    return [
        Paragraph(f"{catalogue.text('model')}: {description.device.model}", "bold", space_before=0.4),
        Paragraph(f"{catalogue.text('serial_number')}: {description.device.serial_number}", "bold"),
    ]


def dispatch_slip_paragraphs(description: LabelDescription, catalogue: Catalogue) -> list[Paragraph]:
    """What the centre sends back: outcome, the replacement's serial, and a checklist of the box."""
    slip = description.dispatch
    assert slip is not None
    paragraphs = [
        Paragraph(catalogue.text("dispatch_slip_title"), "bold", 1.4),
        Paragraph(catalogue.text("dispatch_intro"), space_before=0.3),
        Paragraph(f"{catalogue.text('case_reference')}: {description.case_reference}", "bold", space_before=0.6),
        Paragraph(f"{catalogue.text('tracking_number')}: {grouped_for_reading(description.tracking_number)}"),
        Paragraph(f"{catalogue.text('ship_date')}: {catalogue.date(description.ship_date)}"),
        Paragraph(
            f"{catalogue.text('outcome_title')}: {catalogue.text(f'outcome_{slip.outcome}')}", "bold", space_before=0.6
        ),
        *device_paragraphs(description, catalogue),
    ]
    if slip.replacement_serial is not None:
        paragraphs.append(Paragraph(f"{catalogue.text('replacement_serial')}: {slip.replacement_serial}", "bold", 1.2))
    device = catalogue.text(f"dispatch_device_{slip.outcome}")
    paragraphs.append(Paragraph(f"{CHECKBOX} {device}", scale=1.1, space_before=0.8))
    paragraphs += [
        Paragraph(f"{CHECKBOX} {line}", scale=1.1, space_before=0.3) for line in item_lines(slip.items, catalogue)
    ]
    paragraphs.append(Paragraph(f"{catalogue.text('dispatch_packed')}: ____________________", "bold", space_before=1.2))
    return paragraphs
