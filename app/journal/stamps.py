"""The flush hooks of households (docs/architecture.md, "Unit of work"), registered like every other hook.

* per-field stamps (:func:`app.households.sync.stamp_household_fields`, ``before_flush``): the version at which
  each field a phone may patch last changed, kept for REST and sync alike, so a pushed patch merges per field;
* search keys (:func:`app.households.search.keep_search_keys`, ``after_flush``): the keys of every household an
  ORM flush wrote, rewritten in the same transaction.

The hooks live with the household code they serve; this module only registers them.
"""

from __future__ import annotations

from app.core.uow import register_hook


def install() -> None:
    from app.households.search import keep_search_keys
    from app.households.sync import stamp_household_fields

    register_hook(before_flush=stamp_household_fields, after_flush=keep_search_keys)
