"""Messages of area names (Korean and English)."""

from __future__ import annotations

from app.core.i18n import register

register(
    {
        "areas.outside-jurisdiction": {
            "ko": "관할 구역 밖의 코드입니다: {code}",
            "en": "Outside your jurisdiction: {code}",
        },
    }
)
