"""``GET /api/v1/openapi.json``: a valid OpenAPI 3.1 document covering every route
the app mounts, core and extensions (the example extension included)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from starlette.routing import Route

from bastion.domains.gateway._schema import ANTHROPIC_MESSAGES
from bastion.runtime.routing import join
from tests.examples.install import examples_installed
from tests.support.openapi_server import api_server
from tests.support.server import ServerThread

__all__ = ["examples_installed"]


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[tuple[ServerThread, dict[str, Any]]]:
    with api_server(tmp_path / "profile", db_url) as (server, _key):
        response = httpx.get(server.url + "/api/v1/openapi.json")
        assert response.status_code == 200
        yield server, response.json()


def mounted(server: ServerThread) -> set[tuple[str, str]]:
    """``(METHOD, path)`` of every route in the app's route table."""
    from bastion.runtime.core_routes import core_routes

    assert server.platform is not None
    table: set[tuple[str, str]] = set()
    for route in core_routes(server.platform):
        assert isinstance(route, Route) and route.methods
        table |= {(m, route.path) for m in route.methods if m != "HEAD"}
    for _, router in server.platform.routers:
        for route in router.routes:
            assert isinstance(route, Route) and route.methods
            path = join(router.base_path, route.path)  # where the routing table serves it
            table |= {(m, path) for m in route.methods if m != "HEAD"}
    return table


def test_document_is_valid_openapi_3_1(served: tuple[ServerThread, dict[str, Any]]) -> None:
    _, doc = served
    assert doc["openapi"].startswith("3.1")
    validate(doc)
    schemes = doc["components"]["securitySchemes"]
    assert schemes["apiKey"] == {"type": "apiKey", "in": "header", "name": "x-api-key"}
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer"}


def test_every_mounted_route_is_documented(served: tuple[ServerThread, dict[str, Any]]) -> None:
    server, doc = served
    documented = [
        (method.upper(), re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"))
        for path, item in doc["paths"].items()
        for method in item
    ]
    table = mounted(server)
    missing = sorted(
        (method, path)
        for method, path in table
        if not any(m == method and rx.match(path) for m, rx in documented)
    )
    assert missing == []
    assert {"/api/v1/hello/greetings", "/api/v1/hooks/govern", "/api/v1/mcp/{server}/mcp"} <= set(
        doc["paths"]
    )
    assert "/.well-known/agent-cards/{name}" in doc["paths"]


def test_ingress_schemas_are_the_validators(served: tuple[ServerThread, dict[str, Any]]) -> None:
    _, doc = served
    body = doc["paths"]["/v1/messages"]["post"]["requestBody"]["content"]["application/json"]
    name = body["schema"]["$ref"].rsplit("/", 1)[-1]
    published = doc["components"]["schemas"][name]
    own = ANTHROPIC_MESSAGES.json_schema(ref_template="#/components/schemas/{model}")
    assert published["required"] == own["required"] == ["model", "max_tokens", "messages"]
    assert published["properties"].keys() == own["properties"].keys()
    hello = doc["paths"]["/api/v1/hello/greetings"]["post"]["requestBody"]
    assert hello["content"]["application/json"]["schema"]["$ref"].endswith("GreetingRequest")


def test_public_routes_need_no_credential(served: tuple[ServerThread, dict[str, Any]]) -> None:
    _, doc = served
    assert doc["paths"]["/api/v1/health"]["get"]["security"] == []
    assert doc["paths"]["/.well-known/agent-card.json"]["get"]["security"] == []
    assert "security" not in doc["paths"]["/v1/messages"]["post"]
    assert doc["security"] == [{"apiKey": []}, {"bearer": []}]


def test_a_routers_root_route_is_documented_at_the_path_it_is_served_on() -> None:
    """``Route("/")`` under ``/api/v1/things`` is served at ``/api/v1/things`` (the
    routing table's join); the document names that path, not ``/api/v1/things/``."""
    from bastion.kernel.contract import ExtensionRouter, Operation
    from bastion.runtime.openapi import build_openapi
    from bastion.runtime.routing import join

    async def listing(_: object) -> None:
        raise AssertionError("not called")

    router = ExtensionRouter(
        routes=[Route("/", listing)],
        base_path="/api/v1/things",
        openapi=[Operation("GET", "/", "List the things", None, list[str])],
    )
    doc = build_openapi([], [router], version="1")
    assert list(doc["paths"]) == [join("/api/v1/things", "/")] == ["/api/v1/things"]
    validate(doc)
