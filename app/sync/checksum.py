"""The checksum a pull answers with (docs/sync.md#pull): an additive summary of the (entity, id, version) the phone
should hold, so that the server keeps it up to date per device from what each pull sends, never re-reading
the holdings (the way PowerSync sums its bucket checksums).

Each record held adds the first 8 bytes of ``sha256("entity:id:version")`` (read as a big-endian unsigned
integer, the id in its lowercase hyphenated form); the checksum is the sum modulo 2**64 as 16 lowercase hex
digits. Order does not matter; nothing held is ``0000000000000000``. The phone computes the same sum over its
records (``web/src/shared/checksum.ts``, ``ongi_client/sync.py``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable

MOD = 1 << 64


def record_hash(entity: str, eid: uuid.UUID | str, version: int) -> int:
    """What one record held adds to the sum."""
    return int.from_bytes(hashlib.sha256(f"{entity}:{str(eid).lower()}:{version}".encode()).digest()[:8], "big")


def held(entity: str, eid: uuid.UUID | str, version: int | None, revoked: bool = False) -> int:
    """What a holding adds: its record's hash if the device holds it, else nothing."""
    return 0 if version is None or revoked else record_hash(entity, eid, version)


def encode(total: int) -> str:
    return f"{total % MOD:016x}"


def decode(text: str | None) -> int | None:
    """The sum a stored checksum stands for, or ``None`` when it is not one (empty, or of the former form)."""
    if not text or len(text) != 16:
        return None
    try:
        return int(text, 16)
    except ValueError:
        return None


def checksum_of(records: Iterable[tuple[str, uuid.UUID | str, int | None]]) -> str:
    """The checksum of a set of (entity, id, version), from scratch."""
    return encode(sum(held(entity, eid, version) for entity, eid, version in records))
