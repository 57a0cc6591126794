"""The label worker processes start with the service, warm, so the first downloads do not wait for a spawn;
a label downloaded is drawn by the pool production runs (spawned processes at a lower priority)."""

from __future__ import annotations

import io
import multiprocessing
import os
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from pypdf import PdfReader

from logistics.app import create_app
from tests.support import service as support
from tests.support.clock import ManualClock
from tests.support.journeys import PARIS_SITE, repair_request


async def test_label_workers_are_running_before_the_first_download(tmp_path: Path) -> None:
    before = {child.pid for child in multiprocessing.active_children()}
    keys, _ = support.make_keys()
    app = create_app(support.test_settings(tmp_path, label_workers=2), clock=ManualClock(), api_keys=keys)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()  # the service's start: its cleanup contexts run here
    try:
        started = [child for child in multiprocessing.active_children() if child.pid not in before]
        assert len(started) == 2 and all(child.is_alive() for child in started)
    finally:
        await runner.cleanup()
    assert not [child for child in multiprocessing.active_children() if child.pid not in before]


def _spawned_and_niced(pid: int) -> tuple[bool, int]:
    """Whether the process was started by multiprocessing's spawn (its command line says so, on Linux), and
    how much nicer than this process it runs."""
    command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    return b"multiprocessing.spawn" in command, os.getpriority(os.PRIO_PROCESS, pid) - os.getpriority(
        os.PRIO_PROCESS, 0
    )


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads the workers' command lines in /proc")
async def test_a_customer_label_is_drawn_by_the_production_pool_of_spawned_nice_workers(tmp_path: Path) -> None:
    before = {child.pid for child in multiprocessing.active_children()}
    keys, plain = support.make_keys()
    settings = support.test_settings(tmp_path, label_workers=1)
    app = create_app(settings, clock=ManualClock(), api_keys=keys)  # no executor given: the service's own pool
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        workers = [child for child in multiprocessing.active_children() if child.pid not in before]
        assert len(workers) == 1 and workers[0].pid is not None
        assert _spawned_and_niced(workers[0].pid) == (True, 10)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        async with aiohttp.ClientSession() as http:
            headers = {"Authorization": f"Bearer {plain['case_system']}"}
            body = repair_request(PARIS_SITE, "C-POOL-1")
            async with http.post(f"{base}/v1/repairs", json=body, headers=headers) as response:
                assert response.status == 201
                link = (await response.json())["customer_label"]["url"]
            path = link.removeprefix(settings.public_base_url)
            async with http.get(base + path, headers={"Accept": "application/pdf"}) as response:
                assert response.status == 200 and response.content_type == "application/pdf"
                pdf = await response.read()
        assert len(PdfReader(io.BytesIO(pdf)).pages) >= 1
        assert [w.pid for w in workers if w.is_alive()] == [workers[0].pid]  # the same worker drew it
    finally:
        await runner.cleanup()
    assert not [child for child in multiprocessing.active_children() if child.pid not in before]
