"""One bench kit, imported by module: ``cli`` (the shared argument parser and Markdown
table), ``launch`` (ports, PostgreSQL, the ``Workspace`` of servers, the Bastion bench
profile), ``wrk`` (the one Lua script, its runner and alternating rounds), ``fakes`` (the
mock upstream and the other servers benchmarks measure against, the Messages request),
``measure`` (timers, percentiles, the streaming client), ``llm`` (the LLM gateway
harness ``bench.gateway`` and ``bench.compare`` share) and ``spy`` (py-spy and its
summary)."""
