"""What each server offers, as last listed, checked against its pins.

Every ``tools/list`` answer from a server goes through ``observe``: a tool seen for the
first time is pinned; a tool whose definition no longer matches its pin is quarantined
(once per distinct change, across replicas) and that change recorded as an audit event.
Quarantined tools are withheld until ``bastion mcp tools approve``. Pins are cached per
server and re-read from the database whenever one is quarantined, so an approval made by
the CLI (or another replica) is seen on the next list or call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from bastion.domains.mcp._pins import (
    PinStore,
    ToolPin,
    changed_fields,
    fingerprint,
    pinned_definition,
)
from bastion.infra.audit import AuditTrail, audit_event_row
from bastion.kernel.context import RequestContext

log = structlog.get_logger("bastion.mcp")

QUARANTINE_EVENT = "mcp.tool_quarantined"


@dataclass(slots=True)
class _ServerTools:
    pins: dict[str, ToolPin] = field(default_factory=dict)
    definitions: dict[str, dict[str, Any]] = field(default_factory=dict)
    loaded: bool = False
    listed_at: float | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class ToolCatalog:
    def __init__(self, store: PinStore, trail: AuditTrail) -> None:
        self._store = store
        self._trail = trail
        self._servers: dict[str, _ServerTools] = {}
        self._reported_collisions: set[str] = set()

    def _entry(self, server: str) -> _ServerTools:
        entry = self._servers.get(server)
        if entry is None:
            entry = self._servers[server] = _ServerTools()
        return entry

    async def load(self, server: str) -> None:
        entry = self._entry(server)
        if entry.loaded:
            return
        async with entry.lock:
            if not entry.loaded:
                entry.pins = await self._store.for_server(server)
                entry.loaded = True

    async def observe(
        self, server: str, tools: Iterable[Mapping[str, Any]], principal: RequestContext | None
    ) -> list[dict[str, Any]]:
        """The tools of a fresh listing that are not quarantined, in the server's order."""
        await self.load(server)
        entry = self._entry(server)
        visible: list[dict[str, Any]] = []
        async with entry.lock:
            definitions: dict[str, dict[str, Any]] = {}
            for tool in tools:
                name = tool.get("name")
                if not isinstance(name, str) or not name:
                    continue
                definitions[name] = dict(tool)
                pin = await self._check(server, entry, name, pinned_definition(tool), principal)
                if not pin.quarantined:
                    visible.append(dict(tool))
            entry.definitions = definitions
            entry.listed_at = time.time()
        self._report_collisions(server)
        return visible

    async def _check(
        self,
        server: str,
        entry: _ServerTools,
        name: str,
        definition: dict[str, Any],
        principal: RequestContext | None,
    ) -> ToolPin:
        sha = fingerprint(definition)
        pin = entry.pins.get(name)
        if pin is None:
            pin = await self._store.pin(server, name, definition)
        elif pin.quarantined:
            # An approval may have happened elsewhere since the cache was filled.
            pin = await self._store.get(server, name) or pin
        if pin.pinned_sha256 != sha and not (pin.quarantined and pin.observed_sha256 == sha):
            if await self._store.quarantine(server, name, pin.pinned_sha256, definition):
                await self._record_quarantine(server, name, pin, definition, sha, principal)
            pin = await self._store.get(server, name) or pin
        entry.pins[name] = pin
        return pin

    async def _record_quarantine(
        self,
        server: str,
        tool: str,
        pin: ToolPin,
        definition: dict[str, Any],
        sha: str,
        principal: RequestContext | None,
    ) -> None:
        changes = changed_fields(pin.pinned_definition, definition)
        log.warning(
            "mcp tool definition changed; tool quarantined",
            server=server,
            tool=tool,
            changed=changes,
            pinned_sha256=pin.pinned_sha256,
            observed_sha256=sha,
        )
        await self._trail.record_event(
            audit_event_row(
                principal,
                event_type=QUARANTINE_EVENT,
                subject=f"{server}/{tool}",
                action="quarantine",
                details={
                    "server": server,
                    "tool": tool,
                    "changed_fields": changes,
                    "pinned_sha256": pin.pinned_sha256,
                    "observed_sha256": sha,
                },
            )
        )

    async def current_pin(self, server: str, tool: str) -> ToolPin | None:
        """The pin of ``tool``, re-read when the cached one is quarantined."""
        await self.load(server)
        entry = self._entry(server)
        pin = entry.pins.get(tool)
        if pin is not None and pin.quarantined:
            fresh = await self._store.get(server, tool)
            if fresh is not None:
                entry.pins[tool] = pin = fresh
        return pin

    def knows(self, server: str, tool: str) -> bool:
        entry = self._servers.get(server)
        return entry is not None and (tool in entry.pins or tool in entry.definitions)

    def definition(self, server: str, tool: str) -> Mapping[str, Any] | None:
        entry = self._servers.get(server)
        return entry.definitions.get(tool) if entry is not None else None

    def listed(self, server: str) -> list[dict[str, Any]]:
        """The tools of the last listing that are not quarantined."""
        entry = self._servers.get(server)
        if entry is None:
            return []
        return [
            tool
            for name, tool in entry.definitions.items()
            if not (pin := entry.pins.get(name)) or not pin.quarantined
        ]

    def quarantined(self, server: str) -> list[str]:
        entry = self._servers.get(server)
        if entry is None:
            return []
        return sorted(name for name, pin in entry.pins.items() if pin.quarantined)

    def listed_at(self, server: str) -> float | None:
        entry = self._servers.get(server)
        return entry.listed_at if entry is not None else None

    def collisions(self, servers: Iterable[str] | None = None) -> dict[str, list[str]]:
        """Tool names offered by more than one of ``servers`` (all when None)."""
        names = self._servers if servers is None else [s for s in servers if s in self._servers]
        owners: dict[str, list[str]] = {}
        for server in names:
            for tool in self._servers[server].definitions:
                owners.setdefault(tool, []).append(server)
        return {tool: sorted(s) for tool, s in sorted(owners.items()) if len(s) > 1}

    def _report_collisions(self, server: str) -> None:
        for tool, servers in self.collisions().items():
            key = f"{tool}:{','.join(servers)}"
            if server in servers and key not in self._reported_collisions:
                self._reported_collisions.add(key)
                log.warning("mcp tool name offered by several servers", tool=tool, servers=servers)
