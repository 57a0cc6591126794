"""The booking outbox under SIGKILL: no acknowledged repair lost, no carrier booking made twice.

The real service (``python -m logistics serve``, real SQLite, background workers on) books with a fake UPS
that runs in its own process and keeps its bookings across the service's deaths. Each cycle starts the
service, fires repair requests at it concurrently (new ones, and retries of unanswered ones with their
original Idempotency-Key, as a real client does) and kills it with SIGKILL at a seeded random moment.
At the end the service runs once more until clients have their answers and the outbox is empty, and the
fake's ledger is checked: one shipment and one pickup per acknowledged repair, no reference booked twice.
"""

from __future__ import annotations

import asyncio
import random
import re
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.crash.harness import CASE_KEY, ServiceProcess, fake_ups, free_port, repair_body, service_environment
from tests.fakes.ups_server import SPEC_DIR, specs_available
from tests.support.case_requests import NO_ANSWER, Request

pytestmark = pytest.mark.slow

SEED = 20260302
KILLS = 100
NEW_PER_CYCLE = 4
RETRIES_PER_CYCLE = 3
KILL_AFTER_S = (0.0, 1.5)  # after the cycle's requests are sent
FINAL_DEADLINE_S = 120.0  # a killed attempt's lease lasts 6 s (harness settings)
_DEPTH = re.compile(r'^logistics_outbox_depth\{outbox="bookings"\} ([0-9.e+]+)$', re.MULTILINE)


class Client:
    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self.http = http
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {CASE_KEY}"}

    async def send(self, request: Request) -> None:
        """POST the repair; a 2xx is an acknowledgement, anything else leaves it for a retry."""
        headers = {**self.headers, "Idempotency-Key": request.key}
        try:
            async with self.http.post(
                f"{self.base_url}/v1/repairs",
                json=request.body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=60),
            ) as answer:
                body = await answer.read()
                request.answers.append(answer.status)
                if 200 <= answer.status < 300:
                    request.repair_ids.append(str(_json(body)["repair"]["id"]))
        except (aiohttp.ClientError, TimeoutError):
            request.answers.append(NO_ANSWER)

    async def get(self, path: str) -> tuple[int, bytes]:
        async with self.http.get(
            f"{self.base_url}{path}", headers=self.headers, timeout=aiohttp.ClientTimeout(total=30)
        ) as answer:
            return answer.status, await answer.read()

    async def outbox_depth(self) -> float:
        status, body = await self.get("/metrics")
        assert status == 200
        found = _DEPTH.search(body.decode())
        assert found, "GET /metrics has no logistics_outbox_depth for the bookings outbox"
        return float(found.group(1))


def _json(raw: bytes) -> Any:
    import json

    return json.loads(raw)


def _requests(rng: random.Random) -> Iterator[Request]:
    number = 0
    while True:
        number += 1
        yield Request(
            number=number,
            case_id=f"CRASH-{number:05d}",
            key=f"crash-{SEED}-{number}-{rng.getrandbits(32):08x}",
            body=repair_body(f"CRASH-{number:05d}", number),
        )


@pytest.fixture
def ups_specs() -> None:
    if not specs_available():
        pytest.skip(f"UPS's OpenAPI documents are missing: expected them in {SPEC_DIR} (beside the repository)")


