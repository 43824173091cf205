"""Messages of the crisis-report domain (Korean and English)."""

from __future__ import annotations

from app.core.i18n import register

register(
    {
        "problem.report-closed": {"ko": "이미 처리된 제보입니다", "en": "Report already decided"},
        "reports.already-decided": {
            "ko": "이 제보는 이미 {status} 상태입니다.",
            "en": "This report is already {status}.",
        },
        "reports.outside-area": {
            "ko": "활동 지역 밖의 행정동입니다.",
            "en": "This dong is outside your organization's area.",
        },
        "reports.reason-required": {
            "ko": "종결 사유를 입력하세요.",
            "en": "Give the reason for dismissing the report.",
        },
        "reports.head-name-required": {
            "ko": "가구를 만들려면 세대주 이름이 필요합니다.",
            "en": "A head name is needed to create a household.",
        },
        "reports.household-unknown": {
            "ko": "없거나 접근할 수 없는 가구입니다.",
            "en": "No such household, or not one you may see.",
        },
        "reports.household-conflict": {
            "ko": "household_id와 create_new는 함께 쓸 수 없습니다.",
            "en": "household_id and create_new exclude each other.",
        },
        "reports.outcome.new": {
            "ko": "접수되었습니다. 담당 공무원이 곧 확인합니다.",
            "en": "Received. A welfare official will look at it soon.",
        },
        "reports.outcome.triaged": {
            "ko": "담당 공무원이 확인하여 지원 절차를 시작했습니다. 제보해 주셔서 감사합니다.",
            "en": "An official has taken this up and started the support process. Thank you for reporting.",
        },
        "reports.progress.received": {"ko": "접수", "en": "Received"},
        "reports.progress.visited": {"ko": "방문 완료", "en": "Visited"},
        "reports.progress.support_linked": {"ko": "지원 연계", "en": "Support linked"},
        "reports.progress.closed": {"ko": "종결", "en": "Closed"},
        # what the reporter is sent (SMS or KakaoTalk): no household detail, only the day of the report
        "reports.notice.received": {
            "ko": "[온기] {date}에 제보하신 건이 접수되었습니다.",
            "en": "[Ongi] Your report of {date} was received.",
        },
        "reports.notice.visited": {
            "ko": "[온기] {date}에 제보하신 건에 대해 담당 공무원이 방문을 마쳤습니다. 제보해 주셔서 감사합니다.",
            "en": "[Ongi] An official has visited about your report of {date}. Thank you for reporting.",
        },
        "reports.notice.support_linked": {
            "ko": "[온기] {date}에 제보하신 건이 필요한 지원으로 연계되었습니다. 제보해 주셔서 감사합니다.",
            "en": "[Ongi] Your report of {date} has led to support. Thank you for reporting.",
        },
        "reports.notice.closed": {
            "ko": "[온기] {date}에 제보하신 건의 처리가 종결되었습니다. 제보해 주셔서 감사합니다.",
            "en": "[Ongi] Your report of {date} has been closed. Thank you for reporting.",
        },
        "reports.outcome.dismissed": {
            "ko": "담당 공무원이 확인한 결과 추가 조치가 필요하지 않은 것으로 종결되었습니다.",
            "en": "An official looked into this and closed it: no further action is needed.",
        },
    }
)
