"""The six principal tiers and their permission levels."""

from __future__ import annotations

import enum


class Tier(enum.IntEnum):
    """A principal's tier; the integer value is its permission level."""

    ANONYMOUS = 10
    MCP = 20
    A2A = 30
    SERVICE = 40
    USER = 50
    ADMIN = 100

    @property
    def label(self) -> str:
        return _LABELS[self]

    @classmethod
    def parse(cls, value: str | int | Tier) -> Tier:
        """Accept a tier name (``"admin"``), a level (``100``) or a ``Tier``."""
        if isinstance(value, Tier):
            return value
        if isinstance(value, int):
            return cls(value)
        try:
            return cls[value.strip().upper()]
        except KeyError:
            names = ", ".join(t.label for t in cls)
            raise ValueError(f"unknown tier {value!r}; expected one of {names}") from None


_LABELS = {tier: tier.name.lower() for tier in Tier}

TENANT_ADMIN_SCOPE = "admin:tenant"
"""Held by a tenant's administrators (the admin domain's ``tenant-admin`` role): a user-tier
principal that administers, and sees the usage of, its own tenant only."""
