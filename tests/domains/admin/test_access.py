"""Who may call the admin API: 401 without a credential, 403 below the admin tier (and
for a tenant admin outside the tenant-scoped endpoints), in JSON, and audited refusals
never reach a service."""

from __future__ import annotations

import pytest

from tests.domains.admin.conftest import ADMIN, Bastion, unique

ENDPOINTS = [
    ("GET", "/users"),
    ("POST", "/users"),
    ("GET", "/users/admin"),
    ("GET", "/keys"),
    ("POST", "/tokens"),
    ("GET", "/tenants"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_without_a_credential_every_endpoint_answers_401(
    bastion: Bastion, method: str, path: str
) -> None:
    answer = bastion.call(method, ADMIN + path, json={})
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.json()["error"]["message"] == "authentication required"


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_the_user_tier_is_refused_with_403(bastion: Bastion, method: str, path: str) -> None:
    answer = bastion.call(method, ADMIN + path, token=bastion.token("user"), json={})
    assert answer.status_code == 403, answer.text
    error = answer.json()["error"]
    assert error["type"] == "permission_error"
    assert "below the required tier 'admin'" in error["message"]


def test_a_tier_below_user_is_refused_by_the_guard(bastion: Bastion) -> None:
    answer = bastion.call("GET", ADMIN + "/users", token=bastion.token("service"))
    assert answer.status_code == 403
    assert answer.json()["error"]["message"] == ("tier 'service' is below the required tier 'user'")


def test_an_invalid_token_is_401(bastion: Bastion) -> None:
    answer = bastion.call("GET", ADMIN + "/users", token="not-a-jwt")
    assert answer.status_code == 401


def test_a_tenant_admin_is_refused_admin_only_endpoints(bastion: Bastion) -> None:
    token = bastion.token("tenant-admin", user="usr_ta", tenant="acme")
    answer = bastion.call(
        "POST", ADMIN + "/tenants", token=token, json={"id": "acme-two", "display_name": "x"}
    )
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["message"] == "this endpoint is for the admin tier only"


def test_the_openapi_document_describes_the_admin_api(bastion: Bastion) -> None:
    document = bastion.call("GET", "/api/v1/openapi.json").json()
    users = document["paths"][ADMIN + "/users"]
    assert set(users) == {"get", "post"}
    params = {p["name"]: p for p in users["get"]["parameters"]}
    assert params["limit"]["in"] == "query"
    assert params["limit"]["schema"]["maximum"] == 500
    created = users["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert created == {"$ref": "#/components/schemas/UserCreate"}
    assert document["components"]["schemas"]["UserCreate"]["required"] == ["name", "role"]
    issued = document["paths"][ADMIN + "/keys"]["post"]["responses"]["2XX"]
    schema = issued["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/IssuedKey"}
    assert ADMIN + "/keys/{key_id}/revoke" in document["paths"]
    assert "security" not in users["get"]  # the document's default: a credential


def test_every_refusal_is_an_admin_event(bastion: Bastion) -> None:
    probe = unique("usr_probe")
    anonymous = bastion.call("GET", f"{ADMIN}/users/{probe}")
    assert anonymous.status_code == 401
    [event] = bastion.events("admin.refused", f"{ADMIN}/users/{probe}")
    assert event["actor_user_id"] is None
    assert event["details"] == {
        "source": "api",
        "method": "GET",
        "status": 401,
        "reason": "authentication required",
        "trace_id": anonymous.json()["trace_id"],
    }
    below = bastion.call("GET", f"{ADMIN}/keys/{probe}", token=bastion.token("user", user="usr_u"))
    assert below.status_code == 403
    [event] = bastion.events("admin.refused", f"{ADMIN}/keys/{probe}")
    assert (event["actor_user_id"], event["details"]["status"]) == ("usr_u", 403)
    assert bastion.admin("GET", f"/tenants/{probe}").status_code == 404
    [event] = bastion.events("admin.refused", f"{ADMIN}/tenants/{probe}")
    assert (event["actor_user_id"], event["details"]["status"]) == ("usr_root", 404)
    pasted = "bst_abcdefgh_" + "s" * 32
    assert bastion.admin("POST", f"/keys/{pasted}/revoke").status_code == 404
    [event] = bastion.events("admin.refused", f"{ADMIN}/keys/bst_abcdefgh_…/revoke")
    assert "s" * 32 not in str(event)
