"""Messages of the households domain (Korean and English)."""

from __future__ import annotations

from app.core.i18n import register

register(
    {
        "problem.illegal-status": {"ko": "허용되지 않는 상태 변경입니다", "en": "Status change not allowed"},
        "problem.consent-closed": {"ko": "이미 종료된 동의입니다", "en": "Consent already ended"},
        "households.illegal-status": {
            "ko": "가구 상태를 {from_status}에서 {to_status}(으)로 바꿀 수 없습니다. 가능한 상태: {allowed}",
            "en": "A household cannot go from {from_status} to {to_status}. Allowed: {allowed}",
        },
        "households.outside-jurisdiction": {
            "ko": "관할 구역 밖의 행정동입니다.",
            "en": "This dong is outside your jurisdiction.",
        },
        "households.codes-mismatch": {
            "ko": "행정동 코드는 시군구 코드로 시작해야 합니다.",
            "en": "The dong code must lie within the district code.",
        },
        "households.unknown-coordinator": {
            "ko": "이 가구를 담당할 수 있는 활성 조정자(coordinator)가 아닙니다.",
            "en": "Not an active coordinator whose jurisdiction covers this household.",
        },
        "households.unknown-member": {
            "ko": "가구원 목록에 없는 키입니다: {member}",
            "en": "No member has the key {member}.",
        },
        "households.required": {"ko": "비워 둘 수 없는 항목입니다.", "en": "This field cannot be empty."},
        "households.field-forbidden": {
            "ko": "이 역할은 다음 항목만 고칠 수 있습니다: {fields}",
            "en": "Your role may only change: {fields}",
        },
        "households.search-forbidden": {
            "ko": "이름·주소 검색은 공공 담당자만 할 수 있습니다.",
            "en": "Only public staff may search by name or address.",
        },
        "households.search-in-body": {
            "ko": "검색어는 주소(URL)에 넣지 않습니다. POST /v1/households/search 의 본문 q 로 보내세요.",
            "en": "Search text does not go in the URL: send it as q in the body of POST /v1/households/search.",
        },
        "households.consent-organization-required": {
            "ko": "수신 기관을 지정해야 합니다.",
            "en": "A recipient organization is required.",
        },
        "households.consent-organization-unexpected": {
            "ko": "all_partners 동의에는 기관을 지정하지 않습니다.",
            "en": "An all_partners consent names no organization.",
        },
        "households.consent-organization-unknown": {
            "ko": "활성 민간 기관이 아닙니다.",
            "en": "Not an active private organization.",
        },
        "households.consent-until-before-from": {
            "ko": "종료 시각은 시작 시각보다 뒤여야 합니다.",
            "en": "valid_until must be after valid_from.",
        },
        "households.consent-withdrawn": {
            "ko": "이미 철회된 동의입니다.",
            "en": "This consent was already withdrawn.",
        },
        "households.consent-not-given": {
            "ko": "거부 기록은 철회할 수 없습니다.",
            "en": "A refusal cannot be withdrawn.",
        },
        "households.indicator-unknown": {
            "ko": "알 수 없는 지표입니다: {values}",
            "en": "Unknown indicator(s): {values}",
        },
        # search, duplicates and merge (app.households.search, .duplicates, .merge)
        "problem.household-merged": {"ko": "다른 가구로 통합된 가구입니다", "en": "Household merged into another"},
        "problem.household-destroyed": {"ko": "개인정보가 파기된 가구입니다", "en": "Household data destroyed"},
        "problem.unmerge-expired": {"ko": "통합 취소 기한이 지났습니다", "en": "Too late to undo the merge"},
        "problem.survivor-merged": {"ko": "통합된 가구가 다시 통합되었습니다", "en": "The survivor was merged since"},
        "households.merged": {
            "ko": "이 가구는 다른 가구로 통합되었습니다. merged_into 의 가구를 보세요.",
            "en": "This household was merged into another: see the household in merged_into.",
        },
        "households.merge-self": {
            "ko": "가구를 자기 자신으로 통합할 수 없습니다.",
            "en": "A household cannot be merged into itself.",
        },
        "households.merge-destroyed": {
            "ko": "개인정보가 파기된 가구는 통합할 수 없습니다.",
            "en": "A household whose personal data was destroyed cannot be merged.",
        },
        "households.unmerge-expired": {
            "ko": "통합 후 30일이 지나 취소할 수 없습니다.",
            "en": "The merge can only be undone within 30 days.",
        },
        "households.unmerge-survivor-merged": {
            "ko": "통합받은 가구가 그 뒤 다른 가구로 통합되었습니다. 그 통합을 먼저 취소하세요.",
            "en": "The surviving household was merged into another since: undo that merge first.",
        },
    }
)
