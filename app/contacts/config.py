"""Contact-attempt settings, from the environment with the ``ONGI_CONTACT_`` prefix (beside the code that uses
them, like ``app.events.config``). Tests and tools may put a :class:`ContactSettings` in the app state's
``CONTACT_SETTINGS`` slot.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.core.state import AppState, Slot


class ContactSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONGI_CONTACT_", extra="ignore", frozen=True)

    #: Failed attempts (no answer, moved, wrong number) since the household was last reached after which it is
    #: ``unreachable`` (``ONGI_CONTACT_UNREACHABLE_AFTER``).
    unreachable_after: int = Field(default=3, ge=1, le=50)


#: This app's contact-attempt settings (:func:`contact_settings`).
CONTACT_SETTINGS: Slot[ContactSettings] = Slot("contacts")


def contact_settings(state: AppState | None) -> ContactSettings:
    """The settings of this app instance (the :data:`CONTACT_SETTINGS` slot), else from the environment."""
    if state is None:
        return ContactSettings()
    return state.get_or_create(CONTACT_SETTINGS, ContactSettings)
