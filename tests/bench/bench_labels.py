"""Label rendering throughput and size: 4×6 labels per second on one core, A4 packs per second.

Run: .venv/bin/python -m tests.bench.bench_labels [--seconds 5]

Each label differs (tracking number, intake payload, customer name in several European scripts), both
barcodes are drawn and the font is embedded as in production. Rates are given on CPU time of this one
process (what one core delivers, unaffected by other load on the machine) and on wall time. Bounded: each
phase stops after `--seconds`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from labels import (
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
from labels.font_program import font_program
from labels.pdf_fonts import font_objects
from tests.bench.host import calibration

NAMES = (
    ("Zofia Łukasiewicz", "ul. Świętokrzyska 12", "Warszawa", "PL"),
    ("Jean-Baptiste Lefèvre", "8 avenue de l'Opéra", "Paris", "FR"),
    ("Ἀλέξανδρος Παπαδόπουλος", "Οδός Αθηνάς 12", "Αθήνα", "GR"),
    ("Иван Петров", "ул. Тверская, д. 7", "Москва", "RU"),
    ("Řehoř Dvořák", "Žluťoučká 7", "Praha", "CZ"),
    ("Gülşen Yılmaz", "İstiklal Caddesi 3", "İstanbul", "TR"),
    ("Jürgen Müller", "Königstraße 5", "Stuttgart", "DE"),
    ("María José García", "Calle de Alcalá 21", "Madrid", "ES"),
    ("Szőke Ödön", "Kőrösi út 31", "Budapest", "HU"),
    ("Sanne de Vries", "Prinsengracht 263", "Amsterdam", "NL"),
)
LANGUAGES = ("fr", "en", "de", "es", "it", "nl")


def descriptions(count: int) -> list[LabelDescription]:
    centre = LabelAddress(
        name="Repair Centre Lyon",
        street_lines=("12 rue de la Réparation", "Bâtiment B"),
        postal_code="69007",
        city="Lyon",
        country="FR",
        phone="+33 4 72 00 00 00",
    )
    result = []
    for i in range(count):
        name, street, city, country = NAMES[i % len(NAMES)]
        customer = LabelAddress(
            name=name,
            street_lines=(street,),
            postal_code=f"{10000 + i % 89999}",
            city=city,
            country=country,
            phone=f"+33 6 {i % 100:02d} {i % 97:02d} 00 00",
        )
        result.append(
            LabelDescription(
                language=LANGUAGES[i % len(LANGUAGES)],
                direction="to_repair_centre",
                carrier_name="UPS",
                sender=customer,
                recipient=centre,
                tracking_number=f"1Z999AA1{i:010d}",
                routing_code=f"FR 690 {i % 10}-01",
                weight_kg=Decimal("2.5"),
                piece_number=1,
                piece_count=1,
                ship_date=date(2025, 3, 4),
                case_reference=f"CASE-2025-{i:06d}",
                intake_payload=f"RMA:CASE-2025-{i:06d}|SN:5CG{i:07d}|PN:4B6X9EA|CC:{country}",
                contains_lithium_battery=True,
                device=DeviceInfo(model="EliteBook 840 G9", serial_number=f"5CG{i:07d}"),
                instructions=PackingInstructions(
                    pickup=PickupInfo(
                        date=date(2025, 3, 5), ready_time="09:00", close_time="17:00", time_zone="Europe/Paris"
                    ),
                    defective_media_retention=i % 2 == 0,
                    include_self_test_results=True,
                    items_to_include=(PackedItem(kind="ac_adapter"), PackedItem(kind="dock")),
                    support_hours=SupportHours(first_day=1, last_day=5, opens="08:00", closes="17:00"),
                    support_phone="+33 1 00 00 00 00",
                ),
            )
        )
    return result


LATIN_COUNTRIES = frozenset({"PL", "FR", "CZ", "TR", "DE", "ES", "HU", "NL"})


def dispatched(inbound: LabelDescription) -> LabelDescription:
    """The way back of a description: centre to customer, with its dispatch slip."""
    items = inbound.instructions.items_to_include if inbound.instructions else ()
    slip = DispatchSlip(outcome="replaced", replacement_serial="5CG9999NEW", items=items)
    return inbound.model_copy(
        update={
            "direction": "to_customer",
            "sender": inbound.recipient,
            "recipient": inbound.sender,
            "instructions": None,
            "dispatch": slip,
        }
    )


def measure(
    label: str, work: Callable[[LabelDescription], bytes], items: list[LabelDescription], seconds: float
) -> None:
    for item in items[:20]:
        work(item)  # warm the font and layout caches as a long-running service would have them
    sizes: list[int] = []
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    done = 0
    for item in items:
        sizes.append(len(work(item)))
        done += 1
        if done % 50 == 0 and time.perf_counter() - wall_start > seconds:
            break
    cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
    print(
        f"{label}: {done} documents, {done / cpu:.0f}/s on one core (CPU time), {done / wall:.0f}/s wall; "
        f"size {min(sizes)}–{max(sizes)} bytes (mean {sum(sizes) / len(sizes):.0f})"
    )


def cold(description: LabelDescription) -> bytes:
    # Worst case: no font subset cached, as for the first label after start or a new alphabet.
    font_objects.cache_clear()
    font_program.cache_clear()
    return render_label(description, "4x6")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="time budget per phase")
    args = parser.parse_args()
    items = descriptions(4000)
    print(calibration())
    measure("4x6 label", lambda d: render_label(d, "4x6"), items, args.seconds)
    measure("A4 pack  ", lambda d: render_label(d, "a4"), items, args.seconds)
    latin = [d for d in items if d.sender.country in LATIN_COUNTRIES]
    measure("4x6 label, Latin names", lambda d: render_label(d, "4x6"), latin, args.seconds)
    measure("A4 pack, Latin names  ", lambda d: render_label(d, "a4"), latin, args.seconds)
    outbound = [dispatched(d) for d in items[:1000]]
    measure("4x6 labels + dispatch slip (centre)", lambda d: render_label(d, "4x6"), outbound, args.seconds)
    measure("4x6 label, font caches cleared before each", cold, items[:400], args.seconds)


if __name__ == "__main__":
    main()
