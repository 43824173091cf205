"""Verifying and cleaning an uploaded photo (``docs/uploads.md``). Everything here is blocking: call it in a worker
thread (``anyio.to_thread.run_sync``).

* The type comes from the bytes (magic numbers), never from the file name or the client's ``filetype``:
  JPEG, PNG, WebP and HEIC/HEIF; anything else is refused, and so is a file that does not decode.
* EXIF (GPS, camera, time, maker notes), XMP, IPTC, comments and text chunks are dropped by re-encoding
  the pixels alone; the EXIF orientation is applied first so the picture still stands the right way up.
  JPEGs are re-encoded with their own quantization tables and subsampling (no visible loss), PNG
  losslessly, WebP as lossless or lossy as it came; HEIC becomes JPEG, which every browser shows. The
  colour profile (ICC) is kept: it is not personal and the colours depend on it.
* A thumbnail (JPEG, at most 320 px on its longer side) is made from the cleaned picture.
* Decoding stays within a memory budget (``ONGI_IMAGE_DECODE_BUDGET_MIB``): what a decode will cost (pixels ×
  the bytes Pillow keeps per pixel, and the copies the cleaning makes) is reckoned from the header before any
  pixel is decoded. A JPEG over the budget is reduced while decoding (DCT scaling, 1/2 to 1/8); a PNG, WebP or
  HEIC over it is refused (a 300 KiB PNG can announce 8,900 × 8,900 pixels: 300 MiB decoded).

This module sniffs the type, reckons the budget and runs the two passes; the lossless copy is
:mod:`app.media.stripping`, decoding, re-encoding and the thumbnail are :mod:`app.media.reencoding`.
"""

from __future__ import annotations

import hashlib
import os
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pillow_heif
from PIL import Image, UnidentifiedImageError

from app.media.reencoding import header_size, orientation, reencode, verify_and_thumbnail
from app.media.stripping import STRIPPERS

pillow_heif.register_heif_opener()

#: Largest picture accepted, in pixels (a 200-megapixel phone sensor bins to 50 MP; Pillow's own
#: decompression-bomb warning starts at about 89 MP).
MAX_PIXELS = 80_000_000
#: Default decode budget in bytes (the setting ``image_decode_budget_mib`` overrides it).
DECODE_BUDGET = 48 * 1024 * 1024
#: Bytes Pillow keeps per pixel by mode (RGB is stored in four bytes, like RGBA); modes not named: 4.
_STORED_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
#: Modes the thumbnail is made from as they are (others are converted first, a second full-size copy).
_THUMBNAIL_MODES = frozenset({"RGB", "L", "RGBA", "LA"})
HASH_CHUNK = 1024 * 1024

#: Detected kind → (Pillow format, content type of the stored file, file extension).
KINDS = {
    "jpeg": ("JPEG", "image/jpeg", "jpg"),
    "png": ("PNG", "image/png", "png"),
    "webp": ("WEBP", "image/webp", "webp"),
    "heic": ("HEIF", "image/jpeg", "jpg"),  # stored as JPEG
}
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"heif"})
#: Bytes needed to recognise every accepted kind.
SNIFF_BYTES = 32


class ImageRejected(Exception):
    """The file is not an acceptable photo. ``slug`` and ``detail`` name the problem to answer."""

    def __init__(self, status: int, slug: str, detail: str, **params: Any) -> None:
        super().__init__(slug)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.params = params


def sniff(head: bytes) -> str | None:
    """The kind of image the first bytes announce (``jpeg``, ``png``, ``webp``, ``heic``), or ``None``."""
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        box_size = struct.unpack(">I", head[:4])[0]
        major = head[8:12]
        compatible = {head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)}
        if b"avif" in (major, *compatible) and major not in (b"heic", b"heix"):
            return None
        if major in HEIF_BRANDS or compatible & (HEIF_BRANDS - {b"mif1", b"msf1"}):
            return "heic"
    return None


def could_be_image(head: bytes) -> bool:
    """Whether a file starting with ``head`` may still turn out to be an accepted image."""
    return len(head) < 12 or sniff(head) is not None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Processed:
    kind: str
    content_type: str
    width: int
    height: int
    path: Path
    size: int
    sha256: str
    thumbnail_path: Path
    thumbnail_size: int
    thumbnail_sha256: str


def _hash_file(path: Path) -> tuple[int, str]:
    return path.stat().st_size, file_sha256(path)


