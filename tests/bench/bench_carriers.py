"""Overhead of our carrier code per call: the resilience layer plus the simulated adapter, in process.

Prints p50 and p99 latencies (microseconds) of pickup and shipment creation, bare adapter versus adapter
behind ``ResilientCarrier``, so the difference is the resilience layer's own cost. No network, no sleeps;
bounded to a few seconds. Run: ``python tests/bench/bench_carriers.py [calls]``.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

from carriers.base import CarrierAdapter
from carriers.resilience import CallPolicy, ResilientCarrier
from carriers.sim import SimCarrier, SimSettings
from carriers.testing import ManualClock, example_pickup_request, example_shipment_request


async def _no_sleep(_: float) -> None:
    return None


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _measure(calls: int, make_call: Callable[[int], Awaitable[object]]) -> list[float]:
    for i in range(min(200, calls)):  # warm-up
        await make_call(-1 - i)
    samples = []
    for i in range(calls):
        started = time.perf_counter()
        await make_call(i)
        samples.append(time.perf_counter() - started)
    return samples


async def main(calls: int) -> None:
    def fresh() -> SimCarrier:
        return SimCarrier(SimSettings(), clock=ManualClock(), sleep=_no_sleep)

    pickups = [example_pickup_request(f"BENCH-P-{i}") for i in range(-200, calls)]
    shipments = [example_shipment_request(f"BENCH-S-{i}") for i in range(-200, calls)]
    print(f"carrier call overhead, {calls} calls each, in process (microseconds)")
    print(f"{'operation':<18}{'stack':<22}{'p50':>9}{'p99':>9}{'mean':>9}")
    budget_started = time.perf_counter()
    for label, wrap in (("sim adapter", False), ("resilient + sim", True)):
        for operation in ("schedule_pickup", "create_shipment"):
            sim = fresh()
            carrier: CarrierAdapter = ResilientCarrier(sim, CallPolicy(), sleep=_no_sleep) if wrap else sim

            async def call(i: int, carrier: CarrierAdapter = carrier, operation: str = operation) -> object:
                if operation == "schedule_pickup":
                    return await carrier.schedule_pickup(pickups[i + 200])
                return await carrier.create_shipment(shipments[i + 200])

            samples = await _measure(calls, call)
            p50, p99 = _percentile(samples, 0.50) * 1e6, _percentile(samples, 0.99) * 1e6
            mean = statistics.fmean(samples) * 1e6
            print(f"{operation:<18}{label:<22}{p50:>9.1f}{p99:>9.1f}{mean:>9.1f}")
    print(f"total {time.perf_counter() - budget_started:.2f} s")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000))
