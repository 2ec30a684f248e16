"""One bench kit: ``launch`` (ports, PostgreSQL, server processes, the Bastion bench
profile), ``wrk`` (the one Lua script and its runner), ``fakes`` (the mock upstream and
the other servers benchmarks measure against), ``measure`` (timers, percentiles, the
streaming client) and ``spy`` (py-spy and its summary)."""

from bench._support.launch import create_pg, drop_pg, free_port, stop, wait_ready

__all__ = ["create_pg", "drop_pg", "free_port", "stop", "wait_ready"]
