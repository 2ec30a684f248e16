from __future__ import annotations

from collections.abc import Callable

# kind -> predicate over the entity name; None means "not managed here"
EntityLookup = Callable[[str], bool]


class EntityCatalog:
    """Which routes, MCP servers, tools and agents exist. Domains register a lookup for the
    kinds they own; an entity of a managed kind that the lookup does not know is denied."""

    def __init__(self) -> None:
        self._lookups: dict[str, EntityLookup] = {}

    def register(self, kind: str, lookup: EntityLookup) -> None:
        self._lookups[kind] = lookup

    def knows(self, kind: str, name: str) -> bool | None:
        lookup = self._lookups.get(kind)
        return None if lookup is None else lookup(name)
