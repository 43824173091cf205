"""Messages of monitoring plans, in Korean and English."""

from __future__ import annotations

from app.core.i18n import register

register(
    {
        "care.owner-role": {
            "ko": "담당자는 이 가구를 방문할 수 있는 coordinator, planner 또는 partner여야 합니다.",
            "en": "The owner must be a coordinator, planner or partner who can visit the household.",
        },
    }
)
