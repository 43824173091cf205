"""Import a crisis list from a spreadsheet (CSV or XLSX), the way offices receive them.

    python -m app.integrations.cli import 명단.xlsx --as bigdata-feed --source bigdata

Rows go through the same path as ``POST /v1/integrations/households:bulk`` (the same validation,
idempotency and batches; :class:`app.integrations.service.BulkImporter`), under the account named by
``--as``: an integration client holding ``households:import``, or a coordinator (imports land in their
jurisdiction). A progress bar shows the rows done; the results, one per row, are written beside the file
as ``<file>.results.csv`` (UTF-8 with a byte order mark, so that Excel shows Korean), and a summary is
printed. Running it again on the same file changes nothing (every row answers ``unchanged``).

Columns (header row first; English names or the Korean ones in brackets, case and spaces ignored):

| column | meaning |
| --- | --- |
| ``external_id`` (관리번호, 연계번호) | the household's id in the sending system — required |
| ``source`` (출처) | bigdata, benefit_rejected, … — or ``--source`` for every row |
| ``indicators`` (위기지표, 위기정보) | indicators separated by ``,`` ``;`` ``|`` or spaces |
| ``observed_at`` (기준일, 발굴일) | a date (YYYY-MM-DD, in the service time zone) or an RFC 3339 date-time |
| ``district_code`` (시군구코드) | 5 digits; taken from the dong code when missing |
| ``dong_code`` (행정동코드) | 10 digits |
| ``address`` (주소), ``address_detail`` (상세주소) | |
| ``head_name`` (세대주, 세대주명, 성명) | |
| ``contact_phone`` (연락처, 전화번호) | |
| ``tags`` (취약유형) | vulnerability tags, separated like indicators |
| ``living_situation`` (생활실태) | |
| ``members`` (가구원) | a JSON list of members, as in the API |
| ``details.<name>`` (상세.<name>) | goes into the signal's ``details`` (amounts, months) |

Mount it in the main command line with ``cli.add_typer(integrations_cli, name="integrations")`` to run it
as ``python -m app integrations import …``.
"""

from __future__ import annotations

import asyncio
import csv
import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any

import typer

from app.households.models import SignalSource

cli = typer.Typer(help="Imports from other systems (crisis lists)", no_args_is_help=True, add_completion=False)

#: Header aliases (normalized: lower case, no spaces, dashes or underscores) → field.
ALIASES: dict[str, str] = {
    "externalid": "external_id",
    "관리번호": "external_id",
    "연계번호": "external_id",
    "source": "source",
    "출처": "source",
    "indicators": "indicators",
    "위기지표": "indicators",
    "위기정보": "indicators",
    "observedat": "observed_at",
    "기준일": "observed_at",
    "발굴일": "observed_at",
    "districtcode": "district_code",
    "시군구코드": "district_code",
    "dongcode": "dong_code",
    "행정동코드": "dong_code",
    "address": "address",
    "주소": "address",
    "addressdetail": "address_detail",
    "상세주소": "address_detail",
    "headname": "head_name",
    "세대주": "head_name",
    "세대주명": "head_name",
    "성명": "head_name",
    "contactphone": "contact_phone",
    "연락처": "contact_phone",
    "전화번호": "contact_phone",
    "tags": "tags",
    "취약유형": "tags",
    "livingsituation": "living_situation",
    "생활실태": "living_situation",
    "members": "members",
    "가구원": "members",
}
HOUSEHOLD_FIELDS = (
    "district_code",
    "dong_code",
    "address",
    "address_detail",
    "head_name",
    "contact_phone",
    "tags",
    "living_situation",
    "members",
)
RESULT_COLUMNS = ("line", "external_id", "status", "household_id", "errors")
_SPLIT = re.compile(r"[,;|\s]+")


def _normalize_header(name: Any) -> str:
    return re.sub(r"[\s_\-]+", "", str(name or "")).lower()


def header_map(header: list[Any]) -> list[str | None]:
    """For each column, the field it fills (``details.<name>`` for detail columns, None to ignore)."""
    out: list[str | None] = []
    for raw in header:
        text = str(raw or "").strip()
        lowered = text.lower()
        for prefix in ("details.", "상세."):
            if lowered.startswith(prefix) and len(text) > len(prefix):
                out.append("details." + text[len(prefix) :].strip())
                break
        else:
            out.append(ALIASES.get(_normalize_header(text)))
    return out


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code typed as a number: 1199051000.0
    text = str(value).strip()
    return text or None


