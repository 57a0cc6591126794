"""A centre asking for another centre's repair, and for an id that does not exist: the same answer in the
same time, so the 404 tells nothing about which ids exist.

Runs the service in this process on a loopback port (real HTTP, real SQLite), creates repairs routed to
fr-lyon, then sends interleaved pairs from de-frankfurt's key: another centre's id, then an unknown id of
the same shape, on the outbound-label route and on a receipt. Prints the median and p90 latency of each and
the mean paired difference with a 95% interval. Asserts nothing. Run:
``PYTHONPATH=. python tests/bench/bench_authorisation.py``.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from tests.support.journeys import PARIS_SITE, repair_request
from tests.support.service import running_service

PAIRS = 600
REPAIRS = 50


async def _timed(call: object) -> float:
    started = time.perf_counter()
    status, _, _ = await call  # type: ignore[misc]
    elapsed = time.perf_counter() - started
    assert status == 404, status
    return elapsed


def _report(route: str, foreign: list[float], unknown: list[float]) -> None:
    differences = [f - u for f, u in zip(foreign, unknown, strict=True)]
    mean = statistics.fmean(differences)
    half = 1.96 * statistics.stdev(differences) / len(differences) ** 0.5

    def figures(samples: list[float]) -> str:
        ordered = sorted(samples)
        return f"p50 {statistics.median(ordered) * 1e6:7.0f} µs  p90 {ordered[int(0.9 * len(ordered))] * 1e6:7.0f} µs"

    print(f"{route:<22} another centre's id: {figures(foreign)}")
    print(f"{'':<22} unknown id:          {figures(unknown)}")
    print(
        f"{'':<22} mean difference {mean * 1e6:+.1f} µs (95% interval ±{half * 1e6:.1f} µs, {len(differences)} pairs)"
    )


async def main() -> None:
    random.seed(7)
    with tempfile.TemporaryDirectory() as folder:
        async with running_service(Path(folder)) as service:
            ids = []
            for n in range(REPAIRS):
                _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, f"C-B-{n}"))
                ids.append(created["repair"]["id"])
            unknown_ids = [f"rp_{random.getrandbits(80):020x}" for _ in range(REPAIRS)]
            for route in ("outbound label", "receipt by repair id"):
                foreign: list[float] = []
                unknown: list[float] = []
                for n in range(PAIRS):
                    pair = [("foreign", ids[n % REPAIRS]), ("unknown", unknown_ids[n % REPAIRS])]
                    random.shuffle(pair)  # neither always goes first
                    for kind, repair_id in pair:
                        if route == "outbound label":
                            path = f"/v1/centres/de-frankfurt/repairs/{repair_id}/labels/outbound"
                            call = service.call("GET", path, "de-frankfurt")
                        else:
                            body = {"repair_id": repair_id}
                            call = service.call("POST", "/v1/centres/de-frankfurt/receipts", "de-frankfurt", json=body)
                        (foreign if kind == "foreign" else unknown).append(await _timed(call))
                _report(route, foreign, unknown)


if __name__ == "__main__":
    asyncio.run(main())
