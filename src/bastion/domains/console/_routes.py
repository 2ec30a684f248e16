"""``/admin``: every console route, and its entry in the OpenAPI document."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.domains.console._decisions import DecisionPages
from bastion.domains.console._people import PeoplePages
from bastion.domains.console._platform import PlatformPages
from bastion.domains.console._signin import SignIn
from bastion.domains.console._static import StaticFiles
from bastion.domains.console._usage import UsagePages
from bastion.domains.console._web import Console
from bastion.kernel.contract import Operation

Endpoint = Callable[[Request], Awaitable[Response]]


def console_routes(
    console: Console,
    signin: SignIn,
    usage: UsagePages,
    decisions: DecisionPages,
    people: PeoplePages,
    platform: PlatformPages,
) -> tuple[list[Route], list[Operation]]:
    g = console.guarded
    static = StaticFiles()
    table: list[tuple[str, str, Endpoint, str, str]] = [
        ("GET", "/static/{name}", static.serve, "A vendored static asset", "text/plain"),
        ("GET", "/login", signin.show, "The sign-in page", "text/html"),
        ("POST", "/login/{method}", signin.submit, "Sign in (opens a session)", "text/html"),
        ("POST", "/logout", g(signin.sign_out), "Sign out (ends the session)", "text/html"),
        ("GET", "/", g(usage.overview), "Overview: requests, cost, denials, p95", "text/html"),
        ("GET", "/usage", g(usage.explorer), "Usage explorer", "text/html"),
        ("GET", "/usage.csv", g(usage.csv), "Usage explorer, as CSV", "text/csv"),
        ("GET", "/decisions", g(decisions.log), "Decisions log", "text/html"),
        ("GET", "/traces/{trace_id}", g(decisions.trace), "One trace's five points", "text/html"),
        ("GET", "/tail", g(decisions.tail_page), "Live tail of decisions", "text/html"),
        (
            "GET",
            "/tail/events",
            g(decisions.tail),
            "Live tail (server-sent events)",
            "text/event-stream",
        ),
        ("GET", "/users", g(people.users), "Users and keys", "text/html"),
        ("POST", "/users", g(people.create_user), "Create a user", "text/html"),
        ("POST", "/users/{user}/disable", g(people.set_disabled), "Disable a user", "text/html"),
        ("POST", "/users/{user}/enable", g(people.set_disabled), "Enable a user", "text/html"),
        (
            "POST",
            "/users/{user}/keys",
            g(people.issue_key),
            "Issue a key (secret shown once)",
            "text/html",
        ),
        ("POST", "/keys/{key}/revoke", g(people.revoke_key), "Revoke a key", "text/html"),
        ("GET", "/tenants", g(people.tenants_view), "Tenants and quotas", "text/html"),
        ("POST", "/tenants", g(people.create_tenant), "Create a tenant", "text/html"),
        ("GET", "/mcp", g(platform.mcp_view), "MCP servers and tool pins", "text/html"),
        (
            "GET",
            "/mcp/{server}/tools/{tool}",
            g(platform.tool_diff),
            "A tool's pinned and observed definitions",
            "text/html",
        ),
        (
            "POST",
            "/mcp/{server}/tools/{tool}/approve",
            g(platform.approve),
            "Approve a quarantined tool",
            "text/html",
        ),
        ("GET", "/agents", g(platform.agents_page), "Agents", "text/html"),
        ("GET", "/jobs", g(platform.jobs_page), "Jobs and runs", "text/html"),
        (
            "GET",
            "/config",
            g(platform.config_page),
            "The effective configuration, redacted",
            "text/html",
        ),
    ]
    routes = [Route(path, endpoint, methods=[method]) for method, path, endpoint, _, _ in table]
    operations = [
        Operation(method, path, summary, response_media_type=media, public=True)
        for method, path, _, summary, media in table
    ]
    return routes, operations
