"""Benchmarks: `python -m bench [NAME ...]`; each writes its section of bench/RESULTS.md."""
