"""Photos and resumable uploads (DESIGN §5)."""
