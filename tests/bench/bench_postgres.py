"""Repair creation on PostgreSQL with 1, 2 and 3 serving processes, beside the SQLite figure.

Starts a private PostgreSQL cluster (Debian's server binaries, a temporary folder, a free loopback port, fsync
and synchronous commit on, as in production) and, for each configuration, ``python -m logistics serve
--processes N`` on a fresh database of it, on 127.0.0.1, background workers off (only request work is
measured, as in ``bench_api.py``), the simulated carrier in memory (its state file cannot be shared by
several processes). Then the same with the SQLite store and one process. Nothing is pinned to a CPU: the
processes, the database server and this load generator share the machine's cores, as they would on one host.

For each configuration: a warm-up, then creates (courier pickup in Paris, unique case ids and
``Idempotency-Key`` headers) at concurrency 16, and prints creates/s, latency percentiles, and the CPU time per
create of the service's processes (the supervisor, its serving processes and their label workers) and of
the database server (the postmaster and every backend below it), read from
``/proc/<pid>/task/<tid>/schedstat``. The database's CPU per create tells how the rate scales on a host with
more cores: one database core serves ``1000 / db ms`` creates a second.

Run: ``python tests/bench/bench_postgres.py [--count 2000] [--phase-budget 12]``. Prints figures, asserts
nothing; exits 1 only if an answer was not 2xx. Skipped (exit 0, saying why) where PostgreSQL is not installed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

if __package__ in (None, ""):  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.host import CpuTimes, calibration, cpu_shares, machine_load
from tests.bench.service_process import RunningServer, Usage, serving, tree_usage
from tests.support.journeys import PARIS_SITE, repair_request

CONCURRENCY = 16
PROCESS_COUNTS = (1, 2, 3)
# The simulated carrier in memory, Colissimo enabled without keys as in development (the sample coverage names
# it for some French regions; Paris is picked up by the simulator).
CARRIERS = json.dumps({"sim": {}, "colissimo": {}})


@dataclass
class Measure:
    store: str
    processes: int
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    elapsed_s: float = 0.0
    service: Usage = field(default_factory=Usage)
    database: Usage | None = None
    client_cpu_s: float = 0.0  # this load generator's own CPU time
    machine_busy_s: float = 0.0  # CPU time the whole machine spent busy (every process, ours and others')

    @property
    def count(self) -> int:
        return len(self.latencies_ms)

    @property
    def rate(self) -> float:
        return self.count / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] if ordered else 0.0


async def creates(
    server: RunningServer,
    measure: Measure,
    count: int,
    budget_s: float,
    database_usage: Callable[[], Usage] | None,
) -> None:
    """``count`` creates at concurrency 16 (or as many as ``budget_s`` allows), recorded in ``measure``."""
    tag = uuid.uuid4().hex[:8]
    bodies = [json.dumps(repair_request(PARIS_SITE, f"PG-{tag}-{n:06d}")).encode() for n in range(count)]
    bodies.reverse()
    url = server.base_url + "/v1/repairs"
    auth = server.auth("case_system")
    connector = aiohttp.TCPConnector(limit=CONCURRENCY * 2)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:
        deadline = time.perf_counter() + budget_s

        async def worker() -> None:
            while bodies and time.perf_counter() < deadline:
                body = bodies.pop()
                headers = {**auth, "Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())}
                started = time.perf_counter()
                async with http.post(url, data=body, headers=headers) as answer:
                    raw = await answer.read()
                measure.latencies_ms.append((time.perf_counter() - started) * 1000)
                measure.statuses[answer.status] += 1
                if not 200 <= answer.status < 300 and measure.non_2xx == 1:
                    print(f"  first non-2xx answer: {answer.status} {raw[:300]!r}", file=sys.stderr)

        service_before = server.usage()
        database_before = database_usage() if database_usage else None
        client_before, busy_before = time.process_time(), machine_busy_s()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        measure.elapsed_s = time.perf_counter() - started
        measure.client_cpu_s = time.process_time() - client_before
        measure.machine_busy_s = machine_busy_s() - busy_before
        measure.service = server.usage() - service_before
        if database_usage is not None and database_before is not None:
            measure.database = database_usage() - database_before


def machine_busy_s() -> float:
    """CPU seconds all CPUs have spent busy since boot (``/proc/stat``: everything but idle and iowait)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return 0.0
    ticks = [int(value) for value in fields[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def run_configuration(
    store: str,
    processes: int,
    settings: dict[str, str],
    args: argparse.Namespace,
    database_usage: Callable[[], Usage] | None,
) -> Measure:
    arguments = ["--processes", str(processes)] if processes > 1 else []
    base = {"LOGISTICS_CARRIERS": CARRIERS, "LOGISTICS_EVENT_LOOP": "uvloop", **settings}
    with serving(base, pin=False, arguments=arguments, within_s=120.0) as server:
        warm = Measure(store, processes)
        asyncio.run(creates(server, warm, args.warmup, args.phase_budget / 2, database_usage))
        measure = Measure(store, processes)
        asyncio.run(creates(server, measure, args.count, args.phase_budget, database_usage))
    print(f"  {store}, {processes} process(es): {row(measure)}", flush=True)
    return measure


HEADER = (
    f"{'store':<11} {'procs':>5} {'c':>3} {'n':>5} {'secs':>6} {'creates/s':>9} {'p50 ms':>7} {'p99 ms':>7} "
    f"{'non2xx':>6} | {'service':>7} {'db':>6} {'client':>6} {'others':>6}  (cpu ms per create)"
)


def row(measure: Measure) -> str:
    service_ms = measure.service.cpu_s * 1000 / measure.count if measure.count else 0.0
    database_ms = measure.database.cpu_s * 1000 / measure.count if measure.database and measure.count else None
    database = f"{database_ms:>6.2f}" if database_ms is not None else f"{'-':>6}"
    client_ms = measure.client_cpu_s * 1000 / measure.count if measure.count else 0.0
    ours_s = measure.service.cpu_s + measure.client_cpu_s + (measure.database.cpu_s if measure.database else 0.0)
    others_ms = max(0.0, measure.machine_busy_s - ours_s) * 1000 / measure.count if measure.count else 0.0
    return (
        f"{measure.store:<11} {measure.processes:>5} {CONCURRENCY:>3} {measure.count:>5} {measure.elapsed_s:>6.2f} "
        f"{measure.rate:>9.1f} {measure.percentile(0.50):>7.2f} {measure.percentile(0.99):>7.2f} "
        f"{measure.non_2xx:>6} | {service_ms:>7.2f} {database} {client_ms:>6.2f} {others_ms:>6.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=3000, help="measured creates per configuration")
    parser.add_argument("--warmup", type=int, default=300, help="unreported creates before each measurement")
    parser.add_argument("--phase-budget", type=float, default=12.0, help="seconds a measurement may last at most")
    args = parser.parse_args()

    import pytest

    from tests.support.postgres import private_cluster

    print(machine_load())
    print(calibration())
    cpu_before = CpuTimes.now()
    measures: list[Measure] = []
    try:
        with private_cluster(durable=True) as cluster:
            pid = cluster.pid
            assert pid is not None
            print(f"PostgreSQL postmaster pid {pid} on 127.0.0.1:{cluster.port}, fsync and synchronous_commit on")
            for processes in PROCESS_COUNTS:
                database = cluster.create_database()
                settings = {"LOGISTICS_DATABASE_URL": cluster.url(database)}
                measures.append(run_configuration("postgresql", processes, settings, args, lambda: tree_usage(pid)))
                cluster.drop_database(database)
    except pytest.skip.Exception as skipped:
        print(f"PostgreSQL figures skipped: {skipped}")
    measures.append(run_configuration("sqlite", 1, {}, args, None))
    cpu_after = CpuTimes.now()
    print(machine_load())
    print(cpu_shares(cpu_before, cpu_after))

    print()
    print("POST /v1/repairs, courier pickup (Paris), background workers off, nothing pinned; cpu is per create:")
    print("service = the serve process(es) and label workers, db = the PostgreSQL server (postmaster and backends),")
    print("client = this load generator, others = the rest of the machine's busy CPU time (other work on the host)")
    print(HEADER)
    for measure in measures:
        print(row(measure))
    by_count = {m.processes: m for m in measures if m.store == "postgresql"}
    if 1 in by_count and by_count[1].rate:
        one = by_count[1]
        for processes in PROCESS_COUNTS[1:]:
            if processes in by_count:
                print(f"postgresql {processes} processes / 1 process: {by_count[processes].rate / one.rate:.2f}x")
        if one.database is not None and one.count:
            db_ms = one.database.cpu_s * 1000 / one.count
            service_ms = one.service.cpu_s * 1000 / one.count
            cores = os.cpu_count() or 1
            print(
                f"on {cores} CPUs the creates' own CPU ({service_ms + db_ms:.2f} ms service and database, plus the "
                f"client's) caps the rate at about {cores * 1000 / (service_ms + db_ms):.0f}/s before anything "
                "else runs"
            )
            print(
                f"one database core serves about {1000 / db_ms:.0f} creates/s at {db_ms:.2f} ms each; one service "
                f"core about {1000 / service_ms:.0f}/s: on a host with more cores the rate grows with the serving "
                "processes until the database's cores are busy"
            )
    return 1 if any(m.non_2xx for m in measures) else 0


if __name__ == "__main__":
    sys.exit(main())
