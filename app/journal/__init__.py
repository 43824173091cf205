"""What a unit of work records about itself (docs/architecture.md, "Unit of work").

One typed :class:`app.core.uow.Journal` per session (``app.core.uow.journal_of``) holds it; the modules here
fill it and register the hooks that write it:

* :mod:`app.journal.changes`: change notes of synced records, numbered at commit (``change_log``);
* :mod:`app.journal.outbox`: ``emit()``, outbox events numbered with them (``outbox_event``);
* :mod:`app.journal.audit`: audit rows, in the transaction, after a read, or in a batch.
* :mod:`app.journal.bulk`: versioned updates of a batch (a sync push), stored at its end in one statement per table.

A domain adds hooks of its own in ``app/<domain>/hooks.py`` as ``SESSION_HOOKS = {"before_flush": (fn, …)}``
(households: per-field stamps and search keys), found through the registry: the journal imports no domain.

Nothing is registered at import time. :func:`install` registers every hook once per process, in this order:
change notes and events, then the domains' hooks in domain order, then the audit's; ``create_app()``, the
worker (through ``create_app()``) and the CLI call it, and so does every entry point that builds sessions
itself (tests/conftest.py, the benchmarks).
"""

from __future__ import annotations

from typing import Any

from app.core.uow import register_hook


def install(app: Any = None) -> None:
    """Register the unit of work's hooks (idempotent). ``app`` is accepted for symmetry with the other
    ``install(app)`` calls of ``create_app()`` and is not used."""
    from app import registry
    from app.journal import audit, changes

    changes.install()
    for module in registry.extensions("hooks"):
        for kind, hooks in module.SESSION_HOOKS.items():
            for hook in hooks:
                register_hook(**{kind: hook})
    audit.install()
