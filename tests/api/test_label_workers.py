"""The label worker processes start with the service, warm, so the first downloads do not wait for a spawn."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from aiohttp import web

from logistics.app import create_app
from tests.support import service as support
from tests.support.clock import ManualClock


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