def _observed(value: Any, tz: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=tz)).isoformat()
    if isinstance(value, date):
        return datetime.combine(value, time.min, tzinfo=tz).isoformat()
    text = str(value).strip()
    if re.fullmatch(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}", text):
        y, m, d = (int(p) for p in re.split(r"[-./]", text))
        return datetime(y, m, d, tzinfo=tz).isoformat()
    if re.fullmatch(r"\d{8}", text):  # 20261101
        return datetime(int(text[:4]), int(text[4:6]), int(text[6:]), tzinfo=tz).isoformat()
    return text  # an RFC 3339 date-time, or something the validation will name


def row_to_line(fields: list[str | None], values: list[Any], tz: Any) -> dict[str, Any]:
    """One spreadsheet row as an import line (what ``POST …:bulk`` takes as one NDJSON line)."""
    line: dict[str, Any] = {}
    household: dict[str, Any] = {}
    details: dict[str, Any] = {}
    for name, value in zip(fields, values, strict=False):
        if name is None:
            continue
        if name.startswith("details."):
            if value not in (None, ""):
                details[name[len("details.") :]] = value if isinstance(value, int | float | bool) else _text(value)
            continue
        if name == "observed_at":
            observed = _observed(value, tz)
            if observed:
                line["observed_at"] = observed
            continue
        text = _text(value)
        if text is None:
            continue
        if name in ("indicators", "tags"):
            parts = [p for p in _SPLIT.split(text) if p]
            (line if name == "indicators" else household)[name] = parts
        elif name == "members":
            try:
                household["members"] = json.loads(text)
            except ValueError:
                household["members"] = text  # the validation names it
        elif name in HOUSEHOLD_FIELDS:
            household[name] = text
        else:
            line[name] = text
    if "district_code" not in household and isinstance(household.get("dong_code"), str):
        household["district_code"] = household["dong_code"][:5]
    if details:
        line["details"] = details
    line["household"] = household
    return line


# --- readers ---------------------------------------------------------------------------------------------------


def _csv_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM), else CP949 (what Korean Excel writes)."""
    with path.open("rb") as fh:
        head = fh.read(256 * 1024)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            return "cp949"
    return "utf-8-sig"


#: Default bound on an XLSX file's decompressed size (the setting ``import_xlsx_max_uncompressed_mib``).
XLSX_MAX_UNCOMPRESSED = 64 * 1024 * 1024
#: Most parts an XLSX file may hold (a workbook of a few sheets has a few dozen).
XLSX_MAX_PARTS = 10_000


def check_xlsx(path: Path, max_uncompressed: int = XLSX_MAX_UNCOMPRESSED) -> None:
    """Refuse a zip bomb before openpyxl opens it: the parts' sizes as the zip declares them must add up to no
    more than ``max_uncompressed``. Python's zip reader never inflates a part past its declared size (a part
    that tries fails its check), so the declared sizes bound what the parse can take."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise typer.BadParameter("not a readable .xlsx file", param_hint="FILE") from exc
    total = sum(part.file_size for part in parts)
    if len(parts) > XLSX_MAX_PARTS or total > max_uncompressed:
        raise typer.BadParameter(
            f"the workbook unpacks to {total / 2**20:.0f} MiB in {len(parts)} parts; "
            f"at most {max_uncompressed / 2**20:.0f} MiB is read (ONGI_IMPORT_XLSX_MAX_UNCOMPRESSED_MIB)",
            param_hint="FILE",
        )


