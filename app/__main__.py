"""``python -m app``: the command line (:mod:`app.cli`)."""

from app.cli import cli

cli()
