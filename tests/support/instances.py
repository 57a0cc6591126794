"""Several ``logistics serve`` processes on one database, as a load balancer's pool sees them.

Each ``Instance`` is ``python -m logistics serve`` (optionally ``--processes N``) in its own process group on
its own loopback port, with the background workers on, booking with a fake UPS that runs in a process of its
own for the whole test and keeps its ledger (``GET /__fake/bookings``) across the instances' deaths, and
notifying a webhook receiver. An instance is started, stopped (SIGTERM) and killed (SIGKILL, its whole
process group: label workers and ``--processes`` children go with it) by its pid, and started again on the
same port.

The coverage is the crash test's (one centre, France picked up and returned by UPS), with the crash test's
short carrier deadlines and booking leases, so that a killed instance's claims are taken over within seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import aiohttp

from tests.crash.harness import CASE_KEY, COVERAGE, UPS_ACCOUNT, fake_ups, free_port, repair_body
from tests.support.webhook_receiver import DEV_SECRET

REPO_ROOT = Path(__file__).resolve().parents[2]
OPERATOR_KEY = "multi-instance-operator-key"
HEALTHY_WITHIN_S = 120.0  # several Python processes starting at once on a shared two-core machine

__all__ = [
    "CASE_KEY",
    "OPERATOR_KEY",
    "Fleet",
    "Instance",
    "fake_ups",
    "instance_environment",
    "ledger",
    "repair_body",
]


def instance_environment(
    workdir: Path,
    *,
    database_url: str | None,
    ups_url: str,
    port: int,
    webhook_url: str | None = None,
    **settings: str,
) -> dict[str, str]:
    """The settings of one instance: PostgreSQL at ``database_url`` (SQLite under ``workdir`` when None), every
    region on the fake UPS, workers on, polling off, JSON logs (with the serving pid on every line)."""
    coverage = workdir / "coverage.yaml"
    if not coverage.exists():
        coverage.write_text(COVERAGE, encoding="utf-8")
    keys = [
        {"name": "multi-case", "role": "case_system", "sha256": hashlib.sha256(CASE_KEY.encode()).hexdigest()},
        {"name": "multi-ops", "role": "operator", "sha256": hashlib.sha256(OPERATOR_KEY.encode()).hexdigest()},
    ]
    ups = {
        "base_url": ups_url,
        "client_id": "fake-client-id",
        "client_secret": "fake-client-secret",
        "account_number": UPS_ACCOUNT,
        "shipper_number": UPS_ACCOUNT,
        "request_timeout_s": 10,
    }
    env = {name: value for name, value in os.environ.items() if not name.startswith("LOGISTICS_")}
    env.update(
        {
            "LOGISTICS_HOST": "127.0.0.1",
            "LOGISTICS_PORT": str(port),
            "LOGISTICS_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "LOGISTICS_COVERAGE_PATH": str(coverage),
            "LOGISTICS_API_KEYS": json.dumps(keys),
            "LOGISTICS_CARRIERS": json.dumps({"ups": ups}),
            "LOGISTICS_POLLING__ENABLED": "false",
            "LOGISTICS_WORKERS_ENABLED": "true",
            "LOGISTICS_LABEL_WORKERS": "1",
            "LOGISTICS_LOG_FORMAT": "json",
            "LOGISTICS_EVENT_LOOP": "asyncio",
            "LOGISTICS_METRICS_PUBLIC": "true",
            "LOGISTICS_CALL_POLICY__ATTEMPT_TIMEOUT_S": "2",
            "LOGISTICS_CALL_POLICY__DEADLINE_S": "4",
            "LOGISTICS_BOOKING_LEASE_S": "6",
            # Webhook retries come back within a second or two instead of minutes.
            "LOGISTICS_WEBHOOK__MAX_BACKOFF_S": "1",
            "LOGISTICS_WEBHOOK__TIMEOUT_S": "5",
        }
    )
    # The SQLite path points into the test's folder even on PostgreSQL, where it is not the store: nothing is
    # ever written beside the repository, whatever reads the setting.
    env["LOGISTICS_DATABASE_PATH"] = str(workdir / "logistics.db")
    if database_url is not None:
        env["LOGISTICS_DATABASE_URL"] = database_url
    if webhook_url is not None:
        env["LOGISTICS_WEBHOOK__URL"] = webhook_url
        env["LOGISTICS_WEBHOOK__SECRET"] = DEV_SECRET
    env.update({f"LOGISTICS_{name.upper()}": value for name, value in settings.items()})
    return env


@dataclass(eq=False)  # an instance is itself, whatever its state: kept in sets by identity
class Instance:
    """One ``logistics serve`` process group on a fixed port; its output appended to one log file."""

    name: str
    env: dict[str, str]
    log_path: Path
    arguments: Sequence[str] = ()
    process: subprocess.Popen[bytes] | None = None
    pids: list[int] = field(default_factory=list)  # every pid this instance has had, in order
    _log: IO[bytes] | None = None
    _log_start: int = 0  # where this run's output begins in the log file

    @property
    def port(self) -> int:
        return int(self.env["LOGISTICS_PORT"])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.poll() is None else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    def start(self) -> None:
        assert not self.running, f"{self.name} is already running"
        self._log = self.log_path.open("ab")
        self._log_start = self._log.tell()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "logistics", "serve", *self.arguments],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pids.append(self.process.pid)

    async def wait_healthy(self, http: aiohttp.ClientSession, within_s: float = HEALTHY_WITHIN_S) -> None:
        """Until this run has printed "serving on" (with ``--processes``: once every process listens) and
        ``/health`` answers 200."""
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            process = self.process
            assert process is not None, f"{self.name} was never started"
            if process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {process.returncode}:\n{self.log_tail()}")
            if self._said_serving() and await self.healthy(http):
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{self.name} was not healthy within {within_s} s:\n{self.log_tail()}")

    def _said_serving(self) -> bool:
        with contextlib.suppress(OSError), self.log_path.open("rb") as log:
            log.seek(self._log_start)
            return any(line.startswith(b"serving on ") for line in log)
        return False

    async def healthy(self, http: aiohttp.ClientSession) -> bool:
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with http.get(f"{self.base_url}/health", timeout=aiohttp.ClientTimeout(total=2)) as answer:
                return answer.status == 200
        return False

    def kill(self) -> None:
        """SIGKILL to the whole process group: what a power cut or the OOM killer does."""
        self._end(signal.SIGKILL)

    def stop(self, within_s: float = 60.0) -> int | None:
        """SIGTERM to the instance's first process (the supervisor, with ``--processes``); its exit code."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=within_s)
            except subprocess.TimeoutExpired:
                self._end(signal.SIGKILL)
                return None
        code = process.returncode
        self._end(signal.SIGKILL)  # anything of its group left behind
        return code

    def _end(self, sig: signal.Signals) -> None:
        process = self.process
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            process.wait(timeout=30)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_lines(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far (other output, such as start-up lines, left out)."""
        lines = []
        with contextlib.suppress(OSError):
            for raw in self.log_path.read_text(errors="replace").splitlines():
                if raw.startswith("{"):
                    with contextlib.suppress(json.JSONDecodeError):
                        lines.append(json.loads(raw))
        return lines

    def log_tail(self, chars: int = 4000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""


@dataclass
class Fleet:
    """The instances of one test, all on one database."""

    instances: list[Instance]

    @classmethod
    def on(
        cls,
        workdir: Path,
        count: int,
        *,
        database_url: str | None,
        ups_url: str,
        webhook_url: str | None = None,
        arguments: Sequence[str] = (),
        **settings: str,
    ) -> Fleet:
        instances = []
        for number in range(1, count + 1):
            env = instance_environment(
                workdir,
                database_url=database_url,
                ups_url=ups_url,
                port=free_port(),
                webhook_url=webhook_url,
                **settings,
            )
            instances.append(Instance(f"instance {number}", env, workdir / f"instance-{number}.log", arguments))
        return cls(instances)

    @property
    def base_urls(self) -> list[str]:
        return [instance.base_url for instance in self.instances]

    async def start(self, http: aiohttp.ClientSession) -> None:
        """Start every instance at once and wait until all are healthy."""
        for instance in self.instances:
            instance.start()
        await asyncio.gather(*(instance.wait_healthy(http) for instance in self.instances))

    def kill_all(self) -> None:
        for instance in self.instances:
            instance.kill()

    def logs(self) -> str:
        return "\n".join(f"--- {i.name}:\n{i.log_tail(2000)}" for i in self.instances)


@contextlib.contextmanager
def fleet_stopped_after(fleet: Fleet) -> Iterator[Fleet]:
    """Yield ``fleet``; kill what is still running however the block ends."""
    try:
        yield fleet
    finally:
        fleet.kill_all()


async def ledger(http: aiohttp.ClientSession, ups_url: str) -> dict[str, Any]:
    """What the fake UPS holds: bookings per reference, requests per reference, schema violations."""
    async with http.get(f"{ups_url}/__fake/bookings") as answer:
        assert answer.status == 200
        found: dict[str, Any] = await answer.json()
    return found