def read_rows(
    path: Path, sheet: str | None = None, *, max_uncompressed: int = XLSX_MAX_UNCOMPRESSED
) -> tuple[list[Any], Iterator[tuple[int, list[Any]]], int | None]:
    """(header, numbered data rows (row numbers as the spreadsheet shows them), row count if known)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        check_xlsx(path, max_uncompressed)
        workbook = load_workbook(path, read_only=True, data_only=True)
        ws = workbook[sheet] if sheet else workbook.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = list(next(rows, ()) or ())
        total = ws.max_row - 1 if ws.max_row else None

        def xlsx_rows() -> Iterator[tuple[int, list[Any]]]:
            try:
                for number, row in enumerate(rows, start=2):
                    values = list(row)
                    if any(v not in (None, "") for v in values):
                        yield number, values
            finally:
                workbook.close()

        return header, xlsx_rows(), total
    encoding = _csv_encoding(path)
    with path.open(encoding=encoding, newline="") as fh:
        total = max(sum(1 for _ in fh) - 1, 0)
    fh = path.open(encoding=encoding, newline="")
    reader = csv.reader(fh)
    header = next(reader, [])

    def csv_rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for values in reader:
                if any(v.strip() for v in values):
                    yield reader.line_num, values
        finally:
            fh.close()

    return header, csv_rows(), total


async def lines_from(rows: Iterator[tuple[int, list[Any]]], fields: list[str | None], tz: Any) -> AsyncIterator[Any]:
    """Rows as numbered import lines, read in a worker thread a few hundred at a time."""
    import anyio.to_thread

    def take() -> list[tuple[int, dict[str, Any]]]:
        out = []
        for number, values in rows:
            out.append((number, row_to_line(fields, values, tz)))
            if len(out) >= 200:
                break
        return out

    while True:
        chunk = await anyio.to_thread.run_sync(take)
        if not chunk:
            return
        for item in chunk:
            yield item


# --- the command -----------------------------------------------------------------------------------------------


def _errors_text(errors: list[Any] | None) -> str:
    return "; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in errors or [])


async def _principal(state: Any, username: str) -> Any:
    from sqlalchemy import select

    from app.auth.models import Organization, Role, User
    from app.auth.service import principal_for

    async with state.sessionmaker() as session:
        row = (
            await session.execute(
                select(User, Organization)
                .join(Organization, Organization.id == User.organization_id)
                .where(User.username == username)
            )
        ).first()
    if row is None:
        raise typer.BadParameter(f"no user {username!r}", param_hint="--as")
    user, org = row
    if not (user.active and org.active):
        raise typer.BadParameter(f"{username!r} is deactivated", param_hint="--as")
    allowed = user.role == Role.coordinator or (
        user.role == Role.integration and "households:import" in (user.scopes or [])
    )
    if not allowed:
        raise typer.BadParameter(
            "needs an integration client with households:import, or a coordinator", param_hint="--as"
        )
    return principal_for(user, org, session_id=None, device_id=None, address=None)


async def run_import(
    path: Path,
    *,
    username: str,
    source: str | None,
    sheet: str | None,
    results_path: Path,
    batch_size: int | None = None,
    quiet: bool = False,
    state: Any = None,
) -> dict[str, Any]:
    """Import ``path``; returns the summary. ``state``: an app's state to use (default: a new app built from
    the environment's settings, disposed of at the end)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from app.integrations.service import BulkImporter
    from app.main import create_app

    console = Console(quiet=quiet, stderr=True)
    own = state is None
    if own:
        state = create_app().state.ongi
    try:
        principal = await _principal(state, username)
        header, rows, total = read_rows(
            path, sheet, max_uncompressed=state.settings.import_xlsx_max_uncompressed_mib * 1024 * 1024
        )
        fields = header_map(header)
        if "external_id" not in fields:
            raise typer.BadParameter("the header has no external_id (관리번호) column", param_hint="FILE")
        importer = BulkImporter(state, principal, batch_size=batch_size, default_source=source, via="console")
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:.0f} rows/s"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        started = asyncio.get_running_loop().time()
        with results_path.open("w", encoding="utf-8-sig", newline="") as out, progress:
            writer = csv.writer(out)
            writer.writerow(RESULT_COLUMNS)
            task = progress.add_task(path.name, total=total, rate=0.0)
            async for batch in importer.run(lines_from(rows, fields, state.settings.tz)):
                for r in batch:
                    writer.writerow(
                        [r.line, r.external_id or "", r.status, r.household_id or "", _errors_text(r.errors)]
                    )
                elapsed = max(asyncio.get_running_loop().time() - started, 1e-6)
                progress.update(task, advance=len(batch), rate=importer.lines / elapsed)
        await importer.record_summary()
        summary = importer.summary()
        table = Table(title=f"{path.name} → {results_path.name}")
        for key in summary:
            table.add_column(key, justify="right")
        table.add_row(*(str(v) for v in summary.values()))
        console.print(table)
        return summary
    finally:
        if own:
            await state.engine.dispose()


@cli.callback()
def main() -> None:
    """Imports from other systems."""


@cli.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="a .csv or .xlsx file")],
    as_user: Annotated[
        str, typer.Option("--as", help="username: an integration client (households:import) or a coordinator")
    ],
    source: Annotated[SignalSource | None, typer.Option(help="source of rows without a source column")] = None,
    sheet: Annotated[str | None, typer.Option(help="XLSX sheet (default: the first)")] = None,
    results: Annotated[Path | None, typer.Option(help="where to write results (default: <file>.results.csv)")] = None,
    batch_size: Annotated[
        int | None, typer.Option(min=1, max=5000, help="rows per transaction (default: adapted, ~0.25 s each)")
    ] = None,
) -> None:
    """Import a crisis list from a CSV or XLSX file; write a result per row beside it."""
    if file.suffix.lower() not in (".csv", ".xlsx", ".xlsm", ".txt"):
        raise typer.BadParameter("a .csv or .xlsx file", param_hint="FILE")
    results_path = results or file.with_name(file.name + ".results.csv")
    summary = asyncio.run(
        run_import(
            file,
            username=as_user,
            source=source.value if source else None,
            sheet=sheet,
            results_path=results_path,
            batch_size=batch_size,
        )
    )
    if summary["rejected"]:
        raise typer.Exit(code=3)  # finished, but some rows were rejected (see the results file)


if __name__ == "__main__":
    cli()
