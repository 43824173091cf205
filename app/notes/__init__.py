"""Notes on visits, households and cases, with their edit history (DESIGN §2)."""
