"""``logistics serve --processes 2`` on PostgreSQL, as an operator runs it: the processes share the port, a
killed one is replaced while the other keeps serving, and a Ctrl-C (SIGINT to the whole process group) stops
everything gracefully without a process being started again."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from tests.support.instances import REPO_ROOT, Fleet, fake_ups, fleet_stopped_after, instance_environment

pytestmark = pytest.mark.slow

SERVING = re.compile(r"serving on http://127\.0\.0\.1:(\d+) with 2 processes \(pids (\d+), (\d+)\)")


def _serving_pids(lines: list[dict[str, object]]) -> set[int]:
    """The pids that logged "process N serving on …"."""
    return {
        int(str(line["pid"]))
        for line in lines
        if str(line.get("message", "")).startswith("process ") and "serving on" in str(line.get("message", ""))
    }


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


async def _until(condition: Callable[[], object], what: str, log: str, within_s: float = 60.0) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within_s} s\n{log}")
        await asyncio.sleep(0.05)


@pytest.mark.timeout(180)
async def test_serving_processes_share_the_port_are_replaced_when_killed_and_stop_together(
    postgres_url: str, tmp_path: Path
) -> None:
    with fake_ups(tmp_path) as ups_url:
        fleet = Fleet.on(tmp_path, 1, database_url=postgres_url, ups_url=ups_url, arguments=["--processes", "2"])
        instance = fleet.instances[0]
        with fleet_stopped_after(fleet):
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
                await fleet.start(http)
                await _until(lambda: SERVING.search(instance.log_tail(20_000)), "serving on", instance.log_tail())
                found = SERVING.search(instance.log_tail(20_000))
                assert found is not None
                assert int(found.group(1)) == instance.port
                first, second = int(found.group(2)), int(found.group(3))
                assert _serving_pids(instance.log_lines()) == {first, second}, "each process says which pid serves"

                os.kill(first, signal.SIGKILL)
                replaced = re.compile(rf"slot \d: serving process {first} killed by SIGKILL")
                await _until(lambda: replaced.search(instance.log_tail(20_000)), "the kill seen", instance.log_tail())
                assert await instance.healthy(http), "the other process serves meanwhile"

                await _until(
                    lambda: len(_serving_pids(instance.log_lines()) - {first, second}) == 1,
                    "a replacement serving",
                    instance.log_tail(),
                )
                assert await instance.healthy(http)

                supervisor = instance.pid
                assert supervisor is not None
                serving_pids = _serving_pids(instance.log_lines()) - {first}
                os.killpg(supervisor, signal.SIGINT)  # what a Ctrl-C in the terminal does
                assert instance.process is not None
                code = await asyncio.to_thread(instance.process.wait, 60)
                assert code == 0, instance.log_tail()
                after = instance.log_tail(20_000)
                assert after.count("starting another") == 1, "no process was started again while stopping"
                assert all(_gone(pid) for pid in serving_pids), "every serving process stopped with the supervisor"


@pytest.mark.timeout(120)
async def test_a_port_in_use_stops_the_supervisor_before_any_process_starts(postgres_url: str, tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = instance_environment(tmp_path, database_url=postgres_url, ups_url="http://127.0.0.1:9", port=port)
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "logistics", "serve", "--processes", "2"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"logistics: host 127.0.0.1, port {port}: cannot listen: Address already in use"
    ), done.stderr
    assert "serving on" not in done.stdout
