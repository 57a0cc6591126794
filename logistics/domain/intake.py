"""The repair centre's intake payload: what the label's 2D code carries, and how a scan is checked.

Format: ``LGX1|<repair id>|<leg>|<check>``, where the check value is the first 16 base32 characters of
HMAC-SHA256(secret, "<repair id>|<leg>"). A scanned payload whose check value does not match is refused, so
a mistyped or forged code never moves a device. Pure: the secret is passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from logistics.domain.journey import LegDirection

PREFIX = "LGX1"


@dataclass(frozen=True)
class IntakeScan:
    repair_id: str
    leg: LegDirection


def _check(secret: bytes, repair_id: str, leg: LegDirection) -> str:
    mac = hmac.new(secret, f"{repair_id}|{leg.value}".encode(), hashlib.sha256).digest()
    return base64.b32encode(mac).decode()[:16]


def intake_payload(secret: bytes, repair_id: str, leg: LegDirection) -> str:
    return f"{PREFIX}|{repair_id}|{leg.value}|{_check(secret, repair_id, leg)}"


def read_intake_payload(secret: bytes, payload: str) -> IntakeScan | None:
    """The scan's repair and leg, or None when the payload is not one of ours or its check fails."""
    parts = payload.strip().split("|")
    if len(parts) != 4 or parts[0] != PREFIX:
        return None
    _, repair_id, leg_text, check = parts
    try:
        leg = LegDirection(leg_text)
    except ValueError:
        return None
    # As bytes: compare_digest refuses str with non-ASCII characters, which a misread scan can carry.
    if not hmac.compare_digest(check.encode(), _check(secret, repair_id, leg).encode()):
        return None
    return IntakeScan(repair_id=repair_id, leg=leg)
