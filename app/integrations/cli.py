"""Import a crisis list from a spreadsheet (CSV or XLSX), the way offices receive them.

    python -m app.integrations.cli import 명단.xlsx --as bigdata-feed --source bigdata

Rows go through the same path as ``POST /v1/integrations/households:bulk`` (the same validation,
idempotency and batches; :class:`app.integrations.bulk.BulkImporter`), under the account named by
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
| ``round_ends_at`` (회차종료일, 조사종료일) | optional: the round's end (the deadline), like ``observed_at`` |
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
from pathlib import Path
from typing import Annotated, Any

import typer

from app.boot import build_state
from app.households.models import SignalSource
from app.integrations.spreadsheet import (
    RESULT_COLUMNS,
    Unreadable,
    header_map,
    lines_from,
    read_rows,
    row_to_line,
)

__all__ = ["cli", "header_map", "row_to_line", "run_import"]

cli = typer.Typer(help="Imports from other systems (crisis lists)", no_args_is_help=True, add_completion=False)

# --- the command -----------------------------------------------------------------------------------------------


def _errors_text(errors: list[Any] | None) -> str:
    return "; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in errors or [])


async def _principal(state: Any, username: str) -> Any:
    from app.access import policy
    from app.auth.service import principal_for
    from app.integrations import repository

    async with state.sessionmaker() as session:
        row = await repository.user_named(session, username)
    if row is None:
        raise typer.BadParameter(f"no user {username!r}", param_hint="--as")
    user, org = row
    if not (user.active and org.active):
        raise typer.BadParameter(f"{username!r} is deactivated", param_hint="--as")
    principal = principal_for(user, org, session_id=None, device_id=None, address=None)
    if not policy.may_import(principal):
        raise typer.BadParameter(
            "needs an integration client with households:import, or a coordinator", param_hint="--as"
        )
    return principal


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
    """Import ``path``; returns the summary. ``state``: an app's state to use (default: a new one built from
    the environment's settings by :func:`app.boot.build_state`, disposed of at the end)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from app.integrations.bulk import BulkImporter

    console = Console(quiet=quiet, stderr=True)
    own = state is None
    if own:
        state = build_state()
    try:
        principal = await _principal(state, username)
        try:
            header, rows, total = read_rows(
                path, sheet, max_uncompressed=state.settings.import_xlsx_max_uncompressed_mib * 1024 * 1024
            )
        except Unreadable as exc:
            raise typer.BadParameter(str(exc), param_hint="FILE") from exc
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
