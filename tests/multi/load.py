"""The case system as the multi-instance tests play it: creates sent to whichever instance is up, each with its
own ``Idempotency-Key``, sent again under the same key until it is acknowledged, as a real client does.

Every answer is kept (its status, whether it carried ``Retry-After``), so a test can say what clients saw
while instances died or the database was away. Choices (which instance, a new create or a retry) come from
the test's seeded ``random.Random``.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp

from tests.support.case_requests import NO_ANSWER, Request
from tests.support.instances import CASE_KEY, repair_body
from tests.support.postgres import PostgresCluster


@dataclass
class Answers:
    """Every answer clients got, by status; and the 503s that came without ``Retry-After``."""

    statuses: Counter[int] = field(default_factory=Counter)
    unavailable_without_retry_after: int = 0
    unavailable_with_retry_after: int = 0
    server_errors: list[str] = field(default_factory=list)


class CaseSystem:
    """Sends creates to a pool of base URLs; keeps every request and every answer."""

    def __init__(self, http: aiohttp.ClientSession, rng: random.Random, tag: str) -> None:
        self.http = http
        self.rng = rng
        self.tag = tag
        self.requests: list[Request] = []
        self.answers = Answers()
        self._numbers = iter(range(1, 1_000_000))

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {CASE_KEY}"}

    def new_request(self) -> Request:
        number = next(self._numbers)
        case_id = f"{self.tag}-{number:05d}"
        request = Request(
            number, case_id, f"{self.tag}-{number}-{self.rng.getrandbits(32):08x}", repair_body(case_id, number)
        )
        self.requests.append(request)
        return request

    def unacknowledged(self) -> list[Request]:
        return [r for r in self.requests if not r.acknowledged]

    async def send(self, request: Request, base_url: str, timeout_s: float = 45.0) -> int:
        """POST the repair once; a 2xx is an acknowledgement. The status (0: no answer). The timeout outlasts
        the 30 s a duplicate may wait for the request that holds its key."""
        headers = {**self.headers, "Idempotency-Key": request.key}
        try:
            async with self.http.post(
                f"{base_url}/v1/repairs",
                json=request.body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as answer:
                raw = await answer.read()
                status = answer.status
                retry_after = answer.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError):
            status = NO_ANSWER
        else:
            if status == 503:
                if retry_after:
                    self.answers.unavailable_with_retry_after += 1
                else:
                    self.answers.unavailable_without_retry_after += 1
            elif status >= 500:
                self.answers.server_errors.append(f"{status} {raw[:300]!r}")
            elif 200 <= status < 300:
                request.repair_ids.append(str(json.loads(raw)["repair"]["id"]))
        request.answers.append(status)
        self.answers.statuses[status] += 1
        return status

    async def keep_creating(
        self,
        urls: Callable[[], Sequence[str]],
        until: asyncio.Event,
        *,
        retry_share: float = 0.3,
        pause_s: float = 0.05,
    ) -> None:
        """Until ``until`` is set: a new create, or (``retry_share`` of the time) an unacknowledged one again,
        to an instance chosen among ``urls()`` (those believed up)."""
        while not until.is_set():
            choices = urls()
            if not choices:
                await asyncio.sleep(0.1)
                continue
            waiting = self.unacknowledged()
            retry = bool(waiting) and self.rng.random() < retry_share
            request = self.rng.choice(waiting) if retry else self.new_request()
            await self.send(request, self.rng.choice(list(choices)))
            await asyncio.sleep(pause_s)

    async def settle(self, urls: Callable[[], Sequence[str]], within_s: float) -> None:
        """Send every unacknowledged request again until each has its answer."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while self.unacknowledged() and loop.time() < deadline:
            choices = list(urls()) or [""]
            await asyncio.gather(*(self.send(r, self.rng.choice(choices)) for r in self.unacknowledged()))
            if self.unacknowledged():
                await asyncio.sleep(0.5)

    def check_acknowledgements(self) -> None:
        """Every request acknowledged, and one key never named two repairs."""
        unanswered = [(r.case_id, r.answers) for r in self.requests if not r.acknowledged]
        assert not unanswered, f"requests never acknowledged: {unanswered[:10]}"
        two = [(r.case_id, sorted(set(r.repair_ids))) for r in self.requests if len(set(r.repair_ids)) > 1]
        assert not two, f"one Idempotency-Key, more than one repair: {two[:10]}"

    def repair_ids(self) -> dict[str, str]:
        """Case id → the repair its acknowledgements named."""
        return {r.case_id: r.repair_ids[0] for r in self.requests if r.acknowledged}


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def rows(cluster: PostgresCluster, database: str, statement: str) -> list[list[str]]:
    """The rows of one query, each as its columns' text (psql's unaligned output, ``|`` between columns)."""
    out = cluster.sql(statement, database=database)
    return [line.split("|") for line in out.splitlines() if line]


