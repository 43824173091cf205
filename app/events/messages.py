"""Messages of webhooks and event polling, in Korean and English."""

from __future__ import annotations

from app.core.i18n import register

register(
    {
        "webhooks.https-required": {
            "ko": "웹훅 주소는 https여야 합니다.",
            "en": "A webhook URL must use https.",
        },
        "webhooks.private-target": {
            "ko": "내부망·루프백 주소로는 웹훅을 보낼 수 없습니다.",
            "en": "Webhooks cannot target loopback, private or reserved addresses.",
        },
        "webhooks.credentials-in-url": {
            "ko": "웹훅 주소에 사용자 정보(아이디·비밀번호)를 넣을 수 없습니다.",
            "en": "A webhook URL cannot carry user credentials.",
        },
        "webhooks.client-required": {
            "ko": "관리자는 구독할 연계 시스템 계정(client_id)을 지정해야 합니다.",
            "en": "Admins must name the integration client (client_id) the subscription is for.",
        },
        "webhooks.client-invalid": {
            "ko": "관리할 수 있는 연계 시스템 계정이 아닙니다.",
            "en": "Not an integration client you manage.",
        },
        "webhooks.client-needs-scope": {
            "ko": "연계 시스템 계정에 events:read 권한이 있어야 합니다.",
            "en": "The integration client needs the events:read scope.",
        },
        "webhooks.too-many": {
            "ko": "한 연계 시스템의 웹훅 구독은 최대 {limit}개입니다.",
            "en": "An integration client may have at most {limit} webhook subscriptions.",
        },
        "problem.delivery-in-flight": {"ko": "전송 중입니다", "en": "Delivery in flight"},
        "webhooks.delivery-in-flight": {
            "ko": "이 전송은 지금 처리 중입니다. 잠시 후 다시 시도하세요.",
            "en": "A worker is sending this delivery right now. Try again shortly.",
        },
        "events.unknown-type": {
            "ko": "알 수 없는 이벤트 종류: {types}",
            "en": "Unknown event type(s): {types}",
        },
    }
)
