"""The tus 1.0.0 resumable upload protocol at ``/v1/uploads/`` (``docs/uploads.md``), for unchanged phone clients
(tus-js-client, TUSKit, tus-android-client).

Extensions: ``creation``, ``creation-with-upload``, ``checksum`` (sha1, sha256), ``termination``,
``expiration``. Every response carries ``Tus-Resumable: 1.0.0``; errors are problem+json. Clients that
cannot send PATCH or DELETE may POST with ``X-HTTP-Method-Override``.

These endpoints manage their own short database transactions (see ``app.media.uploads``): a request that
streams a body for minutes must not hold a database transaction (on SQLite, the write lock) meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from email.utils import format_datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError

from app.core.deps import StateDep, client_address
from app.core.errors import Problem, not_found
from app.core.i18n import t
from app.media import messages as _messages  # noqa: F401 - registers the messages
from app.media.models import UploadStatus
from app.media.schemas import UploadMetadata
from app.media.staging import STATUS_HEADER, UploadView
from app.media.uploads import Checksum, UploadService, checksum_factories

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,checksum,termination,expiration"
OFFSET_OCTET_STREAM = "application/offset+octet-stream"
MAX_METADATA_HEADER = 8 * 1024


class TusRoute(APIRoute):
    """Adds ``Tus-Resumable`` to every answer, problems included."""

    def get_route_handler(self) -> Any:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response: Response = await original(request)
            except Problem as problem:
                problem.headers.setdefault("Tus-Resumable", TUS_VERSION)
                raise
            response.headers["Tus-Resumable"] = TUS_VERSION
            return response

        return handler


router = APIRouter(tags=["uploads"], route_class=TusRoute)

_bearer = HTTPBearer(auto_error=False, description="Access token from POST /v1/auth/token")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]

_COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or invalid access token"},
    404: {"description": "No such upload, or not yours"},
    412: {"description": "Tus-Resumable is not 1.0.0 (Tus-Version lists what is supported)"},
}


# --- header parsing ----------------------------------------------------------------------------------------


def bad_header(name: str) -> Problem:
    return Problem(400, "bad-request", "uploads.bad-header", params={"header": name}, extra={"header": name})


def require_tus_version(request: Request) -> None:
    if request.headers.get("tus-resumable") != TUS_VERSION:
        raise Problem(
            412,
            "tus-version-unsupported",
            "uploads.tus-version",
            params={"version": TUS_VERSION},
            headers={"Tus-Version": TUS_VERSION},
        )


def parse_count(value: str | None, header: str, *, required: bool = True) -> int | None:
    if value is None:
        if required:
            raise bad_header(header)
        return None
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise bad_header(header)
    return int(value)


def parse_metadata(header: str) -> dict[str, str | None]:
    """``Upload-Metadata``: comma-separated ``key`` or ``key base64(value)`` pairs, keys unique."""
    if len(header) > MAX_METADATA_HEADER:
        raise Problem(400, "bad-request", "uploads.bad-metadata")
    out: dict[str, str | None] = {}
    for pair in header.split(","):
        pair = pair.strip()
        if not pair:
            continue
        parts = pair.split()
        if len(parts) > 2 or parts[0] in out or not parts[0].isascii():
            raise Problem(400, "bad-request", "uploads.bad-metadata")
        value: str | None = None
        if len(parts) == 2:
            try:
                value = base64.b64decode(parts[1], validate=True).decode("utf-8")
            except (binascii.Error, ValueError) as exc:
                raise Problem(400, "bad-request", "uploads.bad-metadata") from exc
        out[parts[0]] = value
    return out


def metadata_model(values: dict[str, str | None]) -> UploadMetadata:
    data: dict[str, Any] = {k: v for k, v in values.items() if v not in (None, "")}
    data.setdefault("filename", values.get("name") or None)
    data.setdefault("filetype", values.get("type") or None)
    try:
        return UploadMetadata.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            code = str(err.get("type", "value_error"))
            key = f"field.{code}"
            msg = str(err.get("msg", ""))
            text = t(key, msg=msg) if code == "value_error" else t(key)
            errors.append(
                {
                    "field": "Upload-Metadata." + ".".join(str(p) for p in err.get("loc", ())),
                    "code": code,
                    "message": msg if text == key else text,
                }
            )
        raise Problem(
            422, "validation", "detail.validation", params={"count": len(errors)}, extra={"errors": errors}
        ) from exc


def parse_checksum(value: str | None) -> Checksum | None:
    """``Upload-Checksum: <algorithm> <base64 digest>``."""
    if value is None:
        return None
    factories = checksum_factories()
    parts = value.strip().split()
    if len(parts) != 2:
        raise bad_header("Upload-Checksum")
    algorithm = parts[0].lower()
    if algorithm not in factories:
        raise Problem(
            400,
            "checksum-algorithm-unsupported",
            "uploads.checksum-unsupported",
            params={"algorithms": ", ".join(factories)},
        )
    factory = factories[algorithm]
    try:
        digest = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise bad_header("Upload-Checksum") from exc
    if len(digest) != factory().digest_size:
        raise bad_header("Upload-Checksum")
    return Checksum(algorithm=algorithm, factory=factory, digest=digest)


def has_offset_body(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type == OFFSET_OCTET_STREAM


def parse_upload_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise not_found() from exc


def http_date(view: UploadView) -> str:
    return format_datetime(view.expires_at, usegmt=True)


def offset_headers(view: UploadView) -> dict[str, str]:
    headers = {"Upload-Offset": str(view.offset), STATUS_HEADER: view.status.value}
    if view.status == UploadStatus.open:
        headers["Upload-Expires"] = http_date(view)
    return headers


def upload_location(request: Request, upload_id: uuid.UUID) -> str:
    return str(request.base_url).rstrip("/") + f"/v1/uploads/{upload_id}"


def _token(credentials: HTTPAuthorizationCredentials | None) -> str | None:
    return credentials.credentials if credentials is not None else None


def discovery_headers(request: Request) -> dict[str, str]:
    settings = request.app.state.ongi.settings
    return {
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": TUS_EXTENSIONS,
        "Tus-Max-Size": str(settings.upload_max_bytes),
        "Tus-Checksum-Algorithm": ",".join(checksum_factories()),
    }


# --- endpoints -----------------------------------------------------------------------------------------------


@router.options(
    "/v1/uploads/",
    status_code=204,
    response_class=Response,
    summary="tus discovery: version, extensions, maximum size, checksum algorithms",
)
async def discover(request: Request) -> Response:
    return Response(status_code=204, headers=discovery_headers(request))


@router.options("/v1/uploads", status_code=204, response_class=Response, include_in_schema=False)
async def discover_no_slash(request: Request) -> Response:
    return Response(status_code=204, headers=discovery_headers(request))


@router.options(
    "/v1/uploads/{upload_id}", status_code=204, response_class=Response, summary="tus discovery (on an upload)"
)
async def discover_upload(upload_id: str, request: Request) -> Response:
    return Response(status_code=204, headers=discovery_headers(request))


_CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"description": "Created; Location names the upload"},
    400: {"description": "Missing or malformed Upload-Length, Upload-Metadata or Upload-Checksum"},
    401: _COMMON_RESPONSES[401],
    404: {"description": "The visit does not exist or you are not on its team"},
    409: {"description": "Another photo already has this photo_id"},
    412: _COMMON_RESPONSES[412],
    413: {"description": "Upload-Length over the limit (Tus-Max-Size)"},
    415: {"description": "The file is not a JPEG, PNG, HEIC or WebP picture"},
    422: {"description": "Upload-Metadata lacks photo_id, visit_id or sha256, or has invalid values"},
    460: {"description": "Upload-Checksum of the included data did not match"},
}


@router.post(
    "/v1/uploads/",
    status_code=201,
    response_class=Response,
    summary="Create an upload (tus creation, creation-with-upload)",
    description=(
        "Upload-Length (at most Tus-Max-Size) and Upload-Metadata are required. Metadata keys: photo_id "
        "(the phone's UUID for the photo), visit_id, sha256 (of the whole file, hex or base64), and optionally "
        "filename, filetype, item_key, caption, taken_at (RFC 3339). Only the visit's team may upload. With "
        "Content-Type application/offset+octet-stream the body is the file's first bytes."
    ),
    responses=_CREATE_RESPONSES,
)
async def create_upload(request: Request, state: StateDep, credentials: Credentials) -> Response:
    require_tus_version(request)
    headers = request.headers
    if "upload-defer-length" in headers and "upload-length" not in headers:
        raise Problem(400, "bad-request", "uploads.defer-unsupported")
    length = parse_count(headers.get("upload-length"), "Upload-Length")
    assert length is not None
    limit = state.settings.upload_max_bytes
    if length > limit:
        raise Problem(413, "payload-too-large", "uploads.too-large", params={"limit": limit}, extra={"limit": limit})
    if length == 0:
        raise Problem(422, "validation", "uploads.empty", extra={"errors": []})
    raw_metadata = headers.get("upload-metadata")
    meta = metadata_model(parse_metadata(raw_metadata or ""))
    content_length = parse_count(headers.get("content-length"), "Content-Length", required=False)
    with_body = has_offset_body(request) and (bool(content_length) or "transfer-encoding" in headers)
    if not has_offset_body(request) and content_length:
        raise Problem(415, "unsupported-media-type", "uploads.content-type")
    checksum = parse_checksum(headers.get("upload-checksum")) if with_body else None
    if with_body and content_length is not None and content_length > length:
        raise Problem(413, "payload-too-large", "uploads.beyond-length", params={"length": length})

    service = UploadService(state)
    view, lease = await service.create(
        _token(credentials),
        client_address(request),
        length=length,
        metadata_header=raw_metadata,
        meta=meta,
        lease=with_body,
    )
    location = upload_location(request, view.id)
    if lease is not None:
        try:
            view = await service.append(lease, request.stream(), checksum)
        except Problem as problem:
            problem.headers.setdefault("Location", location)
            raise
    return Response(status_code=201, headers={"Location": location, **offset_headers(view)})


@router.post("/v1/uploads", status_code=201, response_class=Response, include_in_schema=False)
async def create_upload_no_slash(request: Request, state: StateDep, credentials: Credentials) -> Response:
    return await create_upload(request, state, credentials)


@router.head(
    "/v1/uploads/{upload_id}",
    response_class=Response,
    summary="Where an upload stands (tus offset)",
    description=(
        "Upload-Offset and Upload-Length, and Ongi-Upload-Status: open (receiving), processing (every byte "
        "is in and checked; the picture is being processed), completed (the photo exists), or with 410 "
        "failed (with Ongi-Upload-Failure), terminated or expired."
    ),
    responses={
        **_COMMON_RESPONSES,
        410: {
            "description": "The upload expired, was terminated or was refused (Ongi-Upload-Status says which; "
            "for a refused one Ongi-Upload-Failure names the problem type)"
        },
    },
)
async def upload_status(upload_id: str, request: Request, state: StateDep, credentials: Credentials) -> Response:
    require_tus_version(request)
    view = await UploadService(state).status(_token(credentials), client_address(request), parse_upload_id(upload_id))
    headers = {**offset_headers(view), "Upload-Length": str(view.length), "Cache-Control": "no-store"}
    if view.metadata_header:
        headers["Upload-Metadata"] = view.metadata_header
    return Response(status_code=200, headers=headers)


_PATCH_RESPONSES: dict[int | str, dict[str, Any]] = {
    204: {"description": "Accepted; Upload-Offset is the new offset"},
    400: {"description": "Missing or malformed Upload-Offset or Upload-Checksum"},
    **_COMMON_RESPONSES,
    409: {"description": "Upload-Offset is not the server's offset, or another request holds the upload"},
    410: {"description": "The upload expired, was terminated or was refused"},
    413: {"description": "The data goes beyond Upload-Length"},
    415: {"description": "Wrong Content-Type, or the file is not a JPEG, PNG, HEIC or WebP picture"},
    460: {"description": "Upload-Checksum mismatch (chunk discarded), or the whole file's sha256 mismatch"},
}


@router.patch(
    "/v1/uploads/{upload_id}",
    status_code=204,
    response_class=Response,
    summary="Append bytes to an upload (tus core, checksum)",
    description=(
        "Content-Type application/offset+octet-stream; Upload-Offset must equal the server's offset. "
        "When the last byte arrives the whole file's sha256 and its type (from the bytes) are checked before "
        "the answer: a mismatch answers 460 or 415 and discards the upload. A 204 for the last byte means "
        "the file is durably stored and checked (Ongi-Upload-Status: processing); the picture is then "
        "stripped of metadata, decoded, thumbnailed and stored in the background, and the photo appears in "
        "sync and GET /v1/visits/{id}/photos when that is done. A picture refused then (undecodable, too "
        "many pixels) shows as a failed upload: HEAD answers 410 with Ongi-Upload-Status: failed and "
        "Ongi-Upload-Failure (the problem type), and the visit's photos list it under uploads."
    ),
    responses=_PATCH_RESPONSES,
)
async def append_upload(upload_id: str, request: Request, state: StateDep, credentials: Credentials) -> Response:
    require_tus_version(request)
    uid = parse_upload_id(upload_id)
    if not has_offset_body(request):
        raise Problem(415, "unsupported-media-type", "uploads.content-type")
    offset = parse_count(request.headers.get("upload-offset"), "Upload-Offset")
    assert offset is not None
    content_length = parse_count(request.headers.get("content-length"), "Content-Length", required=False)
    checksum = parse_checksum(request.headers.get("upload-checksum"))
    service = UploadService(state)
    held = await service.acquire(_token(credentials), client_address(request), uid, offset, content_length)
    if isinstance(held, UploadView):
        return Response(status_code=204, headers=offset_headers(held))
    view = await service.append(held, request.stream(), checksum)
    return Response(status_code=204, headers=offset_headers(view))


@router.delete(
    "/v1/uploads/{upload_id}",
    status_code=204,
    response_class=Response,
    summary="Terminate an upload (tus termination)",
    description="Discards the bytes received so far. A completed upload's photo is not affected.",
    responses={**_COMMON_RESPONSES, 409: {"description": "Another request is working on this upload"}},
)
async def terminate_upload(upload_id: str, request: Request, state: StateDep, credentials: Credentials) -> Response:
    require_tus_version(request)
    await UploadService(state).terminate(_token(credentials), client_address(request), parse_upload_id(upload_id))
    return Response(status_code=204)


@router.post(
    "/v1/uploads/{upload_id}",
    response_class=Response,
    summary="PATCH, DELETE or HEAD through X-HTTP-Method-Override",
    responses={405: {"description": "No or unknown X-HTTP-Method-Override"}},
)
async def method_override(upload_id: str, request: Request, state: StateDep, credentials: Credentials) -> Response:
    method = request.headers.get("x-http-method-override", "").upper()
    if method == "PATCH":
        return await append_upload(upload_id, request, state, credentials)
    if method == "DELETE":
        return await terminate_upload(upload_id, request, state, credentials)
    if method == "HEAD":
        return await upload_status(upload_id, request, state, credentials)
    raise Problem(405, "method-not-allowed", "detail.method-not-allowed", params={"method": method or "POST"})
