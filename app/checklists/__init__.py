"""Checklist templates (versioned, published versions immutable) and checklist responses (DESIGN §2)."""
