"""``GET /v1/models``: what the caller may use, parsed by both SDKs; a route ACL hides a
route from the list and denies it on ``/v1/messages``."""

from __future__ import annotations

import httpx

from tests.domains.gateway.conftest import Gateway, new_trace

ASK = [{"role": "user", "content": "hi"}]


def test_list_hides_routes_the_caller_may_not_use(gw: Gateway) -> None:
    user_ids = [model.id for model in gw.anthropic().models.list()]
    admin_ids = [model.id for model in gw.anthropic(gw.keys["admin"]).models.list()]
    assert "restricted-model" not in user_ids
    assert "restricted-model" in admin_ids
    assert set(admin_ids) - set(user_ids) == {"restricted-model"}
    assert len(user_ids) == len(set(user_ids))
    # Exact patterns as written; wildcard routes with the catalog models they match.
    assert {"alias-sonnet", "priced-model", "backup-model"} <= set(user_ids)
    assert {"claude-opus-4-5", "gpt-4o", "kimi-k2", "qwen3-max", "MiniMax-M2"} <= set(user_ids)
    assert "gemini-2.5-pro" in user_ids
    assert not any("*" in model for model in user_ids)


def test_openai_sdk_parses_the_list_with_owners(gw: Gateway) -> None:
    owners = {model.id: model.owned_by for model in gw.openai().models.list()}
    assert owners["claude-opus-4-5"] == "anthropic"
    assert owners["gpt-4o"] == "openai"
    assert owners["kimi-k2"] == "moonshot"
    assert owners["gemini-2.5-flash"] == "gemini"
    assert owners["MiniMax-M2"] == "minimax"


def test_models_need_a_credential(gw: Gateway) -> None:
    listed = httpx.get(gw.url + "/v1/models")
    assert listed.status_code == 401
    assert listed.json()["type"] == "error"
    assert listed.json()["error"]["type"] == "authentication_error"


def test_route_acl_denies_the_call(gw: Gateway) -> None:
    trace = new_trace("acl")
    response = gw.post(
        "/v1/messages",
        {"model": "restricted-model", "max_tokens": 16, "messages": ASK},
        trace=trace,
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert (error["type"], error["stage"]) == ("permission_error", "scope_check")
    row = gw.row(trace)
    assert (row["status"], row["outcome"], row["route"]) == (403, "denied", "restricted")
    # The admin may use it (the mock answers).
    allowed = gw.post(
        "/v1/messages",
        {"model": "restricted-model", "max_tokens": 16, "messages": ASK},
        key="admin",
    )
    assert allowed.status_code == 200, allowed.text
