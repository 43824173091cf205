"""Photos and resumable uploads (``docs/uploads.md``)."""
