"""Benchmarks. Never part of ``make test``; figures go to ``bench/RESULTS.md``."""
