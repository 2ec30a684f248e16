"""The runtime: boot (discover, validate, migrate), the ASGI app, the scheduler."""
