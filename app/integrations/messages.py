"""Messages of imports from other systems, in Korean and English."""

from __future__ import annotations

from app.core.i18n import register

register(
    {
        "integrations.outside-jurisdiction": {
            "ko": "이 연계 계정의 관할 구역 밖 가구입니다.",
            "en": "The household lies outside this client's jurisdiction.",
        },
        "integrations.invalid-json": {"ko": "올바른 JSON 객체가 아닙니다.", "en": "Not a valid JSON object."},
        "integrations.invalid-utf8": {"ko": "UTF-8로 읽을 수 없습니다.", "en": "Not valid UTF-8."},
        "integrations.line-too-long": {
            "ko": "한 줄은 최대 {limit}바이트입니다.",
            "en": "A line is limited to {limit} bytes.",
        },
        "integrations.unsupported-media-type": {
            "ko": "본문은 NDJSON(application/x-ndjson)이어야 합니다.",
            "en": "The body must be NDJSON (application/x-ndjson).",
        },
        "integrations.missing-column": {
            "ko": "필수 열이 없습니다: {columns}",
            "en": "Required column(s) missing: {columns}",
        },
    }
)
