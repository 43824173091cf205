"""Messages of the resource catalog, in Korean and English. ``care.outside-jurisdiction`` is also the
campaigns' field error."""

from __future__ import annotations

from app.core.i18n import register

register(
    {
        "problem.resource-exhausted": {"ko": "자원이 소진되었습니다", "en": "Resource exhausted"},
        "care.resource-exhausted": {
            "ko": "이 자원의 남은 수량이 없습니다.",
            "en": "This resource has no remaining capacity.",
        },
        "care.outside-jurisdiction": {
            "ko": "관할 구역 밖의 코드입니다: {code}",
            "en": "Outside your jurisdiction: {code}",
        },
        "care.unknown-category": {
            "ko": "{kind} 자원의 분류가 아닙니다. 가능한 분류: {allowed}",
            "en": "Not a category of {kind} resources. Allowed: {allowed}",
        },
        "care.public-benefit-provider": {
            "ko": "공적 급여의 제공 기관은 공공 기관이어야 합니다.",
            "en": "A public benefit's provider must be a public organization.",
        },
        "care.unknown-organization": {"ko": "알 수 없는 기관입니다.", "en": "Unknown organization."},
        "care.remaining-over-capacity": {
            "ko": "남은 수량은 0 이상, 전체 수량 이하여야 합니다.",
            "en": "Remaining must be between 0 and the capacity.",
        },
    }
)
