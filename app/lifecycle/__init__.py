"""The lifecycle of personal data (DESIGN §3.6): destruction past retention, and its records."""
