"""Delivery of queued notifications to the case system, signed as Standard Webhooks.

Each notification is posted as JSON (its payload, which carries a per-repair ``sequence``) with the headers
``webhook-id`` (the notification id, the same on every attempt, so the receiver can deduplicate),
``webhook-timestamp`` (this attempt, Unix seconds) and ``webhook-signature`` (``v1,<HMAC-SHA256>``).

A 2xx answer is a delivery. Anything else is a failure and is retried with exponential backoff (with a
little jitter, capped at ``max_backoff_s``): another status, a redirect (never followed: a 3xx is a
failure, so a notification cannot be bounced to another host), a timeout, a connection error. A
``Retry-After`` in seconds is honoured up to the same cap. A notification still failing ``retry_for_s``
after it was queued is abandoned and logged at ERROR.

Order per repair: a repair's notifications go out one after the other, and a later one is not sent while
an earlier one is waiting to be retried (``deliverable_notifications`` holds it back), so the receiver sees
them in sequence order. Different repairs are delivered concurrently, up to ``concurrency`` at a time.

Secret rotation: with ``previous_secret`` set, every attempt carries two signatures in
``webhook-signature`` (space-separated, as Standard Webhooks allows), one per secret, so the case system
may switch to the new secret at any moment of the rotation; remove the previous one once it has.

Each outcome (delivered, failed, abandoned) is reported to ``on_outcome`` with, for a delivery, the time
from queueing (or from an operator's redelivery request) to delivery: the service counts them as metrics.

Delivery is at least once: the outcome of a pass is written after its requests, so a crash in between sends
those notifications again, under the same ``webhook-id``. With no URL configured nothing is sent and
notifications wait in the outbox. This module never creates the HTTP session: it is given one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp
from standardwebhooks import Webhook

from logistics.clock import Clock
from logistics.config import WebhookSettings
from logistics.services.ports import Notification, Store

logger = logging.getLogger(__name__)

FIRST_BACKOFF_S = 5.0
JITTER = 0.1  # ± this fraction of each backoff, so retries of many notifications spread out
_MAX_ERROR_BODY = 64 * 1024


@dataclass(frozen=True)
class Attempt:
    notification: Notification
    at: datetime
    delivered: bool
    error: str | None = None
    retry_after_s: float | None = None


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """A ``Retry-After`` given in seconds; None when absent or given as a date (the backoff then applies)."""
    value = headers.get("Retry-After")
    if value is None or not value.strip().isdigit():
        return None
    return float(value.strip())


def backoff_s(attempts: int, first_s: float, max_s: float) -> float:
    """The wait after the ``attempts``-th failed attempt: first_s, 2·first_s, 4·first_s … capped at max_s."""
    return float(min(max_s, first_s * 2 ** min(attempts - 1, 62)))


class WebhookDelivery:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        settings: WebhookSettings,
        session: aiohttp.ClientSession,
        *,
        concurrency: int = 64,
        first_backoff_s: float = FIRST_BACKOFF_S,
        rng: random.Random | None = None,
        on_outcome: Callable[[str, float | None], None] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        self._session = session
        self._concurrency = concurrency
        self._first_backoff_s = first_backoff_s
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self._signers = [Webhook(settings.secret.get_secret_value())]
        if settings.previous_secret is not None:
            self._signers.append(Webhook(settings.previous_secret.get_secret_value()))
        self._on_outcome = on_outcome
        self._url = str(settings.url) if settings.url is not None else None
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout_s)

    async def deliver_due(self, limit: int | None = None) -> int:
        """One pass over the notifications due now; returns how many were delivered."""
        if self._url is None:
            return 0
        due = await self._store.reader().deliverable_notifications(self._clock.now(), limit or self._settings.batch)
        if not due:
            return 0
        by_repair: dict[str, list[Notification]] = {}
        for notification in due:
            by_repair.setdefault(notification.repair_id, []).append(notification)
        gate = asyncio.Semaphore(self._concurrency)
        attempts: list[Attempt] = []

        async def deliver_in_order(queue: list[Notification]) -> None:
            async with gate:
                for notification in queue:
                    attempt = await self._attempt(notification)
                    attempts.append(attempt)
                    if not attempt.delivered:
                        return  # the repair's later notifications wait for this one

        await asyncio.gather(*(deliver_in_order(queue) for queue in by_repair.values()))
        return await self._record(attempts)

    async def _attempt(self, notification: Notification) -> Attempt:
        assert self._url is not None
        at = self._clock.now()
        body = json.dumps(notification.payload, separators=(",", ":"), ensure_ascii=False)
        headers = {
            "content-type": "application/json",
            "webhook-id": notification.id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": " ".join(signer.sign(notification.id, at, body) for signer in self._signers),
        }
        try:
            async with self._session.post(
                self._url, data=body.encode(), headers=headers, allow_redirects=False, timeout=self._timeout
            ) as response:
                await response.content.read(_MAX_ERROR_BODY)  # read, so the connection can be reused
                if 200 <= response.status < 300:
                    return Attempt(notification, at, delivered=True)
                if 300 <= response.status < 400:
                    error = f"HTTP {response.status} redirect, not followed"
                else:
                    error = f"HTTP {response.status}"
                return Attempt(
                    notification,
                    at,
                    delivered=False,
                    error=error,
                    retry_after_s=retry_after_seconds(response.headers),
                )
        except TimeoutError:
            return Attempt(notification, at, delivered=False, error=f"no answer within {self._settings.timeout_s}s")
        except aiohttp.ClientError as exc:
            return Attempt(notification, at, delivered=False, error=f"{type(exc).__name__}: {exc}")

    def _report(self, outcome: str, latency_s: float | None) -> None:
        if self._on_outcome is not None:
            self._on_outcome(outcome, latency_s)

    async def _record(self, attempts: list[Attempt]) -> int:
        """Write the outcome of every attempt in one transaction; returns how many were delivered."""
        delivered = 0
        failed: list[Attempt] = []
        abandoned: list[Attempt] = []
        retry_for = timedelta(seconds=self._settings.retry_for_s)
        async with self._store.transaction() as tx:
            for attempt in attempts:
                notification = attempt.notification
                count = notification.attempts + 1
                if attempt.delivered:
                    delivered += 1
                    self._report("delivered", (attempt.at - notification.retrying_since).total_seconds())
                    await tx.mark_notification(
                        notification.id,
                        delivered_at=attempt.at,
                        attempts=count,
                        next_attempt_at=notification.next_attempt_at,
                        last_error=None,
                        abandoned=False,
                    )
                    continue
                deadline = notification.retrying_since + retry_for
                if attempt.at >= deadline:
                    abandoned.append(attempt)
                    self._report("abandoned", None)
                    await tx.mark_notification(
                        notification.id,
                        delivered_at=None,
                        attempts=count,
                        next_attempt_at=attempt.at,
                        last_error=attempt.error,
                        abandoned=True,
                    )
                    continue
                failed.append(attempt)
                self._report("failed", None)
                wait = backoff_s(count, self._first_backoff_s, self._settings.max_backoff_s)
                wait *= 1 + self._rng.uniform(-JITTER, JITTER)
                if attempt.retry_after_s is not None:
                    wait = max(wait, attempt.retry_after_s)
                wait = min(wait, self._settings.max_backoff_s)
                # The last attempt is made at the deadline itself, not skipped because a backoff overshot it.
                retry_at = min(attempt.at + timedelta(seconds=wait), deadline)
                await tx.mark_notification(
                    notification.id,
                    delivered_at=None,
                    attempts=count,
                    next_attempt_at=retry_at,
                    last_error=attempt.error,
                    abandoned=False,
                )
        if failed:
            logger.warning(
                "%d notification(s) not delivered, will retry; first: %s (%s)",
                len(failed),
                failed[0].notification.id,
                failed[0].error,
            )
        for attempt in abandoned:
            n = attempt.notification
            logger.error(
                "notification %s (%s, repair %s, sequence %d) abandoned after %d attempts: %s",
                n.id,
                n.type,
                n.repair_id,
                n.seq,
                n.attempts + 1,
                attempt.error,
            )
        return delivered
