"""Photos: a few small real JPEGs (and thumbnails), the photo rows of completed visits that point at
them, and storing the images (identical content once, as uploads are)."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from typing import Any

from app.demo.district.rows import random_hex
from app.demo.district.state import DistrictState
from app.demo.templates import BENCH_KEYS


def demo_images(count: int) -> list[dict[str, Any]]:
    """Small real JPEGs (and thumbnails) that the generated photos point at: identical content is stored
    once, as uploads are."""
    from PIL import Image, ImageDraw

    palette = ((196, 164, 132), (120, 144, 156), (205, 220, 57), (141, 110, 99), (176, 190, 197), (255, 204, 128))
    out = []
    for i in range(count):
        img = Image.new("RGB", (640, 480), palette[i % len(palette)])
        draw = ImageDraw.Draw(img)
        for k in range(0, 640, 40):
            shade = tuple(max(0, c - (k // 40) * 6) for c in palette[(i + 1) % len(palette)])
            draw.rectangle((k, 300 + (k * (i + 1)) % 120, k + 38, 480), fill=shade)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=80)
        thumb = img.copy()
        thumb.thumbnail((320, 240))
        tbuf = io.BytesIO()
        thumb.save(tbuf, "JPEG", quality=75)
        data, tdata = buf.getvalue(), tbuf.getvalue()
        out.append(
            {
                "bytes": data,
                "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data),
                "width": 640,
                "height": 480,
                "thumb": tdata,
                "thumb_sha256": hashlib.sha256(tdata).hexdigest(),
                "thumb_size": len(tdata),
            }
        )
    return out


async def store_images(storage: Any, images: list[dict[str, Any]]) -> None:
    """Put the images and their thumbnails into ``storage`` (an ``app.media.storage.Storage``) unless there."""
    from app.media.photos import content_key, thumbnail_key

    for image in images:
        for key, data in (
            (content_key(image["sha256"]), image["bytes"]),
            (thumbnail_key(image["thumb_sha256"]), image["thumb"]),
        ):
            if not await storage.exists(key):
                await storage.put_stream(key, _once(data), content_type="image/jpeg")


async def _once(data: bytes) -> Any:
    yield data


class PhotoRows(DistrictState):
    def photos(self, images: list[dict[str, Any]]) -> None:
        if not images:
            return
        try:
            from app.media.models import Photo
            from app.media.photos import content_key, thumbnail_key
        except ImportError:
            self.missing.append("photos (app.media.models.Photo)")
            return
        g, rng = self.g, self.rng
        targets = [v for v in self.completed_visits if v["household_id"] is not None]
        expecting = [v for v in targets if v["expected_photos"]]
        photo_items = {
            "lonely_death_screening": "home_condition_photo",
            "crisis_household_assessment": "living_condition_photo",
        }
        photo_items |= {key: "home_photo" for key, *_ in BENCH_KEYS}
        if not targets:
            return
        for k in range(self.spec.photos):
            visit = expecting[k % len(expecting)] if expecting and k < 2 * len(expecting) else rng.choice(targets)
            if visit["expected_photos"] and rng.random() < 0.7:
                item_key: str | None = visit["expected_photos"][0]["key"]
            else:
                pins = [p["key"] for p in visit["checklists"] if p["key"] in photo_items]
                item_key = photo_items[pins[0]] if pins else None
            image = images[k % len(images)]
            taken = visit["checked_in_at"] + timedelta(minutes=rng.randrange(1, 30))
            g.t.add(
                Photo,
                {
                    **g.base(visit["checked_out_at"] + timedelta(minutes=rng.randrange(1, 120))),
                    "visit_id": visit["id"],
                    "household_id": visit["household_id"],
                    "item_key": item_key,
                    "caption": rng.choice(("주거 환경", "난방 상태", "냉장고 내부", "현관 앞", None)),
                    "taken_at": taken,
                    "sha256": image["sha256"],
                    "original_sha256": random_hex(rng),
                    "size": image["size"],
                    "width": image["width"],
                    "height": image["height"],
                    "content_type": "image/jpeg",
                    "storage_key": content_key(image["sha256"]),
                    "thumbnail_key": thumbnail_key(image["thumb_sha256"]),
                    "thumbnail_sha256": image["thumb_sha256"],
                    "thumbnail_size": image["thumb_size"],
                    "uploaded_by_id": self.visit_team[visit["id"]][0],
                    "upload_id": None,
                    "deleted_at": None,
                    "deleted_by_id": None,
                },
            )
