"""What the end-to-end tests ask of Python (the project's .venv): make and inspect photos with Pillow, and
create or drop a PostgreSQL database for one run (asyncpg). Called by harness.mjs; prints JSON.

    support.py make-photo PATH MIB       a real camera-like JPEG of at least MIB MiB, EXIF with GPS
    support.py inspect-photo PATH        format, size, dimensions, whether EXIF/GPS is left, sha256
    support.py pg-create ADMIN_URL NAME  CREATE DATABASE (ADMIN_URL: postgresql+asyncpg://user@host:port/db)
    support.py pg-drop ADMIN_URL NAME    DROP DATABASE ... WITH (FORCE)
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import random
import sys
from pathlib import Path


def make_photo(path: str, mib: str) -> dict[str, object]:
    from PIL import Image

    target = int(float(mib) * 1024 * 1024)
    # Noise does not compress: at quality 95 a pixel costs about 3.3 bytes; grow until the file is big enough.
    side = int((target / 3.3) ** 0.5)
    rnd = random.Random(16)
    while True:
        image = Image.frombytes("RGB", (side, side), rnd.randbytes(side * side * 3))
        exif = Image.Exif()
        exif[0x010F] = "OngiE2EPhone"  # Make
        exif[0x0110] = "Field Camera"  # Model
        exif.get_ifd(0x8825).update({1: "N", 2: (37.0, 33.0, 58.0), 3: "E", 4: (126.0, 58.0, 41.0)})
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=95, exif=exif.tobytes())
        data = buf.getvalue()
        if len(data) >= target:
            break
        side = int(side * (target / len(data)) ** 0.5) + 8
    Path(path).write_bytes(data)
    return {"path": path, "size": len(data), "width": side, "height": side, "sha256": hashlib.sha256(data).hexdigest()}


def inspect_photo(path: str) -> dict[str, object]:
    from PIL import Image

    data = Path(path).read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        image.load()  # decodes every byte: a truncated file fails here
        exif = image.getexif()
        gps = dict(exif.get_ifd(0x8825))
        return {
            "format": image.format,
            "size": len(data),
            "width": image.width,
            "height": image.height,
            "sha256": hashlib.sha256(data).hexdigest(),
            "exif_tags": sorted(int(k) for k in exif),
            "gps": {str(k): str(v) for k, v in gps.items()},
            "make": exif.get(0x010F),
        }


async def _pg(url: str, sql: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    conn = await asyncpg.connect(
        user=u.username, password=u.password, host=u.host or "127.0.0.1", port=u.port or 5432, database=u.database
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main(argv: list[str]) -> None:
    command, *args = argv
    if command == "make-photo":
        out: object = make_photo(*args)
    elif command == "inspect-photo":
        out = inspect_photo(*args)
    elif command == "pg-create":
        asyncio.run(_pg(args[0], f'CREATE DATABASE "{args[1]}"'))
        out = {"created": args[1]}
    elif command == "pg-drop":
        asyncio.run(_pg(args[0], f'DROP DATABASE IF EXISTS "{args[1]}" WITH (FORCE)'))
        out = {"dropped": args[1]}
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
