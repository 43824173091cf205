"""Why personal data is downloaded: the ``Ongi-Reason`` header every export and file download gives, audited with
what it sends (docs/access.md, Audit; docs/integrations.md). Exports, consent forms and photo downloads ask
:func:`download_reason`."""

from __future__ import annotations

from app.audit import messages as _messages  # noqa: F401 - registers the messages
from app.core.errors import FieldInvalid

#: The request header that carries why personal data is downloaded (docs/access.md; docs/integrations.md).
REASON_HEADER = "Ongi-Reason"


def download_reason(raw: str | None) -> str:
    """The reason a download of personal data gives (``Ongi-Reason``: UTF-8, percent-encoded, since header
    values are Latin-1), or a 422 naming ``header.ongi-reason``. Never in the URL: URLs end up in logs."""
    from urllib.parse import unquote

    text = " ".join(unquote(raw or "", errors="strict").split()) if raw else ""
    if not 2 <= len(text) <= 500 or any(ord(c) < 32 for c in text):
        raise FieldInvalid.one("header.ongi-reason", "exports.reason-required")
    return text
