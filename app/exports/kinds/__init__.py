"""The export kinds of this build, one module each (its fields, page function and spreadsheet columns).

A kind's module names a :class:`~app.exports.kind.Kind` ``KIND``; :data:`KIND_DEFS` lists them in the order
the API documents them. Supports and campaign summaries read the care tables (:func:`available`).
"""

from __future__ import annotations

from app.exports.kind import Kind
from app.exports.kinds import campaigns, households, supports, visits

KINDS = ("households", "visits", "supports", "campaign-summaries")
KIND_DEFS: dict[str, Kind] = {k.name: k for k in (households.KIND, visits.KIND, supports.KIND, campaigns.KIND)}


def sheet_titles() -> dict[str, dict[str, str]]:
    """The message catalogue entries of every spreadsheet column title (registered by ``messages``)."""
    titles = {
        f"exports.col.{kind.name}.{key}": {"ko": ko, "en": en}
        for kind in KIND_DEFS.values()
        for key, ko, en in kind.sheet
    }
    titles.update(
        {
            f"exports.col.campaign-summaries.{key}": {"ko": ko, "en": en}
            for key, (ko, en) in campaigns.CAMPAIGN_TITLES.items()
        }
    )
    return titles


def available(kind: str) -> bool:
    """Whether the tables the kind reads exist in this build (supports, campaigns: app.supports, app.campaigns)."""
    try:
        if kind == "households":
            import app.households.service
        elif kind == "supports":
            import app.supports.service
        elif kind == "campaign-summaries":
            import app.campaigns.summary
        else:
            import app.visits.service  # noqa: F401
    except ImportError:
        return False
    return True
