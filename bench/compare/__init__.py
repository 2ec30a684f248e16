"""Bastion vs LiteLLM proxy vs the upstream called directly: ``python -m bench.compare``.

See ``bench/compare/README.md`` for what is measured and how; results land in
``bench/compare/RESULTS.md``, ``bench/results.json`` and ``bench/compare/chart.png``.
"""
