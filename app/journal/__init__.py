"""What a unit of work records about itself (docs/architecture.md, "Unit of work").

One typed :class:`app.core.uow.Journal` per session (``app.core.uow.journal_of``) holds it; the modules here
fill it and register the hooks that write it:

* :mod:`app.journal.changes`: change notes of synced records, numbered at commit (``change_log``);
* :mod:`app.journal.outbox`: ``emit()``, outbox events numbered with them (``outbox_event``);
* :mod:`app.journal.audit`: audit rows, in the transaction, after a read, or in a batch;
* :mod:`app.journal.stamps`: the households' flush hooks (field stamps, search keys).

Nothing is registered at import time. :func:`install` registers every hook, in this order, once per process;
``create_app()``, the worker and the CLI call it (so does every entry point that builds sessions itself).
"""

from __future__ import annotations

from typing import Any


def install(app: Any = None) -> None:
    """Register the unit of work's hooks (idempotent). ``app`` is accepted for symmetry with the other
    ``install(app)`` calls of ``create_app()`` and is not used."""
    from app.journal import audit, changes, stamps

    changes.install()
    stamps.install()
    audit.install()
