"""Embedding the label typeface in one PDF: composite fonts per weight, and text encoding.

Each font is a Type 0 font with Identity-H encoding whose character codes are the characters' Unicode
(BMP) values, two bytes each. A CIDToGIDMap sends each code to its glyph in the embedded subset, and a
fixed ToUnicode map returns the same Unicode value, so text is searchable and extracts exactly as given.

Per weight there is a core font with a fixed repertoire (printable ASCII, every catalogue character)
whose subset is built once per process, and, when a document needs more (a Polish, Greek or Cyrillic
name), an extra font with exactly those characters. Which font shows a character never depends on the
rest of the document, so drawn text is cached across documents and the costly subsetting runs once
for the core and once per distinct set of extra letters. This module must not lay out pages.
"""

from __future__ import annotations

import hashlib
import string
import zlib
from collections.abc import Iterable
from functools import cache, lru_cache

from labels.catalogue import SUPPORTED_LANGUAGES, messages
from labels.font_program import FontProgram, font_program
from labels.geometry import TextBlock
from labels.pdf_document import PdfDocument, pdf_string
from labels.typeface import Weight, typeface

FontRole = tuple[Weight, bool]  # (weight, is the core font)

# Core fonts (fixed repertoire, cached for the life of the process) and extra fonts (exactly the other
# characters a document uses, usually a few letters of a name) for each weight.
RESOURCE_NAMES: dict[FontRole, bytes] = {
    ("regular", True): b"F1",
    ("bold", True): b"F2",
    ("regular", False): b"F3",
    ("bold", False): b"F4",
}
_WEIGHT_ORDER: tuple[Weight, ...] = ("regular", "bold")
_SYMBOLS = "–—‘’“”•…☐✂"
_LAST_BMP = "\uffff"


# Rare ASCII punctuation stays out of the core: each glyph costs ~100 bytes in every document.
_CORE_ASCII = string.ascii_letters + string.digits + " .,:;-/()'+&#*!?\"%"


@cache
def core_characters() -> frozenset[str]:
    """Letters, digits, common punctuation, every character of every catalogue and the sheet's symbols."""
    chars = set(_CORE_ASCII) | set(_SYMBOLS)
    for language in SUPPORTED_LANGUAGES:
        for text in messages(language).values():
            chars.update(text)
    return frozenset(chars)


def show(weight: Weight, size: bytes, text: str) -> bytes:
    """Text-showing operators (inside BT/ET) for `text`, switching between core and extra font."""
    core = core_characters()
    text = _bmp(text)
    if core.issuperset(text):  # the usual case, checked at C speed
        return (
            b"/"
            + RESOURCE_NAMES[(weight, True)]
            + b" "
            + size
            + b" Tf "
            + pdf_string(text.encode("utf-16-be"))
            + b" Tj "
        )
    out = bytearray()
    for in_core, run in _runs(text, core):
        out += (
            b"/"
            + RESOURCE_NAMES[(weight, in_core)]
            + b" "
            + size
            + b" Tf "
            + pdf_string(run.encode("utf-16-be"))
            + b" Tj "
        )
    return bytes(out)


def used_characters(blocks: Iterable[TextBlock]) -> dict[Weight, set[str]]:
    """The characters each weight must be able to show in these text blocks."""
    pairs = [_block_characters(block) for block in blocks]
    return {
        "regular": set().union(*(regular for regular, _ in pairs)),
        "bold": set().union(*(bold for _, bold in pairs)),
    }


@lru_cache(maxsize=8192)
def _block_characters(block: TextBlock) -> tuple[frozenset[str], frozenset[str]]:
    # Cached: most blocks (captions, catalogue texts) recur on every label of a language.
    regular = frozenset(_bmp("".join(line.text for line in block.lines if line.weight == "regular")))
    bold = frozenset(_bmp("".join(line.text for line in block.lines if line.weight == "bold")))
    return regular, bold


def write_fonts(document: PdfDocument, used: dict[Weight, set[str]]) -> bytes:
    """Add the fonts `used` needs to `document`; returns the /Font resource dictionary."""
    core = core_characters()
    entries = bytearray(b"<<")
    to_unicode: list[int] = []  # one identity map serves every font of the document
    for in_core in (True, False):
        for weight in _WEIGHT_ORDER:
            wanted = used.get(weight, set())
            if in_core:
                chars = _core_subset(weight) if wanted & core else ()
            else:
                chars = tuple(sorted(ch for ch in wanted if ch not in core))
            if chars:
                if not to_unicode:
                    extras = [ch for chars_of_weight in used.values() for ch in chars_of_weight if ch not in core]
                    high_bytes = _core_high_bytes() | {ord(ch) >> 8 for ch in extras}
                    to_unicode.append(
                        document.add_compressed_stream(b"/Filter /FlateDecode", _identity_to_unicode(high_bytes | {0}))
                    )
                reference = _write_font(document, weight, chars, to_unicode[0])
                entries += b" /" + RESOURCE_NAMES[(weight, in_core)] + b" %d 0 R" % reference
    return bytes(entries + b" >>")


@cache
def _core_high_bytes() -> frozenset[int]:
    return frozenset(ord(ch) >> 8 for ch in core_characters())


