"""Routing decision cost against a small and a large coverage: lookups must not scan the rules.

Builds, in memory, a coverage of 50 rules and one of 50,000 (half postal prefixes in France, half postal
ranges in Germany, one region per rule), times ``decide`` for the same mix of sites against each, and prints
the median per decision. Fails (exit 1) if the large coverage costs more than twice the small one or a
median reaches 200 µs. Run: ``python tests/bench/bench_routing.py``.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from logistics.domain.routing import (
    Coverage,
    Device,
    Entitlement,
    ProductLine,
    RoutingRequest,
    ServiceLevel,
    SiteAddress,
    decide,
)

SAMPLES = 3000
BUDGET_SECONDS = 200e-6
CENTRE = {
    "id": "centre",
    "name": "Repair centre",
    "address": {
        "name": "Repair centre",
        "street_lines": ["1 rue de l'Industrie"],
        "city": "Lyon",
        "postal_code": "69007",
        "country": "FR",
        "phone": "+33 4 00 00 00 00",
    },
    "time_zone": "Europe/Paris",
    "carriers": ["sim"],
    "calendar": {"country": "FR"},
}


def region(region_id: str, country: str, pattern: str, zone: str) -> dict[str, Any]:
    return {
        "id": region_id,
        "country": country,
        "postal_codes": [pattern],
        "time_zone": zone,
        "courier_pickup": {
            "carrier": "sim",
            "lead_time_business_days": 1,
            "cut_off": "16:00",
            "window": {"ready": "09:00", "close": "17:00"},
        },
        "self_shipment": {"carrier": "sim", "drop_off": "Any relay point."},
        "return_carrier": "sim",
        "repair_centre": "centre",
        "turnaround": {"inbound_business_days": 2, "at_centre_business_days": 3, "outbound_business_days": 2},
    }


def coverage_document(rules: int) -> dict[str, Any]:
    """``rules`` regions: prefixes of 5-digit French codes and disjoint 5-digit German ranges."""
    half = rules // 2
    fr_step, de_step = 100_000 // half, 100_000 // (rules - half)
    regions = [region(f"fr-{i}", "FR", f"{i * fr_step:05d}", "Europe/Paris") for i in range(half)]
    regions += [
        region(f"de-{i}", "DE", f"{i * de_step:05d}..{i * de_step + de_step - 1:05d}", "Europe/Berlin")
        for i in range(rules - half)
    ]
    return {"version": 1, "centres": [CENTRE], "regions": regions}


def requests(coverage: Coverage, count: int, rng: random.Random) -> list[RoutingRequest]:
    """Sites that hit a rule: a French prefix taken from the coverage, or any German code."""
    french = sorted(r.postal_codes[0] for r in coverage.regions.values() if r.country == "FR")
    made = []
    for i in range(count):
        country = "FR" if i % 2 == 0 else "DE"
        code = rng.choice(french) if country == "FR" else f"{rng.randrange(100_000):05d}"
        made.append(
            RoutingRequest(
                site=SiteAddress(
                    name="Site", street_lines=("1 Main Street",), city="City", postal_code=code,
                    country=country, phone="+33 1 00 00 00 00",
                ),
                device=Device(product_line=ProductLine.NOTEBOOK, model="EliteBook", serial_number="5CG1"),
                entitlement=Entitlement(service_level=ServiceLevel.EITHER, country_of_purchase=country),
            )
        )  # fmt: skip
    return made


def timed_decisions(coverage: Coverage, sample: list[tuple[RoutingRequest, datetime]]) -> list[float]:
    timings = []
    for request, now in sample:
        start = time.perf_counter()
        decision = decide(coverage, request, now)
        timings.append(time.perf_counter() - start)
        assert decision.eligible and decision.region_id is not None
    return timings


def main() -> int:
    rng = random.Random(20250418)
    coverages: dict[int, Coverage] = {}
    samples: dict[int, list[tuple[RoutingRequest, datetime]]] = {}
    for rules in (50, 50_000):
        started = time.perf_counter()
        coverages[rules] = Coverage.from_document(coverage_document(rules))
        print(f"{rules:>6} rules: coverage built and indexed in {time.perf_counter() - started:.2f} s")
        first = datetime(2025, 6, 2, 6, tzinfo=UTC)
        samples[rules] = [
            (request, first + timedelta(minutes=rng.randrange(60 * 24 * 365)))
            for request in requests(coverages[rules], SAMPLES, rng)
        ]
        timed_decisions(coverages[rules], samples[rules][:200])  # warm caches (calendars, zones)
    # Alternate small and large batches so that load on the machine weighs on both alike.
    timings: dict[int, list[float]] = {50: [], 50_000: []}
    batch = 250
    for offset in range(0, SAMPLES, batch):
        for rules in timings:
            timings[rules] += timed_decisions(coverages[rules], samples[rules][offset : offset + batch])
    medians = {rules: statistics.median(values) for rules, values in timings.items()}
    for rules, median in medians.items():
        print(f"{rules:>6} rules: median decision {median * 1e6:6.1f} µs over {len(timings[rules])} decisions")
    ratio = medians[50_000] / medians[50]
    print(f"ratio large/small: {ratio:.2f} (limit 2.0); budget {BUDGET_SECONDS * 1e6:.0f} µs")
    ok = ratio <= 2.0 and max(medians.values()) < BUDGET_SECONDS
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
