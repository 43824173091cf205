"""Messages of exports, in Korean and English."""

from __future__ import annotations

from app.core.i18n import register

register(
    {
        "exports.bad-bound": {
            "ko": "날짜(YYYY-MM-DD) 또는 시간대가 있는 RFC 3339 날짜시간이어야 합니다.",
            "en": "Must be a date (YYYY-MM-DD) or an RFC 3339 date-time with an offset.",
        },
        "exports.bad-status": {
            "ko": "이 종류에 없는 상태입니다. 가능한 값: {allowed}",
            "en": "Not a status of this kind. Allowed: {allowed}",
        },
        "exports.bad-format": {
            "ko": "형식은 ndjson, csv 또는 xlsx입니다.",
            "en": "The format is ndjson, csv or xlsx.",
        },
        "exports.coordinators-only": {
            "ko": "{kind} 내보내기는 coordinator만 할 수 있습니다.",
            "en": "Only coordinators may export {kind}.",
        },
        "exports.unavailable": {
            "ko": "이 내보내기는 아직 제공되지 않습니다: {kind}",
            "en": "This export is not available yet: {kind}",
        },
        "problem.not-acceptable": {"ko": "제공할 수 없는 형식입니다", "en": "Not acceptable"},
        "tabular.not-acceptable": {
            "ko": "요청한 형식을 제공할 수 없습니다. 가능한 형식: {formats}",
            "en": "The format asked for is not offered. Offered: {formats}",
        },
        "exports.not-acceptable": {
            "ko": "Accept에 맞는 형식이 없습니다. application/x-ndjson, text/csv 또는 XLSX를 요청하세요.",
            "en": "No format matches Accept; ask for application/x-ndjson, text/csv or XLSX.",
        },
    }
)


def _register_column_titles() -> None:
    from app.exports.kinds import sheet_titles

    register(sheet_titles())


_register_column_titles()
