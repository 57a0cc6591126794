"""Repair ids follow time, so that a repair's rows land at the end of the indexes keyed by its id."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from logistics.services.repairs import new_repair_id

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_an_id_is_rp_then_the_milliseconds_then_32_random_bits() -> None:
    repair_id = new_repair_id(START)
    assert re.fullmatch(r"rp_[0-9a-f]{20}", repair_id)
    assert int(repair_id[3:15], 16) == int(START.timestamp() * 1000)
    assert len({new_repair_id(START) for _ in range(1000)}) == 1000  # the same millisecond, still distinct


def test_ids_sort_in_the_order_they_were_made() -> None:
    moments = [START + timedelta(milliseconds=n) for n in (0, 1, 2, 999, 1000, 86_400_000)]
    ids = [new_repair_id(moment) for moment in moments]
    assert ids == sorted(ids)
