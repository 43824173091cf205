"""The authenticated caller: :mod:`app.core.principal` (re-exported here while importers move; the lead rewrites
them at the end of issue 15)."""

from app.core.principal import Principal, codes_within, in_codes

__all__ = ["Principal", "codes_within", "in_codes"]