def held_leases(cluster: PostgresCluster, database: str, now: datetime) -> list[str]:
    """Every lease the database still holds: a notification's ``leased_until`` (cleared when the delivery is
    marked, whatever its outcome); in any column whose name says lease (whatever the store adds), an instant
    still ahead of ``now``; and every booking intent still pending (a claimed intent is pending until its
    attempt ends, its lease's end in ``next_attempt_at``). The claims of the periodic passes are not work left
    held: a living instance holds each pass by design (see ``pass_claims_beyond``)."""
    held = [
        f"notification {notification} leased until {until}"
        for notification, until in rows(
            cluster, database, "SELECT id, leased_until FROM notifications WHERE leased_until IS NOT NULL"
        )
    ]
    columns = rows(
        cluster,
        database,
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND column_name LIKE '%lease%' ORDER BY 1, 2",
    )
    for table, column in columns:
        if table == "periodic_passes":
            continue
        for (value,) in rows(cluster, database, f'SELECT "{column}"::text FROM "{table}" WHERE "{column}" IS NOT NULL'):
            ends = _instant(value)
            if ends is not None and ends > now:
                held.append(f"{table}.{column} = {value}")
    for reference, until in rows(
        cluster, database, "SELECT reference, next_attempt_at FROM booking_intents WHERE status = 'pending'"
    ):
        held.append(f"booking intent {reference} pending until {until}")
    return held


def pass_claims_beyond(cluster: PostgresCluster, database: str, latest: datetime) -> list[str]:
    """The claims of periodic passes that end after ``latest``: none should, since a claim lasts one period
    from its holder's last turn, and a dead holder's claim simply runs out."""
    return [
        f"pass {name} held by {holder} until {until}"
        for name, holder, until in rows(cluster, database, "SELECT name, holder, leased_until FROM periodic_passes")
        if (ends := _instant(until)) is None or ends > latest
    ]


def _instant(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError:
        return None


def notification_order_problems(received: Sequence[dict[str, Any]], stored: dict[str, list[int]]) -> list[str]:
    """What is wrong with the deliveries: a repair whose notifications first arrived out of sequence order, or
    whose received sequence numbers are not exactly those the database holds for it."""
    problems: list[str] = []
    first_arrivals: dict[str, list[int]] = {}
    seen: set[str] = set()
    for message in received:
        if message["id"] in seen:
            continue  # a redelivery (the first delivery's answer was lost with its instance): deduplicated
        seen.add(message["id"])
        payload = message["payload"]
        first_arrivals.setdefault(str(payload["repair_id"]), []).append(int(payload["sequence"]))
    for repair_id, sequence in first_arrivals.items():
        if sequence != sorted(sequence):
            problems.append(f"{repair_id}: first arrivals in the order {sequence}")
    for repair_id, expected in stored.items():
        got = sorted(first_arrivals.get(repair_id, []))
        if got != sorted(expected):
            problems.append(f"{repair_id}: received {got}, the database holds {sorted(expected)}")
    unknown = sorted(set(first_arrivals) - set(stored))
    if unknown:
        problems.append(f"notifications for repairs the database does not have: {unknown[:5]}")
    return problems


def stored_notifications(cluster: PostgresCluster, database: str) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for repair_id, seq in rows(cluster, database, "SELECT repair_id, seq FROM notifications ORDER BY repair_id, seq"):
        found.setdefault(repair_id, []).append(int(seq))
    return found


def undelivered(cluster: PostgresCluster, database: str) -> int:
    return int(
        cluster.sql(
            "SELECT count(*) FROM notifications WHERE delivered_at IS NULL AND abandoned_at IS NULL", database=database
        )
    )


def pending_bookings(cluster: PostgresCluster, database: str) -> int:
    return int(cluster.sql("SELECT count(*) FROM booking_intents WHERE status = 'pending'", database=database))
