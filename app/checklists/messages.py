"""Messages of the checklists domain, in Korean and English."""

from __future__ import annotations

from app.core.i18n import register

register(
    {
        # problem titles
        "problem.template-published": {"ko": "게시된 템플릿은 변경할 수 없습니다", "en": "Published template"},
        "problem.template-draft-exists": {"ko": "작성 중인 초안이 이미 있습니다", "en": "A draft already exists"},
        "problem.not-visit-team": {"ko": "방문 담당자가 아닙니다", "en": "Not on the visit's team"},
        "problem.visit-cancelled": {"ko": "취소된 방문입니다", "en": "Visit cancelled"},
        "problem.response-submitted": {"ko": "이미 제출된 응답입니다", "en": "Response already submitted"},
        # details
        "checklists.template-published": {
            "ko": "{template} 버전 {version}은(는) 이미 게시되어 변경할 수 없습니다. 새 버전을 만드세요.",
            "en": "{template} version {version} is published and can never change. Create a new version.",
        },
        "checklists.draft-exists": {
            "ko": "{template}의 초안(버전 {version})이 이미 있습니다. 그 초안을 수정하세요.",
            "en": "{template} already has a draft (version {version}); edit that draft.",
        },
        "checklists.key-owned": {
            "ko": "{template} 템플릿은 다른 기관이 관리합니다.",
            "en": "The template {template} is managed by another organization.",
        },
        "checklists.not-visit-team": {
            "ko": "체크리스트 응답은 이 방문의 담당자만 작성할 수 있습니다.",
            "en": "Only the visit's team may write its checklist responses.",
        },
        "checklists.visit-cancelled": {
            "ko": "취소된 방문에는 체크리스트를 작성할 수 없습니다.",
            "en": "A cancelled visit takes no checklist answers.",
        },
        "checklists.response-submitted": {
            "ko": "제출된 응답은 제출 취소할 수 없습니다. 답변은 계속 수정할 수 있습니다.",
            "en": "A submitted response cannot be un-submitted; its answers can still be amended.",
        },
        "checklists.template-not-pinned": {
            "ko": "이 방문에 지정된 체크리스트가 아닙니다: {template} 버전 {version}",
            "en": "The visit does not pin this checklist: {template} version {version}",
        },
        "checklists.template-unpublished": {
            "ko": "게시된 템플릿이 아닙니다: {template} 버전 {version}",
            "en": "Not a published template: {template} version {version}",
        },
        "checklists.response-mismatch": {
            "ko": "이 id는 다른 방문 또는 템플릿의 응답입니다.",
            "en": "This id belongs to a response of another visit or template.",
        },
        # draft validation
        "checklists.duplicate-item": {"ko": "항목 키가 중복됩니다: {item}", "en": "Duplicate item key: {item}"},
        "checklists.duplicate-option": {"ko": "선택지 값이 중복됩니다.", "en": "Duplicate option values."},
        "checklists.duplicate-band": {"ko": "구간 이름이 중복됩니다: {band}", "en": "Duplicate band: {band}"},
        "checklists.options-required": {
            "ko": "선택형 항목에는 선택지가 2개 이상 필요합니다.",
            "en": "A choice item needs at least two options.",
        },
        "checklists.options-forbidden": {
            "ko": "선택형이 아닌 항목에는 선택지를 둘 수 없습니다.",
            "en": "Only choice items have options.",
        },
        "checklists.weight-boolean": {
            "ko": "예/아니오 항목의 가중치는 숫자여야 합니다('예'일 때 더해집니다).",
            "en": "A boolean item's weight is a number (added when the answer is true).",
        },
        "checklists.weight-choice": {
            "ko": "선택형 항목의 가중치는 선택지 값마다 숫자를 주는 객체여야 합니다.",
            "en": "A choice item's weight maps existing option values to numbers.",
        },
        "checklists.weight-unscored": {
            "ko": "{type} 항목에는 가중치를 둘 수 없습니다.",
            "en": "A {type} item cannot carry a weight.",
        },
        "checklists.number-only": {
            "ko": "min, max, unit은 숫자 항목에만 쓸 수 있습니다.",
            "en": "min, max and unit apply to number items only.",
        },
        "checklists.range": {"ko": "최댓값이 최솟값보다 작습니다.", "en": "max is below min."},
        "checklists.bands-overlap": {
            "ko": "구간은 오름차순이어야 하고 겹치면 안 됩니다(앞 구간에 max가 필요합니다).",
            "en": "Bands must ascend without overlapping (every band but the last needs a max).",
        },
        "checklists.bands-unscored": {
            "ko": "점수 구간을 쓰려면 가중치가 있는 항목이 필요합니다.",
            "en": "Bands need at least one weighted item.",
        },
        "checklists.condition-invalid": {
            "ko": "표시 조건의 형식이 올바르지 않습니다.",
            "en": "Malformed visibility condition.",
        },
        "checklists.condition-branches": {
            "ko": "all/any에는 조건이 1~{max}개 있어야 합니다.",
            "en": "all/any take 1 to {max} conditions.",
        },
        "checklists.condition-too-deep": {
            "ko": "표시 조건은 {max}단계까지만 중첩할 수 있습니다.",
            "en": "Visibility conditions nest at most {max} deep.",
        },
        "checklists.condition-unknown-item": {
            "ko": "표시 조건은 앞에 있는 항목만 참조할 수 있습니다: {item}",
            "en": "A visibility condition may only refer to an earlier item: {item}",
        },
        "checklists.condition-type": {
            "ko": "{type} 항목 {item}에는 '{op}' 조건이나 그 값을 쓸 수 없습니다.",
            "en": "'{op}' with this value does not fit the {type} item {item}.",
        },
        # answers
        "checklists.unknown-item": {"ko": "템플릿에 없는 항목입니다.", "en": "No such item in the template."},
        "checklists.required": {"ko": "필수 항목입니다.", "en": "This item is required."},
        "checklists.value-boolean": {"ko": "true 또는 false여야 합니다.", "en": "Must be true or false."},
        "checklists.value-option": {
            "ko": "선택지 중에서 골라야 합니다: {options}",
            "en": "Must be among the options: {options}",
        },
        "checklists.value-duplicate": {"ko": "같은 선택지가 두 번 있습니다.", "en": "An option is chosen twice."},
        "checklists.value-number": {"ko": "숫자여야 합니다.", "en": "Must be a number."},
        "checklists.value-min": {"ko": "{min} 이상이어야 합니다.", "en": "Must be at least {min}."},
        "checklists.value-max": {"ko": "{max} 이하여야 합니다.", "en": "Must be at most {max}."},
        "checklists.value-text": {"ko": "문자열이어야 합니다.", "en": "Must be text."},
        "checklists.value-text-long": {"ko": "{max}자 이하여야 합니다.", "en": "At most {max} characters."},
        "checklists.value-date": {"ko": "날짜(YYYY-MM-DD)여야 합니다.", "en": "Must be a date (YYYY-MM-DD)."},
        "checklists.value-photo": {
            "ko": "사진 id(UUID) 또는 최대 {max}개의 사진 id 목록이어야 합니다.",
            "en": "Must be a photo id (UUID) or a list of at most {max} photo ids.",
        },
        "checklists.answered-at-naive": {
            "ko": "answered_at에는 시간대가 있어야 합니다.",
            "en": "answered_at needs a time zone.",
        },
    }
)
