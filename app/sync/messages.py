from app.core.i18n import register

register(
    {
        "problem.cursor-expired": {"ko": "동기화 커서를 사용할 수 없습니다", "en": "Sync cursor cannot be served"},
        "detail.cursor-expired": {"ko": "전체 동기화를 다시 시작하세요.", "en": "Start a full sync."},
        "problem.device-required": {"ko": "기기 로그인이 필요합니다", "en": "A device login is required"},
        "detail.device-required": {
            "ko": "동기화는 device_id로 로그인한 기기에서만 할 수 있습니다.",
            "en": "Sync needs a token from a login with a device_id.",
        },
        "problem.device-mismatch": {"ko": "기기가 일치하지 않습니다", "en": "Device mismatch"},
        "detail.device-mismatch": {
            "ko": "요청의 device_id가 토큰의 기기와 다릅니다.",
            "en": "The body's device_id is not the token's device.",
        },
        "detail.push-too-large": {
            "ko": "한 번에 최대 {limit}개의 변경, 5 MiB까지 보낼 수 있습니다.",
            "en": "A push holds at most {limit} mutations and 5 MiB.",
        },
        "sync.unsupported": {
            "ko": "지원하지 않는 변경입니다: {entity}.{op}",
            "en": "Unsupported mutation: {entity}.{op}",
        },
        "sync.depends-on-rejected": {
            "ko": "같은 요청에서 먼저 거부된 변경에 의존합니다.",
            "en": "Depends on a mutation rejected earlier in this push.",
        },
        "sync.unknown-fields": {"ko": "알 수 없는 항목: {fields}", "en": "Unknown field(s): {fields}"},
        "sync.invalid-data": {"ko": "데이터가 올바르지 않습니다: {reason}", "en": "Invalid data: {reason}"},
        "sync.not-found": {
            "ko": "대상 기록이 없거나 접근할 수 없습니다.",
            "en": "The record does not exist or is not accessible.",
        },
        "sync.conflict": {
            "ko": "서버에서 먼저 바뀐 항목은 서버 값을 유지했습니다: {fields}",
            "en": "Fields changed on the server first kept the server's value: {fields}",
        },
    }
)
