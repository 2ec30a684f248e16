"""Typed services: what one extension (or the platform) provides and others use.

A service has a typed key, declared beside the type it names::

    GOVERNANCE: ServiceKey[Governance] = ServiceKey("governance", "the governance chain")

Its provider lists a ``ServiceProvider`` in its ``services()`` surface; a user names the key
in ``ExtensionMeta(requires=(GOVERNANCE,))`` and calls ``ctx.service(GOVERNANCE)``, which
returns the value typed. Boot refuses, in one line, a requirement nobody provides and a
key two extensions provide. A service is built on first use, once, with its provider's
context, so a process that never uses one (a CLI command) never pays for it; a built
service's ``close`` runs when the platform stops, in reverse order of building.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from bastion.kernel.errors import ServiceError

if TYPE_CHECKING:
    from bastion.kernel.contract import ExtensionContext

T = TypeVar("T")
PLATFORM = "platform"
"""The provider name of the services the runtime itself builds (audit, governance, ...)."""


@dataclass(frozen=True, slots=True, eq=False)
class ServiceKey(Generic[T]):
    """The typed name of a service. Keys compare by identity: declare each once."""

    name: str
    description: str = ""

    def __repr__(self) -> str:
        return f"ServiceKey({self.name!r})"


@dataclass(frozen=True, slots=True)
class ServiceProvider(Generic[T]):
    """How an extension builds ``key``'s service: ``build(ctx)`` on first use, with the
    providing extension's context; ``close(service)`` when the platform stops.

    An ``eager`` service is built at boot, once every provider is registered and before
    any router, job or command runs (in extension order; what it uses is built first, on
    demand), so a configuration it refuses stops every boot, not only one that uses it:
    the governance chain is one."""

    key: ServiceKey[T]
    build: Callable[[ExtensionContext], T]
    close: Callable[[T], Awaitable[object]] | None = None
    eager: bool = False


@dataclass(slots=True)
class _Entry:
    provider: str
    build: Callable[[], Any]
    close: Callable[[Any], Awaitable[object]] | None
    value: Any = None
    built: bool = False
    building: bool = False


class ServiceRegistry:
    """Every service of one platform, by key, and the hooks that run when it stops."""

    def __init__(self) -> None:
        self._entries: dict[ServiceKey[Any], _Entry] = {}
        self._stops: list[Callable[[], Awaitable[object]]] = []

    def provide_value(self, key: ServiceKey[T], value: T, *, provider: str = PLATFORM) -> None:
        """Register an already built service."""
        self._add(key, _Entry(provider, lambda: value, None, value, True))

    def provide(
        self,
        key: ServiceKey[T],
        build: Callable[[], T],
        *,
        provider: str,
        close: Callable[[T], Awaitable[object]] | None = None,
    ) -> None:
        """Register a service built by ``build()`` on first use."""
        self._add(
            key, _Entry(provider, build, cast("Callable[[Any], Awaitable[object]] | None", close))
        )

    def _add(self, key: ServiceKey[Any], entry: _Entry) -> None:
        held = self._entries.get(key)
        if held is not None:
            raise ServiceError(
                entry.provider,
                f"extension '{entry.provider}' provides service '{key.name}', which "
                f"'{held.provider}' already provides; disable one of them",
            )
        self._entries[key] = entry

    def provider_of(self, key: ServiceKey[Any]) -> str | None:
        entry = self._entries.get(key)
        return None if entry is None else entry.provider

    def keys(self) -> Iterable[ServiceKey[Any]]:
        return self._entries.keys()

    def get(self, key: ServiceKey[T], *, requester: str = PLATFORM) -> T:
        """The service, built now if it was not yet."""
        entry = self._entries.get(key)
        if entry is None:
            needed_by = "" if requester == PLATFORM else f" (needed by '{requester}')"
            raise ServiceError(
                requester,
                f"service '{key.name}' is not provided by any installed and enabled "
                f"extension{needed_by}",
            )
        if not entry.built:
            if entry.building:
                raise ServiceError(
                    entry.provider, f"service '{key.name}' needs itself while it is built"
                )
            entry.building = True
            try:
                entry.value = entry.build()
            finally:
                entry.building = False
            entry.built = True
            if entry.close is not None:
                close, value = entry.close, entry.value
                self._stops.append(lambda: close(value))
        return cast("T", entry.value)

    def built(self, key: ServiceKey[Any]) -> bool:
        entry = self._entries.get(key)
        return entry is not None and entry.built

    def on_stop(self, hook: Callable[[], Awaitable[object]]) -> None:
        """Run ``hook`` when the platform stops (after everything registered later)."""
        self._stops.append(hook)

    def pending_stops(self) -> tuple[Callable[[], Awaitable[object]], ...]:
        """The hooks that will run when the platform stops, in the order they will run."""
        return tuple(self._stops[::-1])

    def take_stops(self) -> list[Callable[[], Awaitable[object]]]:
        """The stop hooks, last registered first; the registry forgets them."""
        stops, self._stops = self._stops[::-1], []
        return stops
