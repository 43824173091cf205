"""Notes on visits, households and cases, with their edit history (``docs/checklists.md``, notes)."""
