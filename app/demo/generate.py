"""Generate the winter district: ``python -m app.demo.generate --size full``.

Migrates the database named by the settings (``ONGI_DATA_DIR`` / ``ONGI_DATABASE_URL``) first, then
generates the dataset of docs/performance.md#budget (``full``, for benchmarks) or the demo (``small``) and prints what
it
made and how long it took. Nothing is generated when the district already has households; use a fresh
data directory. Refused in production.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date

from app.demo.generator import DEFAULT_SEED, SIZES, Stats


async def run(size: str, seed: int, today: date | None, with_files: bool) -> Stats:
    from app import journal, registry
    from app.core.config import get_settings
    from app.core.db import create_engine, create_sessionmaker
    from app.core.security import Security
    from app.demo.generator import generate
    from app.migrate import upgrade

    settings = get_settings()
    registry.import_models()
    journal.install()
    engine = create_engine(settings)
    storage = None
    try:
        await upgrade(engine)
        if with_files:
            from app.media.storage import create_storage

            storage = create_storage(settings)
        return await generate(
            create_sessionmaker(engine), size, security=Security(settings), today=today, seed=seed, storage=storage
        )
    finally:
        if storage is not None:
            await storage.close()
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.demo.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--today", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default: today)")
    parser.add_argument("--no-files", action="store_true", help="do not store the photos' image files")
    args = parser.parse_args(argv)

    from app.core.config import get_settings

    if get_settings().env == "production":
        print("refused: the winter district is demo and benchmark data (ONGI_ENV=production)", file=sys.stderr)
        return 2
    stats = asyncio.run(run(args.size, args.seed, args.today, not args.no_files))
    print(stats.summary())
    for item in stats.missing:
        print(f"  not generated (package missing): {item}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
