"""Repair creation on PostgreSQL with 1, 2 and 3 serving processes, beside the SQLite figure.

Starts a private PostgreSQL cluster (Debian's server binaries, a temporary folder, a free loopback port, fsync
and synchronous commit on, as in production) and, for each configuration, ``python -m logistics serve
--processes N`` on a fresh database of it, on 127.0.0.1, background workers off (only request work is
measured, as in ``bench_api.py``), the simulated carrier in memory (its state file cannot be shared by
several processes); and the SQLite store with one process. Nothing is pinned to a CPU: the processes, the
database server and this load generator share the machine's cores, as they would on one host. The load
generator is ``load.py``'s lean client, so that little of the machine goes to it.

All the servers run from the start; each gets a warm-up, then they are measured in rounds, one phase of each
per round, the order turning back every other round. On a virtual machine whose speed drifts by tens of
percent over a minute, measuring one configuration after the other compares the drift, not the
configurations; phases side by side compare like with like, and the ratio of 2 processes to 1 is given per
round, with its median and range.

Each phase sends creates (courier pickup in Paris, unique case ids and ``Idempotency-Key`` headers) at
concurrency 16. Printed per configuration, over all its phases: creates/s, latency percentiles, and the CPU
time per create of the service's processes (the supervisor, its serving processes and their label workers)
and of the database server (the postmaster and every backend below it), read from
``/proc/<pid>/task/<tid>/schedstat``. The database's CPU per create tells how the rate scales on a host with
more cores: one database core serves ``1000 / db ms`` creates a second.

Run: ``python tests/bench/bench_postgres.py [--count 4800] [--rounds 6] [--phase-budget 6]``. Prints figures,
asserts nothing; exits 1 only if an answer was not 2xx. Skipped (exit 0, saying why) where PostgreSQL is not
installed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import uvloop

if __package__ in (None, ""):  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.host import CpuTimes, calibration, cpu_shares, machine_load
from tests.bench.load import Connection, request_bytes
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
    url = server.base_url + "/v1/repairs"
    auth = server.auth("case_system")
    requests = [
        request_bytes(
            "POST",
            url,
            {**auth, "Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())},
            json.dumps(repair_request(PARIS_SITE, f"PG-{tag}-{n:06d}")).encode(),
        )
        for n in range(count)
    ]
    requests.reverse()
    deadline = time.perf_counter() + budget_s

    async def worker() -> None:
        connection = await Connection.open(url)
        try:
            while requests and time.perf_counter() < deadline:
                request = requests.pop()
                if connection.closed:
                    connection = await Connection.open(url)
                started = time.perf_counter()
                status, raw = await connection.send(request)
                measure.latencies_ms.append((time.perf_counter() - started) * 1000)
                measure.statuses[status] += 1
                if not 200 <= status < 300 and measure.non_2xx == 1:
                    print(f"  first non-2xx answer: {status} {raw[:300]!r}", file=sys.stderr)
        finally:
            connection.close()

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


@dataclass
class Configuration:
    """One server under test and the measurements of its phases, one per round."""

    store: str
    processes: int
    server: RunningServer
    database_usage: Callable[[], Usage] | None
    phases: list[Measure] = field(default_factory=list)

    def run_phase(self, count: int, budget_s: float) -> Measure:
        measure = Measure(self.store, self.processes)
        uvloop.run(creates(self.server, measure, count, budget_s, self.database_usage))
        return measure

    @property
    def total(self) -> Measure:
        """Every phase of this configuration as one measurement."""
        total = Measure(self.store, self.processes, database=Usage() if self.database_usage else None)
        for phase in self.phases:
            total.latencies_ms += phase.latencies_ms
            total.statuses += phase.statuses
            total.elapsed_s += phase.elapsed_s
            total.service += phase.service
            if total.database is not None and phase.database is not None:
                total.database += phase.database
            total.client_cpu_s += phase.client_cpu_s
            total.machine_busy_s += phase.machine_busy_s
        return total


def start_configuration(
    stack: ExitStack,
    store: str,
    processes: int,
    settings: dict[str, str],
    database_usage: Callable[[], Usage] | None,
) -> Configuration:
    arguments = ["--processes", str(processes)] if processes > 1 else []
    base = {"LOGISTICS_CARRIERS": CARRIERS, "LOGISTICS_EVENT_LOOP": "uvloop", **settings}
    server = stack.enter_context(serving(base, pin=False, arguments=arguments, within_s=120.0))
    return Configuration(store, processes, server, database_usage)


def measure_in_rounds(configurations: list[Configuration], args: argparse.Namespace) -> None:
    """A warm-up of each configuration, then ``args.rounds`` rounds of one phase each, in an order that turns
    back every other round (A B C, C B A, ...): a machine whose speed drifts while the benchmark runs (other
    guests of the host, as here) slows every configuration alike instead of the one that happened to run then."""
    per_phase = max(1, args.count // args.rounds)
    for configuration in configurations:
        configuration.run_phase(args.warmup, args.phase_budget)
    for number in range(args.rounds):
        order = configurations if number % 2 == 0 else configurations[::-1]
        for configuration in order:
            configuration.phases.append(configuration.run_phase(per_phase, args.phase_budget))
        rates = "  ".join(f"{c.store} x{c.processes} {c.phases[-1].rate:6.1f}/s" for c in configurations)
        print(f"  round {number + 1}: {rates}", flush=True)


def ratios(configurations: list[Configuration], processes: int) -> list[float]:
    """Per round, PostgreSQL's creates/s with ``processes`` processes over its creates/s with one."""
    by_count = {c.processes: c for c in configurations if c.store == "postgresql"}
    if 1 not in by_count or processes not in by_count:
        return []
    pairs = zip(by_count[processes].phases, by_count[1].phases, strict=True)
    return [many.rate / one.rate for many, one in pairs if one.rate]


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
    parser.add_argument("--count", type=int, default=4800, help="measured creates per configuration, all rounds")
    parser.add_argument("--rounds", type=int, default=6, help="phases per configuration, interleaved")
    parser.add_argument("--warmup", type=int, default=300, help="unreported creates of each configuration first")
    parser.add_argument("--phase-budget", type=float, default=6.0, help="seconds one phase may last at most")
    args = parser.parse_args()

    import pytest

    from tests.support.postgres import private_cluster

    print(machine_load())
    print(calibration())
    cpu_before = CpuTimes.now()
    configurations: list[Configuration] = []
    with ExitStack() as stack:
        try:
            cluster = stack.enter_context(private_cluster(durable=True))
            pid = cluster.pid
            assert pid is not None
            print(f"PostgreSQL postmaster pid {pid} on 127.0.0.1:{cluster.port}, fsync and synchronous_commit on")
            for processes in PROCESS_COUNTS:
                settings = {"LOGISTICS_DATABASE_URL": cluster.url(cluster.create_database())}
                configurations.append(
                    start_configuration(stack, "postgresql", processes, settings, lambda: tree_usage(pid))
                )
        except pytest.skip.Exception as skipped:
            print(f"PostgreSQL figures skipped: {skipped}")
        configurations.append(start_configuration(stack, "sqlite", 1, {}, None))
        measure_in_rounds(configurations, args)
    measures = [configuration.total for configuration in configurations]
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
                per_round = ratios(configurations, processes)
                print(
                    f"postgresql {processes} processes / 1 process: {by_count[processes].rate / one.rate:.2f}x over "
                    f"all rounds; per round median {statistics.median(per_round):.2f}x, from {min(per_round):.2f}x "
                    f"to {max(per_round):.2f}x ({', '.join(f'{r:.2f}' for r in per_round)})"
                )
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
