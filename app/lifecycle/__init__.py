"""The lifecycle of personal data (docs/operations.md, Retention): destruction past retention, and its records."""
