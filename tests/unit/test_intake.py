"""The intake payload that the label's 2D code carries."""

from __future__ import annotations

from logistics.domain.intake import intake_payload, read_intake_payload
from logistics.domain.journey import LegDirection

SECRET = b"secret"


def test_round_trip() -> None:
    payload = intake_payload(SECRET, "rp_abc", LegDirection.INBOUND)
    scan = read_intake_payload(SECRET, payload)
    assert scan is not None and scan.repair_id == "rp_abc" and scan.leg is LegDirection.INBOUND


def test_forged_or_damaged_payloads_are_refused() -> None:
    payload = intake_payload(SECRET, "rp_abc", LegDirection.INBOUND)
    assert read_intake_payload(b"other", payload) is None
    assert read_intake_payload(SECRET, payload.replace("rp_abc", "rp_abd")) is None
    assert read_intake_payload(SECRET, payload[:-1] + ("A" if payload[-1] != "A" else "B")) is None
    assert read_intake_payload(SECRET, "1Z999AA10123456784") is None
    assert read_intake_payload(SECRET, "LGX1|rp_abc|sideways|XXXX") is None


def test_a_misread_non_ascii_check_is_refused_not_raised() -> None:
    # hmac.compare_digest raises TypeError for str with non-ASCII characters: a scanner's misread byte must
    # read as "not one of ours", not crash the receipt.
    assert read_intake_payload(SECRET, "LGX1|rp_abc|inbound|\u00e9") is None
    assert read_intake_payload(SECRET, "LGX1|rp_abc|inbound|caf\u00e9\u00e9\u00e9") is None
