"""``logistics`` run as its own process, as an operator runs it: for start-up, disk and connection tests."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
OPERATOR_KEY = "operator-key-for-process-tests"
CASE_KEY = "case-key-for-process-tests"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_environment(workdir: Path, port: int, **settings: str) -> dict[str, str]:
    """The service's environment: a fresh database under ``workdir``, simulated carrier, known keys."""
    keys = [
        {"name": "case", "role": "case_system", "sha256": hashlib.sha256(CASE_KEY.encode()).hexdigest()},
        {"name": "ops", "role": "operator", "sha256": hashlib.sha256(OPERATOR_KEY.encode()).hexdigest()},
    ]
    env = {name: value for name, value in os.environ.items() if not name.startswith("LOGISTICS_")}
    env.update(
        {
            "LOGISTICS_HOST": "127.0.0.1",
            "LOGISTICS_PORT": str(port),
            "LOGISTICS_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "LOGISTICS_DATABASE_PATH": str(workdir / "logistics.db"),
            "LOGISTICS_API_KEYS": json.dumps(keys),
            # The sample coverage books French self-shipments with Colissimo: enabled, with no keys here.
            "LOGISTICS_CARRIERS": json.dumps({"sim": {"state_path": str(workdir / "sim.json")}, "colissimo": {}}),
            "LOGISTICS_LABEL_WORKERS": "1",
            "LOGISTICS_LOG_FORMAT": "text",
            "LOGISTICS_EVENT_LOOP": "asyncio",
        }
    )
    env.update({f"LOGISTICS_{name.upper()}": value for name, value in settings.items()})
    return env


def logistics_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "logistics", *args]


@contextlib.contextmanager
def running(
    command: Sequence[str],
    env: dict[str, str],
    log_path: Path,
    *,
    preexec_fn: Callable[[], None] | None = None,
    within_s: float = 60.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``command`` in its own process group; yield once it printed "serving on"; kill the group after."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(command),
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=preexec_fn,  # only sets a resource limit in the child
        )
        try:
            deadline = time.monotonic() + within_s
            while b"serving on" not in log_path.read_bytes():
                if process.poll() is not None:
                    raise RuntimeError(f"the service exited with {process.returncode}:\n{log_path.read_text()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the service did not start within {within_s} s:\n{log_path.read_text()}")
                time.sleep(0.05)
            yield process
        finally:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=15)
