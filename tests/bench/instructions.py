"""Instructions per ``POST /v1/repairs``, counted by valgrind: a figure that does not drift with the machine.

Times measured on a shared machine drift by 20% within an hour, which hides the few per cent a change to
the request path is worth. Instruction counts hardly drift: for the same code, callgrind's figure per create
repeats within about 1% whatever else the machine is doing (what varies is the random part of each request
and how many units share a COMMIT). This script runs the service in process under
``valgrind --tool=callgrind`` twice, once with ``--small`` and once with ``--large`` creates, and prints the
difference per create: what one more create costs, with start-up and warm-up cancelled out.

The service is the one the API tests run (``tests.support.service``: the real app on a loopback port, real
SQLite, a manual clock), with the simulated carrier writing its journal as it does by default, on uvloop,
with the collector tuned as ``serve`` tunes it, and warnings only in the log, as in ``bench_api.py``. Each
create carries its own ``Idempotency-Key``. The aiohttp client runs in the same process, so the figure
includes the client's share: compare it between two builds, not with ``bench_api.py``'s server CPU time.
callgrind counts user-space instructions only; time in the kernel (socket I/O, fsync) is not in it.

Run: ``python tests/bench/instructions.py [--journey courier|self-shipment] [--concurrency 16]``. Takes
about two minutes and needs valgrind. Not part of ``make bench``, which reports times.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import aiohttp
import uvloop

if __package__ in (None, ""):  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from logistics.cli import tune_collector
from tests.bench.service_process import pythonpath_with_repository
from tests.support.journeys import CORSICA_SITE, PARIS_SITE, repair_request
from tests.support.service import running_service

SITES = {"courier": PARIS_SITE, "self-shipment": CORSICA_SITE}
WARMUP = 20
COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


async def drive(journey: str, concurrency: int, count: int) -> None:
    """The measured workload: ``WARMUP`` creates one at a time, then ``count`` at ``concurrency``."""
    site = SITES[journey]
    with tempfile.TemporaryDirectory(prefix="logistics-instructions-") as scratch:
        directory = Path(scratch)
        # The sample coverage names Colissimo for French self-shipments: enabled without keys, as in the tests.
        carriers = {"sim": {"state_path": str(directory / "sim-carrier.json")}, "colissimo": {}}
        # Under valgrind a booking takes many times its real time: every create waits for its booking (no
        # budget), so each run does the same work whatever the machine's load, and every answer is a 201.
        async with running_service(directory, carriers=carriers, booking_budget_s=None) as service:
            tune_collector()  # as ``serve`` does once the service has started
            url = service.base_url + "/v1/repairs"
            sent = 0

            async def create() -> None:
                nonlocal sent
                sent += 1
                body = json.dumps(repair_request(site, f"COUNT-{sent:06d}")).encode()
                headers = {
                    **service.auth(),
                    "Content-Type": "application/json",
                    "Idempotency-Key": f"count-{sent:08d}",
                }
                async with service.http.post(url, data=body, headers=headers) as response:
                    raw = await response.read()
                if response.status != 201:
                    raise RuntimeError(f"create answered {response.status}: {raw[:300]!r}")

            for _ in range(WARMUP):
                await create()
            left = count

            async def worker() -> None:
                nonlocal left
                while left > 0:
                    left -= 1
                    await create()

            await asyncio.gather(*(worker() for _ in range(concurrency)))
            await service.services.idempotency.drain()  # the answers' copies are part of each create


def count_instructions(journey: str, concurrency: int, creates: int) -> subprocess.Popen[str]:
    """Start this script's workload under callgrind; its report (with the total) goes to stderr."""
    env = {**os.environ, "PYTHONPATH": pythonpath_with_repository()}
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        str(Path(__file__).resolve()),
        "--workload",
        str(creates),
        "--journey",
        journey,
        "--concurrency",
        str(concurrency),
    ]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def collected(process: subprocess.Popen[str], creates: int) -> int:
    out, err = process.communicate()
    found = COLLECTED.search(err)
    if process.returncode != 0 or found is None:
        raise SystemExit(f"the run of {creates} creates failed (exit {process.returncode}):\n{(out + err)[-3000:]}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--journey", choices=sorted(SITES), default="courier")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--small", type=int, default=50, help="creates in the shorter run")
    parser.add_argument("--large", type=int, default=250, help="creates in the longer run")
    parser.add_argument("--workload", type=int, help=argparse.SUPPRESS)  # the child run, under valgrind
    args = parser.parse_args()
    if args.workload is not None:
        uvloop.run(drive(args.journey, args.concurrency, args.workload))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: it is what counts the instructions", file=sys.stderr)
        return 2
    if not 0 < args.small < args.large:
        parser.error("--small must be positive and less than --large")
    print(f"POST /v1/repairs, {args.journey} journey, concurrency {args.concurrency}, aiohttp {aiohttp.__version__}")
    print(f"counting instructions for {args.small} and {args.large} creates (two valgrind runs side by side)")
    runs = {n: count_instructions(args.journey, args.concurrency, n) for n in (args.small, args.large)}
    totals = {n: collected(process, n) for n, process in runs.items()}
    per_create = (totals[args.large] - totals[args.small]) / (args.large - args.small)
    for n, total in totals.items():
        print(f"  {n:>5} creates: {total:>15,} instructions")
    print(f"instructions per create: {per_create:,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
