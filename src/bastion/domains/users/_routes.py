from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bastion.domains.users._repository import UserRepository
from bastion.kernel.context import request_context


def routes(repository: UserRepository) -> list[Route]:
    async def me(request: Request) -> JSONResponse:
        ctx = request_context(request)
        user = await repository.get(ctx.user_id) if ctx.user_id else None
        return JSONResponse(
            {
                "user": {
                    "id": ctx.user_id,
                    "name": user.name if user else None,
                    "role": ctx.role,
                },
                "tenant": ctx.tenant_id,
                "tier": ctx.tier.label,
                "tier_level": int(ctx.tier),
                "scopes": sorted(ctx.scopes),
                "auth_method": ctx.auth_method.value,
                "api_key_id": ctx.api_key_id,
                "session_id": ctx.session_id,
                "client_id": ctx.client_id,
                "trace_id": ctx.trace_id,
            }
        )

    return [Route("/me", me, methods=["GET"])]
