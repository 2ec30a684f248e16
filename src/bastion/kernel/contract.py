"""The one extension contract.

Every surface defaults to "nothing", so a narrow extension overrides one method. Core
domains implement this same class; a customer's extension is a peer of the core.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeAlias, TypeVar

from pydantic import BaseModel
from sqlalchemy import Table
from starlette.routing import BaseRoute

from bastion.kernel.config import PlatformSettings
from bastion.kernel.config import config_as as _config_as
from bastion.kernel.context import RequestContext
from bastion.kernel.errors import ServiceError
from bastion.kernel.ids import ExtensionId, RoleName
from bastion.kernel.migration import Migration
from bastion.kernel.policy import PolicyStage
from bastion.kernel.services import ServiceKey, ServiceProvider, ServiceRegistry
from bastion.kernel.tiers import Tier

if TYPE_CHECKING:
    import typer
    from sqlalchemy.ext.asyncio import AsyncEngine


class Maturity(enum.IntEnum):
    EXPERIMENTAL = 1
    BETA = 2
    GA = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str | Maturity) -> Maturity:
        if isinstance(value, Maturity):
            return value
        try:
            return cls[value.strip().upper()]
        except KeyError:
            raise ValueError(
                f"unknown maturity {value!r}; expected experimental, beta or ga"
            ) from None


class EndpointClass(enum.StrEnum):
    """How the core guards a mounted router."""

    API = "api"  # authenticated; 401 without credentials, 403 below min_tier
    PUBLIC = "public"  # anonymous tier, rate limited
    WEBHOOK = "webhook"  # HMAC signature verified
    ADMIN = "admin"  # admin tier


class ErrorStyle(enum.StrEnum):
    """The wire format errors take on a router's paths."""

    JSON = "json"
    ANTHROPIC = "anthropic"
    OPENAI = "openai"
    JSONRPC = "jsonrpc"


@dataclass(frozen=True, slots=True)
class ExtensionMeta:
    id: str
    version: str
    depends_on: Sequence[type[Extension] | str] = ()
    priority: int = 100
    # An extension that declares nothing claims nothing: any floor above it refuses it.
    maturity: Maturity = Maturity.EXPERIMENTAL
    description: str = ""
    required: bool = False
    # The services this extension uses (``ctx.service(key)``); boot refuses a missing one.
    requires: Sequence[ServiceKey[Any]] = ()
    # Services used when provided (``ctx.has_service(key)`` says whether): boot does not
    # refuse their absence, so an extension can serve less when another is disabled.
    optional: Sequence[ServiceKey[Any]] = ()

    @property
    def extension_id(self) -> ExtensionId:
        return ExtensionId(self.id)

    def dependency_ids(self) -> list[str]:
        """``depends_on`` with classes replaced by their ids."""
        return [d if isinstance(d, str) else d.meta.id for d in self.depends_on]


@dataclass(frozen=True, slots=True)
class RefusedRequest:
    """A request to a router that the core answered itself, before any of the router's
    endpoints ran: 401/403 from the endpoint guard, 413 from the body limit, 429 from the
    public rate limit, 503 when a credential could not be checked, or a 500 the core
    caught.

    ``route`` is the route of the router's ``routes`` that the request matched, path and
    method (the very object the router declared, so an observer tells its routes apart
    with ``is``), or None when it matched none of them."""

    principal: RequestContext
    method: str
    path: str
    route: BaseRoute | None
    status: int
    reason: str
    elapsed_ms: float


