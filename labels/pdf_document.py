"""A minimal PDF 1.4 writer: numbered objects, streams, cross-reference table and trailer.

It writes exactly what the label pages need and nothing that varies between runs: no dates, no random
document id (the /ID is a checksum of the content), objects numbered in the order they are added, so the
same input always gives the same bytes. It knows nothing about labels. It must not do file I/O.
"""

from __future__ import annotations

import zlib


class PdfDocument:
    """Objects of one PDF file under construction; `to_bytes` serialises them."""

    def __init__(self) -> None:
        self._bodies: list[bytes | None] = []

    def reserve(self) -> int:
        """A fresh object number whose body is set later with `put`."""
        self._bodies.append(None)
        return len(self._bodies)

    def put(self, number: int, body: bytes) -> None:
        self._bodies[number - 1] = body

    def add(self, body: bytes) -> int:
        self._bodies.append(body)
        return len(self._bodies)

    def add_stream(self, entries: bytes, data: bytes, *, level: int = 6) -> int:
        """A Flate-compressed stream; `entries` are extra dictionary entries such as b"/Subtype /Image"."""
        if level:
            data = zlib.compress(data, level)
            entries += b" /Filter /FlateDecode"
        return self.add_compressed_stream(entries, data)

    def add_compressed_stream(self, entries: bytes, data: bytes) -> int:
        """A stream whose data is already encoded as `entries` (including /Filter) say."""
        return self.add(b"<< " + entries + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")

    def to_bytes(self, catalog: int) -> bytes:
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets: list[int] = []
        for number, body in enumerate(self._bodies, start=1):
            if body is None:
                raise ValueError(f"object {number} was reserved but never written")
            offsets.append(len(out))
            out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
        xref_at = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
        out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
        # A file identifier derived from the content (checksums are enough, and cheap): no randomness.
        digest = b"%08x%08x" % (zlib.crc32(out), zlib.adler32(out))
        out += b"trailer\n<< /Size %d /Root %d 0 R /ID [<%s> <%s>] >>\n" % (len(offsets) + 1, catalog, digest, digest)
        out += b"startxref\n%d\n%%%%EOF\n" % xref_at
        return bytes(out)


def pdf_string(text: bytes) -> bytes:
    """A PDF literal string with the three special bytes escaped."""
    return b"(" + text.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def number(value: float) -> bytes:
    """A position or size in points for content streams: 1/100 pt is far below a printer dot."""
    return b"%.2f" % value


def precise(value: float) -> bytes:
    """A scale factor such as a barcode module: errors here add up over hundreds of modules."""
    return b"%.5f" % value
