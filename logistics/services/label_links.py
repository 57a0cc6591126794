"""Customer label links: opaque tokens from a CSPRNG, stored only as a hash, expiring, revocable.

A token is handed out once, in the answer that created its link. Where that answer is kept to be given
again (an ``Idempotency-Key`` replay), it holds the token's hash in its place (``_seal``), and a replay
gets a new token for the same link: same repair and leg, same expiry, revoked if the first one was. Only the
hashes sealed by the service itself are opened again (they are kept beside the answer): a hash that a caller
wrote into a field the answer echoes stays text, so knowing a link's hash never yields a working token.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from logistics.clock import Clock
from logistics.domain.journey import LegDirection
from logistics.services.ports import LabelLink, Store

TOKEN_BYTES = 24  # 192 bits


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_link(repair_id: str, leg: LegDirection, now: datetime, ttl: timedelta) -> tuple[str, LabelLink]:
    token = new_token()
    return token, LabelLink(
        token_hash=token_hash(token),
        repair_id=repair_id,
        leg=leg,
        created_at=now,
        expires_at=now + ttl,
        revoked_at=None,
    )


def link_is_live(link: LabelLink | None, now: datetime) -> bool:
    return link is not None and link.revoked_at is None and link.expires_at > now


def _seal(hashed: str) -> bytes:
    """What a kept answer holds instead of the token whose hash is ``hashed``: it opens nothing."""
    return f"sealed-{hashed}".encode()


class SealedTokens:
    """Keeps label tokens out of the answers the service stores, and gives replays tokens that work."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def seal(self, body: bytes, tokens: Iterable[str]) -> tuple[bytes, tuple[str, ...]]:
        """``body`` with each token replaced by its seal, and the hashes sealed (to be kept with it)."""
        hashes = []
        for token in tokens:
            hashed = token_hash(token)
            body = body.replace(token.encode(), _seal(hashed))
            hashes.append(hashed)
        return body, tuple(hashes)

    async def unseal(self, body: bytes, hashes: Iterable[str]) -> bytes:
        """``body`` with the tokens ``seal`` sealed (``hashes``) replaced by new tokens for the same links (or
        left sealed, and so useless, where a link is gone)."""
        for original in dict.fromkeys(hashes):
            token = await self._reissue(original)
            if token is not None:
                body = body.replace(_seal(original), token.encode())
        return body

    async def _reissue(self, original_hash: str) -> str | None:
        token = new_token()
        async with self._store.transaction() as tx:
            original = await tx.label_link(original_hash)
            if original is None:
                return None
            twin = dataclasses.replace(original, token_hash=token_hash(token), created_at=self._clock.now())
            await tx.add_label_link(twin)
        return token
