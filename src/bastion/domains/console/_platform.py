"""MCP servers and tool pins, agents, jobs and their runs, and the effective
configuration (secrets redacted): the services config-as-code owns, shown read-only, and
the one MCP command an operator takes here, approving a quarantined tool. Admin tier."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from bastion.domains.console._web import Console, Visit
from bastion.infra.config import EffectiveConfig
from bastion.kernel.agents import AgentDirectory
from bastion.kernel.errors import RefusedError
from bastion.kernel.jobs import JobBook
from bastion.kernel.tools import McpAdmin


def _lines(value: object) -> list[str]:
    return (
        orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode().split("\n")
    )


def description_diff(pinned: Any, observed: Any) -> list[tuple[str, str]]:
    """Line-by-line diff of two tool definitions: ``(mark, line)`` with mark ``" "``,
    ``"-"`` (only in the pinned one) or ``"+"`` (only in the observed one)."""
    import difflib

    marks: list[tuple[str, str]] = []
    for line in difflib.ndiff(_lines(pinned), _lines(observed)):
        if line.startswith("?"):
            continue
        marks.append((line[0], line[2:]))
    return marks


class PlatformPages:
    def __init__(
        self,
        console: Console,
        config: EffectiveConfig,
        jobs: JobBook,
        mcp: McpAdmin | None,
        agents: AgentDirectory | None,
    ) -> None:
        self.console = console
        self.config = config.document
        self.jobs = jobs
        self.mcp = mcp
        self.agents = agents

    def _admins_only(self, visit: Visit) -> Response | None:
        if visit.admin:
            return None
        return self.console.page(
            "error.html", visit, status=403, message="This page is for the admin tier."
        )

    async def mcp_page(
        self, visit: Visit, *, status: int = 200, error: str | None = None, **values: object
    ) -> Response:
        if (refused := self._admins_only(visit)) is not None:
            return refused
        servers = [] if self.mcp is None else await self.mcp.servers(check=False)
        pins = {} if self.mcp is None else {s.name: await self.mcp.pins(s.name) for s in servers}
        return self.console.page(
            "mcp.html",
            visit,
            status=status,
            enabled=self.mcp is not None,
            servers=servers,
            pins=pins,
            error=error,
            **values,
        )

    async def mcp_view(self, visit: Visit) -> Response:
        return await self.mcp_page(visit)

    async def tool_diff(self, visit: Visit) -> Response:
        if (refused := self._admins_only(visit)) is not None:
            return refused
        if self.mcp is None:
            return self.console.page("error.html", visit, status=404, message="MCP is disabled")
        server, tool = visit.request.path_params["server"], visit.request.path_params["tool"]
        try:
            diff = await self.mcp.diff(server, tool)
        except RefusedError as exc:
            return self.console.page("error.html", visit, status=exc.status, message=str(exc))
        return self.console.page(
            "tool_diff.html",
            visit,
            diff=diff,
            lines=description_diff(diff.pinned, diff.observed or {}),
        )

    async def approve(self, visit: Visit) -> Response:
        if (refused := self._admins_only(visit)) is not None:
            return refused
        if self.mcp is None:
            return self.console.page("error.html", visit, status=404, message="MCP is disabled")
        server, tool = visit.request.path_params["server"], visit.request.path_params["tool"]
        try:
            await self.mcp.approve(server, tool, actor=visit.principal)
        except RefusedError as exc:
            return await self.mcp_page(visit, status=exc.status, error=str(exc))
        return await self.mcp_page(visit, notice=f"Tool {tool} on {server} approved.")

    async def agents_page(self, visit: Visit) -> Response:
        agents = [] if self.agents is None else list(self.agents.list())
        return self.console.page(
            "agents.html", visit, enabled=self.agents is not None, agents=agents
        )

    async def jobs_page(self, visit: Visit) -> Response:
        if (refused := self._admins_only(visit)) is not None:
            return refused
        return self.console.page(
            "jobs.html",
            visit,
            jobs=self.jobs.jobs(),
            last=await self.jobs.last_runs(),
            runs=await self.jobs.runs(limit=50),
        )

    async def config_page(self, visit: Visit) -> Response:
        if (refused := self._admins_only(visit)) is not None:
            return refused
        return self.console.page("config.html", visit, config="\n".join(_lines(self.config)))
