"""What a push costs the database: statements per push of N mutations (issue 20: "a constant number of statements
per push plus O(N) rows, on both databases").

``python -m bench.push_statements [--db sqlite|postgres] [--sizes 1,10,100]``

A planner's phone pushes N new notes on its visit, then N edits of those notes, then N patches of households it
holds, then the lonely-death screening of N visits (new responses, and changed answers merged into the responses
the smaller sizes made). Every statement the app sends to the database during the push is counted (SQLAlchemy's
``before_cursor_execute``; an ``executemany`` of many rows is one statement), with the rows it carried. The app is
called in-process through httpx; PostgreSQL databases are made and dropped on the server that
``ONGI_BENCH_POSTGRES_URL`` names.

What one statement is, honestly: an ``executemany`` (the inserts of notes, revisions, field stamps, sync mutations,
audit rows, change log) is one call to the driver, which on SQLite steps one prepared statement once per row and on
asyncpg sends all rows for one prepared statement in one round trip; the versioned updates
(``app.journal.bulk``) are one ``WITH given(…) AS (VALUES …) UPDATE … FROM given … RETURNING id`` per table (per
500 rows), whose rows count as one here.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench._support import pg_admin

ROOT = Path(__file__).resolve().parent.parent


class Counting:
    def __init__(self) -> None:
        self.on = False
        self.statements: Counter[str] = Counter()
        self.rows = 0

    def __call__(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        if not self.on:
            return
        verb = " ".join(statement.split()[:3])[:60]
        self.statements[verb] += 1
        self.rows += len(parameters) if executemany and isinstance(parameters, (list, tuple)) else 1

    def take(self) -> tuple[int, int, Counter[str]]:
        out = (sum(self.statements.values()), self.rows, self.statements)
        self.statements, self.rows = Counter(), 0
        return out


async def run(db: str, sizes: list[int], show: bool) -> dict[str, dict[int, int]]:
    import httpx

    from app.core.principal import Role
    from app.main import create_app
    from app.migrate import upgrade
    from tests.conftest import make_settings
    from tests.support.checklists import SCREENING, builtin_templates, screening_answers
    from tests.support.factories import Factory, make_household, make_visit

    tmp = Path(tempfile.mkdtemp(prefix="ongi-bench-push-"))
    pg_name = None
    if db == "postgres":
        from sqlalchemy.engine import make_url

        admin = os.environ["ONGI_BENCH_POSTGRES_URL"]
        pg_name = f"ongi_bench_{uuid.uuid4().hex[:10]}"
        await pg_admin(admin, f'CREATE DATABASE "{pg_name}"')
        url = make_url(admin).set(database=pg_name).render_as_string(hide_password=False)
    else:
        url = f"sqlite+aiosqlite:///{tmp / 'ongi.db'}"
    app = create_app(make_settings(url, tmp / "data", database_pool_size=5))
    state = app.state.ongi
    await upgrade(state.engine)
    counting = Counting()
    event.listen(state.engine.sync_engine, "before_cursor_execute", counting)
    out: dict[str, dict[int, int]] = {
        "create notes": {},
        "edit notes": {},
        "patch households": {},
        "checklist responses": {},
    }
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as c:
            f = Factory(state, state.sessionmaker, c)
            org = await f.org()
            me = await f.user(Role.planner, org)
            homes = [await make_household(f) for _ in range(max(sizes))]
            await builtin_templates(f)
            pin = [{"key": SCREENING, "version": 1}]
            visits = [await make_visit(f, home, [me], checklists=pin) for home in homes]
            phone = await f.login(me)

            async def push(muts: list[dict[str, Any]]) -> list[dict[str, Any]]:
                counting.on = True
                r = await c.post(
                    "/v1/sync/push",
                    headers=phone.headers,
                    json={
                        "device_id": phone.extra["device"],
                        "device_time": datetime.now(UTC).isoformat(),
                        "mutations": muts,
                    },
                )
                counting.on = False
                assert r.status_code == 200, r.text
                results = r.json()["results"]
                assert all(x["status"] == "applied" for x in results), results[:2]
                return results

            def mut(entity: str, op: str, id: Any, data: dict[str, Any], base: int | None = None) -> dict[str, Any]:
                return {
                    "mutation_id": str(uuid.uuid4()),
                    "entity": entity,
                    "op": op,
                    "id": str(id),
                    "base_version": base,
                    "data": data,
                }

            versions = {str(h.id): h.version for h in homes}
            response_ids = [uuid.uuid4() for _ in homes]
            for n in sizes:
                ids = [uuid.uuid4() for _ in range(n)]
                results = await push(
                    [
                        mut("note", "upsert", ids[i], {"visit_id": str(visits[i].id), "body": f"기록 {i}"})
                        for i in range(n)
                    ]
                )
                count, rows, kinds = counting.take()
                out["create notes"][n] = count
                if show:
                    print(db, "create", n, count, rows, dict(kinds))
                await push(
                    [
                        mut("note", "upsert", ids[i], {"body": f"고친 기록 {i}"}, base=results[i]["version"])
                        for i in range(n)
                    ]
                )
                count, rows, kinds = counting.take()
                out["edit notes"][n] = count
                if show:
                    print(db, "edit", n, count, rows, dict(kinds))
                results = await push(
                    [
                        mut(
                            "household",
                            "patch",
                            homes[i].id,
                            {"living_situation": f"상황 {n}-{i}"},
                            base=versions[str(homes[i].id)],
                        )
                        for i in range(n)
                    ]
                )
                for i in range(n):
                    versions[str(homes[i].id)] = results[i]["version"]
                count, rows, kinds = counting.take()
                out["patch households"][n] = count
                if show:
                    print(db, "patch", n, count, rows, dict(kinds))
                # a screening on each visit: created on the visits new to this size, merged into the responses
                # earlier sizes made (one more item answered true each time: an overwrite kept in the history)
                await push(
                    [
                        mut(
                            "checklist_response",
                            "upsert",
                            response_ids[i],
                            {
                                "visit_id": str(visits[i].id),
                                "template_key": SCREENING,
                                "template_version": 1,
                                "answers": screening_answers(1 + sizes.index(n)),
                            },
                        )
                        for i in range(n)
                    ]
                )
                count, rows, kinds = counting.take()
                out["checklist responses"][n] = count
                if show:
                    print(db, "checklist", n, count, rows, dict(kinds))
    finally:
        await state.engine.dispose()
        if pg_name:
            await pg_admin(os.environ["ONGI_BENCH_POSTGRES_URL"], f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    return out


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--sizes", default="1,10,100")
    ap.add_argument("--show", action="store_true", help="print the statements of each push by kind")
    args = ap.parse_args()
    os.environ.setdefault("ONGI_LOG_LEVEL", "WARNING")
    sizes = [int(x) for x in args.sizes.split(",")]
    out = await run(args.db, sizes, args.show)
    print(f"statements per push ({args.db})")
    print("| push of N | " + " | ".join(f"N = {n}" for n in sizes) + " | per extra mutation |")
    print("| --- " * (len(sizes) + 2) + "|")
    for kind, by_n in out.items():
        slope = (by_n[sizes[-1]] - by_n[sizes[0]]) / (sizes[-1] - sizes[0]) if len(sizes) > 1 else 0
        print(f"| {kind} | " + " | ".join(str(by_n[n]) for n in sizes) + f" | {slope:.2f} |")


if __name__ == "__main__":
    asyncio.run(main())
