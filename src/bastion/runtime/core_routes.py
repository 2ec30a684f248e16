"""Core routes: health, readiness, metrics, the JWKS and the OpenAPI documents."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any, Literal, NotRequired

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from typing_extensions import TypedDict

from bastion import __version__
from bastion.kernel.contract import Operation
from bastion.runtime.openapi import build_openapi
from bastion.runtime.platform import Platform

CHECK_TIMEOUT_SECONDS = 2.0


async def _timed(check: Awaitable[bool | None]) -> dict[str, object]:
    started = time.perf_counter()
    try:
        result = await asyncio.wait_for(check, CHECK_TIMEOUT_SECONDS)
    except Exception as exc:
        return {"status": "fail", "error": f"{type(exc).__name__}: {exc}"[:300]}
    elapsed = round((time.perf_counter() - started) * 1000, 2)
    if result is False:
        return {"status": "fail", "latency_ms": elapsed}
    return {"status": "ok", "latency_ms": elapsed}


class _Check(TypedDict):
    status: Literal["ok", "fail"]
    latency_ms: NotRequired[float]
    error: NotRequired[str]


class Health(TypedDict):
    status: Literal["healthy", "unhealthy"]
    checks: dict[str, _Check]


class Readiness(TypedDict):
    status: Literal["ready", "starting"]


CORE_OPERATIONS = (
    Operation(
        "GET", "/.well-known/jwks.json", "The JWKS of Bastion's JWT keys", None, dict[str, Any]
    ),
    Operation("GET", "/api/v1/health", "Database and extension health checks", None, Health),
    Operation("GET", "/api/v1/ready", "Readiness to serve", None, Readiness),
    Operation("GET", "/api/v1/openapi.json", "This document", None, dict[str, Any]),
    Operation("GET", "/metrics", "Prometheus metrics", None, str, response_media_type="text/plain"),
)


def core_routes(platform: Platform) -> list[Route]:
    async def database_check() -> bool:
        async with platform.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    async def health(_: Request) -> JSONResponse:
        checks: dict[str, dict[str, object]] = {"database": await _timed(database_check())}
        critical = {"database"}
        for ext in platform.registry.ordered():
            for check in ext.health_checks():
                name = f"{ext.meta.id}.{check.name}"
                checks[name] = await _timed(check.check())
                if check.critical:
                    critical.add(name)
        healthy = all(checks[n]["status"] == "ok" for n in critical)
        return JSONResponse(
            {"status": "healthy" if healthy else "unhealthy", "checks": checks},
            status_code=200 if healthy else 503,
        )

    async def ready(_: Request) -> JSONResponse:
        if platform.ready:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "starting"}, status_code=503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    jwks_document = platform.jwt.jwks()

    async def jwks(_: Request) -> JSONResponse:
        return JSONResponse(jwks_document, headers={"cache-control": "public, max-age=300"})

    openapi_document = orjson.dumps(
        build_openapi(
            CORE_OPERATIONS, (router for _, router in platform.routers), version=__version__
        )
    )

    async def openapi(_: Request) -> Response:
        return Response(openapi_document, media_type="application/json")

    return [
        Route("/.well-known/jwks.json", jwks, methods=["GET"]),
        Route("/api/v1/openapi.json", openapi, methods=["GET"]),
        Route("/api/v1/health", health, methods=["GET"]),
        Route("/api/v1/ready", ready, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
