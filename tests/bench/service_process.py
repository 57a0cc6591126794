"""The service as the benchmarks see it: ``python -m logistics serve`` in its own process on 127.0.0.1.

``serving(...)`` picks a free loopback port, a temporary SQLite file and a temporary development keys file,
starts the server with that directory as its working directory (so relative paths of the defaults, such as
the simulated carrier's state file under ``var/``, land there too), pinned to one core with ``taskset``
when the machine has another for the load generator, waits until ``GET /health`` answers 200, yields the
base URL and the development keys, and always stops the server (and its label workers) on the way out.
Load goes to 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
USABLE_CPUS = frozenset(os.sched_getaffinity(0))  # before this process pins itself to the client's CPU
SERVER_CPU = 0
CLIENT_CPU = 1
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Usage:
    """CPU time of the server (its threads and its child processes) and time it sat runnable, waiting for a CPU.

    Read from ``/proc/<pid>/task/<tid>/schedstat`` (nanoseconds). On a shared machine latency includes the
    waiting; the CPU time per request does not, so it gives the capacity of one dedicated core.
    """

    cpu_s: float = 0.0
    wait_s: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.cpu_s + other.cpu_s, self.wait_s + other.wait_s)

    def __sub__(self, other: Usage) -> Usage:
        return Usage(self.cpu_s - other.cpu_s, self.wait_s - other.wait_s)


def _process_usage(pid: int) -> Usage:
    total = Usage()
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return total
    for task in tasks:
        try:
            on_cpu, waiting, _ = (task / "schedstat").read_text().split()
        except (OSError, ValueError):
            continue  # the thread ended in between, or the kernel keeps no schedstat
        total += Usage(int(on_cpu) / 1e9, int(waiting) / 1e9)
    return total


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``: children, their children, and so on (``serve --processes N``'s serving
    processes and their label workers)."""
    found: list[int] = []
    frontier = [pid]
    while frontier:
        children = [child for parent in frontier for child in _children(parent)]
        found.extend(children)
        frontier = children
    return found


def tree_usage(pid: int) -> Usage:
    """The usage so far of ``pid`` and of every process below it."""
    total = _process_usage(pid)
    for child in descendants(pid):
        total += _process_usage(child)
    return total


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


@dataclass(frozen=True)
class RunningServer:
    base_url: str
    keys: dict[str, str]
    pinned: bool
    pid: int

    def auth(self, who: str = "case_system") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def usage(self) -> Usage:
        """The server's usage so far, its label worker processes (and serving processes) included."""
        return tree_usage(self.pid)

    def describe(self) -> str:
        where = f"pinned to CPU {SERVER_CPU} (taskset)" if self.pinned else "not pinned (no taskset or one CPU)"
        return f"server pid {self.pid} on {self.base_url}, {where}"


def pythonpath_with_repository() -> str:
    """``PYTHONPATH`` for a child process that runs the code of this checkout, whatever its working directory
    and however the package was installed."""
    return os.pathsep.join(filter(None, [str(REPOSITORY), os.environ.get("PYTHONPATH")]))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def can_pin() -> bool:
    """Server on one core and the load generator on another: needs taskset and at least two usable CPUs."""
    return shutil.which("taskset") is not None and {SERVER_CPU, CLIENT_CPU} <= USABLE_CPUS


def pin_this_process_to_client_cpu() -> bool:
    if not can_pin():
        return False
    os.sched_setaffinity(0, {CLIENT_CPU})
    return True


def _health_ok(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(base_url + "/health", timeout=1.0) as response:  # loopback only
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (aiohttp shuts down gracefully, the label pool with it); the process group if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT_S)
    # Label workers left behind by an abrupt exit share the server's process group.
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def serving(
    settings: dict[str, str],
    *,
    pin: bool = True,
    arguments: Sequence[str] = (),
    within_s: float = START_TIMEOUT_S,
) -> Iterator[RunningServer]:
    """Run the server with the benchmark's base settings plus ``settings`` (LOGISTICS_* names), and ``arguments``
    after ``serve`` (``--processes N``)."""
    with tempfile.TemporaryDirectory(prefix="logistics-bench-") as scratch:
        directory = Path(scratch)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        keys_path = directory / "dev-keys.json"
        env = {name: value for name, value in os.environ.items() if not name.startswith("LOGISTICS_")}
        env["PYTHONPATH"] = pythonpath_with_repository()
        env.update(
            {
                "LOGISTICS_HOST": "127.0.0.1",
                "LOGISTICS_PORT": str(port),
                "LOGISTICS_PUBLIC_BASE_URL": base_url,
                "LOGISTICS_DATABASE_PATH": str(directory / "logistics.db"),
                "LOGISTICS_DEV_KEYS_PATH": str(keys_path),
                "LOGISTICS_WORKERS_ENABLED": "false",
                "LOGISTICS_LOG_LEVEL": "WARNING",
                **settings,
            }
        )
        pinned = pin and can_pin()
        command = [sys.executable, "-m", "logistics", "serve", *arguments]
        if pinned:
            command = ["taskset", "-c", str(SERVER_CPU), *command]
        log_path = directory / "server.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(  # the benchmark's own command line, no shell
                command, cwd=directory, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            deadline = time.monotonic() + within_s
            # "serving on" is printed once every serving process listens (with --processes, /health answers as
            # soon as the first does, and connections opened then would all stay with that one).
            while b"serving on" not in log_path.read_bytes() or not _health_ok(base_url):
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
                    raise RuntimeError(f"the server did not become healthy (exit {process.poll()}):\n{tail}")
                time.sleep(0.05)
            keys = json.loads(keys_path.read_text(encoding="utf-8"))
            yield RunningServer(base_url=base_url, keys=keys, pinned=pinned, pid=process.pid)
        finally:
            _stop(process)
            problems = [
                line
                for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines()
                if "Traceback" in line or "ERROR" in line
            ]
            if problems:
                print(f"server log had {len(problems)} error line(s), first: {problems[0][:400]}", file=sys.stderr)
