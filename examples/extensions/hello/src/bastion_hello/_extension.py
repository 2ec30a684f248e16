from __future__ import annotations

from collections.abc import Sequence

from bastion.extension import (
    ConfigSpec,
    Extension,
    ExtensionContext,
    ExtensionMeta,
    ExtensionRouter,
    Job,
    Maturity,
    Migration,
    RoleDefinition,
    RoleName,
    ServiceProvider,
    Tier,
    migrations_from_package,
)
from bastion_hello._config import HelloConfig
from bastion_hello._greetings import GREETINGS, GreetingBook, build_book
from bastion_hello._routes import WRITE_SCOPE, greetings_router


class HelloExtension(Extension):
    """Greets people, remembers it, and forgets it after ``retention_days``."""

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

    def services(self) -> Sequence[ServiceProvider[GreetingBook]]:
        return [ServiceProvider(GREETINGS, build_book)]

    def roles(self) -> Sequence[RoleDefinition]:
        return [
            RoleDefinition(
                RoleName("greeter"), Tier.USER, frozenset({WRITE_SCOPE}), "May send greetings"
            )
        ]

    def jobs(self) -> Sequence[Job]:
        return [Job("prune", "every 1h", prune_old_greetings)]

    def router(self, ctx: ExtensionContext) -> ExtensionRouter:
        return greetings_router(ctx.service(GREETINGS))


async def prune_old_greetings(ctx: ExtensionContext) -> int:
    """The ``prune`` job: the same service the route uses, from the job's context."""
    return await ctx.service(GREETINGS).prune()
