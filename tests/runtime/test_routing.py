"""The routing table: one entry per router, read by the Mounts, the exact-path index and
the core's own answers alike."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from bastion.infra.config import SecretStore
from bastion.kernel.contract import ErrorStyle, ExtensionRouter
from bastion.runtime.routing import MountedRouter, RoutingTable, join


async def ok(_: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def mounted(router: ExtensionRouter, ext_id: str = "probe") -> MountedRouter:
    return MountedRouter(ext_id, router, secrets=SecretStore({}))


def test_join_puts_a_route_under_its_base_path() -> None:
    assert join("/v1", "/messages") == "/v1/messages"
    assert join("/v1/", "/messages") == "/v1/messages"
    assert join("/api/v1/hooks", "/") == "/api/v1/hooks"
    assert join("/", "/") == "/"


def test_the_longest_base_path_that_covers_a_path_serves_it() -> None:
    short = mounted(ExtensionRouter([Route("/messages", ok, methods=["POST"])], "/v1"))
    long = mounted(
        ExtensionRouter(
            [Route("/completions", ok, methods=["POST"])], "/v1/chat", error_style=ErrorStyle.OPENAI
        )
    )
    table = RoutingTable([short, long])
    assert table.resolve("/v1/chat/completions") is long
    assert table.resolve("/v1/chat") is long
    assert table.resolve("/v1/chatter") is short
    assert table.resolve("/v1/messages") is short
    assert table.resolve("/v2/messages") is None
    # Starlette tries the Mounts in the same order.
    mounts = table.mounts()
    assert all(isinstance(m, Mount) for m in mounts)
    assert [m.path for m in mounts if isinstance(m, Mount)] == ["/v1/chat", "/v1"]


def test_the_exact_index_holds_each_parameter_free_route_once_behind_its_guard() -> None:
    messages = Route("/messages", ok, methods=["POST"])
    models = Route("/models", ok, methods=["GET"])
    item = Route("/items/{name}", ok)
    entry = mounted(ExtensionRouter([messages, models, item], "/v1"))
    table = RoutingTable([entry])
    assert set(table.exact) == {"/v1/messages", "/v1/models"}
    assert set(table.exact["/v1/models"]) == {"GET", "HEAD"}
    endpoint = table.exact["/v1/messages"]["POST"]
    assert endpoint.app is messages.app  # type: ignore[attr-defined]
    assert endpoint.refused == entry.refused  # type: ignore[attr-defined]


def test_a_route_shadowed_by_a_deeper_mount_is_not_served_by_the_fast_path() -> None:
    # Starlette's Mount at /v1/chat claims everything under it, /v1/chat/completions of
    # the /v1 router included: the exact index must not answer what no Mount would.
    outer = mounted(ExtensionRouter([Route("/chat/completions", ok, methods=["POST"])], "/v1"))
    inner = mounted(ExtensionRouter([Route("/other", ok, methods=["POST"])], "/v1/chat"))
    table = RoutingTable([outer, inner])
    assert "/v1/chat/completions" not in table.exact
    assert "/v1/chat/other" in table.exact


def test_a_refused_request_is_matched_to_the_route_by_path_and_method() -> None:
    messages = Route("/messages", ok, methods=["POST"])
    item = Route("/items/{name}", ok, methods=["GET"])
    entry = mounted(ExtensionRouter([messages, item], "/v1"))

    def scope(method: str, path: str) -> dict[str, object]:
        return {"type": "http", "method": method, "path": path}

    assert entry.route_for(scope("POST", "/v1/messages")) is messages
    assert entry.route_for(scope("GET", "/v1/messages")) is None
    assert entry.route_for(scope("GET", "/v1/items/a")) is item
    assert entry.route_for(scope("GET", "/v1/nothing")) is None
