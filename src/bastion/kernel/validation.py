"""The four boot validation stages.

Before them, each extension's shape is checked on insert and each surface's result when
it is called (``kernel.conformance``).

1. every dependency resolves;
2. the dependency graph has no cycle (the error carries the exact path);
3. routers stay out of reserved prefixes owned by core domains and out of each other's;
4. no duplicate ids (enforced on insert, re-checked here for manifests merged late).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from bastion.kernel.errors import (
    DependencyCycleError,
    DuplicateExtensionError,
    MissingDependencyError,
    ReservedPathError,
)

# Prefix -> the core extension that owns it. Core domains may mount under their own.
RESERVED_PREFIXES: Mapping[str, str] = {
    "/api/v1/oauth": "auth",
    "/users": "users",
    "/agents": "agents",
    "/mcp": "mcp",
    "/stream": "gateway",
    "/content": "core",
    "/files": "core",
    "/analytics": "analytics",
    "/scheduler": "core",
    "/core": "core",
    "/admin": "console",
    # The admin API; a prefix spelled under the API root claims that path alone.
    "/api/v1/admin": "admin",
    "/v1": "gateway",
    "/.well-known": "agents",
}

API_ROOT = "/api/v1"


def check_dependencies(graph: Mapping[str, Sequence[str]]) -> None:
    for ext_id, deps in graph.items():
        for dep in deps:
            if dep not in graph:
                raise MissingDependencyError(ext_id, dep)


def check_cycles(graph: Mapping[str, Sequence[str]]) -> None:
    """Depth-first search; on a back edge, report the cycle from its first node."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    stack: list[str] = []

    def visit(node: str) -> None:
        colour[node] = grey
        stack.append(node)
        for dep in graph.get(node, ()):
            if colour.get(dep, black) == grey:
                start = stack.index(dep)
                raise DependencyCycleError([*stack[start:], dep])
            if colour.get(dep) == white:
                visit(dep)
        stack.pop()
        colour[node] = black

    for node in sorted(graph):
        if colour[node] == white:
            visit(node)


def normalise_path(path: str) -> str:
    path = "/" + path.strip("/")
    return path if path != "/" else "/"


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


_UNDER_API_ROOT = frozenset(p for p in RESERVED_PREFIXES if p.startswith(API_ROOT + "/"))


def _candidates(prefix: str) -> tuple[str, ...]:
    """The paths ``prefix`` reserves: itself and itself under the API root, unless that is
    reserved on its own (``/admin`` is core's, ``/api/v1/admin`` the admin API's)."""
    if prefix in _UNDER_API_ROOT:
        return (prefix,)
    return tuple(c for c in (prefix, API_ROOT + prefix) if c not in _UNDER_API_ROOT)


def _reserved_owner(path: str) -> tuple[str, str] | None:
    for prefix, owner in RESERVED_PREFIXES.items():
        for candidate in _candidates(prefix):
            if _under(path, candidate) or _under(candidate, path):
                return candidate, owner
    return None


def check_paths(mounts: Iterable[tuple[str, str]]) -> None:
    """``mounts`` is ``(extension_id, base_path)`` pairs in boot order."""
    seen: list[tuple[str, str]] = []
    for ext_id, raw in mounts:
        path = normalise_path(raw)
        if path in ("/", API_ROOT):
            raise ReservedPathError(ext_id, path, path, "the API root is the core's")
        reserved = _reserved_owner(path)
        if reserved is not None and reserved[1] != ext_id:
            prefix, owner = reserved
            raise ReservedPathError(ext_id, path, prefix, f"reserved for '{owner}'")
        for other_id, other in seen:
            if other_id != ext_id and (_under(path, other) or _under(other, path)):
                raise ReservedPathError(ext_id, path, other, f"mounted by '{other_id}'")
        seen.append((ext_id, path))


def check_unique(ids_with_sources: Iterable[tuple[str, str]]) -> None:
    first: dict[str, str] = {}
    for ext_id, source in ids_with_sources:
        if ext_id in first:
            raise DuplicateExtensionError(ext_id, first[ext_id], source)
        first[ext_id] = source
