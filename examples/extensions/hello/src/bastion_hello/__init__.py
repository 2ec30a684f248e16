"""An example extension that uses nothing but ``bastion.extension``.

It contributes one of each common surface: a router, a migration, a job, a role and a
config namespace. Install it next to Bastion and it is governed exactly like core.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Column, DateTime, MetaData, String, Table, delete, select
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bastion.extension import (
    ConfigSpec,
    EndpointClass,
    Extension,
    ExtensionContext,
    ExtensionMeta,
    ExtensionRouter,
    Job,
    Maturity,
    Migration,
    Operation,
    RoleDefinition,
    RoleName,
    Tier,
    migrations_from_package,
    request_context,
)


class GreetingRequest(BaseModel):
    """``POST /api/v1/hello/greetings``; the model both validates and documents it."""

    name: str = Field(min_length=1, max_length=128)


class Greeting(BaseModel):
    id: str
    message: str


greetings = Table(
    "hello_greetings",
    MetaData(),
    Column("id", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("message", String(256), nullable=False),
    Column("user_id", String(64)),
    Column("created_at", DateTime, nullable=False),
)


class HelloConfig(BaseModel):
    """``extensions.hello`` in the profile."""

    model_config = ConfigDict(extra="forbid")

    greeting: str = Field("Hello", min_length=1, max_length=64)
    retention_days: int = Field(30, ge=1)


class HelloExtension(Extension):
    meta = ExtensionMeta(
        id="hello",
        version="1.0.0",
        depends_on=("users",),
        maturity=Maturity.BETA,
        description="Example: greets people and remembers it",
    )

    def migrations(self) -> Sequence[Migration]:
        return migrations_from_package("bastion_hello")

    def config(self) -> ConfigSpec:
        return ("hello", HelloConfig)

    def roles(self) -> Sequence[RoleDefinition]:
        return [
            RoleDefinition(
                RoleName("greeter"), Tier.USER, frozenset({"hello:write"}), "May send greetings"
            )
        ]

    def jobs(self) -> Sequence[Job]:
        return [Job("prune", "every 1h", prune_old_greetings)]

    def router(self, ctx: ExtensionContext) -> ExtensionRouter:
        config = ctx.config
        assert isinstance(config, HelloConfig)
        engine = ctx.engine

        async def create(request: Request) -> JSONResponse:
            caller = request_context(request)
            if not caller.has_scope("hello:write"):
                return JSONResponse({"error": "needs scope hello:write"}, status_code=403)
            try:
                name = GreetingRequest.model_validate_json(await request.body()).name.strip()
            except ValidationError:
                name = ""
            if not name:
                return JSONResponse({"error": "name is required"}, status_code=400)
            row = {
                "id": secrets.token_hex(8),
                "name": name,
                "message": f"{config.greeting}, {name}!",
                "user_id": caller.user_id,
                "created_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
            }
            async with engine.begin() as conn:
                await conn.execute(greetings.insert().values(**row))
            return JSONResponse({"id": row["id"], "message": row["message"]}, status_code=201)

        async def list_all(_: Request) -> JSONResponse:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    select(greetings.c.id, greetings.c.message).order_by(greetings.c.created_at)
                )
                return JSONResponse([{"id": r.id, "message": r.message} for r in rows])

        return ExtensionRouter(
            routes=[
                Route("/greetings", create, methods=["POST"]),
                Route("/greetings", list_all, methods=["GET"]),
            ],
            base_path="/api/v1/hello",
            endpoint_class=EndpointClass.API,
            openapi=[
                Operation("POST", "/greetings", "Greet someone", GreetingRequest, Greeting),
                Operation("GET", "/greetings", "Every greeting", None, list[Greeting]),
            ],
        )


async def prune_old_greetings(ctx: ExtensionContext) -> int:
    config = ctx.config
    assert isinstance(config, HelloConfig)
    cutoff = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=config.retention_days)
    async with ctx.engine.begin() as conn:
        result = await conn.execute(delete(greetings).where(greetings.c.created_at < cutoff))
    return int(result.rowcount)
