"""Model -> route: first match wins; patterns are exact names or ``*`` as prefix/suffix."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from bastion.domains.gateway._settings import RouteSettings
from bastion.domains.gateway.errors import GatewayError


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    settings: RouteSettings

    def matches(self, model: str) -> bool:
        pattern = self.settings.model_pattern
        if pattern == "*":
            return True
        if pattern.endswith("*"):
            return model.startswith(pattern[:-1])
        if pattern.startswith("*"):
            return model.endswith(pattern[1:])
        return model == pattern

    def upstream_model(self, requested: str) -> str:
        return self.settings.upstream_model or requested


class RouteTable:
    def __init__(self, routes: Sequence[RouteSettings]) -> None:
        self._routes = [Route(r.name or r.model_pattern, r) for r in routes]
        self._by_name = {r.name: r for r in self._routes}
        self._cache: dict[str, Route | None] = {}

    def __iter__(self) -> Iterator[Route]:
        return iter(self._routes)

    def match(self, model: str) -> Route | None:
        try:
            return self._cache[model]
        except KeyError:
            pass
        found = next((r for r in self._routes if r.matches(model)), None)
        if len(self._cache) < 4096:
            self._cache[model] = found
        return found

    def named(self, name: str) -> Route | None:
        return self._by_name.get(name)

    def chain(self, route: Route) -> list[Route]:
        """The route, then its fallbacks in order (unknown names were refused at boot)."""
        return [route, *(self._by_name[n] for n in route.settings.fallbacks)]

    def validate(self) -> None:
        for route in self._routes:
            for name in route.settings.fallbacks:
                if name not in self._by_name:
                    raise GatewayError(
                        f"gateway route '{route.name}' falls back to unknown route '{name}'"
                    )
                if name == route.name:
                    raise GatewayError(f"gateway route '{route.name}' falls back to itself")
