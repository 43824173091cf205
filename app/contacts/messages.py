"""Messages of contact attempts (Korean and English)."""

from __future__ import annotations

from app.core.i18n import register

register(
    {
        "problem.contact-attempt-exists": {
            "ko": "같은 id의 다른 연락 시도가 이미 있습니다",
            "en": "Another contact attempt has this id",
        },
        "contacts.attempt-exists": {
            "ko": "연락 시도는 기록된 뒤 바뀌지 않습니다(메모만 작성자가 고칠 수 있습니다).",
            "en": "A contact attempt does not change once recorded (only its author may edit the note).",
        },
        "contacts.future": {
            "ko": "연락 시각이 미래입니다.",
            "en": "The attempt's time is in the future.",
        },
        "contacts.step.registered_mail": {
            "ko": "등기우편을 보내 안내하세요.",
            "en": "Send a registered letter.",
        },
        "contacts.step.fact_check": {
            "ko": "주민등록 사실조사를 요청하세요.",
            "en": "Ask for a residence fact check (주민등록 사실조사).",
        },
        "contacts.step.review": {
            "ko": "담당 공무원이 거주불명 처리 여부를 검토하세요.",
            "en": "The coordinator reviews whether to record the household as of unknown residence.",
        },
    }
)