@pytest.mark.timeout(1800)
async def test_no_acknowledged_repair_is_lost_and_nothing_is_booked_twice(ups_specs: None, tmp_path: Path) -> None:
    rng = random.Random(SEED)  # reproducible crash moments
    fresh = _requests(rng)
    requests: list[Request] = []
    startups: list[float] = []
    began = time.monotonic()
    with fake_ups(tmp_path) as ups_url:
        service = ServiceProcess(service_environment(tmp_path, ups_url, free_port()), tmp_path / "service.log")
        connector = aiohttp.TCPConnector(force_close=True)  # no pooled connection outlives a killed server
        async with aiohttp.ClientSession(connector=connector) as http:
            client = Client(http, service.base_url)
            try:
                for cycle in range(KILLS):
                    started = time.monotonic()
                    service.start()
                    await service.wait_healthy(http)
                    startups.append(time.monotonic() - started)
                    if cycle == 0:
                        # Before crashing anything: the service must book a repair at all.
                        first = next(fresh)
                        requests.append(first)
                        await client.send(first)
                        assert first.acknowledged, (
                            f"the first repair, with nothing killed, was answered {first.answers}:\n"
                            f"{service.log_tail()}"
                        )
                    batch = [next(fresh) for _ in range(NEW_PER_CYCLE)]
                    requests.extend(batch)
                    waiting = [r for r in requests if not r.acknowledged and r not in batch]
                    batch += rng.sample(waiting, min(RETRIES_PER_CYCLE, len(waiting)))
                    sends = [asyncio.create_task(client.send(r)) for r in rng.sample(batch, len(batch))]
                    await asyncio.sleep(rng.uniform(*KILL_AFTER_S))
                    service.kill()
                    await asyncio.gather(*sends)
                looped = time.monotonic() - began

                service.start()
                await service.wait_healthy(http)
                depth = await _settle(client, requests)
                settled = time.monotonic() - began - looped
                acknowledged = [r for r in requests if r.acknowledged]
                print(
                    f"\ncrash test: {KILLS} kills, {len(requests)} requests, {len(acknowledged)} acknowledged "
                    f"({sum(len(r.answers) for r in requests)} sends), {2 * len(acknowledged)} bookings expected; "
                    f"start-up to healthy mean {statistics.mean(startups):.2f} s, max {max(startups):.2f} s; "
                    f"kill loop {looped:.0f} s, final settling {settled:.0f} s"
                )
                await _check(client, requests, ups_url, depth)
            finally:
                service.kill()


async def _settle(client: Client, requests: list[Request]) -> float:
    """Retry what is unanswered until every client has its answer and the outbox is empty."""
    deadline = time.monotonic() + FINAL_DEADLINE_S
    depth = -1.0
    while time.monotonic() < deadline:
        waiting = [r for r in requests if not r.acknowledged]
        await asyncio.gather(*(client.send(r) for r in waiting))
        depth = await client.outbox_depth()
        if depth == 0 and all(r.acknowledged for r in requests):
            return depth
        await asyncio.sleep(2)
    return depth


async def _check(client: Client, requests: list[Request], ups_url: str, depth: float) -> None:
    unanswered = [(r.case_id, r.answers) for r in requests if not r.acknowledged]
    assert not unanswered, f"requests never acknowledged, even after the service settled: {unanswered[:10]}"
    assert depth == 0, f"the bookings outbox still holds {depth} intents after {FINAL_DEADLINE_S} s"

    unexpected = Counter(a for r in requests for a in r.answers if a not in (201, 202, 409, NO_ANSWER))
    assert not unexpected, f"answers other than 201, 202, 409 or a cut connection: {dict(unexpected)}"
    two_repairs = [(r.case_id, r.repair_ids) for r in requests if len(set(r.repair_ids)) > 1]
    assert not two_repairs, f"one Idempotency-Key, more than one repair: {two_repairs[:10]}"

    per_case: dict[str, int] = {}
    for request in requests:
        status, body = await client.get(f"/v1/repairs?case_id={request.case_id}")
        assert status == 200
        per_case[request.case_id] = len(_json(body)["items"])
    duplicated = {case: n for case, n in per_case.items() if n != 1}
    assert not duplicated, f"cases with other than one repair (a retry created another): {duplicated}"
    async with client.http.get(f"{ups_url}/__fake/bookings") as answer:
        ledger = await answer.json()
    assert ledger["schema_violations"] == [], "the service sent UPS requests outside UPS's schemas"
    shipments: dict[str, list[Any]] = ledger["shipments"]
    pickups: dict[str, list[Any]] = ledger["pickups"]
    twice = {ref: n for ref, n in [*shipments.items(), *pickups.items()] if len(n) != 1}
    assert not twice, f"references booked more than once at UPS: {twice}"

    missing: list[str] = []
    lost: list[str] = []
    for request in requests:
        repair_id = request.repair_ids[0]
        for reference, ledger_part in ((f"{repair_id}-in", shipments), (f"{repair_id}-in-p1", pickups)):
            if len(ledger_part.get(reference, [])) != 1:
                missing.append(reference)
        status, _ = await client.get(f"/v1/repairs/{repair_id}")
        if status != 200:
            lost.append(f"{request.case_id}: {repair_id} answers {status}")
    assert not lost, f"acknowledged repairs the service no longer has: {lost[:10]}"
    assert not missing, f"acknowledged repairs without their UPS booking: {missing[:10]}"

    known = {r.repair_ids[0] for r in requests}
    orphans = sorted(ref for ref in [*shipments, *pickups] if ref.split("-in")[0] not in known)
    assert not orphans, f"UPS bookings for repairs no client was given: {orphans[:10]}"
