"""Routing decision cost against a small and a large coverage: lookups must not scan the rules.

Builds, in memory, a coverage of 50 rules and one of 50,000 (half postal prefixes in France, half postal
ranges in Germany, one region per rule, plus country-wide regions for France, the United Kingdom, Spain and
Italy),
times ``decide`` for the same mix of sites against each, and prints the median per decision. Every decision
derives the site's calendar from its postal code (Alsace-Moselle and overseas departments among the French
codes, German Länder, UK nations, Spanish communities, Italian provinces); the cost of that derivation alone
is printed too. Fails (exit 1) if the large coverage costs more than twice the small one or a median reaches
200 µs. Run: ``python tests/bench/bench_routing.py``.
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
from logistics.domain.routing.site_calendar import read_address

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


def region(region_id: str, country: str, pattern: str | None, zone: str) -> dict[str, Any]:
    return {
        "id": region_id,
        "country": country,
        "postal_codes": [pattern] if pattern else [],
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
    regions += [
        region(f"{country.lower()}-all", country, None, zone)
        for country, zone in (
            ("FR", "Europe/Paris"),
            ("GB", "Europe/London"),
            ("ES", "Europe/Madrid"),
            ("IT", "Europe/Rome"),
        )
    ]
    return {"version": 1, "centres": [CENTRE], "regions": regions}


# Sites whose postal code decides a calendar other than the nation's, and sites of the country-wide regions.
DERIVING_FRENCH_CODES = ("67000", "68100", "57000", "97400", "97110", "97300")
OTHER_SITES = (
    ("GB", ("EH1 1YZ", "SW1A 1AA", "CF10 1AA", "BT1 1AA", "TD15 1AA", "G2 1DU")),
    ("ES", ("28001", "08001", "35001", "41001", "48001", "51001")),
    ("IT", ("20121", "00184", "20900", "76123", "80133", "10121")),
)


def requests(coverage: Coverage, count: int, rng: random.Random) -> list[RoutingRequest]:
    """Sites that hit a rule: a French prefix taken from the coverage, or any German code."""
    french = sorted(r.postal_codes[0] for r in coverage.regions.values() if r.country == "FR" and r.postal_codes)
    made = []
    for i in range(count):
        # A third French (one in four of them in Alsace-Moselle or overseas), a third German, a third UK,
        # Spanish or Italian.
        if i % 3 == 0:
            country = "FR"
            code = rng.choice(DERIVING_FRENCH_CODES) if i % 4 == 0 else rng.choice(french)
        elif i % 3 == 1:
            country, code = "DE", f"{rng.randrange(100_000):05d}"
        else:
            country, codes = OTHER_SITES[i % len(OTHER_SITES)]
            code = rng.choice(codes)
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


def timed_derivations(sample: list[tuple[RoutingRequest, datetime]]) -> list[float]:
    """The address's part of a decision: reading the calendar off the postal code."""
    timings = []
    for request, _ in sample:
        site = request.site
        start = time.perf_counter()
        read_address(site.country, site.postal_code, site.subdivision)
        timings.append(time.perf_counter() - start)
    return timings


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
    derivation = statistics.median(timed_derivations(samples[50]))
    print(f"  of which the calendar derived from the address: median {derivation * 1e6:5.1f} µs")
    ratio = medians[50_000] / medians[50]
    print(f"ratio large/small: {ratio:.2f} (limit 2.0); budget {BUDGET_SECONDS * 1e6:.0f} µs")
    ok = ratio <= 2.0 and max(medians.values()) < BUDGET_SECONDS
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