@cache
def _core_subset(weight: Weight) -> tuple[str, ...]:
    face = typeface(weight)
    return tuple(sorted(ch for ch in core_characters() if face.has_glyph(ch) or ch == " "))


def _bmp(text: str) -> str:
    # Codes are two bytes: characters beyond the BMP (no European script needs them) become U+FFFD.
    text = text.replace("\u00a0", " ")
    if text.isascii() or max(text) <= _LAST_BMP:
        return text
    return "".join(ch if ch <= _LAST_BMP else "\ufffd" for ch in text)


def _runs(text: str, core: frozenset[str]) -> list[tuple[bool, str]]:
    runs: list[tuple[bool, str]] = []
    for ch in text:
        in_core = ch in core
        if runs and runs[-1][0] == in_core:
            runs[-1] = (in_core, runs[-1][1] + ch)
        else:
            runs.append((in_core, ch))
    return runs


def _write_font(document: PdfDocument, weight: Weight, chars: tuple[str, ...], to_unicode: int) -> int:
    program, gid_map, descriptor, descendant, type0 = font_objects(weight, chars)
    program_ref = document.add_compressed_stream(
        b"/Length1 %d /Filter /FlateDecode" % program.length, program.compressed
    )
    gid_map_ref = document.add_compressed_stream(b"/Filter /FlateDecode", gid_map)
    descriptor_ref = document.add(descriptor % program_ref)
    descendant_ref = document.add(descendant % (descriptor_ref, gid_map_ref))
    return document.add(type0 % (descendant_ref, to_unicode))


@lru_cache(maxsize=1024)
def font_objects(weight: Weight, chars: tuple[str, ...]) -> tuple[FontProgram, bytes, bytes, bytes, bytes]:
    """The subset, its CIDToGIDMap and the three font dictionaries with %d slots for references."""
    program = font_program(weight, chars)
    face = typeface(weight)
    font_file = face.font_file
    name = _subset_tag(weight, chars) + b"+" + face.postscript_name.encode("ascii")
    bbox = b" ".join(b"%d" % round(v) for v in font_file.bbox)
    descriptor = (
        b"<< /Type /FontDescriptor /FontName /" + name + b" /Flags 4 /FontBBox [" + bbox + b"]"
        b" /ItalicAngle 0 /Ascent %d /Descent %d /CapHeight %d /StemV %d"
        % (round(font_file.ascent), round(font_file.descent), round(font_file.capHeight), font_file.stemV)
        + b" /FontFile2 %d 0 R >>"
    )
    descendant = (
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /" + name + b" /CIDSystemInfo << /Registry (Adobe)"
        b" /Ordering (Identity) /Supplement 0 >> /FontDescriptor %d 0 R /DW 1000 /W ["
        + _widths(program).replace(b"%", b"%%")
        + b"] /CIDToGIDMap %d 0 R >>"
    )
    type0 = (
        b"<< /Type /Font /Subtype /Type0 /BaseFont /" + name + b" /Encoding /Identity-H"
        b" /DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>"
    )
    return program, _cid_to_gid_map(program), descriptor, descendant, type0


@lru_cache(maxsize=1024)
def _widths(program: FontProgram) -> bytes:
    # Consecutive codes share one entry: "32 [318 401 460 ...]" (ASCII is a single run).
    groups: list[tuple[int, list[int]]] = []
    for ch, width in zip(program.chars, program.widths, strict=True):
        code = ord(ch)
        if groups and groups[-1][0] + len(groups[-1][1]) == code:
            groups[-1][1].append(width)
        else:
            groups.append((code, [width]))
    return b" ".join(b"%d [%s]" % (start, b" ".join(b"%d" % w for w in widths)) for start, widths in groups)


@lru_cache(maxsize=1024)
def _cid_to_gid_map(program: FontProgram) -> bytes:
    # Two bytes per code up to the highest one used; zeros (notdef) elsewhere compress to nothing.
    table = bytearray(2 * (ord(program.chars[-1]) + 1))
    for ch, gid in zip(program.chars, program.gids, strict=True):
        code = ord(ch)
        table[2 * code] = gid >> 8
        table[2 * code + 1] = gid & 0xFF
    return zlib.compress(bytes(table), 9)


@lru_cache(maxsize=256)
def _identity_to_unicode(high_bytes: frozenset[int]) -> bytes:
    lines = [
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def /CMapType 2 def",
        "1 begincodespacerange <0000> <FFFF> endcodespacerange",
    ]
    # Ranges may not cross a change of the high byte: one range per high byte the document uses.
    ranges = [f"<{high:02X}00> <{high:02X}FF> <{high:02X}00>" for high in sorted(high_bytes)]
    for start in range(0, len(ranges), 100):
        chunk = ranges[start : start + 100]
        lines += [f"{len(chunk)} beginbfrange", *chunk, "endbfrange"]
    lines.append("endcmap CMapName currentdict /CMap defineresource pop end end")
    return zlib.compress("\n".join(lines).encode("ascii"), 9)


@lru_cache(maxsize=1024)
def _subset_tag(weight: Weight, chars: tuple[str, ...]) -> bytes:
    # PDF wants six capital letters; derive them from the content so output stays reproducible.
    digest = hashlib.sha1(weight.encode() + "".join(chars).encode("utf-8"), usedforsecurity=False).digest()
    return bytes(65 + value % 26 for value in digest[:6])
