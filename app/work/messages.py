"""Messages of workload and reassignment, in Korean and English."""

from __future__ import annotations

from app.core.i18n import register

register(
    {
        "problem.open-work": {"ko": "남은 업무가 있습니다", "en": "Open work remains"},
        "problem.reassign-unplaced": {"ko": "넘겨받을 사람이 없는 업무가 있습니다", "en": "Work nobody may take"},
        "work.kind-visits": {"ko": "방문", "en": "visits"},
        "work.kind-cases": {"ko": "사례", "en": "cases"},
        "work.kind-monitoring": {"ko": "모니터링", "en": "monitoring plans"},
        "work.kind-tasks": {"ko": "과업", "en": "tasks"},
        "work.open-work": {
            "ko": "이 사용자에게 아직 처리하지 않은 업무가 {total}건 있습니다({counts}). "
            "비활성화하기 전에 POST {path}로 다른 사람에게 넘기세요.",
            "en": "This user still holds {total} open item(s) ({counts}). Reassign them with "
            "POST {path} before deactivating the user.",
        },
        "work.open-work-org": {
            "ko": "이 기관의 사용자들에게 아직 처리하지 않은 업무가 {total}건 있습니다({counts}). "
            "비활성화하기 전에 각 사용자의 업무를 POST {path}로 다른 사람에게 넘기세요.",
            "en": "The users of this organization still hold {total} open item(s) ({counts}). Reassign each "
            "user's work with POST {path} before deactivating the organization.",
        },
        "work.unplaced": {
            "ko": "받는 사람 중 누구도 맡을 수 없는 업무가 {count}건 있어 아무것도 넘기지 않았습니다(unplaced). "
            "그 동을 관할하는(합동 방문은 같은 기관 유형의) 사람을 to에 더하세요.",
            "en": "{count} item(s) fit none of the receivers, so nothing was moved (unplaced). Add someone "
            "who covers their dong (for a joint visit, of the same kind of organization) to `to`.",
        },
        "work.span-order": {"ko": "to는 from 이후여야 합니다.", "en": "`to` must not be before `from`."},
        "work.span-too-long": {
            "ko": "한 번에 최대 {days}일까지 볼 수 있습니다.",
            "en": "At most {days} days at a time.",
        },
        "work.outside-jurisdiction": {
            "ko": "관할 구역 밖의 코드입니다.",
            "en": "This code lies outside your jurisdiction.",
        },
        "work.unknown-kind": {
            "ko": "알 수 없는 업무 종류입니다. 가능한 값: {kinds}",
            "en": "Unknown kind of work. Allowed: {kinds}",
        },
        "work.receiver-twice": {"ko": "같은 사람이 두 번 있습니다.", "en": "The same user is named twice."},
        "work.receiver-is-leaver": {
            "ko": "업무를 넘기는 사람 자신에게는 넘길 수 없습니다.",
            "en": "Work cannot be reassigned to the user it is taken from.",
        },
        "work.receiver-unknown": {
            "ko": "관할 구역에서 업무를 맡을 수 있는 활성 사용자(planner, partner, coordinator)가 아닙니다.",
            "en": "Not an active user who may take work in your jurisdiction (planner, partner, coordinator).",
        },
    }
)