RefusalObserver = Callable[[RefusedRequest], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Operation:
    """One documented operation of a router, for the OpenAPI document.

    ``path`` is relative to the router's ``base_path`` and written as its Starlette route
    is (``/agent-cards/{name}``). ``request`` and ``response`` are types pydantic can
    describe (a ``BaseModel``, a ``TypedDict``, an annotated alias): ideally the very
    types that validate the body, so the document cannot drift from the code. ``public``
    marks an operation that takes no credential. ``query`` is a pydantic model whose
    fields are the operation's query parameters."""

    method: str
    path: str
    summary: str
    request: object | None = None
    response: object | None = None
    response_media_type: str = "application/json"
    public: bool = False
    query: type[BaseModel] | None = None


@dataclass(frozen=True, slots=True)
class ExtensionRouter:
    """Routes an extension mounts at ``base_path`` behind the core middleware.

    ``on_refused`` is the router's one refusal observer: it is told about every request
    under ``base_path`` that the core refused before the router saw it, after the caller
    has its answer, so a domain can keep its own record complete (the gateway writes an
    ``ai_requests`` row for each refused inference call, telling its routes apart by
    ``RefusedRequest.route``)."""

    routes: Sequence[BaseRoute]
    base_path: str
    endpoint_class: EndpointClass = EndpointClass.API
    min_tier: Tier | None = None
    error_style: ErrorStyle = ErrorStyle.JSON
    webhook_secret: str | None = None  # name of a secret, for EndpointClass.WEBHOOK
    on_refused: RefusalObserver | None = None
    # Every route's operations; a mounted route without one fails the OpenAPI test.
    openapi: Sequence[Operation] = ()

    def required_tier(self) -> Tier:
        if self.min_tier is not None:
            return self.min_tier
        if self.endpoint_class is EndpointClass.ADMIN:
            return Tier.ADMIN
        if self.endpoint_class is EndpointClass.API:
            return Tier.MCP
        return Tier.ANONYMOUS


@dataclass(frozen=True, slots=True)
class Interval:
    seconds: float


@dataclass(frozen=True, slots=True)
class Cron:
    expression: str


JobFunc = Callable[["ExtensionContext"], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class Job:
    """Background work on the platform scheduler. ``schedule`` is an ``Interval``, a
    ``Cron``, or a string: ``"every 30s"`` / ``"every 5m"`` or a five-field cron line."""

    name: str
    schedule: Interval | Cron | str
    func: JobFunc


@dataclass(frozen=True, slots=True)
class RoleDefinition:
    name: RoleName
    tier: Tier
    scopes: frozenset[str] = frozenset()
    description: str = ""


@dataclass(frozen=True, slots=True)
class UpstreamRegistration:
    """A provider tag gateway routes can name, and the factory that builds its client."""

    tag: str
    factory: Callable[..., Any]


@dataclass(frozen=True, slots=True)
class McpServerDefinition:
    """An MCP server an extension contributes to the registry."""

    name: str
    url: str | None = None
    command: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    required_scopes: frozenset[str] = frozenset()
    min_tier: Tier = Tier.MCP


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    payload: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class EventHandler:
    event_type: str  # "*" receives every event
    handler: Callable[[Event], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """``check`` returns normally when healthy and raises (or returns False) otherwise."""

    name: str
    check: Callable[[], Awaitable[bool | None]]
    critical: bool = True


class EventPublisher(Protocol):
    async def publish(self, event_type: str, payload: Mapping[str, object]) -> None: ...


class SecretSource(Protocol):
    def get(self, name: str) -> str: ...


T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@dataclass(slots=True)
class ExtensionContext:
    """What an extension receives at construction of its router, of its services and at
    each job run."""

    extension_id: ExtensionId
    # The validated block of this extension's ``config()`` namespace, or None without one.
    config: BaseModel | None
    engine: AsyncEngine
    events: EventPublisher
    secrets: SecretSource
    # The platform settings an extension may read (listener, JWT, bootstrap admin, ...).
    platform: PlatformSettings = field(default_factory=PlatformSettings)
    services: ServiceRegistry = field(default_factory=ServiceRegistry)
    # What ``service()`` may return: the keys ``meta.requires`` names and those it provides.
    uses: frozenset[ServiceKey[Any]] = frozenset()

    def config_as(self, model: type[M]) -> M:
        """This extension's validated config, typed; a clear error when ``config()``
        declares another model (or none)."""
        return _config_as(self.extension_id, self.config, model)

    def service(self, key: ServiceKey[T]) -> T:
        """The service ``key`` names, typed; declare it in ``meta.requires`` first."""
        if key not in self.uses:
            raise ServiceError(
                self.extension_id,
                f"extension '{self.extension_id}' uses service '{key.name}' without "
                f"declaring it; add it to ExtensionMeta(requires=...)",
            )
        return self.services.get(key, requester=self.extension_id)

    def has_service(self, key: ServiceKey[Any]) -> bool:
        """Whether ``key`` (declared in ``meta.requires`` or ``meta.optional``) is provided."""
        return key in self.uses and self.services.provider_of(key) is not None

    def on_shutdown(self, hook: Callable[[], Awaitable[object]]) -> None:
        """Run ``hook`` when the platform stops (close pools, flush buffers); hooks run
        last registered first, a service's ``close`` among them."""
        self.services.on_stop(hook)


ConfigSpec = tuple[str, type[BaseModel]]

CLI_GROUPS: Mapping[str, str] = {"admin": "Users, tokens and API keys."}
"""The command groups of ``bastion`` that any extension may add commands to, with their
help lines. ``admin`` holds the users domain's ``users`` and the auth domain's ``tokens``
and ``keys``; a third-party extension adds ``bastion admin <name>`` the same way."""


@dataclass(frozen=True, slots=True)
class CliCommands:
    """A Typer app an extension adds to ``bastion``.

    With no ``group`` it is ``bastion <extension id> ...`` (what returning the app itself
    from ``cli()`` means). With ``group`` (a key of ``CLI_GROUPS``) it is
    ``bastion <group> <name> ...``, ``name`` defaulting to the extension's id: the users
    domain contributes ``CliCommands(users_app, group="admin")``, the auth domain
    ``CliCommands(tokens_app, group="admin", name="tokens")``."""

    app: typer.Typer
    group: str | None = None
    name: str | None = None


# What ``cli()`` returns. A string: Typer is imported only where commands are built.
CliSurface: TypeAlias = "typer.Typer | CliCommands | Sequence[CliCommands] | None"


class Extension:
    """Base class of every extension. Only ``meta`` is mandatory."""

    meta: ClassVar[ExtensionMeta]

    def migrations(self) -> Sequence[Migration]:
        return ()

    def router(self, ctx: ExtensionContext) -> ExtensionRouter | Sequence[ExtensionRouter] | None:
        return None

    async def after_migrate(self, ctx: ExtensionContext) -> None:
        """First-boot setup, run in extension order once a boot has applied migrations
        (``bastion serve``, ``db migrate``, CLI commands that migrate); idempotent. The
        users domain creates the bootstrap admin here."""

    def services(self) -> Sequence[ServiceProvider[Any]]:
        """The services this extension provides, each built on first use."""
        return ()

    def audit_tables(self) -> Sequence[Table]:
        """Tables this extension writes through the audit writer (batched, spilled and
        replayed). Boot registers them before the writer starts, so a spill file left by
        an earlier process replays in any process, one that mounts no routes included."""
        return ()

    def jobs(self) -> Sequence[Job]:
        return ()

    def llm_upstreams(self) -> Sequence[UpstreamRegistration]:
        return ()

    def tool_providers(self) -> Sequence[McpServerDefinition]:
        return ()

    def roles(self) -> Sequence[RoleDefinition]:
        return ()

    def policies(self) -> Sequence[PolicyStage]:
        return ()

    def config(self) -> ConfigSpec | None:
        """``(namespace, Model)``: the profile's top-level ``namespace:`` block, validated
        by ``Model`` at boot and handed back as ``ctx.config`` (``ctx.config_as(Model)``)."""
        return None

    def event_handlers(self) -> Sequence[EventHandler]:
        return ()

    def health_checks(self) -> Sequence[HealthCheck]:
        return ()

    def cli(self) -> CliSurface:
        """Commands for ``bastion``: a Typer app (``bastion <id>``), a ``CliCommands``,
        or a list of them. Import the app's module inside this method: ``bastion
        --help`` lists commands from an index, and a server never calls it."""
        return None

    @property
    def kind(self) -> str:
        """``library`` for in-process extensions; manifests say ``mcp-server`` or ``cli``."""
        return "library"

    @property
    def id(self) -> ExtensionId:
        return self.meta.extension_id

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.meta.id}@{self.meta.version}>"


SURFACES: tuple[str, ...] = (
    "migrations",
    "after_migrate",
    "services",
    "router",
    "audit_tables",
    "jobs",
    "llm_upstreams",
    "tool_providers",
    "roles",
    "policies",
    "config",
    "event_handlers",
    "health_checks",
    "cli",
)


def implemented_surfaces(extension: Extension) -> list[str]:
    """The surfaces an extension overrides, in contract order."""
    cls = type(extension)
    return [s for s in SURFACES if getattr(cls, s) is not getattr(Extension, s)]
