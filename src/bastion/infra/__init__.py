"""Infrastructure: configuration, database, security, governance, audit, events, logging."""
