"""Many rows into one table at once: :mod:`app.core.inserts` (the audit journal writes a pull's rows by it too)."""

from app.core.inserts import COPY_AT_LEAST, INSERT_CHUNK, encode, insert_rows

__all__ = ["COPY_AT_LEAST", "INSERT_CHUNK", "encode", "insert_rows"]
