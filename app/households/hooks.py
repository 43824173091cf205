"""The unit of work's hooks of households (docs/architecture.md, "Unit of work"), registered by
``app.journal.install()`` through the registry, in domain order:

* ``before_flush``: per-field stamps (:func:`app.households.sync.stamp_household_fields`), the version at which
  each field a phone may patch last changed, kept for REST and sync alike;
* ``after_flush``: search keys (:func:`app.households.search.keep_search_keys`) of every household the flush
  wrote, rewritten in the same transaction.
"""

from __future__ import annotations

from app.households.search import keep_search_keys
from app.households.sync import stamp_household_fields

SESSION_HOOKS = {"before_flush": (stamp_household_fields,), "after_flush": (keep_search_keys,)}
