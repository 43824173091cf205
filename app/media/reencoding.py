"""The pixels of a photo: its EXIF orientation, re-encoding the pixels alone (HEIC, or a picture stored turned)
so that no metadata survives, proving a cleaned file decodes whole, and the thumbnail (JPEG, at most
``THUMBNAIL_SIZE`` px on its longer side). Blocking, like all of :mod:`app.media.images`.
"""

from __future__ import annotations

import mmap
import os
import struct
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, JpegImagePlugin

THUMBNAIL_SIZE = 320


def orientation(im: Image.Image, source: Path | None = None) -> int:
    """The EXIF orientation (1 = upright). For a PNG whose eXIf chunk follows the pixels, read it from the
    file rather than decoding the picture to find it."""
    try:
        if im.format == "PNG" and "exif" not in im.info and source is not None:
            raw = _png_exif(source)
            if raw is None:
                return 1
            exif = Image.Exif()
            exif.load(raw)
            return int(exif.get(0x0112, 1) or 1)
        return int(im.getexif().get(0x0112, 1) or 1)
    except Exception:
        return 1


def _png_exif(source: Path) -> bytes | None:
    with open(source, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        pos, size = 8, len(mm)
        while pos + 8 <= size:
            length = struct.unpack(">I", mm[pos : pos + 4])[0]
            kind = mm[pos + 4 : pos + 8]
            if kind == b"eXIf":
                return bytes(mm[pos + 8 : pos + 8 + length])
            if kind == b"IEND":
                return None
            pos += 12 + length
    return None


def _jpeg_options(source: Image.Image, info: dict[str, Any]) -> dict[str, Any]:
    """Encoder settings that keep a JPEG's quality: its own quantization tables and subsampling."""
    options: dict[str, Any] = {"optimize": False, "exif": b"", "comment": b""}
    if info.get("icc_profile"):
        options["icc_profile"] = info["icc_profile"]
    if source.format == "JPEG" and getattr(source, "quantization", None):
        options["qtables"] = source.quantization
        sampling = JpegImagePlugin.get_sampling(source)
        if sampling != -1:
            options["subsampling"] = sampling
        if info.get("progressive") or info.get("progression"):
            options["progressive"] = True
    else:
        options["quality"] = 90
    return options


def _save_jpeg(im: Image.Image, options: dict[str, Any], target: Path) -> None:
    if im.mode not in ("RGB", "L", "CMYK"):
        im = _flatten(im)
    im.save(target, "JPEG", **options)


def _flatten(im: Image.Image) -> Image.Image:
    """RGB on white (for JPEG output)."""
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return im.convert("RGB")


def _webp_lossless(path: Path) -> bool:
    """Whether a WebP file holds a lossless (VP8L) bitstream."""
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12:
            return False
        while True:
            header = fh.read(8)
            if len(header) < 8:
                return False
            fourcc, size = header[:4], struct.unpack("<I", header[4:])[0]
            if fourcc == b"VP8L":
                return True
            if fourcc == b"VP8 ":
                return False
            fh.seek(size + (size & 1), os.SEEK_CUR)


def header_size(path: Path, pil_format: str) -> tuple[int, int]:
    """The picture size a file's header declares (nothing decoded)."""
    with Image.open(path, formats=[pil_format]) as im:
        return im.size


def verify_and_thumbnail(path: Path, pil_format: str) -> tuple[Image.Image, tuple[int, int]]:
    """Decode the cleaned file (a JPEG at reduced scale, which still reads every coefficient) to prove it is
    a whole picture, and make the thumbnail from it."""
    with Image.open(path, formats=[pil_format]) as im:
        size = im.size
        if pil_format == "JPEG":
            im.draft(im.mode if im.mode in ("RGB", "L") else None, (THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        im.load()
        return _thumbnail(im), size


def reencode(im: Image.Image, kind: str, source: Path, out: Path) -> tuple[Image.Image, tuple[int, int]]:
    """Decode, apply the orientation, and encode the pixels alone (HEIC, or a picture stored turned)."""
    info = dict(im.info)  # what the file said; nothing of it is written back except as chosen below
    icc = info.get("icc_profile")
    im.load()
    jpeg_options = _jpeg_options(im, info) if kind in ("jpeg", "heic") else {}
    # HEIF: libheif applies the rotation itself and pillow-heif resets the EXIF orientation to 1.
    cleaned = ImageOps.exif_transpose(im) if orientation(im, source) != 1 else im
    if cleaned is not im:
        im.close()  # the turned copy is all that is needed now: free the decoded original
    thumb = _thumbnail(cleaned)
    # Pillow writes some of an image's own info back when saving (a JPEG comment, for one): drop it all.
    cleaned.info = {}
    if kind in ("jpeg", "heic"):
        _save_jpeg(cleaned, jpeg_options, out)
    elif kind == "png":
        options: dict[str, Any] = {"optimize": False}
        if icc:
            options["icc_profile"] = icc
        if "transparency" in info and cleaned.mode in ("P", "L", "RGB"):
            options["transparency"] = info["transparency"]
        cleaned.save(out, "PNG", **options)
    else:
        options = {"exif": b"", "xmp": b""}
        if icc:
            options["icc_profile"] = icc
        if _webp_lossless(source):
            options["lossless"] = True
        else:
            options["quality"] = 90
        cleaned.save(out, "WEBP", **options)
    return thumb, cleaned.size


def _thumbnail(im: Image.Image) -> Image.Image:
    width, height = im.size
    scale = min(1.0, THUMBNAIL_SIZE / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        im = im.point(lambda v: v / 256).convert("L")  # 16-bit grey: scale to 8 bits
    elif im.mode not in ("RGB", "L", "RGBA", "LA"):
        im = im.convert("RGBA" if im.mode in ("P", "PA") else "RGB")
    small = im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0) if scale < 1 else im.copy()
    if small.mode not in ("RGB", "L"):
        small = _flatten(small)
    small.info = {}
    return small
