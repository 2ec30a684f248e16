"""Governance: the policy engine, its built-in stages, the secret scanner and rate limits."""
