"""Embedded font subsets are well-formed TrueType files without the parts a PDF never uses."""

from __future__ import annotations

import itertools
import struct
import zlib

from labels.font_program import _checksum, _read_tables, font_program
from labels.typeface import typeface

TEXT = "Zofia Łukasiewicz Ἀθῆναι Москва 0123456789 ÅÉÎÕÜ"


def _subset() -> tuple[bytes, dict[bytes, bytes]]:
    program = font_program("regular", tuple(sorted(set(TEXT))))
    font = zlib.decompress(program.compressed)
    assert len(font) == program.length
    return font, _read_tables(font)


def test_hinting_and_unused_tables_are_dropped() -> None:
    _font, tables = _subset()

    assert {b"glyf", b"loca", b"head", b"hhea", b"hmtx", b"maxp"} <= set(tables)
    assert not {b"fpgm", b"prep", b"cvt ", b"cmap"} & set(tables)


def test_table_checksums_and_file_checksum_are_right() -> None:
    font, tables = _subset()
    (count,) = struct.unpack_from(">H", font, 4)
    for i in range(count):
        tag, checksum, _offset, _length = struct.unpack_from(">4sIII", font, 12 + 16 * i)
        if tag != b"head":  # head's checksum is taken with checkSumAdjustment set to zero
            assert checksum == _checksum(tables[tag]), tag
    assert _checksum(font) == 0xB1B0AFBA


def test_glyph_table_matches_its_index() -> None:
    _font, tables = _subset()
    (glyphs,) = struct.unpack_from(">H", tables[b"maxp"], 4)
    offsets = struct.unpack(f">{glyphs + 1}I", tables[b"loca"])

    assert list(offsets) == sorted(offsets)
    assert offsets[-1] == len(tables[b"glyf"])
    for start, end in itertools.pairwise(offsets):
        if end > start:
            (contours,) = struct.unpack_from(">h", tables[b"glyf"], start)
            if contours >= 0:  # simple glyph: no instructions left
                (instructions,) = struct.unpack_from(">H", tables[b"glyf"], start + 10 + 2 * contours)
                assert instructions == 0


def test_every_character_has_a_glyph_and_its_width() -> None:
    chars = tuple(sorted(set(TEXT)))
    program = font_program("bold", chars)
    face = typeface("bold")

    assert len(program.gids) == len(chars)
    assert all(gid > 0 for gid in program.gids)
    assert program.widths == tuple(round(face.width(ch, 1000.0)) for ch in chars)
