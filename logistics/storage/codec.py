"""How values are written to storage: UTC instants as ISO-8601 text, documents as compressed JSON, page cursors.

A repair is stored as its aggregate's JSON document (``Repair.model_dump_json()``). ``read_repair`` also
reads the document of the first releases, whose ``entitlement`` carried what routing decided beside what
the case system sent: those keys are moved to ``routed`` as the document is read.

JSON goes through orjson: compact and key-sorted like before, non-JSON values (datetimes included) still
written as their ``str``, and several times faster than the standard library on the documents written with
every change.

Documents (a repair, a booking's request, a notification's payload) are stored as their JSON deflated by
zlib with a preset dictionary, as bytes. The dictionary holds the keys and usual values of those documents
(their skeletons, with no person's data), so a repair's 2 KB of JSON is stored in about 270 bytes (960 with
zlib alone), a booking's request in about 200 and a notification in about 100; more rows share a database
page. A document shorter than ``COMPRESS_FROM`` bytes stays JSON text.

Reading accepts every form ever written: JSON text (what databases written before held, and short
documents), JSON as bytes, a zlib stream, and a zlib stream made with a dictionary, which its header names
by checksum (RFC 1950's DICTID): the dictionary is looked up among ``_DICTIONARIES``. A released dictionary
is therefore never edited (its checksum is pinned by a test); a better one is added beside it and written
from then on, the old one still read. This module is the one place that knows the format; every store
(SQLite here, PostgreSQL beside it) writes and reads documents through it.
"""

from __future__ import annotations

import base64
import functools
import zlib
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from logistics.domain.model import Repair, Routed

_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME

COMPRESS_FROM = 64  # bytes of JSON; below this, zlib's 10 bytes of header, dictionary id and checksum eat the gain
# Level 6 (zlib's default) and an 8 KB window: the dictionary and a document of up to 4.5 KB fit in it, and
# the compressor's state is a quarter of the default's to set up for every document.
_LEVEL, _WINDOW_BITS, _MEMORY_LEVEL = 6, 13, 7
_PRESET_DICTIONARY = 0x20  # FDICT in the header's second byte: a DICTID of four bytes follows


def _is_zlib(stored: bytes) -> bool:
    """Whether ``stored`` begins with a zlib header (RFC 1950): deflate, a window of at most 32 KB, and the
    header's check. A stored document is a JSON object or array, so its JSON begins with "{", "[" or
    white space, none of which is a header's first byte."""
    return len(stored) >= 2 and stored[0] & 0x0F == 8 and stored[0] >> 4 <= 7 and (stored[0] << 8 | stored[1]) % 31 == 0


class UnreadableDocument(ValueError):
    """A stored document is neither JSON text nor a zlib stream this module wrote."""


