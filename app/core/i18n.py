"""Messages people read, in Korean (default) or English, chosen by ``Accept-Language``.

Problem ``type`` values and field names never change with the language; only titles and details do.
Domain modules register their own messages with :func:`register`.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Literal

Lang = Literal["ko", "en"]
LANGS: tuple[Lang, ...] = ("ko", "en")

_current: ContextVar[Lang] = ContextVar("ongi_lang", default="ko")

_MESSAGES: dict[str, dict[Lang, str]] = {}


def register(messages: dict[str, dict[Lang, str]]) -> None:
    for key, texts in messages.items():
        if set(texts) != set(LANGS):
            raise ValueError(f"message {key!r} needs both ko and en")
        _MESSAGES[key] = texts


def negotiate(accept_language: str | None, default: Lang = "ko") -> Lang:
    """Pick ko or en from an Accept-Language header, honouring q-values."""
    if not accept_language:
        return default
    best: tuple[float, Lang] | None = None
    for part in accept_language.split(","):
        piece = part.strip()
        if not piece:
            continue
        tag, _, params = piece.partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary == "*":
            primary = default
        if primary in LANGS and q > 0 and (best is None or q > best[0]):
            best = (q, primary)
    return best[1] if best else default


def set_language(lang: Lang) -> None:
    _current.set(lang)


def current_language() -> Lang:
    return _current.get()


def t(key: str, lang: Lang | None = None, /, **params: object) -> str:
    texts = _MESSAGES.get(key)
    if texts is None:
        return key
    text = texts[lang or _current.get()]
    return text.format(**params) if params else text


register(
    {
        # problem titles
        "problem.not-found": {"ko": "찾을 수 없습니다", "en": "Not found"},
        "problem.method-not-allowed": {"ko": "허용되지 않는 메서드입니다", "en": "Method not allowed"},
        "problem.validation": {"ko": "입력값이 올바르지 않습니다", "en": "Invalid input"},
        "problem.bad-request": {"ko": "잘못된 요청입니다", "en": "Bad request"},
        "problem.payload-too-large": {"ko": "요청 본문이 너무 큽니다", "en": "Payload too large"},
        "problem.internal": {"ko": "서버 내부 오류입니다", "en": "Internal server error"},
        "problem.unavailable": {"ko": "일시적으로 사용할 수 없습니다", "en": "Service unavailable"},
        "problem.unauthorized": {"ko": "인증이 필요합니다", "en": "Authentication required"},
        "problem.invalid-token": {"ko": "유효하지 않은 토큰입니다", "en": "Invalid token"},
        "problem.token-revoked": {"ko": "토큰이 폐기되었습니다", "en": "Token revoked"},
        "problem.device-revoked": {"ko": "기기 사용이 중지되었습니다", "en": "Device revoked"},
        "problem.invalid-credentials": {
            "ko": "아이디 또는 비밀번호가 올바르지 않습니다",
            "en": "Invalid username or password",
        },
        "problem.invalid-grant": {"ko": "유효하지 않은 인증 요청입니다", "en": "Invalid grant"},
        "problem.refresh-token-reused": {"ko": "이미 사용된 갱신 토큰입니다", "en": "Refresh token reused"},
        "problem.too-many-attempts": {"ko": "로그인 시도가 너무 많습니다", "en": "Too many login attempts"},
        "problem.forbidden": {"ko": "권한이 없습니다", "en": "Forbidden"},
        "problem.conflict": {"ko": "충돌이 발생했습니다", "en": "Conflict"},
        "problem.precondition-failed": {"ko": "리소스가 변경되었습니다", "en": "Precondition failed"},
        "problem.precondition-required": {"ko": "If-Match 헤더가 필요합니다", "en": "If-Match required"},
        "problem.unsupported-media-type": {"ko": "지원하지 않는 형식입니다", "en": "Unsupported media type"},
        "problem.http": {"ko": "요청을 처리할 수 없습니다", "en": "Request failed"},
        # details
        "detail.not-found": {
            "ko": "요청한 리소스가 없거나 접근할 수 없습니다.",
            "en": "The resource does not exist or is not accessible.",
        },
        "detail.route-not-found": {"ko": "이 경로는 존재하지 않습니다.", "en": "No such path."},
        "detail.method-not-allowed": {
            "ko": "이 경로는 {method} 메서드를 지원하지 않습니다.",
            "en": "This path does not support {method}.",
        },
        "detail.validation": {"ko": "입력값 {count}개가 올바르지 않습니다.", "en": "{count} field(s) are invalid."},
        "detail.payload-too-large": {
            "ko": "요청 본문은 최대 {limit}바이트입니다.",
            "en": "Request bodies are limited to {limit} bytes.",
        },
        "detail.internal": {
            "ko": "예기치 않은 오류가 발생했습니다. 요청 ID: {request_id}",
            "en": "An unexpected error occurred. Request id: {request_id}",
        },
        "detail.unavailable": {
            "ko": "데이터베이스에 연결할 수 없습니다. 잠시 후 다시 시도하세요.",
            "en": "The database is unreachable. Try again shortly.",
        },
        "detail.missing-token": {"ko": "Bearer 토큰이 필요합니다.", "en": "A bearer token is required."},
        "detail.invalid-token": {
            "ko": "토큰이 만료되었거나 변조되었습니다.",
            "en": "The token is expired, malformed or tampered with.",
        },
        "detail.token-revoked": {
            "ko": "로그아웃되었거나 세션이 종료되었습니다. 다시 로그인하세요.",
            "en": "The session was logged out or revoked. Log in again.",
        },
        "detail.device-revoked": {
            "ko": "이 기기는 관리자에 의해 사용이 중지되었습니다. 기기의 데이터를 삭제합니다.",
            "en": "This device was revoked by an administrator; its local data must be erased.",
        },
        "detail.user-inactive": {"ko": "비활성화된 계정입니다.", "en": "The account is deactivated."},
        "detail.invalid-credentials": {
            "ko": "아이디 또는 비밀번호를 확인하세요.",
            "en": "Check the username and password.",
        },
        "detail.too-many-attempts": {
            "ko": "{seconds}초 후에 다시 시도하세요.",
            "en": "Try again in {seconds} seconds.",
        },
        "detail.refresh-invalid": {
            "ko": "갱신 토큰이 유효하지 않거나 만료되었습니다.",
            "en": "The refresh token is invalid or expired.",
        },
        "detail.refresh-reused": {
            "ko": "이미 사용된 갱신 토큰이 다시 제시되어 이 세션 전체를 폐기했습니다.",
            "en": "A spent refresh token was presented again; the whole session was revoked.",
        },
        "detail.unsupported-grant": {
            "ko": "지원하지 않는 grant_type입니다: {grant}",
            "en": "Unsupported grant_type: {grant}",
        },
        "detail.oauth-missing": {"ko": "{field} 항목이 필요합니다.", "en": "{field} is required."},
        "detail.oauth-invalid-field": {"ko": "{field} 값이 올바르지 않습니다.", "en": "{field} is invalid."},
        "detail.invalid-scope": {"ko": "허용되지 않은 scope입니다: {scope}", "en": "Scope not allowed: {scope}"},
        "detail.role-forbidden": {"ko": "이 작업은 {roles} 역할만 할 수 있습니다.", "en": "Only {roles} may do this."},
        "detail.scope-forbidden": {
            "ko": "이 작업에는 {scope} 권한이 필요합니다.",
            "en": "This needs the {scope} scope.",
        },
        "detail.stale": {
            "ko": "다른 사용자가 먼저 변경했습니다. 새로 불러온 뒤 다시 시도하세요.",
            "en": "Someone changed this record first. Reload and try again.",
        },
        "detail.precondition-failed": {
            "ko": "If-Match 값이 현재 버전({etag})과 다릅니다.",
            "en": "If-Match does not match the current version ({etag}).",
        },
        "detail.duplicate": {"ko": "이미 존재합니다: {field}", "en": "Already exists: {field}"},
        "detail.integrity": {
            "ko": "참조하거나 고유해야 하는 값이 올바르지 않습니다.",
            "en": "A referenced or unique value is invalid.",
        },
        "problem.invalid-data": {"ko": "저장할 수 없는 값입니다", "en": "Value cannot be stored"},
        "detail.invalid-data": {
            "ko": "저장할 수 없는 문자(예: NUL)나 범위를 벗어난 값이 있습니다.",
            "en": "A value holds a character that cannot be stored (such as NUL) or is out of range.",
        },
        "detail.malformed-body": {"ko": "요청 본문을 해석할 수 없습니다.", "en": "The request body cannot be parsed."},
        # field errors (pydantic codes)
        "field.missing": {"ko": "필수 항목입니다.", "en": "Field required."},
        "field.string_too_short": {"ko": "너무 짧습니다.", "en": "Too short."},
        "field.string_too_long": {"ko": "너무 깁니다.", "en": "Too long."},
        "field.string_pattern_mismatch": {"ko": "형식이 올바르지 않습니다.", "en": "Wrong format."},
        "field.uuid_parsing": {"ko": "UUID 형식이어야 합니다.", "en": "Must be a UUID."},
        "field.datetime_parsing": {"ko": "RFC 3339 날짜시간이어야 합니다.", "en": "Must be an RFC 3339 date-time."},
        "field.datetime_from_date_parsing": {
            "ko": "RFC 3339 날짜시간이어야 합니다.",
            "en": "Must be an RFC 3339 date-time.",
        },
        "field.date_from_datetime_parsing": {
            "ko": "날짜(YYYY-MM-DD)여야 합니다.",
            "en": "Must be a date (YYYY-MM-DD).",
        },
        "field.int_parsing": {"ko": "정수여야 합니다.", "en": "Must be an integer."},
        "field.float_parsing": {"ko": "숫자여야 합니다.", "en": "Must be a number."},
        "field.bool_parsing": {"ko": "true 또는 false여야 합니다.", "en": "Must be true or false."},
        "field.one-of": {"ko": "다음 중 하나여야 합니다: {allowed}", "en": "Must be one of: {allowed}"},
        "field.invalid": {"ko": "값이 올바르지 않습니다.", "en": "Invalid value."},
        "field.enum": {"ko": "허용된 값 중 하나여야 합니다.", "en": "Must be one of the allowed values."},
        "field.literal_error": {"ko": "허용된 값 중 하나여야 합니다.", "en": "Must be one of the allowed values."},
        "field.extra_forbidden": {"ko": "알 수 없는 항목입니다.", "en": "Unknown field."},
        "field.greater_than_equal": {"ko": "값이 너무 작습니다.", "en": "Value too small."},
        "field.less_than_equal": {"ko": "값이 너무 큽니다.", "en": "Value too large."},
        "field.greater_than": {"ko": "값이 너무 작습니다.", "en": "Value too small."},
        "field.less_than": {"ko": "값이 너무 큽니다.", "en": "Value too large."},
        "field.too_long": {"ko": "항목이 너무 많습니다.", "en": "Too many items."},
        "field.too_short": {"ko": "항목이 너무 적습니다.", "en": "Too few items."},
        "field.json_invalid": {"ko": "올바른 JSON이 아닙니다.", "en": "Invalid JSON."},
        "field.string_type": {"ko": "문자열이어야 합니다.", "en": "Must be a string."},
        "field.int_type": {"ko": "정수여야 합니다.", "en": "Must be an integer."},
        "field.list_type": {"ko": "목록이어야 합니다.", "en": "Must be a list."},
        "field.dict_type": {"ko": "객체여야 합니다.", "en": "Must be an object."},
        "field.model_attributes_type": {"ko": "객체여야 합니다.", "en": "Must be an object."},
        "people.partner-private": {
            "ko": "partner 역할은 민간 기관 소속이어야 합니다.",
            "en": "A partner must belong to a private organization.",
        },
        "people.public-role": {
            "ko": "coordinator와 planner는 공공 기관 소속이어야 합니다.",
            "en": "Coordinators and planners must belong to a public organization.",
        },
        "people.unknown-scope": {"ko": "알 수 없는 scope: {scopes}", "en": "Unknown scope(s): {scopes}"},
        "people.scopes-integration-only": {
            "ko": "scope는 integration 계정에만 줄 수 있습니다.",
            "en": "Only integration clients have scopes.",
        },
        "people.outside-jurisdiction": {
            "ko": "관할 구역 안의 민간 기관만 등록할 수 있습니다.",
            "en": "Only private organizations within your jurisdiction can be registered.",
        },
        "people.password-required": {"ko": "비밀번호가 필요합니다.", "en": "A password is required."},
        "field.value_error": {"ko": "값이 올바르지 않습니다: {msg}", "en": "Invalid value: {msg}"},
    }
)
