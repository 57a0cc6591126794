"""The customer's page at the label link: latency, pages per second on one core, and page weight.

Starts ``python -m logistics serve`` as a subprocess on a free 127.0.0.1 port (temporary SQLite file,
simulated carrier, background workers off), pinned to CPU 0 with ``taskset`` when the machine has a second
CPU for this load generator (pinned to CPU 1). It creates 20 repairs (courier pickups, whose pages offer
other pickup days, and self-shipments alternately), then asks for their pages as a browser does
(``Accept: text/html``), in turn through the six languages:

- latency: 1,000 pages one after another (p50, p90, p99);
- rate: 4,000 pages, 16 at a time; pages per second of wall time, and pages per second of the server's own
  CPU time (the capacity of one dedicated core, whatever else the machine runs);
- weight: each page with everything it loads (the stylesheet; no script, no font, no image), without the PDF.

Run: ``python tests/bench/bench_pages.py``. Prints figures; exits 1 only if a page failed.
Targets: p50 < 15 ms, >= 500 pages/s on one core, page weight < 60 KB. Bounded well under 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

if __package__ in (None, ""):  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.host import CpuTimes, calibration, cpu_shares, machine_load
from tests.bench.service_process import RunningServer, pin_this_process_to_client_cpu, serving
from tests.support.journeys import CORSICA_SITE, PARIS_SITE, repair_request

REPAIRS = 20
SEQUENTIAL = 1_000
CONCURRENT = 4_000
CONCURRENCY = 16
WARM_UP = 200
LANGUAGES = ("en", "fr", "de", "es", "it", "nl")
ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
TARGET_P50_MS = 15.0
TARGET_RATE = 500.0
TARGET_WEIGHT = 60 * 1024


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] if ordered else float("nan")


async def create_repairs(http: aiohttp.ClientSession, server: RunningServer) -> list[str]:
    paths = []
    tag = uuid.uuid4().hex[:8]
    for index in range(REPAIRS):
        site = PARIS_SITE if index % 2 == 0 else CORSICA_SITE
        headers = {**server.auth("case_system"), "Idempotency-Key": str(uuid.uuid4())}
        async with http.post(
            server.base_url + "/v1/repairs", json=repair_request(site, f"WEB-{tag}-{index:03d}"), headers=headers
        ) as response:
            answer: dict[str, Any] = await response.json()
            if response.status != 201:
                raise RuntimeError(f"creating a repair answered {response.status}: {answer}")
        paths.append(str(answer["customer_label"]["url"]).removeprefix(server.base_url))
    return paths


def page_url(server: RunningServer, paths: list[str], index: int) -> str:
    return f"{server.base_url}{paths[index % len(paths)]}?lang={LANGUAGES[(index // len(paths)) % len(LANGUAGES)]}"


async def fetch(http: aiohttp.ClientSession, url: str, statuses: Counter[int]) -> bytes:
    async with http.get(url, headers={"Accept": ACCEPT}) as response:
        body = await response.read()
        statuses[response.status] += 1
        return body


async def measure(server: RunningServer) -> int:
    statuses: Counter[int] = Counter()
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as http:
        paths = await create_repairs(http, server)
        for index in range(WARM_UP):
            await fetch(http, page_url(server, paths, index), statuses)

        latencies = []
        for index in range(SEQUENTIAL):
            started = time.perf_counter()
            await fetch(http, page_url(server, paths, index), statuses)
            latencies.append((time.perf_counter() - started) * 1000)

        counter = iter(range(CONCURRENT))

        async def worker() -> None:
            for index in counter:
                await fetch(http, page_url(server, paths, index), statuses)

        machine_before, before = CpuTimes.now(), server.usage()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
        used, machine_after = server.usage() - before, CpuTimes.now()

        weights = []
        for index in range(len(paths) * len(LANGUAGES)):
            html = await fetch(http, page_url(server, paths, index), statuses)
            assets = re.findall(rb'(?:href|src)="(/web/static/[^"]+)"', html)
            weight = len(html) + sum([len(await fetch(http, server.base_url + a.decode(), statuses)) for a in assets])
            weights.append(weight)
            if b"<script" in html:
                raise RuntimeError("the page loads a script")

    failures = sum(n for status, n in statuses.items() if status != 200)
    print(
        f"{SEQUENTIAL} pages one at a time: p50 {percentile(latencies, 0.5):.2f} ms, "
        f"p90 {percentile(latencies, 0.9):.2f} ms, p99 {percentile(latencies, 0.99):.2f} ms"
    )
    per_cpu = CONCURRENT / used.cpu_s if used.cpu_s > 0 else float("nan")
    print(
        f"{CONCURRENT} pages, {CONCURRENCY} at a time: {CONCURRENT / elapsed:.0f} pages/s wall time; "
        f"server CPU {used.cpu_s:.2f} s = {1000 * used.cpu_s / CONCURRENT:.2f} ms per page, "
        f"{per_cpu:.0f} pages per CPU-second; server waited {used.wait_s:.2f} s for a CPU"
    )
    print(cpu_shares(machine_before, machine_after))
    print(
        f"page weight with its assets, without the PDF: {min(weights):,} to {max(weights):,} bytes "
        f"over {len(weights)} pages (6 languages)"
    )
    print(f"statuses: {dict(statuses)}")
    print()
    p50 = percentile(latencies, 0.5)
    rate = max(CONCURRENT / elapsed, per_cpu)
    for what, ok, figure in (
        (f"p50 < {TARGET_P50_MS:.0f} ms", p50 < TARGET_P50_MS, f"{p50:.2f} ms"),
        (f">= {TARGET_RATE:.0f} pages/s on one core", rate >= TARGET_RATE, f"{rate:.0f} pages/s"),
        (f"page weight < {TARGET_WEIGHT // 1024} KB", max(weights) < TARGET_WEIGHT, f"{max(weights) / 1024:.1f} KB"),
    ):
        print(f"target {what}: {'meets' if ok else 'MISSES'} ({figure})")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server and the client to CPUs")
    args = parser.parse_args()
    with serving({}, pin=not args.no_pin) as server:
        client_pinned = server.pinned and pin_this_process_to_client_cpu()
        print(server.describe())
        print(f"load generator {'pinned to CPU 1' if client_pinned else 'not pinned'}; {machine_load()}")
        print(calibration())
        failures = asyncio.run(measure(server))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
