"""Monitoring plans: follow-up visits at an interval after a support or a case closure (``docs/care.md``)."""
