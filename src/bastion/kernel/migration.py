"""A versioned piece of schema SQL, with per-dialect variants and a checksum."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources

_FILE_NAME = re.compile(r"^(?P<version>\d+)_(?P<name>[a-z0-9_]+?)(?:\.(?P<dialect>[a-z]+))?\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """Schema SQL an extension ships. ``sql`` is the portable text; ``dialect_sql`` holds
    variants such as ``{"postgresql": ...}`` that replace it on that dialect."""

    version: int
    name: str
    sql: str
    dialect_sql: Mapping[str, str] = field(default_factory=dict)

    def sql_for(self, dialect: str) -> str:
        return self.dialect_sql.get(dialect, self.sql)

    def checksum(self, dialect: str) -> str:
        return hashlib.sha256(self.sql_for(dialect).encode("utf-8")).hexdigest()

    def statements(self, dialect: str) -> list[str]:
        """The SQL split into statements on semicolons that end a line.

        Migration files keep one statement per ``;``-terminated line group, which keeps the
        splitter trivial and lets asyncpg run each as its own prepared statement.
        """
        parts = re.split(r";\s*(?:--[^\n]*)?\n", self.sql_for(dialect) + "\n")
        return [p.strip() for p in parts if _has_code(p)]


def _has_code(chunk: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in chunk.splitlines())


def migrations_from_package(package: str, folder: str = "migrations") -> list[Migration]:
    """Load ``NNN_name.sql`` and ``NNN_name.<dialect>.sql`` files shipped as package data."""
    root = resources.files(package).joinpath(folder)
    portable: dict[int, tuple[str, str]] = {}
    variants: dict[int, dict[str, str]] = {}
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        match = _FILE_NAME.match(entry.name)
        if match is None:
            continue
        version = int(match["version"])
        text = entry.read_text(encoding="utf-8")
        if match["dialect"]:
            variants.setdefault(version, {})[match["dialect"]] = text
        else:
            portable[version] = (match["name"], text)
    orphans = set(variants) - set(portable)
    if orphans:
        raise ValueError(
            f"{package}/{folder}: dialect variants without a portable file: {sorted(orphans)}"
        )
    return [
        Migration(version, name, sql, variants.get(version, {}))
        for version, (name, sql) in sorted(portable.items())
    ]
