"""Overhead of our carrier code per call.

1. In process: the resilience layer plus the simulated adapter; p50 and p99 (microseconds) of pickup and
   shipment creation, bare adapter versus adapter behind ``ResilientCarrier``, so the difference is the
   resilience layer's own cost. No network, no sleeps.
2. Over loopback: the UPS, DHL Express and Colissimo adapters behind ``ResilientCarrier``, each against its fake server
   running in its own process (the fakes validate every request against the carriers' descriptions and
   render labels, which costs them far more than us). Our own code's cost is the CPU time this process
   spends per call (request mapping, the HTTP client, answer parsing: UPS's base64 JSON, Colissimo's
   multipart, resilience); the wall time includes the fake's.

Bounded to well under a minute. Run: ``PYTHONPATH=. python tests/bench/bench_carriers.py [calls]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import date, timedelta

import aiohttp
from pydantic import SecretStr

from carriers.base import CarrierAdapter, CarrierContext
from carriers.colissimo import PLUGIN as COLISSIMO_PLUGIN
from carriers.colissimo.settings import ColissimoSettings
from carriers.dhl_express import PLUGIN as DHL_PLUGIN
from carriers.dhl_express.settings import DhlExpressSettings
from carriers.resilience import CallPolicy, ResilientCarrier
from carriers.sim import SimCarrier, SimSettings
from carriers.testing import EXAMPLE_START, example_pickup_request, example_shipment_request
from carriers.ups import PLUGIN as UPS_PLUGIN
from carriers.ups.settings import UpsSettings
from logistics.clock import SystemClock
from tests.carriers.colissimo.builders import pickup_request as colissimo_pickup_request
from tests.carriers.colissimo.builders import shipment_request as colissimo_shipment_request
from tests.carriers.dhl_express.builders import pickup_request as dhl_pickup_request
from tests.carriers.dhl_express.builders import shipment_request as dhl_shipment_request
from tests.carriers.ups.builders import pickup_request as ups_pickup_request
from tests.carriers.ups.builders import shipment_request as ups_shipment_request
from tests.fakes.colissimo_server import spec_path as colissimo_spec_path
from tests.fakes.dhl_server import spec_path as dhl_spec_path
from tests.fakes.ups_server import specs_available
from tests.support.clock import ManualClock


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
        return SimCarrier(SimSettings(), clock=ManualClock(EXAMPLE_START), sleep=_no_sleep)

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


_HEADER = f"{'operation':<18}{'our cpu p50':>12}{'our cpu p99':>12}{'wall p50':>10}{'wall p99':>10}  (microseconds)"


@contextlib.contextmanager
def _fake_server(module: str) -> Iterator[str]:
    """A fake carrier server in its own process on a free port; yields the first line it prints."""
    server = subprocess.Popen(
        [sys.executable, "-m", module, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert server.stdout is not None
        yield server.stdout.readline()
    finally:
        server.terminate()
        server.wait(timeout=10)


async def _measure_over_loopback(operation: str, call: Callable[[int], Awaitable[object]], calls: int) -> None:
    """Warm up (token, connections), then time ``calls`` calls: our CPU and the wall clock, p50 and p99."""
    for i in range(20):
        await call(-1 - i)
    cpu: list[float] = []
    wall: list[float] = []
    for i in range(calls):
        started, started_cpu = time.perf_counter(), time.process_time()
        await call(i)
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    print(
        f"{operation:<18}{_percentile(cpu, 0.5) * 1e6:>12.0f}{_percentile(cpu, 0.99) * 1e6:>12.0f}"
        f"{_percentile(wall, 0.5) * 1e6:>10.0f}{_percentile(wall, 0.99) * 1e6:>10.0f}"
    )


def ups_over_loopback(calls: int) -> None:
    if not specs_available():
        print("UPS over loopback: skipped, the UPS API descriptions are not beside the repository")
        return
    with _fake_server("tests.fakes.ups_server") as first_line:
        asyncio.run(_ups_calls(json.loads(first_line)["base_url"], calls))


async def _ups_calls(base_url: str, calls: int) -> None:
    settings = UpsSettings(
        base_url=base_url,
        client_id=SecretStr("fake-client-id"),
        client_secret=SecretStr("fake-client-secret"),
        account_number="A1B2C3",
        shipper_number="A1B2C3",
    )
    async with aiohttp.ClientSession() as session:
        context = CarrierContext(session=session, clock=SystemClock(), sleep=asyncio.sleep)
        adapter = ResilientCarrier(UPS_PLUGIN.factory(settings, context), CallPolicy())
        day = date.today() + timedelta(days=1)
        print(f"\nUPS adapter over loopback, fake UPS in its own process, {calls} calls each")
        print(_HEADER)
        for operation in ("schedule_pickup", "create_shipment"):

            async def call(i: int, operation: str = operation) -> object:
                if operation == "schedule_pickup":
                    return await adapter.schedule_pickup(ups_pickup_request(f"BENCH-UP-{i}", day))
                return await adapter.create_shipment(ups_shipment_request(f"BENCH-US-{i}", day, is_return=True))

            await _measure_over_loopback(operation, call, calls)
        await adapter.aclose()


def dhl_over_loopback(calls: int) -> None:
    if not dhl_spec_path().is_file():
        print("DHL Express over loopback: skipped, the MyDHL API description is not beside the repository")
        return
    with _fake_server("tests.fakes.dhl_server") as first_line:
        asyncio.run(_dhl_calls(first_line.split()[-1], calls))  # "fake DHL Express listening on http://…"


async def _dhl_calls(base_url: str, calls: int) -> None:
    settings = DhlExpressSettings(
        base_url=base_url,
        api_key=SecretStr("fake-key"),
        api_secret=SecretStr("fake-secret"),
        account_number="123456789",
    )
    async with aiohttp.ClientSession() as session:
        context = CarrierContext(session=session, clock=SystemClock(), sleep=asyncio.sleep)
        adapter = ResilientCarrier(DHL_PLUGIN.factory(settings, context), CallPolicy())
        day = date.today() + timedelta(days=1)
        print(f"\nDHL Express adapter over loopback, fake MyDHL in its own process, {calls} calls each")
        print(_HEADER)
        for operation in ("schedule_pickup", "create_shipment"):

            async def call(i: int, operation: str = operation) -> object:
                if operation == "schedule_pickup":
                    return await adapter.schedule_pickup(dhl_pickup_request(f"BENCH-DP-{i}", pickup_date=day))
                return await adapter.create_shipment(
                    dhl_shipment_request(f"BENCH-DS-{i}", is_return=True, ship_date=day)
                )

            await _measure_over_loopback(operation, call, calls)
        await adapter.aclose()


def colissimo_over_loopback(calls: int) -> None:
    if not colissimo_spec_path().is_file():
        print("Colissimo over loopback: skipped, Colissimo's SLS description is not beside the repository")
        return
    with _fake_server("tests.fakes.colissimo_server") as first_line:
        urls = json.loads(first_line)
        asyncio.run(_colissimo_calls(urls["sls_url"], urls["suivi_url"], calls))


def _business_day_after(day: date, days: int) -> date:
    day += timedelta(days=days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


async def _colissimo_calls(sls_url: str, suivi_url: str, calls: int) -> None:
    settings = ColissimoSettings(
        base_url=sls_url,
        tracking_base_url=suivi_url,
        api_key=SecretStr("fake-sls-key"),
        okapi_key=SecretStr("fake-okapi-key"),
    )
    async with aiohttp.ClientSession() as session:
        context = CarrierContext(session=session, clock=SystemClock(), sleep=asyncio.sleep)
        adapter = ResilientCarrier(COLISSIMO_PLUGIN.factory(settings, context), CallPolicy())
        ship_day = date.today() + timedelta(days=1)
        pickup_day = _business_day_after(date.today(), 2)  # past any cut-off, on a day La Poste collects
        numbers: list[str] = []
        print(f"\nColissimo adapter over loopback, fake SLS and Suivi in their own process, {calls} calls each")
        print(_HEADER)
        for operation in ("create_shipment", "schedule_pickup", "track"):

            async def call(i: int, operation: str = operation) -> object:
                if operation == "create_shipment":
                    booking = await adapter.create_shipment(
                        colissimo_shipment_request(f"BENCH-CS-{i}", is_return=True, ship_date=ship_day)
                    )
                    numbers.append(booking.shipment_id)
                    return booking
                number = numbers[i % len(numbers)]
                if operation == "schedule_pickup":
                    return await adapter.schedule_pickup(
                        colissimo_pickup_request(f"BENCH-CP-{i}", number, pickup_date=pickup_day)
                    )
                return await adapter.track([number])

            await _measure_over_loopback(operation, call, calls)
        await adapter.aclose()


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    asyncio.run(main(count))
    ups_over_loopback(min(count, 400))
    dhl_over_loopback(min(count, 400))
    colissimo_over_loopback(min(count, 400))
