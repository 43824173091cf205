"""Messages of the care domain, in Korean and English."""

from __future__ import annotations

from app.core.i18n import register

register(
    {
        # problem titles
        # (visits own "problem.illegal-transition"; each kind here has its own type and title)
        "problem.support-illegal-transition": {
            "ko": "허용되지 않는 지원 상태 변경입니다",
            "en": "Illegal support status change",
        },
        "problem.case-illegal-transition": {
            "ko": "허용되지 않는 사례 단계 변경입니다",
            "en": "Illegal case stage change",
        },
        "problem.resource-exhausted": {"ko": "자원이 소진되었습니다", "en": "Resource exhausted"},
        "problem.possible-duplicate-support": {"ko": "중복일 수 있는 지원입니다", "en": "Possible duplicate support"},
        "care.possible-duplicate-support": {
            "ko": "이 가구에는 같은 욕구의 지원이 기간이 겹쳐 {count}건 있습니다(duplicates). "
            "그래도 제안하려면 confirm: true로 다시 보내세요.",
            "en": "This household has {count} support(s) for the same need in an overlapping period "
            "(duplicates). Send again with confirm: true to propose it anyway.",
        },
        # details
        "care.support-illegal-transition": {
            "ko": "지원 상태를 {from_status}에서 {to_status}(으)로 바꿀 수 없습니다. 가능한 상태: {allowed}",
            "en": "A support cannot move from {from_status} to {to_status}. Allowed: {allowed}",
        },
        "care.case-illegal-transition": {
            "ko": "사례 단계를 {from_stage}에서 {to_stage}(으)로 바꿀 수 없습니다. 가능한 단계: {allowed}",
            "en": "A case cannot move from {from_stage} to {to_stage}. Allowed: {allowed}",
        },
        "care.resource-exhausted": {
            "ko": "이 자원의 남은 수량이 없습니다.",
            "en": "This resource has no remaining capacity.",
        },
        "care.support-duplicate": {
            "ko": "이 가구에 같은 자원의 진행 중인 지원이 이미 있습니다.",
            "en": "This household already has a support of this resource in progress.",
        },
        "care.case-duplicate": {
            "ko": "이 가구에 진행 중인 통합사례가 이미 있습니다.",
            "en": "This household already has an open case.",
        },
        "care.support-not-approver": {
            "ko": "이 지원을 {action}할 권한이 없습니다: {who}",
            "en": "You may not {action} this support: {who}",
        },
        "care.who-coordinator": {
            "ko": "공적 급여는 관할 통합사례관리사(coordinator)가 결정합니다",
            "en": "public benefits are decided by a coordinator of the jurisdiction",
        },
        "care.who-provider": {
            "ko": "민간 자원은 제공 기관의 직원이 결정합니다",
            "en": "private resources are decided by the provider organization's staff",
        },
        "care.who-household": {
            "ko": "가구에 접근할 수 있는 담당자만 신청할 수 있습니다",
            "en": "only staff who reach the household may request it",
        },
        "care.action-requested": {"ko": "신청", "en": "request"},
        "care.action-approved": {"ko": "승인", "en": "approve"},
        "care.action-provided": {"ko": "제공 완료 처리", "en": "mark as provided"},
        "care.action-declined": {"ko": "거절", "en": "decline"},
        "care.action-edit": {"ko": "수정", "en": "edit"},
        "care.case-not-manager": {
            "ko": "사례 관리자 또는 관할 coordinator만 이 사례를 변경할 수 있습니다.",
            "en": "Only the case manager or a coordinator of the jurisdiction may change this case.",
        },
        # field errors
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
        "care.period-order": {
            "ko": "종료일은 시작일보다 앞설 수 없습니다.",
            "en": "The end date cannot be before the start date.",
        },
        "care.unknown-resource": {
            "ko": "사용할 수 없는 자원입니다.",
            "en": "The resource is not available.",
        },
        "care.resource-other-district": {
            "ko": "이 가구의 구에서 제공하지 않는 자원입니다.",
            "en": "The resource is not offered in this household's district.",
        },
        "care.case-other-household": {
            "ko": "다른 가구의 사례입니다.",
            "en": "The case belongs to another household.",
        },
        "care.visit-other-household": {
            "ko": "다른 가구의 방문입니다.",
            "en": "The visit belongs to another household.",
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
        "care.owner-role": {
            "ko": "담당자는 이 가구를 방문할 수 있는 coordinator, planner 또는 partner여야 합니다.",
            "en": "The owner must be a coordinator, planner or partner who can visit the household.",
        },
        "care.unknown-criteria": {
            "ko": "알 수 없는 조건 값입니다: {values}",
            "en": "Unknown criteria value(s): {values}",
        },
        "care.not-closing": {
            "ko": "모니터링 설정은 사례를 종결하거나 지원을 제공 완료할 때만 쓸 수 있습니다.",
            "en": "Monitoring settings apply only when closing a case or marking a support provided.",
        },
    }
)
