"""Lossless stripping: copy a JPEG's, PNG's or WebP's picture data and leave its metadata behind
(docs/uploads.md). The picture is not decoded: :mod:`app.media.images` uses this for a picture that needs no
turning, while another thread decodes it to prove it whole.

Allow-lists: only what a decoder needs to show the picture as intended is copied; everything else (EXIF,
GPS, XMP, IPTC, comments, text chunks, maker data, embedded thumbnails, secondary images after the end
of the primary one) is dropped. The source is memory-mapped, not read into memory.
"""

from __future__ import annotations

import hashlib
import mmap
import re
import struct
from pathlib import Path
from typing import Any


class _Malformed(ValueError):
    pass


#: JPEG markers copied as they are: every SOFn, DHT and DAC (0xC0-0xCF but the reserved JPG), DQT, DRI, DNL,
#: EXP and SOS.
_JPEG_KEEP = frozenset((set(range(0xC0, 0xD0)) - {0xC8}) | {0xDB, 0xDD, 0xDC, 0xDF, 0xDA})


_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7]")


class _HashingWriter:
    """A file opened for writing that also counts and sha256-hashes what is written to it, so that the
    cleaned copy's content address needs no second read."""

    def __init__(self, target: Path) -> None:
        self._fh = open(target, "wb")  # noqa: SIM115 - closed by __exit__
        self._sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | memoryview) -> int:
        self._sha.update(data)
        self.size += len(data)
        return self._fh.write(data)

    def result(self) -> tuple[int, str]:
        return self.size, self._sha.hexdigest()

    def __enter__(self) -> _HashingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()


def strip_jpeg(source: Path, target: Path) -> tuple[int, str]:
    """Copy a JPEG without its metadata segments; answers the copy's size and sha256."""
    with (
        open(source, "rb") as fh,
        mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm,
        _HashingWriter(target) as out,
    ):
        view = memoryview(mm)
        try:
            _strip_jpeg(mm, view, out)
        finally:
            view.release()
    return out.result()


def _strip_jpeg(mm: mmap.mmap, view: memoryview, out: Any) -> None:
    size = len(mm)
    if mm[:2] != b"\xff\xd8":
        raise _Malformed("no SOI")
    out.write(b"\xff\xd8")
    pos = 2
    while True:
        if pos >= size or mm[pos] != 0xFF:
            raise _Malformed("marker expected")
        while pos < size and mm[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= size:
            raise _Malformed("truncated")
        marker = mm[pos]
        pos += 1
        if marker == 0xD9:  # EOI: the primary picture ends; anything after it (MPF images, gain maps) is dropped
            out.write(b"\xff\xd9")
            return
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out.write(bytes((0xFF, marker)))
            continue
        if pos + 2 > size:
            raise _Malformed("truncated")
        length = (mm[pos] << 8) | mm[pos + 1]
        end = pos + length
        if length < 2 or end > size:
            raise _Malformed("bad segment length")
        payload = view[pos + 2 : end]
        if marker in _JPEG_KEEP:
            out.write(bytes((0xFF, marker)))
            out.write(view[pos:end])
        elif marker == 0xE0 and bytes(payload[:5]) == b"JFIF\x00" and len(payload) >= 12:
            # JFIF header without its embedded thumbnail.
            out.write(b"\xff\xe0\x00\x10" + bytes(payload[:12]) + b"\x00\x00")
        elif (marker == 0xE2 and bytes(payload[:12]) == b"ICC_PROFILE\x00") or (
            marker == 0xEE and bytes(payload[:5]) == b"Adobe"
        ):
            out.write(bytes((0xFF, marker)))
            out.write(view[pos:end])
        pos = end
        if marker == 0xDA:  # entropy-coded data follows, up to the next marker (not a stuffed 0xFF, not RSTn)
            found = _NEXT_MARKER.search(mm, pos)
            if found is None:
                raise _Malformed("truncated scan")
            j = found.start()
            out.write(view[pos:j])
            pos = j


#: PNG chunks copied: the picture, its palette and transparency, and how to show its colours.
_PNG_KEEP = frozenset(
    {
        b"IHDR",
        b"PLTE",
        b"IDAT",
        b"IEND",
        b"tRNS",
        b"cHRM",
        b"gAMA",
        b"iCCP",
        b"sBIT",
        b"sRGB",
        b"cICP",
        b"mDCv",
        b"cLLi",
        b"pHYs",
    }
)


def strip_png(source: Path, target: Path) -> tuple[int, str]:
    """Copy a PNG without its metadata chunks; answers the copy's size and sha256."""
    with (
        open(source, "rb") as fh,
        mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm,
        _HashingWriter(target) as out,
    ):
        view = memoryview(mm)
        try:
            size = len(mm)
            if mm[:8] != b"\x89PNG\r\n\x1a\n":
                raise _Malformed("no PNG signature")
            out.write(view[:8])
            pos = 8
            while True:
                if pos + 8 > size:
                    raise _Malformed("truncated")
                length = struct.unpack(">I", mm[pos : pos + 4])[0]
                kind = mm[pos + 4 : pos + 8]
                end = pos + 12 + length
                if end > size:
                    raise _Malformed("truncated chunk")
                if kind in _PNG_KEEP:
                    out.write(view[pos:end])
                pos = end
                if kind == b"IEND":
                    break
        finally:
            view.release()
    return out.result()


_WEBP_KEEP = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ICCP", b"ANIM", b"ANMF"})


def strip_webp(source: Path, target: Path) -> tuple[int, str]:
    """Copy a WebP without its EXIF and XMP chunks; answers the copy's size and sha256."""
    with open(source, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        view = memoryview(mm)
        try:
            size = len(mm)
            if mm[:4] != b"RIFF" or mm[8:12] != b"WEBP":
                raise _Malformed("not RIFF/WEBP")
            riff_end = min(size, 8 + struct.unpack("<I", mm[4:8])[0])
            kept: list[tuple[int, int, bytes | None]] = []
            pos = 12
            while pos + 8 <= riff_end:
                fourcc = mm[pos : pos + 4]
                length = struct.unpack("<I", mm[pos + 4 : pos + 8])[0]
                end = pos + 8 + length + (length & 1)
                if pos + 8 + length > riff_end:
                    raise _Malformed("truncated chunk")
                if fourcc == b"VP8X" and length >= 10:
                    header = bytearray(mm[pos : pos + 8 + length])
                    header[8] &= ~(0x08 | 0x04) & 0xFF  # no EXIF, no XMP
                    kept.append((pos, min(end, riff_end), bytes(header) + b"\x00" * (length & 1)))
                elif fourcc in _WEBP_KEEP:
                    kept.append((pos, min(end, riff_end), None))
                pos = end
            body = sum(len(r) if r is not None else e - p for p, e, r in kept)
            with _HashingWriter(target) as out:
                out.write(b"RIFF" + struct.pack("<I", 4 + body) + b"WEBP")
                for p, e, replacement in kept:
                    out.write(replacement if replacement is not None else view[p:e])
        finally:
            view.release()
    return out.result()


STRIPPERS = {"jpeg": strip_jpeg, "png": strip_png, "webp": strip_webp}
