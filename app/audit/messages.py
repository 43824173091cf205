"""Messages of the audit domain (Korean and English)."""

from __future__ import annotations

from app.core.i18n import register

register(
    {
        "audit.bad-time": {
            "ko": "날짜(YYYY-MM-DD) 또는 RFC 3339 날짜시간이어야 합니다.",
            "en": "Must be a date (YYYY-MM-DD) or an RFC 3339 date-time.",
        },
        "audit.bad-month": {"ko": "YYYY-MM 형식이어야 합니다.", "en": "Must be a month, YYYY-MM."},
        "audit.month-not-over": {
            "ko": "끝나지 않은 달은 검토 완료 처리할 수 없습니다.",
            "en": "A month can be signed off only once it is over.",
        },
        "exports.reason-required": {
            "ko": "개인정보를 내려받는 사유를 Ongi-Reason 헤더에 적어 주세요 (UTF-8, 퍼센트 인코딩, 2~500자).",
            "en": "Give the reason for downloading personal data in the Ongi-Reason header "
            "(UTF-8, percent-encoded, 2-500 characters).",
        },
        "audit.signed-off": {
            "ko": "이 달의 점검은 이미 검토 완료되었습니다.",
            "en": "This month's review was signed off already.",
        },
    }
)
