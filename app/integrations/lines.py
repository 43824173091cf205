"""Lines of an import as they arrive (docs/integrations.md §2): numbered NDJSON lines or spreadsheet rows,
validated a batch at a time in a worker thread, with the payload's digest (what makes imports idempotent) and
the errors a refused line answers.

Idempotency
    Each (source, external id) has an :class:`~app.integrations.models.ImportRecord` holding the sha256 of
    the last accepted payload (:func:`payload_digest`: canonical JSON, sorted keys, ``observed_at`` in UTC).
    The same payload again is ``unchanged`` and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from app.access.integrations import may_import_into
from app.core.errors import Problem
from app.core.i18n import t
from app.core.principal import Principal
from app.core.times import rfc3339
from app.integrations import messages as _messages  # noqa: F401 - registers the messages
from app.integrations.schemas import ImportLine, ImportPayload, LineError, LineResult

MAX_LINE_BYTES = 64 * 1024

RawLine = tuple[int, bytes | dict[str, Any] | list[LineError]]


# --- digests and errors --------------------------------------------------------------------------------------


def payload_digest(source: str, external_id: str, payload: ImportPayload) -> str:
    data = payload.model_dump(mode="json", include=set(ImportPayload.model_fields))
    data["observed_at"] = rfc3339(payload.observed_at)
    canonical = json.dumps(
        {"source": source, "external_id": external_id, "payload": data},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def line_error(field: str, key: str, code: str = "value_error", **params: Any) -> LineError:
    return LineError(field=field, code=code, message=t(key, **params))


def validation_errors(exc: ValidationError, prefix: str = "") -> list[LineError]:
    out = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err.get("loc", ()))
        code = str(err.get("type", "value_error"))
        msg = str(err.get("msg", ""))
        key = f"field.{code}"
        text = t(key, msg=msg) if code == "value_error" else t(key)
        out.append(LineError(field=prefix + field, code=code, message=msg if text == key else text))
    return out


def problem_errors(problem: Problem, prefix: str = "") -> list[LineError]:
    errors = problem.extra.get("errors")
    if isinstance(errors, list) and errors:
        return [
            LineError(
                field=prefix + str(e.get("field", "")).removeprefix("body."),
                code=str(e.get("code", problem.slug)),
                message=str(e.get("message", "")),
            )
            for e in errors
        ]
    body = problem.body()
    return [LineError(field="", code=problem.slug, message=str(body.get("detail") or body.get("title")))]


# --- streams of lines ------------------------------------------------------------------------------------------


async def ndjson_lines(chunks: AsyncIterator[bytes], *, max_line: int = MAX_LINE_BYTES) -> AsyncIterator[RawLine]:
    """Numbered lines of an NDJSON byte stream, never holding more than one line (``max_line``) in memory.
    Blank lines are skipped (but counted); an over-long line is answered as an error and skipped."""
    buf = bytearray()
    number = 0
    skipping = False
    too_long = [line_error("", "integrations.line-too-long", code="too_long", limit=max_line)]

    def finish_line() -> RawLine | None:
        nonlocal skipping
        if skipping:
            skipping = False
            buf.clear()
            return number, too_long
        line = bytes(buf).strip()
        buf.clear()
        if number == 1:
            line = line.removeprefix(b"\xef\xbb\xbf").strip()
        return (number, line) if line else None

    async for chunk in chunks:
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            if not skipping:
                buf += piece
                if len(buf) > max_line:
                    skipping = True
                    buf.clear()
            if end < 0:
                break
            start = end + 1
            number += 1
            item = finish_line()
            if item is not None:
                yield item
    if buf or skipping:
        number += 1
        item = finish_line()
        if item is not None:
            yield item


@dataclass
class Parsed:
    line: int
    external_id: str | None
    model: ImportLine | None = None
    errors: list[LineError] | None = None
    digest: str | None = None


def parse_batch(batch: list[RawLine], default_source: str | None, principal: Principal) -> list[Parsed]:
    """Validate raw lines, and that each household lies in the principal's jurisdiction (CPU work: run it
    in a worker thread)."""
    out = []
    for number, raw in batch:
        if isinstance(raw, list):
            out.append(Parsed(number, None, errors=raw))
            continue
        data: Any = raw
        if isinstance(raw, bytes):
            try:
                data = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                out.append(Parsed(number, None, errors=[line_error("", "integrations.invalid-utf8", "json_invalid")]))
                continue
            except ValueError:
                out.append(Parsed(number, None, errors=[line_error("", "integrations.invalid-json", "json_invalid")]))
                continue
        if not isinstance(data, dict):
            out.append(Parsed(number, None, errors=[line_error("", "integrations.invalid-json", "json_invalid")]))
            continue
        if default_source and "source" not in data:
            data = {**data, "source": default_source}
        ext = data.get("external_id")
        external_id = ext if isinstance(ext, str) else None
        try:
            model = ImportLine.model_validate(data)
        except ValidationError as exc:
            out.append(Parsed(number, external_id, errors=validation_errors(exc)))
            continue
        if not may_import_into(principal, model.household.dong_code):
            error = line_error("household.dong_code", "integrations.outside-jurisdiction")
            out.append(Parsed(number, external_id, errors=[error]))
            continue
        digest = payload_digest(model.source.value, model.external_id, model)
        out.append(Parsed(number, model.external_id, model=model, digest=digest))
    return out


def result_line(result: LineResult) -> bytes:
    return (result.model_dump_json(exclude_none=True) + "\n").encode()


def results_lines(results: Iterable[LineResult]) -> bytes:
    return b"".join(result_line(r) for r in results)
