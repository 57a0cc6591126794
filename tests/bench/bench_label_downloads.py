"""A burst of customer label downloads must not stall the event loop: /health latency during the burst.

Starts ``python -m logistics serve`` as a subprocess on a free 127.0.0.1 port (temporary SQLite file,
simulated carrier, background workers off, labels rendered by the default process pool), pinned to CPU 0
with ``taskset`` when the machine has a second CPU for this load generator (pinned to CPU 1). The label
workers are the server's children, so they share its CPU. It creates 20 repairs (courier pickups and
self-shipments alternately), then fires 200 concurrent downloads of their customer label links, alternating
``?format=a4`` and ``?format=4x6``, while a separate task polls ``GET /health`` every 10 ms, and prints the
health latency during the burst (p50/p99/max), downloads per second and the label sizes.

Three bursts: on a fresh server with the label cache on (each of the 40 distinct labels is rendered once,
concurrent requests for the same label share one render), again on the same server (every label cached),
and on a server with the cache off (``LOGISTICS_LABEL_CACHE_ENTRIES=0``: only requests in flight at the
same moment share a render).

Run: ``python tests/bench/bench_label_downloads.py [--label-workers 2]``. Prints figures; exits 1 only if a
download failed. Target: health p99 under 50 ms during a burst. Bounded well under 90 s.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

if __package__ in (None, ""):  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.host import machine_load
from tests.bench.service_process import RunningServer, Usage, pin_this_process_to_client_cpu, serving
from tests.support.journeys import CORSICA_SITE, PARIS_SITE, repair_request

REPAIRS = 20
DOWNLOADS = 200
FORMATS = ("a4", "4x6")
HEALTH_EVERY_S = 0.010
BASELINE_S = 1.0
BURST_TIMEOUT_S = 25.0
TARGET_HEALTH_P99_MS = 50.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] if ordered else float("nan")


@dataclass
class Burst:
    name: str
    elapsed_s: float = 0.0
    download_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    sizes: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    etags: set[str] = field(default_factory=set)
    health_ms: list[float] = field(default_factory=list)
    health_failures: int = 0
    baseline_ms: list[float] = field(default_factory=list)
    server: Usage = field(default_factory=Usage)

    @property
    def failures(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)


class HealthProbe:
    """Polls /health every 10 ms on its own connection; latencies go to whichever list is current."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self._http = http
        self._url = base_url + "/health"
        self.into: list[float] | None = None
        self.failures = 0

    async def run(self) -> None:
        next_at = time.perf_counter()
        while True:
            started = time.perf_counter()
            try:
                async with self._http.get(self._url) as response:
                    await response.read()
                    ok = response.status == 200
            except aiohttp.ClientError:
                ok = False
            if self.into is not None:
                self.into.append((time.perf_counter() - started) * 1000)
                self.failures += 0 if ok else 1
            next_at = max(next_at + HEALTH_EVERY_S, time.perf_counter())
            await asyncio.sleep(next_at - time.perf_counter())


async def create_repairs(http: aiohttp.ClientSession, server: RunningServer) -> list[str]:
    """The customer label paths of freshly created repairs."""
    paths = []
    tag = uuid.uuid4().hex[:8]
    for index in range(REPAIRS):
        site = PARIS_SITE if index % 2 == 0 else CORSICA_SITE
        headers = {**server.auth("case_system"), "Idempotency-Key": str(uuid.uuid4())}
        body = repair_request(site, f"LBL-{tag}-{index:03d}")
        async with http.post(server.base_url + "/v1/repairs", json=body, headers=headers) as response:
            answer: dict[str, Any] = await response.json()
            if response.status != 201:
                raise RuntimeError(f"creating a repair answered {response.status}: {answer}")
        url = str(answer["customer_label"]["url"])
        if not url.startswith(server.base_url + "/"):
            raise RuntimeError(f"the label link {url} is not on {server.base_url}")
        paths.append(url.removeprefix(server.base_url))
    return paths


