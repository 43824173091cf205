"""Messages of campaigns, in Korean and English."""

from __future__ import annotations

from app.core.i18n import register

register(
    {
        "care.unknown-criteria": {
            "ko": "알 수 없는 조건 값입니다: {values}",
            "en": "Unknown criteria value(s): {values}",
        },
        "campaigns.dimension.total": {"ko": "합계", "en": "Total"},
        "campaigns.dimension.district": {"ko": "시군구별", "en": "By district"},
        "campaigns.dimension.dong": {"ko": "행정동별", "en": "By dong"},
        "campaigns.dimension.source": {"ko": "발굴 경로별", "en": "By source"},
        "campaigns.dimension.dong_source": {"ko": "행정동×발굴 경로", "en": "Dong × source"},
        "campaigns.source.bigdata": {
            "ko": "빅데이터(단전·단수·체납 등)",
            "en": "Big-data list (utility cuts, arrears)",
        },
        "campaigns.source.lonely_death_screening": {"ko": "고독사 위험 조사", "en": "Lonely-death screening"},
        "campaigns.source.agency_referral": {
            "ko": "기관 의뢰(경찰·소방 등)",
            "en": "Agency referral (police, fire, …)",
        },
        "campaigns.source.resident_report": {"ko": "주민 제보", "en": "Resident report"},
        "campaigns.source.honorary_official": {"ko": "명예사회복지공무원 제보", "en": "Honorary welfare official"},
        "campaigns.source.benefit_rejected": {"ko": "수급 탈락·중지", "en": "Benefit rejected or stopped"},
        "campaigns.source.unknown": {"ko": "경로 미상", "en": "Unknown source"},
    }
)
