"""Integrated case management: a case with a team, stages, goals and due dates (``docs/care.md``)."""
