"""Supports: a household linked to a resource, with a status flow and a ledger (``docs/care.md``)."""
