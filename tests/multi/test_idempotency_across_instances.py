"""One ``Idempotency-Key`` sent to several instances at once: one repair, one booking, one answer for all.

Fifty identical creates (same key, same body) are sent at the same moment, spread over the instances of one
PostgreSQL database: two ``logistics serve`` instances on their own ports, or one ``serve --processes 3``
whose three serving processes share a port (the kernel spreads the connections; the JSON access lines say
which pid answered). A client retries what answers "still in progress" or 503, as the API tells it to.
Afterwards the case has one repair, the fake UPS holds one shipment and one pickup for it, and every client
holds the same answer.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.instances import CASE_KEY, Fleet, fake_ups, fleet_stopped_after, ledger, repair_body

pytestmark = pytest.mark.slow

DUPLICATES = 50
KEY = "multi-instance-same-key-0001"
CASE_ID = "MULTI-IDEM-0001"
RETRY_WITHIN_S = 60.0


async def create_until_answered(http: aiohttp.ClientSession, base_url: str, body: dict[str, Any]) -> tuple[int, Any]:
    """POST the create; while the API says the first request with this key is still running (409
    ``idempotency.in_progress``) or the service is unavailable (503), wait as told and send it again."""
    headers = {"Authorization": f"Bearer {CASE_KEY}", "Idempotency-Key": KEY}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RETRY_WITHIN_S
    while True:
        async with http.post(f"{base_url}/v1/repairs", json=body, headers=headers) as answer:
            status = answer.status
            payload = await answer.json(content_type=None)
            retry_after = float(answer.headers.get("Retry-After", "0.2"))
        again = status == 503 or (status == 409 and payload.get("code") == "idempotency.in_progress")
        if not again or loop.time() > deadline:
            return status, payload
        await asyncio.sleep(min(retry_after, 1.0))


def _summary(status: int, answer: Any) -> str:
    """An answer in a few words, for the message of a failed comparison."""
    repair = answer.get("repair", {}) if isinstance(answer, dict) else {}
    inbound = repair.get("inbound") or {}
    return f"{status} {repair.get('id') or answer.get('code')} booking {inbound.get('booking')}"


def without_label_token(answer: Any) -> Any:
    """The answer with the customer's label link left out: a replay from storage carries a working
    equivalent of the token rather than the token itself (tokens are stored only as hashes)."""
    copy = json.loads(json.dumps(answer))
    if isinstance(copy, dict) and isinstance(copy.get("customer_label"), dict):
        copy["customer_label"].pop("url", None)
    return copy


@pytest.mark.timeout(240)
@pytest.mark.parametrize("layout", ["two instances", "three processes sharing a port"])
async def test_fifty_identical_creates_over_the_instances_make_one_repair_one_booking_one_answer(
    layout: str, postgres_url: str, tmp_path: Path
) -> None:
    with fake_ups(tmp_path) as ups_url:
        if layout == "two instances":
            fleet = Fleet.on(tmp_path, 2, database_url=postgres_url, ups_url=ups_url)
        else:
            fleet = Fleet.on(tmp_path, 1, database_url=postgres_url, ups_url=ups_url, arguments=["--processes", "3"])
        with fleet_stopped_after(fleet):
            # A new connection per request, so that SO_REUSEPORT spreads the requests over the processes.
            async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(force_close=True), timeout=aiohttp.ClientTimeout(total=90)
            ) as http:
                await fleet.start(http)
                body = repair_body(CASE_ID, 1)
                urls = [fleet.base_urls[n % len(fleet.base_urls)] for n in range(DUPLICATES)]
                answers = await asyncio.gather(*(create_until_answered(http, url, body) for url in urls))

                kinds = Counter(_summary(status, answer) for status, answer in answers)
                assert len(kinds) == 1, f"different answers to one request: {dict(kinds)}"
                assert answers[0][0] in (201, 202), f"the create was refused: {answers[0][1]}"
                first = without_label_token(answers[0][1])
                different = [n for n, (_, answer) in enumerate(answers) if without_label_token(answer) != first]
                assert not different, f"answers {different[:5]} differ from the first"
                repair_id = first["repair"]["id"]

                async with http.get(
                    f"{fleet.base_urls[0]}/v1/repairs",
                    params={"case_id": CASE_ID},
                    headers={"Authorization": f"Bearer {CASE_KEY}"},
                ) as listed:
                    items = (await listed.json())["items"]
                assert [item["id"] for item in items] == [repair_id], "one repair for the case"

                held = await ledger(http, ups_url)
                assert held["schema_violations"] == []
                assert {ref: len(b) for ref, b in held["shipments"].items()} == {f"{repair_id}-in": 1}
                assert {ref: len(b) for ref, b in held["pickups"].items()} == {f"{repair_id}-in-p1": 1}
                assert held["shipment_requests"] == {f"{repair_id}-in": 1}, "the shipment was asked for once"
                assert held["pickup_requests"] == {f"{repair_id}-in-p1": 1}, "the pickup was asked for once"

            served_by = {
                line["pid"]
                for instance in fleet.instances
                for line in instance.log_lines()
                if line.get("logger") == "logistics.access" and line.get("path") == "/v1/repairs"
            }
            assert len(served_by) >= 2, f"the creates were answered by processes {served_by}: not spread"

            # The passes over the whole store ran on one of the processes, the others skipping their turn.
            said = {
                (str(line.get("message")), line.get("pid"))
                for instance in fleet.instances
                for line in instance.log_lines()
                if line.get("logger") == "logistics.services.passes"
            }
            for name in ("turnaround", "housekeeping"):
                runs = {
                    pid
                    for message, pid in said
                    if message.startswith("this instance (") and f"runs the {name} " in message
                }
                skips = {
                    pid
                    for message, pid in said
                    if message == f"another instance runs the {name} pass; this one skips it"
                }
                assert len(runs) == 1, f"the {name} pass was run by processes {runs}"
                assert runs.isdisjoint(skips) and served_by <= runs | skips, f"{name}: {runs} ran, {skips} skipped"
