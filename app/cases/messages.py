"""Messages of integrated cases, in Korean and English. ``care.case-other-household`` and ``care.not-closing``
are also the supports' and monitoring plans' field errors."""

from __future__ import annotations

from app.core.i18n import register

register(
    {
        "problem.case-illegal-transition": {
            "ko": "허용되지 않는 사례 단계 변경입니다",
            "en": "Illegal case stage change",
        },
        "care.case-illegal-transition": {
            "ko": "사례 단계를 {from_stage}에서 {to_stage}(으)로 바꿀 수 없습니다. 가능한 단계: {allowed}",
            "en": "A case cannot move from {from_stage} to {to_stage}. Allowed: {allowed}",
        },
        "care.case-duplicate": {
            "ko": "이 가구에 진행 중인 통합사례가 이미 있습니다.",
            "en": "This household already has an open case.",
        },
        "care.case-not-manager": {
            "ko": "사례 관리자 또는 관할 coordinator만 이 사례를 변경할 수 있습니다.",
            "en": "Only the case manager or a coordinator of the jurisdiction may change this case.",
        },
        "care.case-other-household": {
            "ko": "다른 가구의 사례입니다.",
            "en": "The case belongs to another household.",
        },
        "care.unknown-user": {"ko": "알 수 없거나 비활성화된 사용자입니다.", "en": "Unknown or inactive user."},
        "care.manager-role": {
            "ko": "사례 관리자는 이 가구를 관할하는 coordinator 또는 planner여야 합니다.",
            "en": "A case manager must be a coordinator or planner whose jurisdiction covers the household.",
        },
        "care.member-role": {
            "ko": "사례 팀원은 관할 공공 직원(coordinator, planner) 또는 민간 기관의 partner여야 합니다.",
            "en": "Team members are public staff of the jurisdiction (coordinator, planner) or private partners.",
        },
        "care.not-closing": {
            "ko": "모니터링 설정은 사례를 종결하거나 지원을 제공 완료할 때만 쓸 수 있습니다.",
            "en": "Monitoring settings apply only when closing a case or marking a support provided.",
        },
    }
)
