"""API shape of a consent's signed form."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from app.core.schemas import Public


class ConsentFormPublic(Public):
    """The signed form kept with a consent (download it from ``…/consents/{id}/form`` with a reason)."""

    content_type: str = Field(
        description="image/jpeg, image/png, image/webp (a HEIC is kept as JPEG) or application/pdf"
    )
    size: int
    sha256: str = Field(description="sha256 of the stored file (an image cleaned of its metadata)")
    uploaded_at: datetime
