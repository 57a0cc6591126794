"""A body is read whole, however the network cuts it: every POST route, split at every kind of offset, with
pauses between the pieces, and sent chunked. Nothing is refused, and a carrier's signature still verifies."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from carriers.sim.push import sign_push
from carriers.sim.settings import DEVELOPMENT_PUSH_SECRET
from tests.support.journeys import PARIS_SITE, repair_request, scan
from tests.support.service import Service

# Non-ASCII on purpose: a split can fall inside a character.
SITE = PARIS_SITE | {"name": "Émilie Lefèvre", "city": "Paris"}

PAUSE_S = 0.05


@dataclass(frozen=True)
class Post:
    path: str
    body: bytes
    headers: dict[str, str]
    accepted: int


async def _created(service: Service, case_id: str) -> str:
    status, created, _ = await service.call("POST", "/v1/repairs", json=repair_request(SITE, case_id))
    assert status == 201, created
    return str(created["repair"]["id"])


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


async def quote(service: Service, case_id: str) -> Post:
    body = {k: v for k, v in repair_request(SITE, case_id).items() if k not in ("case_id", "language")}
    return Post("/v1/routing/quote", _json(body), service.auth(), 200)


async def create(service: Service, case_id: str) -> Post:
    return Post("/v1/repairs", _json(repair_request(SITE, case_id)), service.auth(), 201)


async def cancel(service: Service, case_id: str) -> Post:
    repair_id = await _created(service, case_id)
    return Post(
        f"/v1/repairs/{repair_id}/cancel", _json({"reason": "le client a réparé lui-même"}), service.auth(), 200
    )


async def reschedule(service: Service, case_id: str) -> Post:
    repair_id = await _created(service, case_id)
    day = (service.clock.now().date()).replace(day=1).isoformat()
    return Post(f"/v1/repairs/{repair_id}/reschedule", _json({"preferred_date": day}), service.auth(), 200)


async def receipt(service: Service, case_id: str) -> Post:
    repair_id = await _created(service, case_id)
    body = _json({"repair_id": repair_id, "note": "reçu intact, écran rayé"})
    return Post("/v1/centres/fr-lyon/receipts", body, service.auth("fr-lyon"), 200)


async def dispatch(service: Service, case_id: str) -> Post:
    repair_id = await _created(service, case_id)
    status, _, _ = await service.call("POST", "/v1/centres/fr-lyon/receipts", "fr-lyon", json={"repair_id": repair_id})
    assert status == 200
    body = _json({"repair_id": repair_id, "outcome": "replaced", "replacement_serial": "5CG9999ÉÈ"})
    return Post("/v1/centres/fr-lyon/dispatches", body, service.auth("fr-lyon"), 201)


async def carrier_push(service: Service, case_id: str) -> Post:
    repair_id = await _created(service, case_id)
    _, repair, _ = await service.call("GET", f"/v1/repairs/{repair_id}")
    number = repair["inbound"]["tracking_number"]
    event = scan(number, "PU", service.clock.now(), location="Saint-Étienne")
    body = _json({"events": [event]})
    headers = sign_push(DEVELOPMENT_PUSH_SECRET, body, int(service.clock.now().timestamp()))
    return Post("/v1/carriers/sim/events", body, headers, 202)


ROUTES: dict[str, Callable[[Service, str], Awaitable[Post]]] = {
    "quote": quote,
    "create": create,
    "cancel": cancel,
    "reschedule": reschedule,
    "receipt": receipt,
    "dispatch": dispatch,
    "carrier push": carrier_push,
}


def _mid_character(body: bytes) -> int:
    """An offset inside the first multi-byte UTF-8 character (the middle of a body that is all ASCII: a date
    holds no other)."""
    for index, byte in enumerate(body):
        if byte >= 0xC0:
            return index + 1
    return len(body) // 2


SPLITS: dict[str, Callable[[bytes], list[int]]] = {
    "after one byte": lambda body: [1],
    "inside a UTF-8 character": lambda body: [_mid_character(body)],
    "at the header boundary": lambda body: [0],
    "one byte before the end": lambda body: [len(body) - 1],
    "in many pieces": lambda body: list(range(7, len(body), max(1, len(body) // 9))),
}


def _pieces(body: bytes, offsets: list[int]) -> list[bytes]:
    bounds = [0, *offsets, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(bounds)]


def _chunked(pieces: list[bytes]) -> list[bytes]:
    """Each piece as its own chunk, the chunk header itself cut from its data, then the last chunk."""
    out: list[bytes] = []
    for piece in pieces:
        if piece:
            out += [f"{len(piece):x}\r\n".encode(), piece + b"\r\n"]
    return [*out, b"0\r\n\r\n"]


async def _send(service: Service, post: Post, pieces: list[bytes], *, chunked: bool) -> tuple[int, bytes]:
    url = urlsplit(service.base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {sum(len(p) for p in pieces)}"
    head = (
        f"POST {post.path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/json\r\n{framing}\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in post.headers.items())
        + "Connection: close\r\n\r\n"
    ).encode()
    try:
        writer.write(head)
        await writer.drain()
        for piece in _chunked(pieces) if chunked else pieces:
            await asyncio.sleep(PAUSE_S)
            writer.write(piece)
            await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
        await writer.wait_closed()
    status = int(answer.split(b" ", 2)[1])
    return status, answer.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("split", list(SPLITS))
async def test_a_body_in_pieces_is_read_whole(service: Service, route: str, split: str) -> None:
    post = await ROUTES[route](service, f"C-SPLIT-{route}-{split}".replace(" ", "-"))
    status, answer = await _send(service, post, _pieces(post.body, SPLITS[split](post.body)), chunked=False)
    assert status == post.accepted, answer


@pytest.mark.parametrize("route", list(ROUTES))
async def test_a_chunked_body_in_pieces_is_read_whole(service: Service, route: str) -> None:
    post = await ROUTES[route](service, f"C-CHUNKED-{route}".replace(" ", "-"))
    offsets = sorted({1, _mid_character(post.body), len(post.body) // 2})
    status, answer = await _send(service, post, _pieces(post.body, offsets), chunked=True)
    assert status == post.accepted, answer


async def test_a_chunked_body_past_the_limit_is_413(service: Service) -> None:
    limit = service.services.settings.max_body_bytes
    post = await create(service, "C-CHUNKED-HUGE")
    filler = b'{"pad": "' + b"x" * (limit + 10) + b'"}'
    status, answer = await _send(
        service, post, [filler[i : i + 65536] for i in range(0, len(filler), 65536)], chunked=True
    )
    assert status == 413, answer
    assert json.loads(answer)["code"] == "request.too_large"


async def test_a_broken_chunked_frame_is_a_clear_400(service: Service) -> None:
    post = await create(service, "C-CHUNKED-BROKEN")
    url = urlsplit(service.base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    head = (
        f"POST {post.path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in post.headers.items())
        + "Connection: close\r\n\r\n"
    ).encode()
    writer.write(head + b"zz\r\nnot a chunk\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    await writer.wait_closed()
    assert answer.split(b" ", 2)[1] == b"400", answer[:200]
    assert b"application/problem+json" in answer.partition(b"\r\n\r\n")[0]
