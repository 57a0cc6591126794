"""Processes for the crash test: the fake UPS and the service, each a real subprocess on 127.0.0.1.

The fake UPS runs for the whole test and keeps its bookings; the service is started with
``python -m logistics serve`` and killed with SIGKILL (its whole process group, so a label worker it may
have spawned goes with it), over and over, on the same SQLite file.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import aiohttp

REPO_ROOT = Path(__file__).resolve().parents[2]
CASE_KEY = "crash-test-case-system-key"
UPS_ACCOUNT = "A1B2C3"

COVERAGE = """\
# Coverage for the crash test: one centre, and all of France picked up and returned by UPS.
version: 1

centres:
  - id: fr-lyon
    name: Lyon repair centre
    address:
      name: Repair centre Lyon
      street_lines: ["12 rue de l'Industrie"]
      city: Lyon
      postal_code: "69007"
      country: FR
      phone: "+33 4 00 00 00 00"
    time_zone: Europe/Paris
    carriers: [ups]
    calendar: {country: FR}

regions:
  - id: fr-ups
    country: FR
    time_zone: Europe/Paris
    courier_pickup:
      carrier: ups
      lead_time_business_days: 1
      cut_off: "16:00"
      window: {ready: "09:00", close: "17:00"}
    self_shipment:
      carrier: ups
      ship_within_business_days: 5
      drop_off: Hand the parcel in at any UPS Access Point within five business days.
    return_carrier: ups
    repair_centre: fr-lyon
    turnaround:
      inbound_business_days: 2
      at_centre_business_days: 3
      outbound_business_days: 2
      at_risk_ratio: 0.8
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clean_environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("LOGISTICS_")}


def _stop(process: subprocess.Popen[bytes], *, group: bool) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(process.pid, signal.SIGKILL)
            else:
                process.kill()
    process.wait(timeout=30)


@contextlib.contextmanager
def fake_ups(workdir: Path) -> Iterator[str]:
    """The fake UPS in standalone mode; yields its base URL."""
    out_path, err_path = workdir / "fake-ups.out", workdir / "fake-ups.log"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.ups_server", "--port", "0"],
            cwd=REPO_ROOT,
            env=_clean_environment(),
            stdout=out,
            stderr=err,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                first_line = out_path.read_text().partition("\n")[0]
                if first_line:
                    break
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the fake UPS did not start:\n{err_path.read_text()[-2000:]}")
                time.sleep(0.05)
            yield str(json.loads(first_line)["base_url"])
        finally:
            _stop(process, group=False)


def service_environment(workdir: Path, ups_base_url: str, port: int) -> dict[str, str]:
    coverage = workdir / "coverage.yaml"
    coverage.write_text(COVERAGE, encoding="utf-8")
    key = {"name": "crash-case", "role": "case_system", "sha256": hashlib.sha256(CASE_KEY.encode()).hexdigest()}
    ups = {
        "base_url": ups_base_url,
        "client_id": "fake-client-id",
        "client_secret": "fake-client-secret",
        "account_number": UPS_ACCOUNT,
        "shipper_number": UPS_ACCOUNT,
        "request_timeout_s": 10,
    }
    return {
        **_clean_environment(),
        "LOGISTICS_HOST": "127.0.0.1",
        "LOGISTICS_PORT": str(port),
        "LOGISTICS_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "LOGISTICS_DATABASE_PATH": str(workdir / "logistics.db"),
        "LOGISTICS_COVERAGE_PATH": str(coverage),
        "LOGISTICS_API_KEYS": json.dumps([key]),
        "LOGISTICS_CARRIERS": json.dumps({"ups": ups}),
        "LOGISTICS_POLLING__ENABLED": "false",
        "LOGISTICS_WORKERS_ENABLED": "true",
        "LOGISTICS_LABEL_WORKERS": "1",
        "LOGISTICS_LOG_FORMAT": "json",
        "LOGISTICS_METRICS_PUBLIC": "true",  # the harness reads the outbox depth from /metrics
        # Short leases, so a killed attempt is taken over within seconds rather than minutes; a lease must still
        # outlast a carrier call's deadline, which the service checks at start.
        "LOGISTICS_CALL_POLICY__ATTEMPT_TIMEOUT_S": "2",
        "LOGISTICS_CALL_POLICY__DEADLINE_S": "4",
        "LOGISTICS_BOOKING_LEASE_S": "6",
    }


class ServiceProcess:
    """``python -m logistics serve`` in its own process group, its output appended to one log file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self._env = env
        self._log_path = log_path
        self._log: IO[bytes] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.base_url = f"http://127.0.0.1:{env['LOGISTICS_PORT']}"

    def start(self) -> None:
        assert self._process is None, "the service is already running"
        self._log = self._log_path.open("ab")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "logistics", "serve"],
            cwd=REPO_ROOT,
            env=self._env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    async def wait_healthy(self, http: aiohttp.ClientSession, within_s: float = 120.0) -> None:
        assert self._process is not None
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the service exited with {self._process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(f"{self.base_url}/health", timeout=aiohttp.ClientTimeout(total=2)) as answer:
                    if answer.status == 200:
                        return
            await asyncio.sleep(0.02)
        raise RuntimeError(f"the service was not healthy within {within_s} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL, no chance to clean up: what a power cut or the OOM killer does."""
        if self._process is not None:
            _stop(self._process, group=True)
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, chars: int = 4000) -> str:
        with contextlib.suppress(OSError):
            return self._log_path.read_text(errors="replace")[-chars:]
        return ""


def repair_body(case_id: str, number: int) -> dict[str, Any]:
    """A repair in Paris; the street differs per request, as UPS gives one pickup per address and day."""
    return {
        "case_id": case_id,
        "language": "fr",
        "site": {
            "name": "Camille Martin",
            "street_lines": [f"{number} rue Oberkampf"],
            "city": "Paris",
            "postal_code": "75011",
            "country": "FR",
            "phone": "+33 1 00 00 00 00",
        },
        "device": {"product_line": "notebook", "model": "EliteBook 840 G9", "serial_number": f"5CG{number:07d}"},
        "entitlement": {"service_level": "pickup_and_return", "country_of_purchase": "FR"},
    }
