"""Database access: one async SQLAlchemy engine per process, SQLite or PostgreSQL."""

from bastion.infra.db._describe import database_failure, describe_error
from bastion.infra.db._engine import create_engine, dialect_of, normalise_url, sqlite_path
from bastion.infra.db._outage import is_outage

__all__ = [
    "create_engine",
    "database_failure",
    "describe_error",
    "dialect_of",
    "is_outage",
    "normalise_url",
    "sqlite_path",
]
