"""Read-only views of what config-as-code owns: jobs and their runs (``JOBS``), agents
(``AGENT_DIRECTORY``), gateway routes and providers, and the effective configuration with
secrets redacted. Admin tier only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from bastion.domains.admin._access import AdminScope
from bastion.domains.admin._endpoint import Endpoint, path_param, query
from bastion.infra.config import EffectiveConfig
from bastion.kernel.agents import AgentDirectory, AgentView
from bastion.kernel.contract import UpstreamRegistration
from bastion.kernel.errors import NotFoundError
from bastion.kernel.jobs import JobBook, JobRunView


class JobRun(BaseModel):
    job: str
    started_at: dt.datetime
    duration_ms: float
    outcome: str
    error: str | None

    @classmethod
    def of(cls, run: JobRunView) -> JobRun:
        return cls(
            job=run.key,
            started_at=run.started_at,
            duration_ms=round(run.duration_ms, 3),
            outcome=run.outcome,
            error=run.error,
        )


class Job(BaseModel):
    job: str
    extension: str
    name: str
    schedule: str
    last_run: JobRun | None


class JobList(BaseModel):
    jobs: list[Job]


class RunQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(50, ge=1, le=500)


class JobRunList(BaseModel):
    runs: list[JobRun]


class Agent(BaseModel):
    name: str
    display_name: str
    description: str
    version: str
    default: bool
    public: bool
    route: str | None
    mcp: list[dict[str, Any]]
    required_scopes: list[str]
    skills: list[str]
    card_url: str | None
    card: dict[str, Any]

    @classmethod
    def of(cls, view: AgentView) -> Agent:
        return cls(
            name=view.name,
            display_name=view.display_name,
            description=view.description,
            version=view.version,
            default=view.default,
            public=view.public,
            route=view.route,
            mcp=[{"server": g.server, "tools": list(g.tools)} for g in view.mcp],
            required_scopes=list(view.required_scopes),
            skills=list(view.skills),
            card_url=view.card_url,
            card=dict(view.card),
        )


class AgentList(BaseModel):
    agents: list[Agent]


class Provider(BaseModel):
    tag: str
    extension: str


class GatewayView(BaseModel):
    routes: list[dict[str, Any]] = Field(description="First match wins; secrets redacted.")
    providers: list[Provider] = Field(description="The provider tags routes can name.")


class ConfigView(BaseModel):
    profile: str
    config: dict[str, Any] = Field(description="The effective profile, secrets redacted.")


class JobEndpoints:
    def __init__(self, jobs: JobBook) -> None:
        self._jobs = jobs

    async def list_jobs(self, _: Request, __: AdminScope, ___: None) -> JobList:
        last = await self._jobs.last_runs()
        return JobList(
            jobs=[
                Job(
                    job=j.key,
                    extension=j.extension_id,
                    name=j.name,
                    schedule=j.schedule,
                    last_run=JobRun.of(last[j.key]) if j.key in last else None,
                )
                for j in self._jobs.jobs()
            ]
        )

    async def runs(self, request: Request, _: AdminScope, __: None) -> JobRunList:
        key = path_param(request, "job")
        if key not in {j.key for j in self._jobs.jobs()}:
            raise NotFoundError(f"no job '{key[:128]}'")
        limit = query(request, RunQuery).limit
        return JobRunList(runs=[JobRun.of(r) for r in await self._jobs.runs(job=key, limit=limit)])

    def endpoints(self) -> list[Endpoint[Any]]:
        return [
            Endpoint("GET", "/jobs", "Scheduled jobs and their last run", self.list_jobs, JobList),
            Endpoint(
                "GET",
                "/jobs/{job}/runs",
                "A job's recorded runs, newest first",
                self.runs,
                JobRunList,
                query=RunQuery,
            ),
        ]


class AgentEndpoints:
    def __init__(self, agents: AgentDirectory) -> None:
        self._agents = agents

    async def list_agents(self, _: Request, __: AdminScope, ___: None) -> AgentList:
        return AgentList(agents=[Agent.of(a) for a in self._agents.list()])

    async def show(self, request: Request, _: AdminScope, __: None) -> Agent:
        name = path_param(request, "agent")
        found = self._agents.get(name)
        if found is None:
            raise NotFoundError(f"no agent '{name[:128]}'")
        return Agent.of(found)

    def endpoints(self) -> list[Endpoint[Any]]:
        return [
            Endpoint("GET", "/agents", "The configured agents", self.list_agents, AgentList),
            Endpoint("GET", "/agents/{agent}", "One agent with its card", self.show, Agent),
        ]


class ConfigEndpoints:
    """The profile as validated at boot, redacted once."""

    def __init__(
        self, config: EffectiveConfig, upstreams: Sequence[tuple[str, UpstreamRegistration]]
    ) -> None:
        self._name = config.profile
        self._redacted = dict(config.document)
        self._providers = [Provider(tag=r.tag, extension=ext) for ext, r in upstreams]

    async def gateway(self, _: Request, __: AdminScope, ___: None) -> GatewayView:
        return GatewayView(
            routes=list(self._redacted.get("gateway", {}).get("routes", [])),
            providers=self._providers,
        )

    async def config(self, _: Request, __: AdminScope, ___: None) -> ConfigView:
        return ConfigView(profile=self._name, config=self._redacted)

    def endpoints(self) -> list[Endpoint[Any]]:
        return [
            Endpoint(
                "GET",
                "/gateway",
                "Gateway routes and providers (read-only)",
                self.gateway,
                GatewayView,
            ),
            Endpoint(
                "GET",
                "/config",
                "The effective configuration, secrets redacted",
                self.config,
                ConfigView,
            ),
        ]
