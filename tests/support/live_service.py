"""The service under test, served from a thread with its own event loop, for tests that run synchronously
(a browser driven through Playwright's sync API). Same wiring as ``running_service``."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, TypeVar

from tests.support.clock import ManualClock
from tests.support.service import Service, running_service

T = TypeVar("T")


class LiveService:
    """``start()`` serves; ``run(coro)`` runs a coroutine (an API call, a service call) on the service's loop."""

    def __init__(self, tmp_path: Path, clock: ManualClock | None = None) -> None:
        self.clock = clock or ManualClock()
        self._tmp_path = tmp_path
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="live-service", daemon=True)
        self._context: AbstractAsyncContextManager[Service] | None = None
        self._service: Service | None = None

    @property
    def service(self) -> Service:
        assert self._service is not None, "start() first"
        return self._service

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self) -> Service:
        self._thread.start()
        self._context = running_service(self._tmp_path, self.clock)
        self._service = self.run(self._context.__aenter__())
        return self._service

    def stop(self) -> None:
        try:
            if self._context is not None:
                self.run(self._context.__aexit__(None, None, None))
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
            self._loop.close()
