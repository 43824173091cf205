"""Messages of the visits domain (Korean and English)."""

from __future__ import annotations

from app.core.i18n import register

register(
    {
        "problem.illegal-transition": {"ko": "허용되지 않는 방문 상태 변경입니다", "en": "Illegal visit transition"},
        "problem.visit-finished": {"ko": "이미 끝난 방문입니다", "en": "Visit already finished"},
        "visits.illegal-transition": {
            "ko": "방문 상태를 {from_status}에서 {to_status}(으)로 바꿀 수 없습니다. 가능한 상태: {allowed}",
            "en": "A visit cannot go from {from_status} to {to_status}. Allowed: {allowed}",
        },
        "visits.finished": {
            "ko": "끝난 방문({status})은 결과 요약 외에는 고칠 수 없습니다.",
            "en": "A finished visit ({status}) can only have its outcome edited.",
        },
        "visits.not-team": {
            "ko": "방문팀 구성원이나 관할 공무원만 방문 상태를 바꿀 수 있습니다.",
            "en": "Only the visit's team or public staff of the jurisdiction may change its status.",
        },
        "visits.cancel-forbidden": {
            "ko": "방문 취소는 공공 담당자(coordinator, planner)만 할 수 있습니다.",
            "en": "Only public staff (coordinator, planner) may cancel a visit.",
        },
        "visits.target-required": {
            "ko": "household_id와 facility_id 중 하나만 지정하세요.",
            "en": "Give exactly one of household_id and facility_id.",
        },
        "visits.target-unknown": {
            "ko": "없거나 관할 밖인 대상입니다.",
            "en": "No such target in your jurisdiction.",
        },
        "visits.safety-needs-facility": {
            "ko": "안전 점검은 시설을 대상으로 합니다.",
            "en": "A safety inspection targets a facility.",
        },
        "visits.window-order": {
            "ko": "방문 종료 시각은 시작 시각보다 뒤여야 합니다.",
            "en": "window_end must be after window_start.",
        },
        "visits.window-too-long": {
            "ko": "방문 기간은 최대 {days}일입니다.",
            "en": "A visit window is at most {days} days.",
        },
        "visits.assignee-unknown": {
            "ko": "배정할 수 없는 사용자입니다: 활성 상태의 planner·partner·coordinator이고 "
            "소속 기관이 이 지역에서 일해야 합니다.",
            "en": "Cannot be assigned: must be an active planner, partner or coordinator whose organization works "
            "in this area.",
        },
        "visits.joint-needs-both": {
            "ko": "합동 상담 방문에는 공공 기관과 민간 기관 담당자가 모두 있어야 합니다.",
            "en": "A joint consultation needs members from both a public and a private organization.",
        },
        "visits.lead-not-assignee": {
            "ko": "방문 책임자는 방문팀에 있어야 합니다.",
            "en": "The lead must be one of the assignees.",
        },
        "visits.duplicate": {"ko": "중복된 값입니다: {value}", "en": "Duplicate value: {value}"},
        "visits.checklist-unknown": {
            "ko": "게시된 체크리스트 버전이 아닙니다: {template} v{version}",
            "en": "Not a published checklist version: {template} v{version}",
        },
        "visits.campaign-unknown": {"ko": "없거나 종료된 캠페인입니다.", "en": "No such active campaign."},
        "visits.bad-range": {
            "ko": "날짜(YYYY-MM-DD) 또는 RFC 3339 날짜시간이어야 합니다.",
            "en": "Must be a date (YYYY-MM-DD) or an RFC 3339 date-time.",
        },
        "visits.assignee-query": {
            "ko": "assignee는 me 또는 사용자 ID여야 합니다.",
            "en": "assignee must be me or a user id.",
        },
        "visits.device-time": {
            "ko": "기기 시각에는 시간대가 있어야 합니다.",
            "en": "The device time needs a time zone.",
        },
        "visits.location": {
            "ko": "위치는 lat(-90~90), lon(-180~180), accuracy_m(0 이상)이어야 합니다.",
            "en": "A location is lat (-90..90), lon (-180..180) and accuracy_m (≥ 0).",
        },
        "facilities.outside-jurisdiction": {
            "ko": "관할 구역 밖의 행정동입니다.",
            "en": "This dong is outside your jurisdiction.",
        },
    }
)
