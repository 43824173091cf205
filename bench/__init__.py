"""Benchmarks of the performance budget (docs/performance.md); run from the repository root as
``.venv/bin/python -m bench.<name>`` (bench/README.md lists them)."""
