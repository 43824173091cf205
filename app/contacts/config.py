"""Contact-attempt settings, from the environment with the ``ONGI_CONTACT_`` prefix (beside the code that uses
them, like ``app.events.config``). Tests and tools may put a :class:`ContactSettings` in ``state.extras["contacts"]``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ContactSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONGI_CONTACT_", extra="ignore", frozen=True)

    #: Failed attempts (no answer, moved, wrong number) since the household was last reached after which it is
    #: ``unreachable`` (``ONGI_CONTACT_UNREACHABLE_AFTER``).
    unreachable_after: int = Field(default=3, ge=1, le=50)


def contact_settings(state: Any) -> ContactSettings:
    found = state.extras.get("contacts") if state is not None else None
    if found is None:
        found = ContactSettings()
        if state is not None:
            state.extras["contacts"] = found
    return found  # type: ignore[no-any-return]
