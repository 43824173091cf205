"""Messages of the people domain (Korean and English) added for the bounds of administrators
(docs/access.md#bounds-of-administrators-and-integrations)."""

from __future__ import annotations

from app.core.i18n import register

register(
    {
        "people.grant-outside-jurisdiction": {
            "ko": "자신의 관할 구역 안에 있는 구역만 부여할 수 있습니다.",
            "en": "Only areas within your own jurisdiction can be given.",
        },
        "people.own-jurisdiction": {
            "ko": "자기 기관의 관할 구역은 바꿀 수 없습니다. 상위 기관의 관리자에게 요청하세요.",
            "en": "You cannot change your own organization's jurisdiction; ask an admin above it.",
        },
        "people.scope-public-only": {
            "ko": "공공 기관의 연계 계정만 받을 수 있는 scope입니다: {scopes}",
            "en": "Only a public organization's client may hold: {scopes}",
        },
    }
)
