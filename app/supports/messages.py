"""Messages of supports, in Korean and English. ``care.period-order`` is also the monitoring plans' and
campaigns' field error."""

from __future__ import annotations

from app.core.i18n import register

register(
    {
        "problem.support-illegal-transition": {
            "ko": "허용되지 않는 지원 상태 변경입니다",
            "en": "Illegal support status change",
        },
        "problem.possible-duplicate-support": {"ko": "중복일 수 있는 지원입니다", "en": "Possible duplicate support"},
        "care.possible-duplicate-support": {
            "ko": "이 가구에는 같은 욕구의 지원이 기간이 겹쳐 {count}건 있습니다(duplicates). "
            "그래도 제안하려면 confirm: true로 다시 보내세요.",
            "en": "This household has {count} support(s) for the same need in an overlapping period "
            "(duplicates). Send again with confirm: true to propose it anyway.",
        },
        "care.support-illegal-transition": {
            "ko": "지원 상태를 {from_status}에서 {to_status}(으)로 바꿀 수 없습니다. 가능한 상태: {allowed}",
            "en": "A support cannot move from {from_status} to {to_status}. Allowed: {allowed}",
        },
        "care.support-duplicate": {
            "ko": "이 가구에 같은 자원의 진행 중인 지원이 이미 있습니다.",
            "en": "This household already has a support of this resource in progress.",
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
        "care.visit-other-household": {
            "ko": "다른 가구의 방문입니다.",
            "en": "The visit belongs to another household.",
        },
    }
)