def instant(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime reached storage")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return _utc_text(value)


@functools.lru_cache(maxsize=1024)
def _utc_text(value: datetime) -> str:
    # One change writes the same instant many times (created, updated, recorded, due ...); formatting it
    # costs some microseconds, a look-up here a tenth of that. Keys are UTC only: equal means same text.
    return value.isoformat(timespec="microseconds")


def parse_instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def dumps(value: Any) -> str:
    """``value`` as compact, key-sorted JSON text (small fields: a history entry's details)."""
    return orjson.dumps(value, default=str, option=_OPTIONS).decode()


def loads(value: str | bytes) -> Any:
    return orjson.loads(value)


def document(json_text: str | bytes) -> str | bytes:
    """A JSON document as stored: deflated bytes, or the text itself when it is too short to gain."""
    raw = json_text.encode() if isinstance(json_text, str) else json_text
    if len(raw) < COMPRESS_FROM:
        return raw.decode()
    packer = _primed().copy()
    return packer.compress(raw) + packer.flush()


@functools.cache
def _primed() -> zlib._Compress:
    # A compressor that has read the dictionary, copied for each document: a copy costs a fifth less than
    # reading the dictionary again, the same bytes out.
    return zlib.compressobj(_LEVEL, zlib.DEFLATED, _WINDOW_BITS, _MEMORY_LEVEL, zlib.Z_DEFAULT_STRATEGY, _WRITTEN)


def document_json(stored: str | bytes) -> str | bytes:
    """The JSON text of a stored document, in any form it was ever written (see the module docstring)."""
    if isinstance(stored, str):
        return stored
    stored = bytes(stored)
    if not _is_zlib(stored):
        return stored  # JSON kept as bytes
    try:
        if len(stored) < 6 or not stored[1] & _PRESET_DICTIONARY:
            return zlib.decompress(stored)
        dictionary_id = int.from_bytes(stored[2:6], "big")
        dictionary = _DICTIONARIES.get(dictionary_id)
        if dictionary is None:
            raise UnreadableDocument(
                f"a stored document was deflated with a dictionary this release does not know ({dictionary_id:#010x})"
            )
        unpacker = zlib.decompressobj(zdict=dictionary)
        text = unpacker.decompress(stored)
    except zlib.error as exc:
        raise UnreadableDocument(f"a stored document is not readable: {exc}") from exc
    if not unpacker.eof or unpacker.unused_data:
        raise UnreadableDocument("a stored document is not readable: its stream is cut short or followed by data")
    return text


def dump_document(value: Any) -> str | bytes:
    """``value`` as a stored document (see ``document``)."""
    return document(orjson.dumps(value, default=str, option=_OPTIONS))


def load_document(stored: str | bytes) -> Any:
    """The value of a stored document (see ``document_json``)."""
    return orjson.loads(document_json(stored))


# The first preset dictionary (checksum 0x83f8952c): skeletons of the documents written most, the most
# frequent last (zlib finds the nearest matches cheapest). Released: never edit it; add a new one instead.
DICTIONARY_1 = b"".join(
    (
        # a notification's payload (repair.booked)
        b'{"actor":"service","case_id":"","centre_id":"fr-lyon","details":{"carrier":"ups","pickup_confirmatio',
        b'n":"","tracking_number":""},"from_state":null,"history_seq":4,"leg":"inbound","leg_status":null,"occ',
        b'urred_at":"2026-03-02T08:00:00+00:00","repair_id":"","sequence":3,"source":"","state":"awaiting_pick',
        b'up","to_state":null,"turnaround_status":"on_track","type":"repair.booked"}',
        # a notification's payload (repair.created)
        b'{"actor":"case_system","case_id":"","centre_id":"fr-lyon","details":{"carrier":"ups","centre_id":"fr',
        b'-lyon","method":"courier_pickup","reasons":["region.matched","calendar.site","method.courier_pickup"',
        b',"centre.designated"]},"from_state":null,"history_seq":1,"leg":"inbound","leg_status":null,"occurred',
        b'_at":"2026-03-02T08:00:00+00:00","repair_id":"","sequence":1,"source":"","state":"awaiting_pickup","',
        b'to_state":"awaiting_pickup","turnaround_status":"on_track","type":"repair.created"}',
        # a pickup's request
        b'{"address":{"city":"","company":"","country":"FR","email":"","name":"","phone":"","postal_code":"","',
        b'street_lines":"","subdivision":null},"close_time":"17:00:00","instructions":null,"parcels":[{"contai',
        b'ns_lithium_battery":true,"description":"","height_cm":15,"length_cm":50,"weight_kg":"4.0","width_cm"',
        b':40}],"pickup_date":"2026-03-03","ready_time":"09:00:00","reference":"","time_zone":"Europe/Paris","',
        b'tracking_numbers":""}',
        # a shipment's request
        b'{"description":"","is_return":true,"label_format":"PDF","parcels":[{"contains_lithium_battery":true,',
        b'"description":"","height_cm":15,"length_cm":50,"weight_kg":"4.0","width_cm":40}],"recipient":{"city"',
        b':"","company":null,"country":"FR","email":null,"name":"","phone":"","postal_code":"","street_lines":',
        b'"","subdivision":null},"reference":"","service":null,"ship_date":"2026-03-03","shipper":{"city":"","',
        b'company":"","country":"FR","email":"","name":"","phone":"","postal_code":"","street_lines":"","subdi',
        b'vision":null}}',
        # a repair
        b'{"id":"","case_id":"","centre_id":"fr-lyon","region_id":"fr-idf","language":"fr","site":{"name":"","',
        b'company":"","street_lines":"","city":"","postal_code":"","country":"FR","subdivision":null,"phone":"',
        b'","email":""},"device":{"product_line":"notebook","model":"","serial_number":""},"entitlement":{"ser',
        b'vice_level":"either","country_of_purchase":"FR","defective_media_retention":false,"accidental_damage',
        b'_protection":false,"peripheral_care_pack":false,"items":[{"kind":"ac_adapter","description":null,"qu',
        b'antity":1}],"include_self_test_results":false,"drop_off":null,"ship_by":null,"parcels":[{"weight_kg"',
        b':"4.0","length_cm":50,"width_cm":40,"height_cm":15,"description":"","contains_lithium_battery":true}',
        b'],"return_carrier":"ups","site_time_zone":"Europe/Paris","site_calendar_subdivision":null,"site_busi',
        b'ness_days":{"working_days":["mon","tue","wed","thu","fri"],"closed":[]}},"state":"awaiting_pickup","',
        b'inbound":{"direction":"inbound","method":"courier_pickup","carrier":"ups","status":"pickup_scheduled',
        b'","status_at":"2026-03-02T08:00:00Z","booking_reference":"","tracking_number":"","shipment_id":"","r',
        b'outing_code":null,"pickup":{"local_date":"2026-03-03","ready_time":"09:00:00","close_time":"17:00:00',
        b'","time_zone":"Europe/Paris","ready_at":"2026-03-03T08:00:00Z","close_at":"2026-03-03T16:00:00Z"},"p',
        b'ickup_confirmation":"","pickup_round":1,"carrier_label":true,"steps":{},"last_error":null},"outbound',
        b'":null,"flags":[],"outcome":null,"replacement_serial":null,"turnaround":{"inbound_business_days":2,"',
        b'at_centre_business_days":3,"outbound_business_days":2,"at_risk_ratio":0.8},"turnaround_status":"on_t',
        b'rack","state_since":{"awaiting_pickup":"2026-03-02T08:00:00Z"},"created_at":"2026-03-02T08:00:00Z","',
        b'updated_at":"2026-03-02T08:00:00Z"}',
    )
)
_DICTIONARIES = {zlib.adler32(DICTIONARY_1): DICTIONARY_1}
_WRITTEN = DICTIONARY_1


def page_cursor(value: str, repair_id: str) -> str:
    """The opaque cursor of a page of repairs: the sort column's stored text and the id of the last one."""
    return base64.urlsafe_b64encode(f"{value}|{repair_id}".encode()).decode().rstrip("=")


def parse_page_cursor(cursor: str) -> tuple[str, str]:
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        value, repair_id = base64.urlsafe_b64decode(padded).decode().split("|", 1)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("malformed cursor") from exc
    return value, repair_id


#: What the first releases kept in a repair's ``entitlement`` besides the case system's entitlement.
_ROUTED_IN_ENTITLEMENT = frozenset(Routed.model_fields)


def read_repair(stored: str | bytes) -> Repair:
    """A stored repair (deflated or JSON text, see ``document_json``), in today's shape or in the shape of
    the first releases (see the module's docstring).

    Today's shape is validated straight from the JSON, as fast as before; only a document that does not
    validate is looked at again for the older shape, so reading it costs nothing for today's documents."""
    document = document_json(stored)
    try:
        return Repair.model_validate_json(document)
    except ValidationError:
        data = loads(document)
        entitlement = data.get("entitlement") if isinstance(data, dict) else None
        if not isinstance(entitlement, dict) or "routed" in data:
            raise
    data["routed"] = {key: entitlement.pop(key) for key in list(entitlement) if key in _ROUTED_IN_ENTITLEMENT}
    if "include_self_test_results" in entitlement:
        data["include_self_test_results"] = bool(entitlement.pop("include_self_test_results"))
    return Repair.model_validate(data)
