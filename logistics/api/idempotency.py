"""``Idempotency-Key`` on mutating requests (after the IETF httpapi draft and Stripe's practice).

- The first request with a key claims it (committed before any work), runs, and stores its answer.
- The same key with the same request replays the stored answer, marked ``Idempotent-Replayed: true``.
- The same key with another request (method, path or body) gets 422 and changes nothing.
- A duplicate that arrives while the first is still running waits for it and replays its answer, so
  concurrent duplicates produce one effect. A claim left by a crashed process is taken over once stale.
- An answer of 5xx, or an error raised before an answer, releases the key: nothing was done, so the caller
  may retry with the same key.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web

from logistics.api.context import principal_of
from logistics.clock import Clock
from logistics.errors import Conflict, IdempotencyMismatch, InvalidRequest
from logistics.services.ports import IdempotencyRecord, Store

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
DEFAULT_STALE_AFTER = timedelta(seconds=120)
WAIT_FOR = 30.0


class Idempotency:
    def __init__(self, store: Store, clock: Clock, *, stale_after: timedelta = DEFAULT_STALE_AFTER) -> None:
        self._store = store
        self._clock = clock
        self._stale_after = stale_after
        self._done: dict[tuple[str, str], asyncio.Event] = {}

    async def run(
        self, request: web.Request, body: bytes, compute: Callable[[], Awaitable[web.Response]]
    ) -> web.Response:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return await compute()
        if not _KEY.match(key):
            raise InvalidRequest(
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
                code="idempotency.bad_key",
                status=400,
                fields=[{"name": "Idempotency-Key", "in": "header", "reason": "malformed"}],
            )
        principal = principal_of(request).actor_key
        fingerprint = hashlib.sha256(request.method.encode() + b" " + request.path.encode() + b"\n" + body).hexdigest()
        slot = (principal, key)
        deadline = asyncio.get_running_loop().time() + WAIT_FOR
        while True:
            now = self._clock.now()
            claim = IdempotencyRecord(
                principal=principal,
                key=key,
                method=request.method,
                path=request.path,
                body_hash=fingerprint,
                state="in_progress",
                response_status=None,
                response_body=None,
                response_type=None,
                locked_at=now,
            )
            async with self._store.transaction() as tx:
                existing = await tx.claim_idempotency(claim)
                if existing is not None and existing.body_hash != fingerprint:
                    raise IdempotencyMismatch("this Idempotency-Key was used with a different request")
                if (
                    existing is not None
                    and existing.state == "in_progress"
                    and now - existing.locked_at > self._stale_after
                ):
                    await tx.take_over_idempotency(principal, key, now)
                    existing = None
            if existing is None:
                break
            if existing.state == "done":
                return _replay(existing)
            await self._wait(slot, deadline)
        event = self._done.setdefault(slot, asyncio.Event())
        try:
            try:
                response = await compute()
            except BaseException:
                async with self._store.transaction() as tx:
                    await tx.release_idempotency(principal, key)
                raise
            async with self._store.transaction() as tx:
                if response.status >= 500:
                    await tx.release_idempotency(principal, key)
                else:
                    assert isinstance(response.body, bytes)
                    await tx.complete_idempotency(principal, key, response.status, response.body, response.content_type)
            return response
        finally:
            self._done.pop(slot, None)
            event.set()

    async def _wait(self, slot: tuple[str, str], deadline: float) -> None:
        """Wait for the request holding the key; in this process we are woken, otherwise we poll."""
        loop = asyncio.get_running_loop()
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise Conflict("a request with this Idempotency-Key is still in progress", code="idempotency.in_progress")
        event = self._done.get(slot)
        if event is None:
            await asyncio.sleep(min(0.05, remaining))
            return
        try:
            await asyncio.wait_for(event.wait(), remaining)
        except TimeoutError:
            return  # the next claim answers, or the deadline check refuses


def derived_id(request: web.Request, prefix: str) -> str | None:
    """A resource id that follows from the caller and its Idempotency-Key (None without a key), so a request
    re-run after a crash finds what its first run created instead of creating it again."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    digest = hashlib.sha256(f"{principal_of(request).actor_key}\n{key}".encode()).hexdigest()
    return f"{prefix}{digest[:20]}"


def _replay(record: IdempotencyRecord) -> web.Response:
    assert record.response_status is not None and record.response_body is not None
    return web.Response(
        status=record.response_status,
        body=record.response_body,
        content_type=record.response_type or "application/json",
        headers={"Idempotent-Replayed": "true"},
    )
