"""One store of extensions: insert by id, validate, order, and look up three ways."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from bastion.kernel.conformance import check_meta
from bastion.kernel.contract import Extension, implemented_surfaces
from bastion.kernel.errors import DuplicateExtensionError
from bastion.kernel.narrow import check_narrow_contract
from bastion.kernel.validation import check_cycles, check_dependencies, check_paths

E = TypeVar("E", bound=Extension)


@dataclass(frozen=True, slots=True)
class Registered:
    extension: Extension
    source: str  # the distribution (or manifest path) that declared it


class ExtensionRegistry:
    """Extensions keyed by id. ``ordered()`` is valid after ``validate()``."""

    def __init__(self) -> None:
        self._by_id: dict[str, Registered] = {}
        self._order: list[Extension] | None = None

    def insert(self, extension: Extension, source: str = "<in-process>") -> None:
        """Add one extension. A malformed ``meta`` or a duplicate id fails at once."""
        ext_id = check_meta(extension).id
        check_narrow_contract(extension)
        if ext_id in self._by_id:
            raise DuplicateExtensionError(ext_id, self._by_id[ext_id].source, source)
        self._by_id[ext_id] = Registered(extension, source)
        self._order = None

    def remove(self, ext_id: str) -> None:
        self._by_id.pop(ext_id, None)
        self._order = None

    def validate(self, mounts: Sequence[tuple[str, str]] = ()) -> list[Extension]:
        """Run the validation stages and return the boot order.

        Stage 4 (unique ids) is enforced by ``insert``; ``mounts`` feeds stage 3.
        """
        graph = {i: r.extension.meta.dependency_ids() for i, r in self._by_id.items()}
        check_dependencies(graph)
        check_cycles(graph)
        order = self._topological(graph)
        rank = {e.meta.id: n for n, e in enumerate(order)}
        check_paths(sorted(mounts, key=lambda m: rank.get(m[0], len(rank))))
        self._order = order
        return order

    def _topological(self, graph: dict[str, list[str]]) -> list[Extension]:
        """Dependencies first; among the ready, ascending priority, then id."""
        waiting = {i: set(deps) for i, deps in graph.items()}
        dependants: dict[str, list[str]] = {i: [] for i in graph}
        for ext_id, deps in graph.items():
            for dep in deps:
                dependants[dep].append(ext_id)
        ready = [(self._by_id[i].extension.meta.priority, i) for i, d in waiting.items() if not d]
        heapq.heapify(ready)
        order: list[Extension] = []
        while ready:
            _, ext_id = heapq.heappop(ready)
            order.append(self._by_id[ext_id].extension)
            for child in dependants[ext_id]:
                waiting[child].discard(ext_id)
                if not waiting[child]:
                    heapq.heappush(ready, (self._by_id[child].extension.meta.priority, child))
        return order

    def ordered(self) -> list[Extension]:
        if self._order is None:
            return self.validate()
        return list(self._order)

    def unordered(self) -> list[Extension]:
        """Every extension in insertion order, before validation has ordered them."""
        return [r.extension for r in self._by_id.values()]

    def __iter__(self) -> Iterator[Extension]:
        return iter(self.ordered())

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, ext_id: object) -> bool:
        return ext_id in self._by_id

    def get(self, ext_id: str) -> Extension | None:
        found = self._by_id.get(ext_id)
        return found.extension if found else None

    def source_of(self, ext_id: str) -> str:
        return self._by_id[ext_id].source

    def by_class(self, cls: type[E]) -> E | None:
        for registered in self._by_id.values():
            if type(registered.extension) is cls:
                ext = registered.extension
                assert isinstance(ext, cls)
                return ext
        return None

    def with_surface(self, surface: str) -> list[Extension]:
        """Every extension that implements ``surface`` (e.g. ``"jobs"``), in boot order."""
        return [e for e in self.ordered() if surface in implemented_surfaces(e)]
