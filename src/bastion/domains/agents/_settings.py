"""The ``agents`` block: A2A agents as config as code (``services/agents/*.yaml``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

AGENT_NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"

# ``text/plain``, ``application/vnd.geo+json``, ``image/*``
MEDIA_TYPE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9!#$&^_.+*-]+$"
MediaType = Annotated[str, Field(pattern=MEDIA_TYPE_PATTERN)]
# An absolute http(s) URL without query or fragment.
WebUrl = Annotated[str, Field(pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderSettings(_Strict):
    """The organisation that publishes an agent (the card's ``provider``)."""

    organization: str = Field(min_length=1, description="Name of the publishing organisation.")
    url: WebUrl = Field(description="The organisation's website or documentation.")


class SkillSettings(_Strict):
    """One A2A skill: a focused thing the agent is likely to do well."""

    id: str = Field(
        min_length=1, pattern=r"^[A-Za-z0-9._:-]{1,128}$", description="Unique within the agent."
    )
    name: str = Field(min_length=1, description="Human-readable skill name.")
    description: str = Field(min_length=1, description="What the skill does.")
    tags: tuple[str, ...] = Field(min_length=1, description="Keywords describing the skill.")
    examples: tuple[str, ...] = Field((), description="Example prompts the skill handles.")
    input_modes: tuple[MediaType, ...] | None = Field(
        None, min_length=1, description="Media types accepted; overrides the agent's default."
    )
    output_modes: tuple[MediaType, ...] | None = Field(
        None, min_length=1, description="Media types produced; overrides the agent's default."
    )


class McpGrant(_Strict):
    """An MCP server the agent may call, and which of its tools."""

    server: str = Field(min_length=1, description="MCP server name in the registry.")
    tools: tuple[str, ...] = Field(
        ("*",), min_length=1, description="Tool names or globs on that server (`*` = all)."
    )


class AgentLimits(_Strict):
    """Where a native agent's task stops: the task fails with the limit named."""

    max_iterations: int = Field(
        8, ge=1, le=256, description="Model turns per task (each may call tools)."
    )
    max_tokens: int = Field(
        4096, ge=1, description="Output tokens per model turn (the request's `max_tokens`)."
    )
    max_total_tokens: int | None = Field(
        None, ge=1, description="Input and output tokens of all the task's turns together."
    )
    max_cost_microdollars: int | None = Field(
        None, ge=0, description="Upstream cost of all the task's turns, in microdollars."
    )
    timeout_seconds: float = Field(
        120.0, gt=0, le=86_400, description="Wall-clock time of the whole task."
    )


class RemoteAgentSettings(_Strict):
    """An external A2A agent Bastion proxies and governs."""

    url: WebUrl = Field(description="The remote agent's A2A JSON-RPC endpoint.")
    credentials: dict[str, str] = Field(
        default_factory=dict,
        description="Headers to send, each from a named secret (`{header: secret name}`), "
        "injected server-side; the caller's credential is never forwarded.",
    )
    timeout_seconds: float = Field(
        300.0, gt=0, le=86_400, description="How long one remote call may take."
    )


class AgentSettings(_Strict):
    """One agent. Its card is published at ``/.well-known/agent-cards/<name>``."""

    name: str = Field(
        pattern=AGENT_NAME_PATTERN,
        description="Identifier: lowercase letters, digits, `.`, `_`, `-`; used in URLs and ACLs.",
    )
    display_name: str | None = Field(
        None, min_length=1, description="The card's human-readable name (default: `name`)."
    )
    description: str = Field(min_length=1, description="What the agent is for.")
    version: str = Field(min_length=1, description="The agent's own version (e.g. `1.2.0`).")
    skills: tuple[SkillSettings, ...] = Field(
        min_length=1, description="What the agent can do; A2A requires at least one."
    )
    route: str | None = Field(
        None, description="The gateway route (its name or model pattern) the agent's model uses."
    )
    model: str | None = Field(
        None,
        description="The model a native agent asks for (default: the route's model pattern "
        "when it has no `*`).",
    )
    instructions: str | None = Field(None, description="A native agent's system prompt.")
    limits: AgentLimits = Field(
        default_factory=AgentLimits, description="Where a native agent's task stops."
    )
    remote: RemoteAgentSettings | None = Field(
        None,
        description="Proxy an external A2A agent instead of running the loop in Bastion "
        "(a remote agent).",
    )
    mcp: tuple[McpGrant, ...] = Field((), description="MCP servers and tools it may call.")
    required_scopes: tuple[str, ...] = Field(
        (),
        description="Scopes a caller must hold (besides `agents:invoke`) to see and use it.",
    )
    default: bool = Field(
        False, description="Serve this agent's card at `/.well-known/agent-card.json`."
    )
    public: bool = Field(
        True,
        description="Publish the card at the anonymous `/.well-known` endpoints; `false` "
        "keeps it to the authenticated registry.",
    )
    input_modes: tuple[MediaType, ...] = Field(
        ("text/plain",), min_length=1, description="Default input media types of every skill."
    )
    output_modes: tuple[MediaType, ...] = Field(
        ("text/plain",), min_length=1, description="Default output media types of every skill."
    )
    streaming: bool = Field(False, description="Advertise streaming responses (SSE).")
    push_notifications: bool = Field(False, description="Advertise push notifications.")
    url: WebUrl | None = Field(
        None,
        description="The agent's A2A endpoint (default: "
        "`<public_base_url>/api/v1/agents/<name>/a2a`).",
    )
    protocol_binding: Literal["JSONRPC", "HTTP+JSON", "GRPC"] = Field(
        "JSONRPC", description="The A2A protocol binding served at `url`."
    )
    provider: ProviderSettings | None = Field(
        None, description="Overrides `agents.provider` for this agent."
    )
    documentation_url: WebUrl | None = Field(None, description="Documentation for the agent.")
    icon_url: WebUrl | None = Field(None, description="An icon for the agent.")

    @property
    def kind(self) -> Literal["native", "remote"]:
        return "remote" if self.remote is not None else "native"

    @model_validator(mode="after")
    def _unique_skills(self) -> AgentSettings:
        seen: set[str] = set()
        for skill in self.skills:
            if skill.id in seen:
                raise ValueError(f"agent '{self.name}': skill id '{skill.id}' is used twice")
            seen.add(skill.id)
        servers = [grant.server for grant in self.mcp]
        for server in servers:
            if servers.count(server) > 1:
                raise ValueError(f"agent '{self.name}': MCP server '{server}' is granted twice")
        if self.url is None and self.protocol_binding != "JSONRPC":
            # The card must advertise what is served, and Bastion serves JSON-RPC.
            raise ValueError(
                f"agent '{self.name}': Bastion serves A2A over JSONRPC; protocol_binding "
                f"{self.protocol_binding} needs the `url` where the agent serves it"
            )
        return self


# A host name, IP address or a glob over one (``*.example.com``; ``*`` and ``?`` only:
# brackets would be character classes, and an IPv6 literal is listed without them).
HostGlob = Annotated[str, Field(pattern=r"^[A-Za-z0-9*?.:-]{1,253}$")]


class PushNotificationSettings(_Strict):
    """Where task push notifications (A2A webhooks) may go and how they are delivered.

    A webhook URL comes from the client, so Bastion would otherwise call any address it
    names: loopback services, the cloud metadata endpoint, the internal network. Every
    URL is checked when a client registers it and again at each delivery (its name may
    resolve elsewhere by then), and the connection itself only goes to checked addresses.
    """

    enabled: bool = Field(
        True, description="Serve the push-notification config methods and deliver notifications."
    )
    allowed_hosts: tuple[HostGlob, ...] = Field(
        (),
        description="Host names, IP addresses or globs of `*` and `?` (`*.example.com`) "
        "webhooks may name; empty: any host. A listed host must still resolve to public "
        "addresses unless `allow_private`.",
    )
    allow_private: bool = Field(
        False,
        description="Let webhooks reach non-public addresses: loopback, private (RFC 1918), "
        "link-local (the 169.254.169.254 metadata service), CGNAT, unique-local IPv6, "
        "unspecified, multicast, reserved.",
    )
    require_https: bool = Field(
        True,
        description="Refuse `http://` webhooks; with `allow_private`, plain HTTP is still "
        "accepted to a host whose every address is non-public (an in-cluster receiver).",
    )
    signing_secret: str | None = Field(
        None,
        min_length=1,
        description="Name of the secret that signs each notification (`X-Bastion-Signature: "
        "t=<unix>,v1=<HMAC-SHA256 hex of '<t>.<body>'>`); unset: notifications are unsigned.",
    )
    timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="How long one delivery attempt may take."
    )
    max_attempts: int = Field(
        5, ge=1, le=20, description="Attempts per notification and webhook (1: no retry)."
    )
    backoff_seconds: float = Field(
        1.0,
        ge=0,
        le=600,
        description="Wait before the first retry; each later retry waits twice as long.",
    )
    max_configs_per_task: int = Field(
        10, ge=1, le=1000, description="Webhooks one task may have (each notification fans out)."
    )
    queue_size: int = Field(
        10_000,
        ge=1,
        description="Notifications waiting for delivery; beyond it new ones are dropped "
        "(and logged) rather than slow the tasks down.",
    )
    concurrency: int = Field(
        4,
        ge=1,
        le=256,
        description="Notifications delivered at once (each to all its task's webhooks); "
        "one task's notifications arrive in order.",
    )


class AgentsSettings(_Strict):
    """Agents published over A2A discovery; `services/agents/*.yaml` append to `agents`."""

    agents: tuple[AgentSettings, ...] = Field(
        (), description="Each agent: identity, skills, model route, MCP grants, scopes."
    )
    public_base_url: WebUrl | None = Field(
        None,
        description="Bastion's external URL, as clients reach it; cards advertise URLs under "
        "it (default: `http://<server.host>:<server.port>`).",
    )
    provider: ProviderSettings | None = Field(
        None, description="The organisation named on every card (the card's `provider`)."
    )
    push_notifications: PushNotificationSettings = Field(
        default_factory=PushNotificationSettings,
        description="Task webhooks: allowed destinations, signing, delivery and retries.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> AgentsSettings:
        names: set[str] = set()
        for agent in self.agents:
            if agent.name in names:
                raise ValueError(f"agent name '{agent.name}' is defined twice")
            names.add(agent.name)
        defaults = [a.name for a in self.agents if a.default]
        if len(defaults) > 1:
            raise ValueError(f"more than one default agent: {', '.join(defaults)}")
        hidden = [a.name for a in self.agents if a.default and not a.public]
        if hidden:
            raise ValueError(f"default agent '{hidden[0]}' must be public")
        return self
