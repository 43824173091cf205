"""The tus 1.0.0 upload operations (``/v1/uploads/``) in the document: the protocol headers the routes read
themselves, and the bodies of the operations that take the file's bytes (docs/uploads.md)."""

from __future__ import annotations

from typing import Any

#: tus 1.0.0 (``/v1/uploads/``): the protocol's request headers, which the routes read themselves. ``Tus-Resumable``
#: on every request but discovery (``OPTIONS``): without it, or with another version, the answer is 412. A 412
#: there is never an ETag precondition, so these operations take no ``If-Match``.
TUS_RESUMABLE: dict[str, Any] = {
    "name": "Tus-Resumable",
    "in": "header",
    "required": True,
    "description": "The tus protocol version: `1.0.0` (anything else answers 412 with `Tus-Version`)",
    "schema": {"type": "string", "enum": ["1.0.0"]},
}
#: Operations that take the file's bytes (``application/offset+octet-stream``), and whether they must.
TUS_BODIES = {"appendUpload": True, "createUpload": False}


def tus_parameters(operation_id: str, max_bytes: int) -> list[dict[str, Any]]:
    """The tus headers of one upload operation (none for discovery)."""

    def header(name: str, description: str, schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
        return {"name": name, "in": "header", "required": required, "description": description, "schema": schema}

    checksum = header(
        "Upload-Checksum",
        "tus checksum extension: `<algorithm> <base64 digest>` of this request's bytes (sha1, sha256); a "
        "mismatch answers 460",
        {"type": "string", "pattern": "^(sha1|sha256) [A-Za-z0-9+/]+={0,2}$"},
        required=False,
    )
    if operation_id == "createUpload":
        return [
            TUS_RESUMABLE,
            header(
                "Upload-Length",
                f"The file's size in bytes, 1 to Tus-Max-Size ({max_bytes}); more answers 413",
                {"type": "integer", "minimum": 1, "maximum": max_bytes},
            ),
            header(
                "Upload-Metadata",
                "Comma-separated `key base64(value)` pairs: photo_id, visit_id and sha256 are required (a "
                "visit you are on; values a schema cannot check answer 422)",
                {"type": "string", "minLength": 1, "maxLength": 8192},
            ),
            checksum,
        ]
    if operation_id == "appendUpload":
        return [
            TUS_RESUMABLE,
            header(
                "Upload-Offset",
                "Must equal the server's offset (else 409)",
                {"type": "integer", "minimum": 0, "maximum": max_bytes},
            ),
            checksum,
        ]
    if operation_id in ("getUploadStatus", "terminateUpload"):
        return [TUS_RESUMABLE]
    if operation_id == "overrideUploadMethod":
        return [
            header(
                "X-HTTP-Method-Override",
                "The tus method this POST stands for; its headers follow that method's rules",
                {"type": "string", "enum": ["PATCH", "DELETE", "HEAD"]},
            ),
            TUS_RESUMABLE,
        ]
    return []
