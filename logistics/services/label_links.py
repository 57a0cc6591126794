"""Customer label links: opaque tokens from a CSPRNG, stored only as a hash, expiring, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from logistics.domain.journey import LegDirection
from logistics.services.ports import LabelLink

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
