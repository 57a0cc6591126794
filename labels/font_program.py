"""Embeddable font programs: small TrueType subsets of the label typeface.

A subset holds glyph 0 (.notdef) and the characters a document uses; `gids` says which glyph of the
subset shows each character (the PDF maps character codes to them). The glyph outlines come from
reportlab's subsetter; on top of it this module drops what a printed label never uses and what dominates
the size of DejaVu subsets: the hinting programs (`cvt `, `fpgm`, `prep` and the per-glyph
instructions) and the long `name` table (replaced by the four names PDF readers look at). Subsets are
cached by their exact character tuple, so labels with the same characters reuse one.
This module must not lay out, draw or write PDF objects.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from labels.typeface import Typeface, Weight, typeface

MAX_SUBSET_CHARS: Final = 0xFFFF  # glyph ids are 16-bit

# Hinting, device metrics and kerning are unused in PDF; the cmap too, as PDF maps codes to glyphs itself.
_DROPPED_TABLES: Final = frozenset({b"cvt ", b"fpgm", b"prep", b"hdmx", b"LTSH", b"VDMX", b"kern", b"cmap"})
# Composite glyph component flags (OpenType 'glyf' specification).
_ARGS_ARE_WORDS: Final = 0x0001
_HAS_SCALE: Final = 0x0008
_MORE_COMPONENTS: Final = 0x0020
_HAS_XY_SCALE: Final = 0x0040
_HAS_2X2: Final = 0x0080
_HAS_INSTRUCTIONS: Final = 0x0100


@dataclass(frozen=True)
class FontProgram:
    """A compressed TrueType subset with the metrics its PDF font dictionary needs."""

    compressed: bytes
    length: int
    chars: tuple[str, ...]
    gids: tuple[int, ...]  # subset glyph id of each character
    widths: tuple[int, ...]  # advance of each character, in 1/1000 em


@lru_cache(maxsize=1024)
def font_program(weight: Weight, chars: tuple[str, ...]) -> FontProgram:
    """The embeddable subset of `weight` holding `chars`."""
    if not 0 < len(chars) <= MAX_SUBSET_CHARS:
        raise ValueError(f"a subset holds 1..{MAX_SUBSET_CHARS} characters, got {len(chars)}")
    face = typeface(weight)
    raw = face.font_file.makeSubset([0, *(ord(ch) for ch in chars)])
    tables = _read_tables(raw)
    gids = _subset_glyph_ids(tables[b"cmap"], len(chars) + 1)[1:]
    slim = _slim(tables, face)
    widths = tuple(round(face.unit_width(ch) * 1000.0) for ch in chars)
    return FontProgram(zlib.compress(slim, 6), len(slim), chars, gids, widths)


def _subset_glyph_ids(cmap: bytes, count: int) -> tuple[int, ...]:
    # reportlab writes one format 6 subtable mapping position i of the subset to its new glyph id.
    (offset,) = struct.unpack_from(">I", cmap, 8)
    fmt, _length, _language, first, entries = struct.unpack_from(">HHHHH", cmap, offset)
    if fmt != 6 or first != 0 or entries != count:
        raise ValueError("unexpected cmap in the font subset")
    ids: tuple[int, ...] = struct.unpack_from(f">{entries}H", cmap, offset + 10)
    return ids


def _slim(tables: dict[bytes, bytes], face: Typeface) -> bytes:
    for tag in _DROPPED_TABLES:
        tables.pop(tag, None)
    head = bytearray(tables[b"head"])
    long_offsets = struct.unpack_from(">h", head, 50)[0] == 1
    glyf, loca = _strip_instructions(tables[b"glyf"], tables[b"loca"], long_offsets=long_offsets)
    tables[b"glyf"], tables[b"loca"] = glyf, loca
    struct.pack_into(">h", head, 50, 1)  # the rebuilt 'loca' always uses 32-bit offsets
    struct.pack_into(">I", head, 8, 0)  # checkSumAdjustment is computed over the whole file below
    tables[b"head"] = bytes(head)
    tables[b"name"] = _name_table(face.postscript_name)
    maxp = bytearray(tables[b"maxp"])
    if len(maxp) >= 32:
        struct.pack_into(">H", maxp, 26, 0)  # maxSizeOfInstructions: none are left
    tables[b"maxp"] = bytes(maxp)
    return _write_tables(tables)


def _read_tables(font: bytes) -> dict[bytes, bytes]:
    (count,) = struct.unpack_from(">H", font, 4)
    tables: dict[bytes, bytes] = {}
    for i in range(count):
        tag, _checksum, offset, length = struct.unpack_from(">4sIII", font, 12 + 16 * i)
        tables[tag] = font[offset : offset + length]
    return tables


def _strip_instructions(glyf: bytes, loca: bytes, *, long_offsets: bool) -> tuple[bytes, bytes]:
    if long_offsets:
        offsets = struct.unpack(f">{len(loca) // 4}I", loca)
    else:
        offsets = tuple(2 * o for o in struct.unpack(f">{len(loca) // 2}H", loca))
    out = bytearray()
    new_offsets = [0]
    for start, end in itertools.pairwise(offsets):
        glyph = glyf[start:end]
        if glyph:
            out += _glyph_without_instructions(glyph)
            out += b"\0" * (-len(out) % 4)
        new_offsets.append(len(out))
    return bytes(out), struct.pack(f">{len(new_offsets)}I", *new_offsets)


def _glyph_without_instructions(glyph: bytes) -> bytes:
    (contours,) = struct.unpack_from(">h", glyph, 0)
    if contours >= 0:
        at = 10 + 2 * contours
        (length,) = struct.unpack_from(">H", glyph, at)
        return glyph[:at] + b"\0\0" + glyph[at + 2 + length :]
    out = bytearray(glyph[:10])
    at = 10
    while True:
        flags, _index = struct.unpack_from(">HH", glyph, at)
        size = 4 + (4 if flags & _ARGS_ARE_WORDS else 2)
        if flags & _HAS_SCALE:
            size += 2
        elif flags & _HAS_XY_SCALE:
            size += 4
        elif flags & _HAS_2X2:
            size += 8
        component = bytearray(glyph[at : at + size])
        struct.pack_into(">H", component, 0, flags & ~_HAS_INSTRUCTIONS)
        out += component
        at += size
        if not flags & _MORE_COMPONENTS:
            return bytes(out)


def _name_table(postscript_name: str) -> bytes:
    family = postscript_name.split("-", 1)[0]
    style = "Bold" if postscript_name.endswith("-Bold") else "Book"
    names = ((1, family), (2, style), (4, f"{family} {style}"), (6, postscript_name))
    strings = [text.encode("utf-16-be") for _, text in names]
    header = struct.pack(">HHH", 0, len(names), 6 + 12 * len(names))
    records = bytearray()
    offset = 0
    for (name_id, _), data in zip(names, strings, strict=True):
        records += struct.pack(">HHHHHH", 3, 1, 0x409, name_id, len(data), offset)
        offset += len(data)
    return header + bytes(records) + b"".join(strings)


def _checksum(data: bytes) -> int:
    padded = data + b"\0" * (-len(data) % 4)
    words: tuple[int, ...] = struct.unpack(f">{len(padded) // 4}I", padded)
    return sum(words) & 0xFFFFFFFF


def _write_tables(tables: dict[bytes, bytes]) -> bytes:
    tags = sorted(tables)
    count = len(tags)
    entry_selector = max(count.bit_length() - 1, 0)
    search_range = 16 * (1 << entry_selector)
    header = struct.pack(">IHHHH", 0x00010000, count, search_range, entry_selector, count * 16 - search_range)
    directory = bytearray()
    body = bytearray()
    offset = 12 + 16 * count
    for tag in tags:
        data = tables[tag]
        directory += struct.pack(">4sIII", tag, _checksum(data), offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    font = bytearray(header + directory + body)
    head_at = 12 + 16 * count + sum(len(tables[t]) + (-len(tables[t]) % 4) for t in tags[: tags.index(b"head")])
    struct.pack_into(">I", font, head_at + 8, (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF)
    return bytes(font)
