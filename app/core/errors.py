"""RFC 9457 problem details for every error the API returns.

Raise :class:`Problem` anywhere; the handlers installed by :func:`install` turn it, FastAPI's validation
errors, Starlette's 404/405 and any unexpected exception into ``application/problem+json`` with a stable
``type``. No stack trace reaches a client.
"""

from __future__ import annotations

import re
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import InterfaceError as SAInterfaceError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.i18n import t

PROBLEM_BASE = "https://ongi.example/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

log = structlog.get_logger("ongi.errors")

_STATUS_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation",
    428: "precondition-required",
    429: "too-many-attempts",
    500: "internal",
    503: "unavailable",
}


def problem_type(slug: str) -> str:
    return PROBLEM_BASE + slug


#: RFC 9457's own members, which ``extra`` may not set.
_MEMBERS = frozenset({"type", "title", "status", "detail", "instance"})


class Problem(Exception):
    """An error answered as RFC 9457 problem details.

    ``slug`` makes the stable ``type``; the title comes from the message catalogue ``problem.<slug>``
    (falling back to the status' generic title) and ``detail`` from the catalogue key ``detail``.
    ``extra`` members are added to the body. Raising one rolls the unit of work back; what must stay (the
    count of a failed login) is kept before raising (:func:`app.core.uow.keep_so_far`).
    """

    def __init__(
        self,
        status: int,
        slug: str | None = None,
        detail: str | None = None,
        *,
        params: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.slug = slug or _STATUS_SLUGS.get(status, "http")
        self.detail_key = detail
        self.params = params or {}
        self.extra = extra or {}
        self.headers = headers or {}
        super().__init__(f"{status} {self.slug}")

    def body(self, request: Request | None = None) -> dict[str, Any]:
        title_key = f"problem.{self.slug}"
        title = t(title_key)
        if title == title_key:
            title = t(f"problem.{_STATUS_SLUGS.get(self.status, 'http')}")
        body: dict[str, Any] = {"type": problem_type(self.slug), "title": title, "status": self.status}
        if self.detail_key:
            body["detail"] = t(self.detail_key, **self.params)
        if request is not None:
            body["instance"] = request.url.path
            rid = getattr(request.state, "request_id", None)
            if rid:
                body["request_id"] = rid
        # an extension member never replaces one of RFC 9457's (a "status" extra once hid the HTTP status)
        body.update({k: v for k, v in self.extra.items() if k not in _MEMBERS})
        if self.status == 422:
            # Every 422 carries its field errors (ValidationProblem), even when there are none to name.
            body.setdefault("errors", [])
        return body


class OAuthError(Problem):
    """An error of the OAuth2 token endpoint, answered as RFC 6749 §5.2 says: ``application/json``
    ``{"error": …, "error_description": …}``, 400 (401 ``invalid_client`` with ``WWW-Authenticate``),
    never cached. Extension members (``wipe`` of a revoked device) ride along."""

    CODES = frozenset(
        {
            "invalid_request",
            "invalid_client",
            "invalid_grant",
            "unauthorized_client",
            "unsupported_grant_type",
            "invalid_scope",
        }
    )

    def __init__(
        self,
        error: str,
        detail: str | None = None,
        *,
        params: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        slug: str | None = None,
    ) -> None:
        if error not in self.CODES:
            raise ValueError(error)
        status = 401 if error == "invalid_client" else 400
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        if status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="ongi"'
        super().__init__(status, slug or error.replace("_", "-"), detail, params=params, extra=extra, headers=headers)
        self.error = error

    @classmethod
    def from_problem(cls, problem: Problem, default: str = "invalid_grant") -> OAuthError:
        extra = {k: v for k, v in problem.extra.items() if k != "error"}
        error = str(problem.extra.get("error") or default)
        return cls(
            error if error in cls.CODES else default,
            problem.detail_key,
            params=problem.params,
            extra=extra,
            slug=problem.slug,
        )

    def body(self, request: Request | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.error}
        if self.detail_key:
            out["error_description"] = t(self.detail_key, **self.params)
        out.update(self.extra)
        return out


# --- typed problems ------------------------------------------------------------------------------------------
# The problems the services raise most, by name. Each is a :class:`Problem` (same body, same handler); the class
# says what went wrong, the slug and catalogue keys say it to the client. ``Problem(status, slug, …)`` stays for
# the rarer ones.


class NotFound(Problem):
    """404: no such record, or one the caller may not see (the access policy never answers 403 for a record)."""

    def __init__(self, detail: str = "detail.not-found", *, params: dict[str, Any] | None = None) -> None:
        super().__init__(404, "not-found", detail, params=params)


class Forbidden(Problem):
    """403: the caller's role or scope may never do this (:mod:`app.access.gates` raises it for routes)."""

    def __init__(self, detail: str, *, slug: str = "forbidden", params: dict[str, Any] | None = None) -> None:
        super().__init__(403, slug, detail, params=params)


class Conflict(Problem):
    """409: the request is well formed but the record's state refuses it (``slug`` names which conflict)."""

    def __init__(
        self,
        slug: str,
        detail: str | None = None,
        *,
        params: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(409, slug, detail, params=params, extra=extra)


class PreconditionFailed(Problem):
    """412: ``If-Match`` names a version that is no longer current."""

    def __init__(
        self,
        detail: str = "detail.precondition-failed",
        *,
        params: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(412, "precondition-failed", detail, params=params, extra=extra)


class Gone(Problem):
    """410: the record was here and is not any more (``slug`` says why, ``extra`` where it went)."""

    def __init__(
        self,
        slug: str,
        detail: str | None = None,
        *,
        params: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(410, slug, detail, params=params, extra=extra)


class FieldInvalid(Problem):
    """422 naming the fields a service found wrong after the schema passed: ``errors`` [{field, code, message}],
    the shape FastAPI's validation errors have. ``FieldInvalid.one(field, key, **params)`` for a single field."""

    def __init__(self, errors: list[tuple[str, str, dict[str, Any]]]) -> None:
        super().__init__(
            422,
            "validation",
            "detail.validation",
            params={"count": len(errors)},
            extra={
                "errors": [
                    {"field": field, "code": "value_error", "message": t(key, **params)}
                    for field, key, params in errors
                ]
            },
        )

    @classmethod
    def one(cls, field: str, key: str, **params: Any) -> FieldInvalid:
        return cls([(field, key, params)])


def field_problem(field: str, key: str, **params: Any) -> Problem:
    """A 422 naming one field (:class:`FieldInvalid`); the one definition every domain uses."""
    return FieldInvalid.one(field, key, **params)


def not_found() -> Problem:
    return NotFound()


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    headers = dict(problem.headers)
    if isinstance(problem, OAuthError):
        return JSONResponse(problem.body(request), status_code=problem.status, headers=headers)
    if problem.status == 401 and "WWW-Authenticate" not in headers:
        headers["WWW-Authenticate"] = 'Bearer realm="ongi"'
    return JSONResponse(
        problem.body(request), status_code=problem.status, headers=headers, media_type=PROBLEM_MEDIA_TYPE
    )


_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")


def allowed_values(err: dict[str, Any]) -> list[str] | None:
    """The values an enum or literal field accepts, from pydantic's ``ctx.expected`` (``"'a', 'b' or 'c'"``)."""
    if err.get("type") not in ("enum", "literal_error"):
        return None
    expected = str((err.get("ctx") or {}).get("expected", ""))
    values = _QUOTED.findall(expected)
    return values or None


def field_errors(errors: Any) -> list[dict[str, Any]]:
    """pydantic's errors (``exc.errors()`` of a request or a model) as the field errors of a 422 problem, worded
    in the caller's language: ``{field, code, message, allowed?}``."""
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        code = str(err.get("type", "value_error"))
        key = f"field.{code}"
        msg = str(err.get("msg", ""))
        allowed = allowed_values(err)
        if allowed:
            text = t("field.one-of", allowed=", ".join(allowed))
        else:
            text = t(key, msg=msg) if code == "value_error" else t(key)
        if text == key:
            # no message of ours for this code: a generic one in the caller's language (pydantic's is English)
            text = t("field.invalid")
        error: dict[str, Any] = {"field": ".".join(loc), "code": code, "message": text}
        if allowed:
            error["allowed"] = allowed
        out.append(error)
    return out


async def _problem_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(exc, request)


_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def allowed_methods(request: Request, *, fewer_params_than: int | None = None) -> list[str]:
    """Every method the request's path answers by the app's OpenAPI document, over all its operations
    (Starlette's 405 names only the methods of the first route that matched the path). With
    ``fewer_params_than``: only paths with fewer parameters, which name this path more exactly than the
    template that took it."""
    import re

    app = request.app
    table = getattr(app.state, "allow_table", None)
    if table is None:
        table = []
        for path, item in (app.openapi().get("paths") or {}).items():
            pattern = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$")
            table.append((pattern, path.count("{"), sorted(m.upper() for m in item if m in _HTTP_METHODS)))
        app.state.allow_table = table
    matches = [
        (params, path_methods)
        for pattern, params, path_methods in table
        if (fewer_params_than is None or params < fewer_params_than) and pattern.match(request.url.path)
    ]
    if not matches:
        return []
    # the document's path that names this one most exactly (``/v1/households/search``, not ``…/{household_id}``)
    fewest = min(params for params, _ in matches)
    return sorted({m for params, path_methods in matches if params == fewest for m in path_methods})


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = field_errors(exc.errors())
    if any(e["field"].startswith("path.") for e in errors):
        # ``PATCH /v1/monitoring/due`` matches ``PATCH /v1/monitoring/{plan_id}`` only as a template; the
        # resource ``/v1/monitoring/due`` exists and does not answer PATCH.
        route = request.scope.get("route")
        allow = allowed_methods(request, fewer_params_than=getattr(route, "path", "").count("{")) if route else []
        if allow:
            problem = Problem(405, "method-not-allowed", "detail.method-not-allowed", params={"method": request.method})
            problem.headers["Allow"] = ", ".join(allow)
            return problem_response(problem, request)
    problem = Problem(422, "validation", "detail.validation", params={"count": len(errors)}, extra={"errors": errors})
    return problem_response(problem, request)


async def _http_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    json_body = "json" in request.headers.get("content-type", "")
    if status == 400 and json_body and exc.detail == "There was an error parsing the body":
        # FastAPI's answer to a JSON body that is not even UTF-8: malformed JSON like any other (422 json_invalid)
        invalid = RequestValidationError([{"type": "json_invalid", "loc": ("body",), "msg": "Invalid JSON"}])
        return await _validation_handler(request, invalid)
    if status == 404:
        problem = Problem(404, "not-found", "detail.route-not-found")
    elif status == 405:
        problem = Problem(405, "method-not-allowed", "detail.method-not-allowed", params={"method": request.method})
        allow = allowed_methods(request)
        if allow:
            problem.headers["Allow"] = ", ".join(allow)
            exc.headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() != "allow"}
    elif status == 413:
        problem = Problem(413, "payload-too-large")
    else:
        problem = Problem(status)
    problem.headers.update(dict(exc.headers or {}))
    return problem_response(problem, request)


async def _stale_handler(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(Problem(409, "conflict", "detail.stale"), request)


async def _integrity_handler(request: Request, exc: Exception) -> JSONResponse:
    log.info("integrity_error", error=type(exc.__cause__ or exc).__name__)
    return problem_response(Problem(409, "conflict", "detail.integrity"), request)


def is_data_error(exc: BaseException) -> bool:
    """A value the database refused (SQLSTATE class 22: PostgreSQL text cannot hold U+0000, numbers out of
    range, …), as opposed to a fault of the server or of the connection."""
    if isinstance(exc, DataError):
        return True
    if not isinstance(exc, DBAPIError) or isinstance(exc, OperationalError | IntegrityError):
        return False
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    return isinstance(code, str) and code.startswith("22")


async def _dbapi_error_handler(request: Request, exc: Exception) -> JSONResponse:
    if is_data_error(exc):
        log.info("data_error", error=type(getattr(exc, "orig", exc)).__name__)
        return problem_response(Problem(422, "invalid-data", "detail.invalid-data"), request)
    rid = getattr(request.state, "request_id", "")
    log.error("database_error", error=type(getattr(exc, "orig", exc)).__name__, exc_info=exc)
    return problem_response(Problem(500, "internal", "detail.internal", params={"request_id": rid}), request)


async def _db_unavailable_handler(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database_unavailable", error=type(exc).__name__)
    return problem_response(Problem(503, "unavailable", "detail.unavailable", headers={"Retry-After": "5"}), request)


def install(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _problem_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(StaleDataError, _stale_handler)
    app.add_exception_handler(IntegrityError, _integrity_handler)
    app.add_exception_handler(DBAPIError, _dbapi_error_handler)
    app.add_exception_handler(OperationalError, _db_unavailable_handler)
    app.add_exception_handler(SAInterfaceError, _db_unavailable_handler)
    app.add_exception_handler(ConnectionError, _db_unavailable_handler)


def validation_problem_of(exc: Any) -> Problem:
    """A pydantic ``ValidationError`` raised outside a request's parsing (a body checked by hand) as the same
    422 problem REST answers for it."""
    errors = field_errors(exc.errors())
    return Problem(422, "validation", "detail.validation", params={"count": len(errors)}, extra={"errors": errors})
