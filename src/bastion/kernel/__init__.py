"""The kernel: typed ids, errors, the extension contract, registry, validation,
the migration ledger and the request context. It imports nothing from Bastion above it."""