def decode_cost(kind: str, mode: str, size: tuple[int, int], *, turned: bool) -> int:
    """Bytes that decoding and cleaning a picture of ``mode`` and ``size`` hold at their peak: the decoded
    pixels, a converted copy for the thumbnail when the mode needs one, the turned copy when the picture is
    re-encoded upright, and libheif's own buffer for HEIC."""
    pixels = size[0] * size[1]
    cost = pixels * _STORED_BYTES.get(mode, 4)
    if mode not in _THUMBNAIL_MODES:
        cost += pixels * 4
    if turned:
        cost += pixels * 4
    if kind == "heic":
        cost += pixels * 3
    return cost


def _too_large(kind: str, mode: str, budget: int, *, turned: bool = False) -> ImageRejected:
    per_pixel = max(1, decode_cost(kind, mode, (1, 1), turned=turned))
    return ImageRejected(422, "image-too-large", "uploads.too-many-pixels", limit=budget // per_pixel)


def _jpeg_reduction(im: Image.Image, cost: int, budget: int) -> None:
    """Ask the JPEG decoder for the smallest DCT reduction (1/2, 1/4, 1/8) that fits ``budget``."""
    for scale in (1, 2, 4, 8):
        if cost // (scale * scale) <= budget:
            if scale > 1:
                width, height = im.size
                im.draft(im.mode, (-(-width // scale), -(-height // scale)))
            return
    raise _too_large("jpeg", im.mode, budget * 64, turned=True)


def process_image(
    source: Path,
    workdir: Path,
    *,
    max_pixels: int = MAX_PIXELS,
    decode_budget: int = DECODE_BUDGET,
    durable: bool = False,
) -> Processed:
    """Check that ``source`` is an accepted photo and write its cleaned copy and thumbnail into ``workdir``.
    ``durable``: the cleaned copy is flushed to disk while the picture decodes (it is kept as a local file),
    so that storing it later need not wait for that.

    Raises :class:`ImageRejected` for anything that is not a readable JPEG, PNG, WebP or HEIC picture, and for
    a PNG, WebP or HEIC whose decoding would take more than ``decode_budget`` bytes."""
    with open(source, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    kind = sniff(head)
    if kind is None:
        raise ImageRejected(415, "unsupported-image-type", "uploads.unsupported-type")
    pil_format, content_type, ext = KINDS[kind]
    out = workdir / f"clean.{ext}"
    clean: tuple[int, str] | None = None
    try:
        im = Image.open(source, formats=[pil_format])
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(422, "image-unreadable", "uploads.unreadable") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(422, "image-too-large", "uploads.too-many-pixels", limit=max_pixels) from exc
    try:
        with im:
            width, height = im.size
            if width * height > max_pixels:
                raise ImageRejected(422, "image-too-large", "uploads.too-many-pixels", limit=max_pixels)
            upright = orientation(im, source) == 1
            turned = kind != "heic" and not upright  # libheif turns a HEIC itself, no second copy
            cost = decode_cost(kind, im.mode, (width, height), turned=turned)
            if kind == "jpeg":
                if turned:  # decoded whole: reduce while decoding (an upright one decodes at thumbnail scale)
                    _jpeg_reduction(im, cost, decode_budget)
            elif cost > decode_budget:
                raise _too_large(kind, im.mode, decode_budget, turned=turned)
            if kind != "heic" and upright:
                # Nothing to turn: copy the picture's own data and leave every metadata block behind (hashing
                # the copy as it is written), while another thread decodes the same picture data from the
                # original to prove it whole and make the thumbnail: the two passes overlap.
                im.close()
                with ThreadPoolExecutor(1, thread_name_prefix="ongi-verify") as pool:
                    decoding = pool.submit(verify_and_thumbnail, source, pil_format)
                    try:
                        clean = STRIPPERS[kind](source, out)
                        if durable:
                            _fsync(out)
                    finally:
                        thumb, (final_width, final_height) = decoding.result()
                if (final_width, final_height) != (width, height) or header_size(out, pil_format) != (width, height):
                    raise ImageRejected(422, "image-unreadable", "uploads.unreadable")
            else:
                thumb, (final_width, final_height) = reencode(im, kind, source, out)
    except ImageRejected:
        raise
    except (OSError, SyntaxError, ValueError, IndexError, struct.error) as exc:
        raise ImageRejected(422, "image-unreadable", "uploads.unreadable") from exc
    thumb_path = workdir / "thumbnail.jpg"
    thumb.save(thumb_path, "JPEG", quality=80, optimize=True)
    size, sha = clean if clean is not None else _hash_file(out)
    thumb_size, thumb_sha = _hash_file(thumb_path)
    return Processed(
        kind=kind,
        content_type=content_type,
        width=final_width,
        height=final_height,
        path=out,
        size=size,
        sha256=sha,
        thumbnail_path=thumb_path,
        thumbnail_size=thumb_size,
        thumbnail_sha256=thumb_sha,
    )


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())
