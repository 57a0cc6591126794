"""Clients that open connections and never finish their headers cannot starve the service of files: with
the open-file limit at 1,024, 1,100 such connections leave ``/health`` answering every time, and the
service says in its log that it reached its connection cap."""

from __future__ import annotations

import asyncio
import resource
import time
from pathlib import Path

import aiohttp

from tests.support.process import free_port, logistics_command, running, service_environment

FILE_LIMIT = 1024
SLOW_CLIENTS = 1100


def _limit_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_LIMIT, FILE_LIMIT))


async def test_slow_header_clients_beyond_the_cap_leave_health_answering(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < SLOW_CLIENTS + 200:  # this test's own side of the connections
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    port = free_port()
    env = service_environment(tmp_path, port, header_timeout_s="120", event_loop="uvloop")
    log = tmp_path / "service.log"
    with running(logistics_command("serve"), env, log, preexec_fn=_limit_files):
        writers: list[asyncio.StreamWriter] = []
        try:
            for _ in range(SLOW_CLIENTS):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # and never the rest
                writers.append(writer)
            await asyncio.gather(*(w.drain() for w in writers))
            await asyncio.sleep(0.5)
            latencies = []
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
                for _ in range(20):
                    started = time.perf_counter()
                    async with http.get(
                        f"http://127.0.0.1:{port}/health", timeout=aiohttp.ClientTimeout(total=5)
                    ) as answer:
                        assert answer.status == 200, await answer.text()
                    latencies.append(time.perf_counter() - started)
                    # More slow clients keep arriving meanwhile.
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.write(b"GET / HTTP/1.1\r\n")
                    writers.append(writer)
        finally:
            for writer in writers:
                writer.close()
    text = log.read_text()
    assert "connection cap reached" in text, text[-2000:]
    assert "Too many open files" not in text
    assert max(latencies) < 2.0, latencies
