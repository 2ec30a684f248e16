"""``python -m bench.compare``: see ``bench/compare/run.py``."""

from __future__ import annotations

from .run import main

if __name__ == "__main__":
    raise SystemExit(main())
