"""Notifications to the case system: signed, retried, in order per repair, never redirected, abandoned late.

The receiver is a real aiohttp app on 127.0.0.1 that checks every delivery with the Standard Webhooks
reference verifier. That verifier compares ``webhook-timestamp`` with the wall clock (±5 minutes), so tests
that verify start their manual clock at the wall clock's now and move it by seconds, not days.
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from logistics.config import WebhookSettings
from logistics.domain.journey import Actor, LegDirection
from logistics.domain.model import Change
from logistics.services.notifications import record
from logistics.services.ports import Store
from logistics.services.webhook_delivery import WebhookDelivery, backoff_s
from logistics.storage.database import Database
from logistics.storage.sqlite_store import SqliteStore
from tests.support.clock import ManualClock
from tests.tracking.tracking_builders import WEBHOOK_SECRET, Receiver, build_repair


def settings(url: str | None, **overrides: float) -> WebhookSettings:
    return WebhookSettings.model_validate(
        {"url": url, "secret": WEBHOOK_SECRET, "max_backoff_s": 8.0, "timeout_s": 2.0, **overrides}
    )


async def queue(store: Store, now: datetime, repairs: int, per_repair: int) -> list[str]:
    """Repairs in the store, each with ``per_repair`` notifications queued the way services queue them."""
    ids = [f"rp{i:03d}" for i in range(repairs)]
    async with store.transaction() as tx:
        for repair_id in ids:
            repair = build_repair(repair_id, now)
            await tx.add_repair(repair)
            changes = [
                Change(
                    kind="flag_raised",
                    occurred_at=now,
                    actor=Actor.CARRIER,
                    source=f"line:{repair_id}-{n}",
                    leg=LegDirection.INBOUND,
                    details={"n": n},
                )
                for n in range(per_repair)
            ]
            await record(tx, repair, changes, now)
    return ids


@pytest.fixture
def wall_clock() -> ManualClock:
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hooks = Receiver()
    await hooks.start()
    try:
        yield hooks
    finally:
        await hooks.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def pending(store: Store) -> int:
    return (await store.reader().outbox_depth())["notifications"]


async def test_every_delivery_is_signed_and_verifies(
    store: Store, wall_clock: ManualClock, receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    await queue(store, wall_clock.now(), repairs=3, per_repair=2)
    delivery = WebhookDelivery(store, wall_clock, settings(receiver.url()), session)
    assert await delivery.deliver_due() == 6
    assert receiver.rejected == []
    assert {message_id for message_id, _ in receiver.received} == {
        f"msg_rp{r:03d}_{s}" for r in range(3) for s in (1, 2)
    }
    assert receiver.sequences() == {f"rp{r:03d}": [1, 2] for r in range(3)}
    assert await pending(store) == 0
    assert await delivery.deliver_due() == 0  # nothing is sent twice once acknowledged


async def test_a_wrong_secret_is_refused_by_the_receiver(
    store: Store, wall_clock: ManualClock, receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    await queue(store, wall_clock.now(), repairs=1, per_repair=1)
    other = WebhookSettings.model_validate(
        {"url": receiver.url(), "secret": "whsec_" + "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldC0xMjM0NQ=="}
    )
    assert await WebhookDelivery(store, wall_clock, other, session).deliver_due() == 0
    assert len(receiver.rejected) == 1
    assert await pending(store) == 1


async def test_with_no_url_nothing_is_sent_and_notifications_wait(
    store: Store, wall_clock: ManualClock, receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    await queue(store, wall_clock.now(), repairs=2, per_repair=1)
    assert await WebhookDelivery(store, wall_clock, settings(None), session).deliver_due() == 0
    assert receiver.received == []
    assert await pending(store) == 2


async def test_failures_and_a_restart_lose_nothing_and_keep_the_order(
    db_path: Path, wall_clock: ManualClock, receiver: Receiver
) -> None:
    database = await Database.open(db_path)
    store = SqliteStore(database)
    await queue(store, wall_clock.now(), repairs=4, per_repair=5)
    receiver.fail_next = 6
    session = aiohttp.ClientSession()
    delivery = WebhookDelivery(store, wall_clock, settings(receiver.url()), session, rng=random.Random(3))
    await delivery.deliver_due()
    await receiver.stop()  # the case system goes down
    wall_clock.advance(seconds=8)
    assert await delivery.deliver_due() == 0
    # The service restarts: everything is closed and opened again on the same file.
    await session.close()
    await database.close()
    wall_clock.advance(seconds=30)
    database = await Database.open(db_path)
    store = SqliteStore(database)
    session = aiohttp.ClientSession()
    delivery = WebhookDelivery(store, wall_clock, settings(receiver.url()), session, rng=random.Random(4))
    await receiver.start()  # back on the same port
    try:
        for _ in range(30):
            await delivery.deliver_due()
            if await pending(store) == 0:
                break
            wall_clock.advance(seconds=8)
        assert await pending(store) == 0
    finally:
        await session.close()
        await database.close()
    assert receiver.rejected == []
    assert len(receiver.received) > 20  # the failed attempts were seen too
    assert receiver.sequences() == {f"rp{r:03d}": [1, 2, 3, 4, 5] for r in range(4)}


async def test_a_failed_notification_holds_back_the_later_ones_of_its_repair_only(
    store: Store, wall_clock: ManualClock, receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    await queue(store, wall_clock.now(), repairs=1, per_repair=3)
    receiver.fail_next = 1
    delivery = WebhookDelivery(store, wall_clock, settings(receiver.url()), session)
    assert await delivery.deliver_due() == 0  # rp000 #1 failed, so #2 and #3 were not sent in this pass
    await queue_more(store, wall_clock.now())
    assert await delivery.deliver_due() == 2  # the other repair goes on; rp000 #2 waits for #1's retry
    assert [p["repair_id"] for _, p in receiver.received] == ["rp000", "rpx", "rpx"]
    wall_clock.advance(seconds=8)
    assert await delivery.deliver_due() == 3
    assert receiver.sequences() == {"rp000": [1, 2, 3], "rpx": [1, 2]}


async def queue_more(store: Store, now: datetime) -> None:
    async with store.transaction() as tx:
        repair = build_repair("rpx", now)
        await tx.add_repair(repair)
        change = Change(kind="flag_raised", occurred_at=now, actor=Actor.CARRIER, source="x")
        await record(tx, repair, [change, change], now)


async def test_repairs_are_delivered_concurrently(
    store: Store, wall_clock: ManualClock, receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    await queue(store, wall_clock.now(), repairs=8, per_repair=1)
    receiver.delay_s = 0.02
    delivery = WebhookDelivery(store, wall_clock, settings(receiver.url()), session, concurrency=4)
    assert await delivery.deliver_due() == 8
    assert 1 < receiver.max_in_flight <= 4


async def test_redirects_are_not_followed(
    store: Store, wall_clock: ManualClock, receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    await queue(store, wall_clock.now(), repairs=1, per_repair=1)
    delivery = WebhookDelivery(store, wall_clock, settings(receiver.url("/moved")), session)
    assert await delivery.deliver_due() == 0
    assert receiver.redirect_targets_hit == 0
    [waiting] = await store.reader().due_notifications(wall_clock.now() + timedelta(hours=1), 10)
    assert waiting.attempts == 1
    assert waiting.next_attempt_at > wall_clock.now()  # a redirect is a failure, retried later


async def test_a_timeout_is_a_failure(
    store: Store, wall_clock: ManualClock, receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    await queue(store, wall_clock.now(), repairs=1, per_repair=1)
    receiver.delay_s = 0.5
    delivery = WebhookDelivery(store, wall_clock, settings(receiver.url(), timeout_s=0.05), session)
    assert await delivery.deliver_due() == 0
    assert await pending(store) == 1


async def test_abandoned_after_retry_for_s_and_logged_at_error(
    store: Store,
    clock: ManualClock,
    receiver: Receiver,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await queue(store, clock.now(), repairs=1, per_repair=1)
    created = clock.now()
    receiver.always_status = 500
    hourly = settings(receiver.url(), max_backoff_s=3600.0)
    delivery = WebhookDelivery(store, clock, hourly, session, rng=random.Random(5))
    deadline = created + timedelta(seconds=hourly.retry_for_s)
    attempts = 0
    with caplog.at_level(logging.WARNING, logger="logistics.services.webhook_delivery"):
        while await pending(store) and attempts < 200:
            [due] = await store.reader().due_notifications(deadline + timedelta(days=1), 1)
            assert clock.now() < deadline or due.next_attempt_at <= deadline
            clock.set(max(clock.now(), due.next_attempt_at))
            await delivery.deliver_due()
            attempts += 1
    assert await pending(store) == 0
    assert clock.now() == deadline  # the last attempt is made at the deadline, not before giving up
    assert 70 <= attempts <= 90  # backoff grows to the one-hour cap, then hourly for three days
    abandoned = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(abandoned) == 1
    assert "msg_rp000_1" in abandoned[0].getMessage()


async def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff_s(n, 5.0, 60.0) for n in range(1, 7)] == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0]
    assert backoff_s(500, 5.0, 3600.0) == 3600.0


async def test_during_a_secret_rotation_both_secrets_verify(
    store: Store, wall_clock: ManualClock, session: aiohttp.ClientSession
) -> None:
    new = "whsec_" + "bmV3LXNlY3JldC1uZXctc2VjcmV0LW5ldy1zZWNyZXQ="
    old_receiver, new_receiver, stranger = Receiver(), Receiver(secret=new), Receiver(secret=new[:-4] + "AAA=")
    for hooks in (old_receiver, new_receiver, stranger):
        await hooks.start()
    try:
        await queue(store, wall_clock.now(), repairs=1, per_repair=3)
        for hooks in (old_receiver, new_receiver, stranger):
            rotating = WebhookSettings.model_validate(
                {"url": hooks.url(), "secret": new, "previous_secret": WEBHOOK_SECRET}
            )
            async with store.transaction() as tx:
                await tx.requeue_notifications(None, None, None, wall_clock.now())
            await WebhookDelivery(store, wall_clock, rotating, session).deliver_due()
        assert len(old_receiver.received) == len(new_receiver.received) == 3
        assert old_receiver.rejected == new_receiver.rejected == []
        assert stranger.received == [] and len(stranger.rejected) == 1
    finally:
        for hooks in (old_receiver, new_receiver, stranger):
            await hooks.stop()


async def test_every_outcome_is_reported_with_the_latency_of_deliveries(
    store: Store, wall_clock: ManualClock, receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    outcomes: list[tuple[str, float | None]] = []
    await queue(store, wall_clock.now(), repairs=2, per_repair=1)
    delivery = WebhookDelivery(
        store, wall_clock, settings(receiver.url()), session, on_outcome=lambda *o: outcomes.append(o)
    )
    receiver.fail_next = 1
    wall_clock.advance(seconds=3)
    await delivery.deliver_due()
    assert sorted(o for o, _ in outcomes) == ["delivered", "failed"]
    assert [latency for o, latency in outcomes if o == "delivered"] == [3.0]
