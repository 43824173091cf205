"""Checklist templates (versioned, published versions immutable) and checklist responses (``docs/checklists.md``)."""
