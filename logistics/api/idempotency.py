"""``Idempotency-Key`` on mutating requests (after the IETF httpapi draft and Stripe's practice).

- The same key with the same request (method, path and body) replays the stored answer, marked
  ``Idempotent-Replayed: true``; with another request it gets 422 and changes nothing.
- A duplicate that arrives while the first is still running waits for it and replays its answer, so
  concurrent duplicates produce one effect. The key is claimed before the stored answer is looked up, so no
  duplicate acts on a look-up made just before the first stored its answer. Requests in flight are held in
  the process: the SQLite store has one writer, so one process serves a database. A store that several
  processes share (``SharedKeys``: PostgreSQL) also holds the key in the database: a duplicate that
  another process is running waits there until that one's answer is stored, and replays it. The hold
  lasts ``HOLD_FOR`` and is renewed while its request runs, so a process that dies (or loses the database)
  holding a key lets it go within seconds, and the client's retry runs.
- An answer below 500 is stored. A refusal that the request's own work ended in (a 404, 409 or 422) binds
  the key to the request without being given again: the same request sent again runs again (what refused it
  may have changed), another one gets 422. A 5xx stores nothing, nor does a request refused before its
  work began (malformed body, bad key).
- A request that did its work is answered as soon as that work is durable (the services commit before they
  return); the stored copy of the answer follows in the next group commit, an fsync the caller does not
  wait for. Until that copy is committed the request keeps its key in the process, so a duplicate waits
  and gets the answer itself; at shutdown ``drain`` waits for copies still being stored. A crash in
  between, or a copy that fails to store (logged), loses only the copy, as a crash just before the answer
  was sent would, and is met the same way (below): the request sent again runs again. A refusal is stored
  before it is sent, so that the same request sent again always runs again.
- Secrets an answer carries (a customer's label token) are stored sealed, as their hash; a replay from
  storage gets working equivalents (see ``logistics.services.label_links``). Duplicates that waited in the
  process get the first answer itself.
- A process that dies mid-request leaves no claim behind: the retry runs again at once, and what the first
  run did durably is found again rather than done twice (a repair is stored with its request's origin,
  see ``request_origin``; bookings go through the outbox).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from aiohttp import web

from logistics.api.context import principal_of
from logistics.api.problems import problem_for
from logistics.clock import Clock
from logistics.errors import Conflict, IdempotencyMismatch, InvalidRequest, LogisticsError
from logistics.services.ports import IdempotencyRecord, SharedKeys, Store

logger = logging.getLogger(__name__)

# 1 to 255 printable ASCII characters, spaces inside allowed: what an sf-string of the IETF draft may hold,
# taken as sent (a draft-style quoted key keeps its quotes and is a key of its own). HTTP strips the spaces
# around a field value, so a key neither starts nor ends with one. openapi.yaml states the same pattern.
KEY_SYNTAX = re.compile(r"^[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?$")
WAIT_FOR = 30.0
HOLD_FOR = timedelta(seconds=10)  # a key held in a shared store, renewed every third of it while its request runs
HOLD_TASK = "idempotency:hold"
SHARED_POLL_S = 0.05  # how often a duplicate looks whether another process's answer is stored
ANSWER_COPY_TASK = "idempotency:store-answer"
"""The name of the background task that stores an answer's copy (see ``Idempotency._store_answer``)."""
SECRETS = web.ResponseKey[tuple[str, ...]]("idempotency_secrets")
"""Set on an answer by its route: strings in its body that must not be stored as they are."""


class Sealer(Protocol):
    def seal(self, body: bytes, secrets: Iterable[str]) -> tuple[bytes, tuple[str, ...]]:
        """The body to store, and the seals to keep with it (what ``unseal`` needs, nothing secret)."""

    async def unseal(self, body: bytes, seals: Iterable[str]) -> bytes: ...


def keep_secret(response: web.Response, *secrets: str) -> web.Response:
    """Mark strings of ``response``'s body that its stored copy must hold sealed."""
    response[SECRETS] = response.get(SECRETS, ()) + secrets
    return response


@dataclass
class _Hold:
    """A key held in a shared store, until ``until`` (moved on by each renewal)."""

    until: datetime


@dataclass
class _InFlight:
    """A request holding its key: what it was (``fingerprint``), when it is over, and its stored answer."""

    fingerprint: str
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    answer: IdempotencyRecord | None = None


