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
"""

from __future__ import annotations

import hashlib
import mmap
import os
import re
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pillow_heif
from PIL import Image, ImageOps, JpegImagePlugin, UnidentifiedImageError

pillow_heif.register_heif_opener()

#: Largest picture accepted, in pixels (a 200-megapixel phone sensor bins to 50 MP; Pillow's own
#: decompression-bomb warning starts at about 89 MP).
MAX_PIXELS = 80_000_000
THUMBNAIL_SIZE = 320
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


def _orientation(im: Image.Image, source: Path | None = None) -> int:
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
            upright = _orientation(im, source) == 1
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
                    decoding = pool.submit(_verify_and_thumbnail, source, pil_format)
                    try:
                        clean = STRIPPERS[kind](source, out)
                        if durable:
                            _fsync(out)
                    finally:
                        thumb, (final_width, final_height) = decoding.result()
                if (final_width, final_height) != (width, height) or _header_size(out, pil_format) != (width, height):
                    raise ImageRejected(422, "image-unreadable", "uploads.unreadable")
            else:
                thumb, (final_width, final_height) = _reencode(im, kind, source, out)
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


def _header_size(path: Path, pil_format: str) -> tuple[int, int]:
    """The picture size a file's header declares (nothing decoded)."""
    with Image.open(path, formats=[pil_format]) as im:
        return im.size


def _verify_and_thumbnail(path: Path, pil_format: str) -> tuple[Image.Image, tuple[int, int]]:
    """Decode the cleaned file (a JPEG at reduced scale, which still reads every coefficient) to prove it is
    a whole picture, and make the thumbnail from it."""
    with Image.open(path, formats=[pil_format]) as im:
        size = im.size
        if pil_format == "JPEG":
            im.draft(im.mode if im.mode in ("RGB", "L") else None, (THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        im.load()
        return _thumbnail(im), size


def _reencode(im: Image.Image, kind: str, source: Path, out: Path) -> tuple[Image.Image, tuple[int, int]]:
    """Decode, apply the orientation, and encode the pixels alone (HEIC, or a picture stored turned)."""
    info = dict(im.info)  # what the file said; nothing of it is written back except as chosen below
    icc = info.get("icc_profile")
    im.load()
    jpeg_options = _jpeg_options(im, info) if kind in ("jpeg", "heic") else {}
    # HEIF: libheif applies the rotation itself and pillow-heif resets the EXIF orientation to 1.
    cleaned = ImageOps.exif_transpose(im) if _orientation(im, source) != 1 else im
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


# --- lossless stripping: copy the picture's data, leave metadata behind ---------------------------------------
#
# Allow-lists: only what a decoder needs to show the picture as intended is copied; everything else (EXIF,
# GPS, XMP, IPTC, comments, text chunks, maker data, embedded thumbnails, secondary images after the end
# of the primary one) is dropped. The source is memory-mapped, not read into memory.


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
