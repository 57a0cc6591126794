"""A database whose documents an older release wrote as JSON text is read as it was: repairs, bookings and
notifications, with what is written from now on deflated beside them."""

from __future__ import annotations

import sqlite3

from logistics.services.ports import BookingIntent, Notification
from logistics.storage.codec import document_json
from tests.support.journeys import PARIS_SITE, repair_request
from tests.support.service import Service

DOCUMENTS = (("repairs", "id", "doc"), ("booking_intents", "reference", "request"), ("notifications", "id", "payload"))


def _text(json_text: str | bytes) -> str:
    return json_text if isinstance(json_text, str) else json_text.decode()


async def _everything(service: Service, repair_id: str) -> tuple[object, list[BookingIntent], list[Notification]]:
    reader = service.services.store.reader()
    _, repair, _ = await service.call("GET", f"/v1/repairs/{repair_id}")
    intents = await reader.intents_for(repair_id)
    feed = [entry.notification for entry in await reader.notification_feed(0, 100)]
    return repair, intents, [n for n in feed if n.repair_id == repair_id]


async def test_documents_stored_as_json_text_by_an_older_release_read_the_same(service: Service) -> None:
    _, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(PARIS_SITE, "C-OLD-DOCS"))
    repair_id = created["repair"]["id"]
    before = await _everything(service, repair_id)
    _, intents, notifications = before
    assert len(intents) == 2 and notifications  # a shipment and a pickup booked, the case system told

    with sqlite3.connect(service.services.settings.database_path) as conn:
        for table, key, column in DOCUMENTS:
            rows = conn.execute(f"SELECT {key}, {column} FROM {table}").fetchall()
            assert rows and all(isinstance(stored, bytes) for _, stored in rows)  # written deflated
            conn.executemany(
                f"UPDATE {table} SET {column} = ? WHERE {key} = ?",
                [(_text(document_json(stored)), name) for name, stored in rows],  # JSON text, as before
            )
            assert all(isinstance(v, str) for (v,) in conn.execute(f"SELECT {column} FROM {table}"))

    assert await _everything(service, repair_id) == before
    status, cancelled, _ = await service.call("POST", f"/v1/repairs/{repair_id}/cancel", json={"reason": "fixed"})
    assert status == 200 and cancelled["state"] == "cancelled"  # and the repair read from JSON text is written again
    with sqlite3.connect(service.services.settings.database_path) as conn:
        (doc,) = conn.execute("SELECT doc FROM repairs WHERE id = ?", (repair_id,)).fetchone()
    assert isinstance(doc, bytes)
