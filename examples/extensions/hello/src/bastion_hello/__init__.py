"""An example extension that uses nothing but ``bastion.extension``.

It contributes one of each common surface: a router, a migration, a job, a role, a config
namespace, a typed service (``GREETINGS``, the greeting book its route, its job and its
command share) and a command (``bastion hello list``), the way the core domains do.
Install it next to Bastion and it is governed exactly like core.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Column, DateTime, MetaData, String, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine
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
    ServiceKey,
    ServiceProvider,
    Tier,
    migrations_from_package,
    request_context,
)

if TYPE_CHECKING:
    import typer


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


class GreetingBook:
    """Every greeting sent, in the extension's own table."""

    def __init__(self, engine: AsyncEngine, config: HelloConfig) -> None:
        self._engine = engine
        self.config = config

    async def add(self, name: str, user_id: str | None) -> dict[str, str]:
        row = {
            "id": secrets.token_hex(8),
            "name": name,
            "message": f"{self.config.greeting}, {name}!",
            "user_id": user_id,
            "created_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
        }
        async with self._engine.begin() as conn:
            await conn.execute(greetings.insert().values(**row))
        return {"id": row["id"], "message": row["message"]}

    async def all(self) -> list[dict[str, str]]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(greetings.c.id, greetings.c.message).order_by(greetings.c.created_at)
            )
            return [{"id": r.id, "message": r.message} for r in rows]

    async def prune(self) -> int:
        days = self.config.retention_days
        cutoff = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=days)
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(greetings).where(greetings.c.created_at < cutoff))
        return int(result.rowcount)


GREETINGS: ServiceKey[GreetingBook] = ServiceKey("hello.greetings", "The greeting book")


def _greeting_book(ctx: ExtensionContext) -> GreetingBook:
    config = ctx.config
    assert isinstance(config, HelloConfig)
    return GreetingBook(ctx.engine, config)


class HelloExtension(Extension):
    meta = ExtensionMeta(
        id="hello",
        version="1.0.0",
        depends_on=("users",),
        maturity=Maturity.BETA,
        description="Example: greets people and remembers it",
    )

    def services(self) -> Sequence[ServiceProvider[GreetingBook]]:
        return [ServiceProvider(GREETINGS, _greeting_book)]

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

    def cli(self) -> typer.Typer:
        # Imported here, as the core domains do: only a process that builds commands pays.
        from bastion_hello._cli import app

        return app

    def router(self, ctx: ExtensionContext) -> ExtensionRouter:
        book = ctx.service(GREETINGS)

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
            return JSONResponse(await book.add(name, caller.user_id), status_code=201)

        async def list_all(_: Request) -> JSONResponse:
            return JSONResponse(await book.all())

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
    return await ctx.service(GREETINGS).prune()
