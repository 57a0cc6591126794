"""Documents as storage writes them (deflated JSON) and as older releases wrote them (JSON text): both read."""

from __future__ import annotations

import zlib

import orjson
import pytest

from logistics.storage.codec import (
    COMPRESS_FROM,
    DICTIONARY_1,
    UnreadableDocument,
    document,
    document_json,
    dump_document,
    load_document,
)

REPAIR_LIKE = {
    "id": "rp_019cad8fac00ef444320",
    "site": {"name": "Camille Martin", "street_lines": ["14 rue Oberkampf"], "city": "Paris", "country": "FR"},
    "inbound": {"status": "pickup_scheduled", "pickup": {"local_date": "2026-03-03", "ready_time": "09:00:00"}},
    "history": [{"kind": "state", "at": "2026-03-02T08:00:00Z"}] * 8,
}


def test_a_document_is_stored_deflated_and_reads_back_equal() -> None:
    stored = dump_document(REPAIR_LIKE)
    assert isinstance(stored, bytes) and stored[:1] == b"X"  # zlib, an 8 KB window
    assert len(stored) < len(orjson.dumps(REPAIR_LIKE)) / 2
    assert load_document(stored) == REPAIR_LIKE


def test_a_short_document_stays_json_text() -> None:
    stored = dump_document({"a": 1})
    assert stored == '{"a":1}'
    assert load_document(stored) == {"a": 1}


def test_the_threshold_is_on_the_json_length() -> None:
    just_under = "x" * (COMPRESS_FROM - 3)  # quotes included: COMPRESS_FROM - 1 bytes of JSON
    assert isinstance(document(orjson.dumps(just_under)), str)
    assert isinstance(document(orjson.dumps(just_under + "xx")), bytes)


def test_json_text_written_by_an_older_release_is_read_as_it_is() -> None:
    text = orjson.dumps(REPAIR_LIKE).decode()
    assert document_json(text) == text
    assert load_document(text) == REPAIR_LIKE


def test_json_kept_as_bytes_is_read_too() -> None:
    assert load_document(b'{"carrier":"ups"}') == {"carrier": "ups"}
    assert load_document(memoryview(b"[1,2]").tobytes()) == [1, 2]


def test_a_stream_deflated_without_a_dictionary_is_read() -> None:
    assert load_document(zlib.compress(orjson.dumps(REPAIR_LIKE))) == REPAIR_LIKE


def test_the_stream_names_the_released_dictionary() -> None:
    stored = dump_document(REPAIR_LIKE)
    assert isinstance(stored, bytes) and stored[1] & 0x20  # FDICT
    assert int.from_bytes(stored[2:6], "big") == zlib.adler32(DICTIONARY_1)


def test_the_released_dictionary_never_changes() -> None:
    # Every document written since its release names it by this checksum: editing it makes them unreadable.
    assert zlib.adler32(DICTIONARY_1) == 0x83F8952C and len(DICTIONARY_1) == 3527


def test_a_dictionary_this_release_does_not_know_is_a_clear_error() -> None:
    packer = zlib.compressobj(zdict=b'{"unknown":"dictionary"}')
    stored = packer.compress(orjson.dumps(REPAIR_LIKE)) + packer.flush()
    with pytest.raises(UnreadableDocument, match="does not know"):
        document_json(stored)


@pytest.mark.parametrize("damage", ["cut", "garbled", "trailing"])
def test_a_damaged_stream_is_a_clear_error(damage: str) -> None:
    stored = dump_document(REPAIR_LIKE)
    assert isinstance(stored, bytes)
    damaged = {
        "cut": stored[: len(stored) // 2],
        "garbled": stored[:8] + bytes(b ^ 0x5A for b in stored[8:]),
        "trailing": stored + b"more",
    }[damage]
    with pytest.raises(UnreadableDocument, match="not readable"):
        document_json(damaged)
