"""Roles: a name mapped to a tier and a set of scopes.

Built-in roles cover the six tiers; extensions contribute more through
``Extension.roles()``. Scopes are ``domain:action`` strings; ``*`` grants everything
and ``domain:*`` grants every action of a domain (see ``RequestContext.has_scope``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bastion.infra.security.errors import RoleConflictError, UnknownRoleError
from bastion.kernel.contract import RoleDefinition
from bastion.kernel.ids import RoleName
from bastion.kernel.tiers import Tier


class Scopes:
    """Scopes checked by the core domains."""

    ALL = "*"
    LLM_INVOKE = "llm:invoke"  # inference through the gateway (/v1/messages, /v1/chat/...)
    MCP_CALL = "mcp:call"  # list and call tools on governed MCP servers
    AGENTS_READ = "agents:read"  # list agents and read their cards
    AGENTS_INVOKE = "agents:invoke"  # send a message or task to an agent


@dataclass(frozen=True, slots=True)
class Role:
    name: RoleName
    tier: Tier
    scopes: frozenset[str] = frozenset()
    description: str = ""


BUILTIN_SOURCE = "builtin"

BUILTIN_ROLES: tuple[Role, ...] = (
    Role(RoleName("admin"), Tier.ADMIN, frozenset({Scopes.ALL}), "Operates Bastion: everything."),
    Role(
        RoleName("user"),
        Tier.USER,
        frozenset({Scopes.LLM_INVOKE, Scopes.MCP_CALL, Scopes.AGENTS_READ, Scopes.AGENTS_INVOKE}),
        "A person using models, tools and agents.",
    ),
    Role(
        RoleName("service"),
        Tier.SERVICE,
        frozenset({Scopes.LLM_INVOKE, Scopes.MCP_CALL, Scopes.AGENTS_INVOKE}),
        "A backend workload acting for itself; it does not browse the agent directory.",
    ),
    Role(
        RoleName("a2a"),
        Tier.A2A,
        frozenset({Scopes.AGENTS_READ, Scopes.AGENTS_INVOKE}),
        "A remote agent talking to Bastion's agents over A2A.",
    ),
    Role(
        RoleName("mcp"),
        Tier.MCP,
        frozenset({Scopes.MCP_CALL}),
        "An MCP client that may call governed tools and nothing else.",
    ),
    Role(
        RoleName("anonymous"),
        Tier.ANONYMOUS,
        frozenset(),
        "No credential: public endpoints only.",
    ),
)


def tier_at_least(tier: Tier, required: Tier) -> bool:
    """Whether a principal of ``tier`` may use something that requires ``required``."""
    return tier >= required


class RoleCatalog:
    """Every role known to this process, by name.

    Declaring an existing name again with the same tier adds its scopes to the role (an
    extension granting its own scopes to ``user``, say); with a different tier it is a
    ``RoleConflictError``. A merge is all or nothing.
    """

    __slots__ = ("_roles", "_sources")

    def __init__(self, roles: Iterable[Role] = BUILTIN_ROLES) -> None:
        self._roles: dict[str, Role] = {}
        self._sources: dict[str, str] = {}
        self.merge(roles, source=BUILTIN_SOURCE)

    def merge(self, roles: Iterable[Role | RoleDefinition], *, source: str) -> None:
        """Add the roles ``source`` (an extension id) declares."""
        merged = dict(self._roles)
        sources = dict(self._sources)
        for declared in roles:
            name = declared.name
            existing = merged.get(name)
            if existing is None:
                merged[name] = Role(name, declared.tier, declared.scopes, declared.description)
                sources[name] = source
                continue
            if existing.tier != declared.tier:
                raise RoleConflictError(
                    name, (existing.tier, sources[name]), (declared.tier, source)
                )
            merged[name] = Role(
                name,
                existing.tier,
                existing.scopes | declared.scopes,
                existing.description or declared.description,
            )
        self._roles = merged
        self._sources = sources

    def resolve(self, name: str) -> Role:
        role = self._roles.get(name)
        if role is None:
            raise UnknownRoleError(name)
        return role

    def get(self, name: str) -> Role | None:
        return self._roles.get(name)

    def source_of(self, name: str) -> str:
        """Who first declared ``name``: ``"builtin"`` or an extension id."""
        self.resolve(name)
        return self._sources[name]

    def __contains__(self, name: object) -> bool:
        return name in self._roles

    def __iter__(self) -> Iterator[Role]:
        return iter(self._roles.values())

    def __len__(self) -> int:
        return len(self._roles)
