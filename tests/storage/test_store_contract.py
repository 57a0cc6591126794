"""The storage port's contract: the same assertions on every store. The ``store`` fixture runs each test on
SQLite, in memory and on PostgreSQL, so the in-memory store the service tests use, and the PostgreSQL store
several instances share, answer as the SQLite one does. What only a shared database adds is in
``test_shared_database.py``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import JsonValue

from logistics.domain.journey import Actor, JourneyState, LegDirection, LegMethod, LegStatus
from logistics.domain.model import Change, Leg, Repair
from logistics.services.ports import (
    AlreadyStored,
    IdempotencyRecord,
    LabelLink,
    RepairFilter,
    Store,
    StoredCarrierEvent,
)
from logistics.storage.memory_store import MemoryStore
from logistics.storage.postgres import PostgresStore
from logistics.storage.sqlite_store import SqliteStore
from tests.support.store_records import LEASE, NOW, add_repairs, change, pending_intent, queued_notification
from tests.tracking.tracking_builders import build_repair

# Each implements the port: mypy checks every class against the Protocol here.
IMPLEMENTATIONS: tuple[type[Store], ...] = (SqliteStore, MemoryStore, PostgresStore)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
IN, OUT = LegDirection.INBOUND, LegDirection.OUTBOUND


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _repair(repair_id: str, minutes: float = 0, **changes: object) -> Repair:
    return build_repair(repair_id, _at(minutes)).model_copy(update=changes)


def _change(minutes: float, kind: str = "booking") -> Change:
    return Change(kind=kind, occurred_at=_at(minutes), actor=Actor.CASE_SYSTEM, source=f"s{minutes}", details={"n": 1})


async def _add(store: Store, *repairs: Repair) -> None:
    async with store.transaction() as tx:
        for repair in repairs:
            await tx.add_repair(repair)


async def test_a_repair_is_found_by_id_by_its_centre_only_and_by_origin(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.add_repair(_repair("a"), origin="origin-a")
    reader = store.reader()
    found = await reader.get_repair("a")
    assert found == _repair("a")
    assert await reader.get_repair("a", centre_id="centre-lyon") == found
    assert await reader.get_repair("a", centre_id="another") is None
    assert await reader.get_repair("nope") is None
    assert await reader.repair_by_origin("origin-a") == found
    assert await reader.get_repairs(["a", "nope"]) == {"a": found}


async def test_a_taken_id_or_origin_is_already_stored_and_the_whole_unit_is_undone(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.add_repair(_repair("a"), origin="o")

    async def add_again(repair: Repair, origin: str | None) -> None:
        async with store.transaction() as tx:
            await tx.add_intent(pending_intent("first", "a", T0))
            await tx.add_repair(repair, origin)

    for repair, origin in ((_repair("a"), None), (_repair("b"), "o")):
        with pytest.raises(AlreadyStored):
            await add_again(repair, origin)
    assert await store.reader().get_repair("b") is None
    assert await store.reader().intent("first") is None


async def test_a_unit_that_raises_leaves_nothing_behind(store: Store) -> None:
    async def fail_half_way() -> None:
        async with store.transaction() as tx:
            await tx.add_repair(_repair("a"))
            assert await tx.get_repair("a") is not None  # a unit reads what it wrote
            raise RuntimeError("the service failed half-way")

    with pytest.raises(RuntimeError):
        await fail_half_way()
    assert await store.reader().get_repair("a") is None
    assert (await store.reader().list_repairs(RepairFilter(), 10, None)).items == []


async def test_what_a_caller_changes_in_what_it_read_is_not_stored(store: Store) -> None:
    await _add(store, _repair("a"))
    async with store.transaction() as tx:
        await tx.add_intent(pending_intent("ref", "a", T0))
    read = await store.reader().get_repair("a")
    assert read is not None
    read.state = JourneyState.CANCELLED
    intent = await store.reader().intent("ref")
    assert intent is not None
    intent.request["reference"] = "changed"
    assert (await store.reader().get_repair("a")) == _repair("a")
    again = await store.reader().intent("ref")
    assert again is not None and again.request == {"reference": "ref", "at": T0.isoformat()}


async def test_repairs_are_listed_filtered_sorted_and_paged_with_cursors(store: Store) -> None:
    repairs = [_repair(f"r{i}", minutes=i % 3, case_id=f"case-{i % 2}") for i in range(7)]
    repairs[6] = repairs[6].model_copy(update={"state": JourneyState.CANCELLED, "updated_at": _at(30)})
    await _add(store, *repairs)
    reader = store.reader()
    seen: list[str] = []
    cursor = None
    while True:
        page = await reader.list_repairs(RepairFilter(), 3, cursor)
        seen += [r.id for r in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == ["r0", "r3", "r6", "r1", "r4", "r2", "r5"]  # created_at, then id
    newest = await reader.list_repairs(RepairFilter(sort="-created_at"), 4, None)
    assert [r.id for r in newest.items] == ["r5", "r2", "r4", "r1"]
    rest = await reader.list_repairs(RepairFilter(sort="-created_at"), 4, newest.next_cursor)
    assert [r.id for r in rest.items] == ["r6", "r3", "r0"] and rest.next_cursor is None
    by_case = await reader.list_repairs(RepairFilter(case_id="case-1"), 10, None)
    assert [r.id for r in by_case.items] == ["r3", "r1", "r5"]
    cancelled = await reader.list_repairs(RepairFilter(states=(JourneyState.CANCELLED,)), 10, None)
    assert [r.id for r in cancelled.items] == ["r6"]
    changed = await reader.list_repairs(RepairFilter(updated_since=_at(10), sort="updated_at"), 10, None)
    assert [r.id for r in changed.items] == ["r6"]
    assert (await reader.list_repairs(RepairFilter(centre_id="elsewhere"), 10, None)).items == []
    assert [r.id for r in await reader.repairs_in_progress(10, "r2")] == ["r3", "r4", "r5"]


async def test_dispatched_repairs_are_those_with_an_outbound_leg(store: Store) -> None:
    home = _repair("b")
    outbound = Leg(
        direction=OUT, method=LegMethod.COURIER_PICKUP, carrier="line", booking_reference="b-out", tracking_number="TO"
    )
    await _add(store, _repair("a"), home)
    async with store.transaction() as tx:
        await tx.save_repair(home.model_copy(update={"outbound": outbound, "updated_at": _at(5)}))
    reader = store.reader()
    assert [r.id for r in (await reader.list_repairs(RepairFilter(dispatched=True), 10, None)).items] == ["b"]
    assert [r.id for r in (await reader.list_repairs(RepairFilter(dispatched=False), 10, None)).items] == ["a"]
    assert await reader.find_leg("line", "TO") == ("b", OUT)
    assert await reader.find_leg(None, "TNA") == ("a", IN)
    assert await reader.find_legs("line", ["TNA", "TO", "nothing"]) == {"TNA": ("a", IN), "TO": ("b", OUT)}


async def test_history_is_numbered_per_repair_and_only_grows(store: Store) -> None:
    await _add(store, _repair("a"), _repair("b"))
    async with store.transaction() as tx:
        written = await tx.append_histories([("a", [_change(1), _change(2)]), ("b", [_change(3)]), ("a", [])], _at(4))
    assert [e.seq for e in written["a"]] == [1, 2] and [e.seq for e in written["b"]] == [1]
    async with store.transaction() as tx:
        await tx.append_histories([("a", [_change(5, "outcome")])], _at(6))
    history = await store.reader().history("a")
    assert [(e.seq, e.change.kind, e.recorded_at) for e in history] == [
        (1, "booking", _at(4)),
        (2, "booking", _at(4)),
        (3, "outcome", _at(6)),
    ]
    assert history[0].change == _change(1)


async def test_a_booking_is_leased_to_one_attempt_at_a_time(store: Store) -> None:
    await _add(store, _repair("a"))
    async with store.transaction() as tx:
        await tx.add_intent(pending_intent("late", "a", _at(5)))
        await tx.add_intent(pending_intent("early", "a", _at(1)))
        await tx.add_intent(pending_intent("later", "a", _at(9)))
    reader = store.reader()
    assert [i.reference for i in await reader.due_intents(_at(6), 10)] == ["early", "late"]
    async with store.transaction() as tx:
        claimed = await tx.claim_intent("early", _at(6), lease_until=_at(16))
        assert await tx.claim_intent("early", _at(7), lease_until=_at(17)) is None  # held by the lease
        assert await tx.claim_intent("later", _at(6), lease_until=_at(16)) is None  # not due yet
    assert claimed is not None and claimed.attempts == 1 and claimed.next_attempt_at == _at(16)
    assert [i.reference for i in await reader.due_intents(_at(10), 10)] == ["late", "later"]
    async with store.transaction() as tx:
        again = await tx.claim_intent("early", _at(16), lease_until=_at(26))  # the lease ran out
    assert again is not None and again.attempts == 2
    with pytest.raises(AlreadyStored):
        async with store.transaction() as tx:
            await tx.add_intent(pending_intent("early", "a", _at(1)))


async def test_bookings_that_failed_and_pickups_held_are_found(store: Store) -> None:
    await _add(store, _repair("a"), _repair("b"))
    pickup: dict[str, JsonValue] = {"pickup": {"confirmation": "PRN1"}}
    async with store.transaction() as tx:
        await tx.add_intent(pending_intent("a-1", "a", _at(2)))
        await tx.add_intent(pending_intent("b-1", "b", _at(1), carrier="other"))
        await tx.add_intent(pending_intent("a-p", "a", _at(3), operation="schedule_pickup"))
        await tx.add_intent(pending_intent("b-p", "b", _at(0), operation="schedule_pickup"))
        for reference, status, result in (("a-1", "failed", None), ("b-1", "failed", None)):
            await tx.update_intent(
                reference,
                status=status,
                attempts=3,
                next_attempt_at=_at(4),
                last_error="refused",
                result=result,
                now=_at(4),
            )
        for reference in ("a-p", "b-p"):
            await tx.update_intent(
                reference, status="done", attempts=1, next_attempt_at=_at(3), last_error=None, result=pickup, now=_at(3)
            )
    reader = store.reader()
    assert [i.reference for i in await reader.failed_intents()] == ["a-1", "b-1"]
    assert [i.reference for i in await reader.failed_intents(carrier="other")] == ["b-1"]
    assert [i.reference for i in await reader.failed_intents(repair_id="a")] == ["a-1"]
    assert [i.reference for i in await reader.pickup_holders("line", "PRN1")] == ["b-p", "a-p"]
    assert await reader.pickup_holders("line", "PRN2") == []
    assert [i.reference for i in await reader.intents_for("a")] == ["a-1", "a-p"]
    assert await reader.outbox_depth() == {"bookings": 0, "notifications": 0}


async def test_an_answer_kept_for_replays_is_replaced_only_while_unfinished_and_forgotten_oldest_first(
    store: Store,
) -> None:
    def record(key: str, state: str, minutes: float, body: bytes = b"{}") -> IdempotencyRecord:
        return IdempotencyRecord(
            principal="case",
            key=key,
            method="POST",
            path="/v1/repairs",
            body_hash="h",
            state=state,
            response_status=201,
            response_body=body,
            response_type="application/json",
            locked_at=_at(minutes),
            response_seals=("s1", "s2"),
        )

    async with store.transaction() as tx:
        await tx.save_idempotency(record("k1", "refused", 0))
        await tx.save_idempotency(record("k2", "done", 1))
        await tx.save_idempotency(record("k3", "done", 2))
    async with store.transaction() as tx:
        await tx.save_idempotency(record("k1", "done", 5, b"first"))
        await tx.save_idempotency(record("k2", "done", 5, b"second"))  # done: kept as it was
    reader = store.reader()
    assert await reader.idempotency("case", "k1") == record("k1", "done", 5, b"first")
    assert await reader.idempotency("case", "k2") == record("k2", "done", 1)
    assert await reader.idempotency("other", "k1") is None
    async with store.transaction() as tx:
        assert await tx.forget_idempotency(_at(1.5), limit=1) == 1  # k1: stored first, at 0
        assert await tx.forget_idempotency(_at(1.5), limit=10) == 1  # k2; k3 is newer
    assert [await reader.idempotency("case", k) is None for k in ("k1", "k2", "k3")] == [True, True, False]


async def test_notifications_are_numbered_delivered_in_order_per_repair_and_fed_in_queue_order(store: Store) -> None:
    await _add(store, _repair("a"), _repair("b"))
    async with store.transaction() as tx:
        assert await tx.next_notification_seqs(["a", "b"]) == {"a": 1, "b": 1}
        await tx.add_notifications([queued_notification("b", 1, _at(0)), queued_notification("a", 1, _at(0))])
        await tx.add_notifications([queued_notification("a", 2, _at(1))])
        assert await tx.next_notification_seqs(["a"]) == {"a": 3}
    reader = store.reader()
    assert [(n.repair_id, n.seq) for n in await reader.due_notifications(_at(2), 10)] == [("a", 1), ("a", 2), ("b", 1)]
    async with store.transaction() as tx:  # a's first failed: retried later, holding a's second back
        await tx.mark_notification(
            "msg_a_1", delivered_at=None, attempts=1, next_attempt_at=_at(10), last_error="503", abandoned=False
        )
        await tx.mark_notification(
            "msg_b_1", delivered_at=_at(2), attempts=1, next_attempt_at=_at(2), last_error=None, abandoned=False
        )
    assert [(n.repair_id, n.seq) for n in await reader.deliverable_notifications(_at(3), 10)] == []
    assert [n.id for n in await reader.due_notifications(_at(3), 10)] == ["msg_a_2"]
    assert await reader.outbox_depth() == {"bookings": 0, "notifications": 2}
    feed = await reader.notification_feed(0, 10)
    assert [e.notification.id for e in feed] == ["msg_b_1", "msg_a_1", "msg_a_2"]
    assert feed[0].delivered_at == _at(2) and feed[1].last_error == "503"
    assert [e.notification.id for e in await reader.notification_feed(feed[1].position, 10)] == ["msg_a_2"]
    async with store.transaction() as tx:
        await tx.mark_notification(
            "msg_a_1", delivered_at=None, attempts=5, next_attempt_at=_at(11), last_error="503", abandoned=True
        )
        assert await tx.requeue_notifications("b", None, None, _at(20)) == 1
        assert await tx.requeue_notifications(None, _at(0.5), _at(2), _at(20)) == 1  # a's second, queued at 1
    again = {e.notification.id: e for e in await reader.notification_feed(0, 10)}
    assert again["msg_a_1"].abandoned_at == _at(11)
    assert again["msg_b_1"].delivered_at is None and again["msg_b_1"].notification.retry_from == _at(20)
    with pytest.raises(AlreadyStored):
        async with store.transaction() as tx:
            await tx.add_notifications([queued_notification("a", 2, _at(5))])


async def test_legs_are_polled_when_due_and_open(store: Store) -> None:
    unnumbered = _repair("c")
    unnumbered = unnumbered.model_copy(
        update={"inbound": unnumbered.inbound.model_copy(update={"tracking_number": None})}
    )
    await _add(store, _repair("a"), _repair("b"), unnumbered)
    async with store.transaction() as tx:
        await tx.schedule_poll("a", IN, _at(30), open_=True)
        await tx.schedule_poll("b", IN, None, open_=False)
    reader = store.reader()
    assert await reader.open_legs_to_poll("line", _at(0), 10) == []
    assert await reader.open_legs_to_poll("line", _at(30), 10) == [("a", IN, "TNA")]
    delivered = _repair("b").model_copy(update={"state": JourneyState.CANCELLED})
    async with store.transaction() as tx:
        await tx.save_repair(_repair("b", updated_at=_at(1)))  # a saved repair's open leg opens again
    assert await reader.open_legs_to_poll("line", _at(30), 10) == [("b", IN, "TNB"), ("a", IN, "TNA")]
    async with store.transaction() as tx:
        await tx.save_repair(delivered)
    assert await reader.open_legs_to_poll("line", _at(30), 1) == [("a", IN, "TNA")]


async def test_label_links_and_carrier_labels(store: Store) -> None:
    await _add(store, _repair("a"))

    def link(token: str, minutes: float, leg: LegDirection = IN) -> LabelLink:
        return LabelLink(token, "a", leg, _at(minutes), _at(minutes + 60), None)

    async with store.transaction() as tx:
        await tx.add_label_link(link("t2", 2))
        await tx.add_label_link(link("t1", 1))
        await tx.add_label_link(link("t3", 3, OUT))
        await tx.save_carrier_label("a", IN, "application/pdf", b"%PDF-1")
        await tx.save_carrier_label("a", IN, "application/pdf", b"%PDF-2")
    reader = store.reader()
    assert [x.token_hash for x in await reader.label_links_of("a", IN)] == ["t1", "t2"]
    assert await reader.carrier_label("a", IN) == ("application/pdf", b"%PDF-2")
    assert await reader.carrier_label("a", OUT) is None
    async with store.transaction() as tx:
        assert await tx.revoke_label_links("a", _at(5), IN) == 2
        assert await tx.revoke_label_links("a", _at(6)) == 1
    revoked = await reader.label_link("t1")
    assert revoked is not None and revoked.revoked_at == _at(5)
    with pytest.raises(AlreadyStored):
        async with store.transaction() as tx:
            await tx.add_label_link(link("t1", 9))


async def test_carrier_events_are_stored_once_and_read_in_the_carriers_order(store: Store) -> None:
    await _add(store, _repair("a"))

    def scan(event_id: str, minutes: float) -> StoredCarrierEvent:
        return StoredCarrierEvent(
            "line", "TNA", event_id, "a", IN, _at(minutes), "in_transit", "IT", "in transit", None, _at(50), "push"
        )

    async with store.transaction() as tx:
        assert await tx.add_carrier_events([scan("e2", 2), scan("e1", 1), scan("e1", 1)]) == 2
    async with store.transaction() as tx:
        assert await tx.add_carrier_events([scan("e2", 2), scan("e0", 0)]) == 1
    assert [e.event_id for e in await store.reader().carrier_events("a")] == ["e0", "e1", "e2"]
    assert await store.reader().carrier_events_of(["nobody"]) == {}


async def test_leg_status_and_state_survive_a_save(store: Store) -> None:
    repair = _repair("a")
    await _add(store, repair)
    repair.inbound.status = LegStatus.IN_TRANSIT
    async with store.transaction() as tx:
        await tx.save_repairs([repair.model_copy(update={"updated_at": _at(3)})])
    stored = await store.reader().get_repair("a")
    assert stored is not None and stored.inbound.status == LegStatus.IN_TRANSIT and stored.updated_at == _at(3)


async def test_a_repair_is_stored_found_and_its_id_and_origin_are_taken_once(store: Store) -> None:
    await add_repairs(store, "rp-1")
    found = await store.reader().get_repair("rp-1")
    assert found is not None and found.id == "rp-1"
    assert (await store.reader().repair_by_origin("origin-rp-1")) == found
    assert await store.reader().get_repairs([]) == {}
    with pytest.raises(AlreadyStored):
        await add_repairs(store, "rp-1")
    with pytest.raises(AlreadyStored):
        async with store.transaction() as tx:
            await tx.add_repair(build_repair("rp-2", NOW), origin="origin-rp-1")
    assert await store.reader().get_repair("rp-2") is None  # the whole transaction was rolled back


async def test_a_transaction_that_raises_leaves_nothing(store: Store) -> None:
    async def change_of_mind() -> None:
        async with store.transaction() as tx:
            await tx.add_repair(build_repair("rp-1", NOW))
            await tx.append_histories([("rp-1", [change(NOW, "created")])], NOW)
            raise RuntimeError("the service changed its mind")

    with pytest.raises(RuntimeError):
        await change_of_mind()
    assert await store.reader().get_repair("rp-1") is None
    assert await store.reader().history("rp-1") == []


async def test_history_is_numbered_without_gaps(store: Store) -> None:
    await add_repairs(store, "rp-1")
    for minutes in (1, 2):
        async with store.transaction() as tx:
            assert await tx.get_repair("rp-1") is not None
            await tx.append_histories([("rp-1", [change(NOW + timedelta(minutes=minutes))] * 2)], NOW)
    assert [entry.seq for entry in await store.reader().history("rp-1")] == [1, 2, 3, 4]


async def test_many_rows_written_at_once_keep_their_order(store: Store) -> None:
    await add_repairs(store, "rp-1")
    async with store.transaction() as tx:
        assert await tx.get_repair("rp-1") is not None
        # 99 rows: written in chunks of several rows (64, 32, 2, 1) where the store batches them.
        entries = await tx.append_histories([("rp-1", [change(NOW + timedelta(seconds=n)) for n in range(99)])], NOW)
        await tx.add_notifications(
            [queued_notification("rp-1", seq, NOW + timedelta(seconds=seq)) for seq in range(1, 100)]
        )
    assert [entry.seq for entry in entries["rp-1"]] == list(range(1, 100))
    history = await store.reader().history("rp-1")
    assert [entry.seq for entry in history] == list(range(1, 100))
    assert [entry.change.occurred_at for entry in history] == [NOW + timedelta(seconds=n) for n in range(99)]
    feed = await store.reader().notification_feed(0, 200)
    assert [entry.notification.seq for entry in feed] == list(range(1, 100))  # the feed in the order queued
    assert [entry.notification.payload for entry in feed] == [{"seq": seq} for seq in range(1, 100)]


@pytest.mark.parametrize("store", ["sqlite", "postgres"], indirect=True)
async def test_the_database_itself_refuses_to_change_history(store: Store) -> None:
    await add_repairs(store, "rp-1")
    async with store.transaction() as tx:
        await tx.append_histories([("rp-1", [change(NOW)] * 4)], NOW)
    with pytest.raises(Exception, match="append-only"):
        async with store.transaction() as tx:
            await tx._exec("UPDATE history SET kind = 'outcome' WHERE repair_id = ?", ("rp-1",))  # type: ignore[attr-defined]
    with pytest.raises(Exception, match="append-only"):
        async with store.transaction() as tx:
            await tx._exec("DELETE FROM history WHERE repair_id = ?", ("rp-1",))  # type: ignore[attr-defined]
    assert len(await store.reader().history("rp-1")) == 4


async def test_an_intent_is_claimed_once_per_lease_and_taken_over_when_it_ends(store: Store) -> None:
    await add_repairs(store, "rp-1")
    async with store.transaction() as tx:
        await tx.add_intent(pending_intent("rp-1-in", "rp-1", NOW))
    assert [i.reference for i in await store.reader().due_intents(NOW, 10)] == ["rp-1-in"]
    async with store.transaction() as tx:
        claimed = await tx.claim_intent("rp-1-in", NOW, NOW + LEASE)
    assert claimed is not None and claimed.attempts == 1 and claimed.next_attempt_at == NOW + LEASE
    async with store.transaction() as tx:
        assert await tx.claim_intent("rp-1-in", NOW + LEASE / 2, NOW + LEASE * 2) is None  # held
    assert await store.reader().due_intents(NOW + LEASE / 2, 10) == []
    async with store.transaction() as tx:  # the holder died: its lease ends, another takes it over
        again = await tx.claim_intent("rp-1-in", NOW + LEASE, NOW + LEASE * 2)
    assert again is not None and again.attempts == 2


async def test_notifications_of_a_repair_wait_for_an_earlier_one_being_retried(store: Store) -> None:
    await add_repairs(store, "rp-1", "rp-2")
    async with store.transaction() as tx:
        assert await tx.next_notification_seqs(["rp-1", "rp-2"]) == {"rp-1": 1, "rp-2": 1}
        await tx.add_notifications([queued_notification("rp-1", 1, NOW), queued_notification("rp-1", 2, NOW)])
        await tx.add_notifications([queued_notification("rp-2", 1, NOW)])
    due = await store.reader().deliverable_notifications(NOW, 10)
    assert [(n.repair_id, n.seq) for n in due] == [("rp-1", 1), ("rp-1", 2), ("rp-2", 1)]
    async with store.transaction() as tx:  # the first failed: retried in a minute; the others not attempted
        await tx.mark_notification(
            "msg_rp-1_1",
            delivered_at=None,
            attempts=1,
            next_attempt_at=NOW + timedelta(minutes=1),
            last_error="HTTP 503",
            abandoned=False,
        )
        await tx.mark_notification(
            "msg_rp-2_1", delivered_at=NOW, attempts=1, next_attempt_at=NOW, last_error=None, abandoned=False
        )
    assert await store.reader().deliverable_notifications(NOW + timedelta(seconds=30), 10) == []
    later = await store.reader().deliverable_notifications(NOW + timedelta(minutes=1), 10)
    assert [(n.repair_id, n.seq) for n in later] == [("rp-1", 1), ("rp-1", 2)]
    feed = await store.reader().notification_feed(0, 10)
    assert [(e.notification.id, e.delivered_at) for e in feed] == [
        ("msg_rp-1_1", None),
        ("msg_rp-1_2", None),
        ("msg_rp-2_1", NOW),
    ]
    assert [e.position for e in feed] == sorted({e.position for e in feed})
    assert await store.reader().notification_feed(feed[1].position, 10) == feed[2:]
    async with store.transaction() as tx:
        assert await tx.requeue_notifications("rp-2", None, None, NOW + timedelta(hours=1)) == 1


async def test_labels_events_and_answers_are_stored_once(store: Store) -> None:
    await add_repairs(store, "rp-1", tracking=True)
    async with store.transaction() as tx:
        await tx.save_carrier_label("rp-1", LegDirection.INBOUND, "application/pdf", b"%PDF-1")
        await tx.save_carrier_label("rp-1", LegDirection.INBOUND, "application/pdf", b"%PDF-2")
    assert await store.reader().carrier_label("rp-1", LegDirection.INBOUND) == ("application/pdf", b"%PDF-2")
    assert await store.reader().find_leg("line", "T-rp-1") == ("rp-1", LegDirection.INBOUND)
    assert await store.reader().find_legs("line", []) == {}
    assert await store.reader().carrier_events_of([]) == {}


async def test_a_periodic_pass_is_held_by_one_holder_until_its_claim_runs_out(store: Store) -> None:
    period = timedelta(minutes=1)

    async def claim(holder: str, at: datetime, name: str = "turnaround") -> bool:
        async with store.transaction() as tx:
            return await tx.claim_pass(name, holder, at, at + period)

    assert await claim("a", NOW)
    assert not await claim("b", NOW + period / 2)  # a's claim runs
    assert await claim("a", NOW + period / 2)  # a renews its own, to NOW + 1.5 periods
    assert not await claim("b", NOW + period)
    assert await claim("b", NOW + period * 3 / 2)  # a stopped renewing: b takes the pass over
    assert not await claim("a", NOW + period * 2)
    assert await claim("a", NOW + period * 2, name="housekeeping")  # each pass is claimed apart

    async def claimed_then_failed() -> None:
        async with store.transaction() as tx:
            assert await tx.claim_pass("turnaround", "c", NOW + period * 3, NOW + period * 4)
            raise RuntimeError("the unit fails")

    with pytest.raises(RuntimeError, match="the unit fails"):
        await claimed_then_failed()
    assert not await claim("c", NOW + period * 2)  # the failed unit's claim was undone: b's still runs