async def burst(
    name: str, http: aiohttp.ClientSession, probe: HealthProbe, server: RunningServer, paths: list[str]
) -> Burst:
    result = Burst(name)
    probe.into, probe.failures = result.baseline_ms, 0
    await asyncio.sleep(BASELINE_S)

    async def download(index: int) -> None:
        page_format = FORMATS[index % 2]
        path = paths[(index // 2) % len(paths)]
        started = time.perf_counter()
        async with http.get(server.base_url + path, params={"format": page_format}) as response:
            pdf = await response.read()
        result.download_ms.append((time.perf_counter() - started) * 1000)
        result.statuses[response.status] += 1
        if response.status == 200 and pdf.startswith(b"%PDF"):
            result.sizes[page_format].append(len(pdf))
            result.etags.add(response.headers.get("ETag", ""))

    probe.into, probe.failures = result.health_ms, 0
    before = server.usage()
    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(download(i) for i in range(DOWNLOADS))), BURST_TIMEOUT_S)
    result.elapsed_s = time.perf_counter() - started
    result.server = server.usage() - before
    probe.into = None
    result.health_failures = probe.failures
    return result


async def measure(server: RunningServer, names: list[str]) -> list[Burst]:
    results = []
    downloads = aiohttp.TCPConnector(limit=DOWNLOADS)
    async with (
        aiohttp.ClientSession(connector=downloads, timeout=aiohttp.ClientTimeout(total=60)) as http,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as health_http,
    ):
        paths = await create_repairs(http, server)
        probe = HealthProbe(health_http, server.base_url)
        polling = asyncio.create_task(probe.run())
        try:
            for name in names:
                results.append(await burst(name, http, probe, server, paths))
        finally:
            polling.cancel()
            await asyncio.gather(polling, return_exceptions=True)
    return results


def report(results: list[Burst]) -> None:
    print(f"{DOWNLOADS} concurrent downloads of {REPAIRS} repairs' customer labels, formats alternating a4 / 4x6")
    print(
        f"{'burst':<34} {'secs':>6} {'dl/s':>6} {'dl p50':>7} {'dl max':>7} {'labels':>6} | "
        f"{'health n':>8} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'idle p99':>8} | {'server cpu s':>12}"
    )
    for b in results:
        print(
            f"{b.name:<34} {b.elapsed_s:>6.2f} {DOWNLOADS / b.elapsed_s:>6.1f} {percentile(b.download_ms, 0.5):>7.0f} "
            f"{max(b.download_ms):>7.0f} {len(b.etags):>6} | {len(b.health_ms):>8} "
            f"{percentile(b.health_ms, 0.5):>7.2f} {percentile(b.health_ms, 0.99):>7.2f} {max(b.health_ms):>7.2f} "
            f"{percentile(b.baseline_ms, 0.99):>8.2f} | {b.server.cpu_s:>12.2f}"
        )
    print("(dl: download latency in ms; labels: distinct ETags; idle p99: /health p99 in the second before)")
    print()
    sizes: dict[str, list[int]] = defaultdict(list)
    for b in results:
        for page_format, values in b.sizes.items():
            sizes[page_format].extend(values)
    for page_format in FORMATS:
        values = sizes[page_format]
        if values:
            mean = sum(values) // len(values)
            print(f"label size {page_format:>3}: {min(values):,} to {max(values):,} bytes (mean {mean:,})")
    print()
    print(f"target: /health p99 < {TARGET_HEALTH_P99_MS:.0f} ms during a burst")
    for b in results:
        p99 = percentile(b.health_ms, 0.99)
        verdict = "meets" if p99 < TARGET_HEALTH_P99_MS else "MISSES"
        print(f"  {b.name}: {verdict} (p99 {p99:.1f} ms, {b.health_failures} failed polls)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--label-workers", type=int, default=2, help="LOGISTICS_LABEL_WORKERS (1 or 2)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server and the client to CPUs")
    args = parser.parse_args()

    common = {"LOGISTICS_LABEL_WORKERS": str(args.label_workers)}
    runs = [
        ({}, ["cache on, first burst (renders)", "cache on, second burst (cached)"]),
        ({"LOGISTICS_LABEL_CACHE_ENTRIES": "0"}, ["cache off (LABEL_CACHE_ENTRIES=0)"]),
    ]
    results: list[Burst] = []
    for extra, names in runs:
        with serving({**common, **extra}, pin=not args.no_pin) as server:
            client_pinned = server.pinned and pin_this_process_to_client_cpu()
            print(server.describe())
            print(f"label process pool: LOGISTICS_LABEL_WORKERS={args.label_workers} (workers share the server's CPU)")
            print(f"load generator {'pinned to CPU 1' if client_pinned else 'not pinned'}; {machine_load()}")
            results.extend(asyncio.run(measure(server, names)))
    print()
    report(results)
    return 1 if any(b.failures for b in results) else 0


if __name__ == "__main__":
    sys.exit(main())
