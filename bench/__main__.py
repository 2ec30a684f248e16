"""``python -m bench [NAME ...]``: run the benchmarks, each side by side with its
baseline, and print their Markdown tables. With no name, run them all."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = (
    "scanner",
    "ratelimit",
    "governance",
    "governance_cost",
    "audit",
    "boot",
    "http_clients",
    "hooks",
    "mcp",
    "gateway",
    "identity",
)


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
        return 2
    for name in names:
        print(f"\n## bench.{name}\n", flush=True)
        module = importlib.import_module(f"bench.{name}")
        saved, sys.argv = sys.argv, [f"bench.{name}"]
        try:
            result = module.main()
        finally:
            sys.argv = saved
        if isinstance(result, int) and result != 0:
            return result
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
