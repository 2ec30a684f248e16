"""``python -m bench [NAME ...]``: run the benchmarks (all, with no name) with their
default options, each side by side with its baseline, and print their Markdown."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = "scanner ratelimit governance governance_cost audit boot http_clients hooks mcp"
BENCHMARKS += " gateway identity ingress cli analytics a2a"


def main(argv: list[str]) -> int:
    known = BENCHMARKS.split()
    if unknown := [n for n in argv if n not in known]:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(known)}")
        return 2
    for name in argv or known:
        print(f"\n## bench.{name}\n", flush=True)
        if code := importlib.import_module(f"bench.{name}").main([]):
            return int(code)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