class Idempotency:
    def __init__(self, store: Store, clock: Clock, sealer: Sealer, *, wait_for: float = WAIT_FOR) -> None:
        self._store = store
        self._clock = clock
        self._sealer = sealer
        self._wait_for = wait_for
        self._in_flight: dict[tuple[str, str], _InFlight] = {}
        self._storing: set[asyncio.Task[None]] = set()

    async def run(
        self, request: web.Request, body: bytes, compute: Callable[[], Awaitable[web.Response]]
    ) -> web.Response:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return await compute()
        if not KEY_SYNTAX.fullmatch(key):
            raise InvalidRequest(
                "Idempotency-Key must be 1 to 255 printable ASCII characters, not starting or ending with a space",
                code="idempotency.bad_key",
                status=400,
                fields=[{"name": "Idempotency-Key", "in": "header", "reason": "malformed"}],
            )
        principal = principal_of(request).actor_key
        fingerprint = _fingerprint(request, body)
        slot = (principal, key)
        deadline = asyncio.get_running_loop().time() + self._wait_for
        while (running := self._in_flight.get(slot)) is not None:
            if running.fingerprint != fingerprint:
                raise IdempotencyMismatch("this Idempotency-Key was used with a different request")
            await self._wait(running, deadline)
            if running.answer is not None:
                return _replay(running.answer)
        # Claimed with no pause since the check above: whoever comes next with this key waits for this request.
        mine = self._in_flight[slot] = _InFlight(fingerprint)
        storing = False
        shared = self._store if isinstance(self._store, SharedKeys) else None
        held: _Hold | None = None
        renewing: asyncio.Task[None] | None = None
        try:
            if shared is not None:
                until = await self._hold(shared, request, principal, key, fingerprint, deadline)
                if until is not None:
                    held = _Hold(until)
                    renewing = asyncio.create_task(self._renew(shared, principal, key, held), name=HOLD_TASK)
            # A key just held in the shared store has no answer stored (the claim refuses one that has): no look-up.
            stored = None if held is not None else await self._store.reader().idempotency(principal, key)
            if stored is not None and stored.body_hash != fingerprint:
                raise IdempotencyMismatch("this Idempotency-Key was used with a different request")
            if stored is not None and stored.state == "done":
                assert stored.response_body is not None
                body = await self._sealer.unseal(stored.response_body, stored.response_seals)
                mine.answer = replace(stored, response_body=body)
                return _replay(mine.answer)
            refused = False
            try:
                response = await compute()
            except IdempotencyMismatch:
                raise  # about the key, not the request's answer: the key stays with its first request
            except LogisticsError as exc:
                if exc.status >= 500:
                    raise
                response = problem_for(exc, request)
                refused = True
            if response.status < 500:
                assert isinstance(response.body, bytes)
                stored_body: bytes | None = None
                seals: tuple[str, ...] = ()
                if not refused:  # a refusal's body is not kept (see below): only a kept answer is sealed
                    stored_body, seals = self._sealer.seal(response.body, response.get(SECRETS, ()))
                record = IdempotencyRecord(
                    principal=principal,
                    key=key,
                    method=request.method,
                    path=request.path,
                    body_hash=fingerprint,
                    # A refusal binds the key to this request but is not given again: what it depended on
                    # (a receipt not yet scanned, the coverage) may change, so the request sent again runs again.
                    state="refused" if refused else "done",
                    response_status=response.status,
                    response_body=stored_body,
                    response_type=response.content_type,
                    locked_at=self._clock.now(),
                    response_location=response.headers.get("Location"),
                    response_seals=seals,
                )
                answer = replace(record, response_body=response.body)
                if refused:  # sent again it runs again rather than wait for a copy: stored before it is sent
                    await self._save(record)
                    mine.answer = answer  # only once stored: a failed store answers 500, never replayed
                else:
                    mine.answer = answer
                    self._store_answer(slot, mine, record)
                    storing = True
            return response
        finally:
            if not storing:
                self._release(slot, mine)
            if renewing is not None:
                renewing.cancel()
                await asyncio.gather(renewing, return_exceptions=True)
            if shared is not None and held is not None and mine.answer is None:
                await self._let_go(shared, principal, key, held.until)

    async def _hold(
        self, shared: SharedKeys, request: web.Request, principal: str, key: str, fingerprint: str, deadline: float
    ) -> datetime | None:
        """Hold the key in the shared store (returns until when), or wait until another process's answer is
        stored (returns None: the caller finds it and replays it, or refuses another request's key)."""
        loop = asyncio.get_running_loop()
        while True:
            now = self._clock.now()
            until = now + HOLD_FOR
            if await shared.claim_idempotency(principal, key, request.method, request.path, fingerprint, now, until):
                return until
            stored = await self._store.reader().idempotency(principal, key)
            if stored is not None and (stored.body_hash != fingerprint or stored.state == "done"):
                return None
            if loop.time() >= deadline:
                raise Conflict(
                    "a request with this Idempotency-Key is still in progress", code="idempotency.in_progress"
                )
            await asyncio.sleep(SHARED_POLL_S)

    async def _renew(self, shared: SharedKeys, principal: str, key: str, held: _Hold) -> None:
        """Keep the hold while the request runs: renewed every third of ``HOLD_FOR`` (a failed renewal is
        tried again at the next; the hold runs out by itself if the process dies)."""
        while True:
            await asyncio.sleep(HOLD_FOR.total_seconds() / 3)
            until = self._clock.now() + HOLD_FOR
            try:
                if not await shared.renew_idempotency(principal, key, held.until, until):
                    return  # answered meanwhile, or lost: nothing left to keep
            except Exception as exc:
                logger.warning("could not renew the hold on Idempotency-Key %r: %s", key, exc)
                continue
            held.until = until

    async def _let_go(self, shared: SharedKeys, principal: str, key: str, held: datetime) -> None:
        try:
            await shared.release_idempotency(principal, key, held, self._clock.now())
        except Exception as exc:  # the hold then runs out by itself
            logger.warning("could not release Idempotency-Key %r (its hold runs out by itself): %s", key, exc)

    async def drain(self) -> None:
        """Wait until the answers already sent are stored (at shutdown, before the database closes)."""
        while self._storing:
            await asyncio.wait(list(self._storing))

    async def _save(self, record: IdempotencyRecord) -> None:
        if isinstance(self._store, SharedKeys):
            await self._store.store_idempotency(record)
            return
        async with self._store.transaction() as tx:
            await tx.save_idempotency(record)

    def _store_answer(self, slot: tuple[str, str], mine: _InFlight, record: IdempotencyRecord) -> None:
        """Store ``record`` in the background; the key stays held in the process until it is committed."""

        def stored(task: asyncio.Task[None]) -> None:
            self._storing.discard(task)
            self._release(slot, mine)
            if task.cancelled():
                error: BaseException | None = asyncio.CancelledError("stopped before it was committed")
            else:
                error = task.exception()
            if error is not None:
                logger.error(
                    "the answer to %s %s with Idempotency-Key %r was sent but not stored (%s): sent again,"
                    " the request runs again and finds what it did",
                    record.method,
                    record.path,
                    record.key,
                    error,
                    exc_info=error,
                )

        task = asyncio.create_task(self._save(record), name=ANSWER_COPY_TASK)
        self._storing.add(task)
        task.add_done_callback(stored)

    def _release(self, slot: tuple[str, str], mine: _InFlight) -> None:
        del self._in_flight[slot]
        mine.finished.set()

    async def _wait(self, running: _InFlight, deadline: float) -> None:
        remaining = max(0.0, deadline - asyncio.get_running_loop().time())
        try:
            await asyncio.wait_for(running.finished.wait(), remaining)
        except TimeoutError:
            raise Conflict(
                "a request with this Idempotency-Key is still in progress", code="idempotency.in_progress"
            ) from None


def _fingerprint(request: web.Request, body: bytes) -> str:
    """What a key is bound to: the request's method, path and body."""
    return hashlib.sha256(request.method.encode() + b" " + request.path.encode() + b"\n" + body).hexdigest()


def request_origin(request: web.Request) -> str | None:
    """What a resource created by this request is stored under, beside its id: a digest of the caller and its
    Idempotency-Key (None without a key). A request re-run after a crash, or after its answer was lost or
    forgotten (see ``logistics.services.housekeeping``), finds by it what its first run created instead of
    creating it again. Whoever finds it checks that it was made by the same request: a key reused for
    another one is refused, never answered with the first one's resource. (20 hex digits: repairs made
    before migration 3 had ``rp_`` and this digest as their id, which that migration made their origin.)"""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    return hashlib.sha256(f"{principal_of(request).actor_key}\n{key}".encode()).hexdigest()[:20]


def _replay(record: IdempotencyRecord) -> web.Response:
    assert record.response_status is not None and record.response_body is not None
    headers = {"Idempotent-Replayed": "true"}
    if record.response_location is not None:
        headers["Location"] = record.response_location
    return web.Response(
        status=record.response_status,
        body=record.response_body,
        content_type=record.response_type or "application/json",
        headers=headers,
    )
