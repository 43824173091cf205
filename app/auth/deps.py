"""Who is calling: resolved once per request (authentication). Which roles a route admits is declared with the
gates of :mod:`app.access.gates`.

The dependencies themselves live in :mod:`app.access.caller` (the gates read them); this module installs the
resolver that turns a bearer token into the caller (:func:`app.auth.service.resolve_principal`) and names them
for the routes that need a caller but no gate.
"""

from __future__ import annotations

from app.access.caller import CurrentPrincipal, OptionalPrincipal, install_authenticator
from app.auth.service import resolve_principal

install_authenticator(resolve_principal)

__all__ = ["CurrentPrincipal", "OptionalPrincipal"]
