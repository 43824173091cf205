"""Campaigns: a focused period with its districts, criteria and summary (``docs/care.md``)."""
