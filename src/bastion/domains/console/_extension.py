from __future__ import annotations

from collections.abc import Sequence

from bastion.domains.console._config import ConsoleConfig
from bastion.domains.console._decisions import DecisionPages
from bastion.domains.console._login import LoginMethod, PastedCredential
from bastion.domains.console._people import PeoplePages
from bastion.domains.console._platform import PlatformPages
from bastion.domains.console._routes import console_routes
from bastion.domains.console._sessions import SessionStore
from bastion.domains.console._signin import SignIn
from bastion.domains.console._usage import UsagePages
from bastion.domains.console._web import BASE, Console
from bastion.infra.services import AUDIT, AUDIT_SEARCH, EFFECTIVE_CONFIG, JOBS, QUOTAS, ROLES
from bastion.kernel.accounts import ACCOUNTS, TENANTS
from bastion.kernel.agents import AGENT_DIRECTORY
from bastion.kernel.analytics import ANALYTICS
from bastion.kernel.contract import (
    ConfigSpec,
    EndpointClass,
    Extension,
    ExtensionContext,
    ExtensionMeta,
    ExtensionRouter,
    Job,
    Maturity,
)
from bastion.kernel.credentials import CREDENTIALS
from bastion.kernel.identity import AUTHENTICATOR, USERS
from bastion.kernel.migration import Migration, migrations_from_package
from bastion.kernel.tools import MCP_ADMIN


def _config(ctx: ExtensionContext) -> ConsoleConfig:
    return ctx.config if isinstance(ctx.config, ConsoleConfig) else ConsoleConfig()


async def _purge(ctx: ExtensionContext) -> dict[str, int]:
    return {"purged": await SessionStore(ctx.engine, _config(ctx)).purge()}


class ConsoleExtension(Extension):
    """The operator console at ``/admin``: server-rendered pages (Jinja2, htmx) over the
    typed services the admin API and the analytics API use, behind server-side sessions
    that a pasted admin credential opens (a ``LoginMethod``; single sign-on is another)."""

    meta = ExtensionMeta(
        id="console",
        version="1.0.0",
        depends_on=("core", "users", "auth", "analytics", "admin"),
        priority=98,
        description="The web console: usage, decisions, users and keys, MCP pins",
        requires=(
            AUTHENTICATOR,
            AUDIT,
            AUDIT_SEARCH,
            USERS,
            ACCOUNTS,
            TENANTS,
            CREDENTIALS,
            ROLES,
            JOBS,
            ANALYTICS,
            EFFECTIVE_CONFIG,
            QUOTAS,
        ),
        optional=(MCP_ADMIN, AGENT_DIRECTORY),
        # GA like every core domain: a ga floor must not refuse one.
        maturity=Maturity.GA,
    )

    def migrations(self) -> Sequence[Migration]:
        return migrations_from_package("bastion.domains.console")

    def config(self) -> ConfigSpec:
        return ("console", ConsoleConfig)

    def jobs(self) -> Sequence[Job]:
        return [Job("purge-sessions", "every 1h", _purge)]

    def login_methods(self, ctx: ExtensionContext) -> list[LoginMethod]:
        """The ways to sign in, in the order the sign-in page offers them."""
        return [PastedCredential(ctx.service(AUTHENTICATOR))]

    def router(self, ctx: ExtensionContext) -> ExtensionRouter:
        config = _config(ctx)
        users = ctx.service(USERS)
        console = Console(SessionStore(ctx.engine, config), users, ctx.service(AUDIT))
        mcp = ctx.service(MCP_ADMIN) if ctx.has_service(MCP_ADMIN) else None
        agents = ctx.service(AGENT_DIRECTORY) if ctx.has_service(AGENT_DIRECTORY) else None
        routes, operations = console_routes(
            console,
            SignIn(console, self.login_methods(ctx)),
            UsagePages(console, ctx.service(ANALYTICS), users),
            DecisionPages(console, ctx.service(AUDIT_SEARCH), config.tail_poll_seconds),
            PeoplePages(
                console,
                ctx.service(ACCOUNTS),
                ctx.service(CREDENTIALS),
                ctx.service(TENANTS),
                ctx.service(ROLES),
                ctx.service(QUOTAS),
            ),
            PlatformPages(console, ctx.service(EFFECTIVE_CONFIG), ctx.service(JOBS), mcp, agents),
        )
        # Public: the console authenticates its own visitors (a session cookie, not a
        # header credential); the per-address rate limit also slows guessing at sign-in.
        return ExtensionRouter(routes, BASE, EndpointClass.PUBLIC, openapi=operations)
