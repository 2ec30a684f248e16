"""``/tenants`` and what a tenant admin may do: its own tenant's users, keys and tokens,
nothing of another tenant's, no admin-tier role, no tenant creation."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx

from tests.domains.admin.conftest import ADMIN, Bastion, unique


def test_create_list_and_show_a_tenant(bastion: Bastion) -> None:
    tenant = unique("umbrella")
    created = bastion.admin("POST", "/tenants", json={"id": tenant, "display_name": "Umbrella"})
    assert created.status_code == 201, created.text
    assert created.json()["registered"] is True
    assert created.json()["members"] == 0
    [event] = bastion.events("admin.tenant.create", tenant)
    assert event["details"] == {"source": "api", "display_name": "Umbrella"}
    taken = bastion.admin("POST", "/tenants", json={"id": tenant})
    assert taken.status_code == 409
    assert taken.json()["error"]["message"] == f"tenant '{tenant}' already exists"
    assert bastion.admin("POST", "/tenants", json={"id": "no spaces"}).status_code == 400

    member = bastion.admin(
        "POST", "/users", json={"name": unique("m"), "role": "user", "tenant": tenant}
    )
    listed = {t["id"]: t for t in bastion.admin("GET", "/tenants").json()["tenants"]}
    assert listed[tenant]["members"] == 1
    assert listed["default"]["registered"] is False  # named by the bootstrap admin only
    shown = bastion.admin("GET", f"/tenants/{tenant}").json()
    assert [u["id"] for u in shown["users"]] == [member.json()["id"]]
    [quota] = shown["quotas"]
    assert quota == {
        "name": "tenant-daily",
        "subject": "tenant",
        "subject_id": tenant,
        "rule_subject_id": "*",
        "window_seconds": 86400,
        "resets_at": quota["resets_at"],
        "limits": {"requests": {"limit": 100000, "used": 0, "remaining": 100000}},
    }
    assert bastion.admin("GET", "/tenants/nowhere").status_code == 404


def test_a_tenant_admin_manages_its_own_tenant_only(bastion: Bastion) -> None:
    mine, theirs = unique("acme"), unique("globex")
    admin = bastion.admin(
        "POST", "/users", json={"name": unique("ta"), "role": "tenant-admin", "tenant": mine}
    ).json()
    own = bastion.admin(
        "POST", "/users", json={"name": unique("o"), "role": "user", "tenant": mine}
    )
    other = bastion.admin(
        "POST", "/users", json={"name": unique("x"), "role": "user", "tenant": theirs}
    ).json()
    root = bastion.admin(
        "POST", "/users", json={"name": unique("r"), "role": "admin", "tenant": mine}
    ).json()
    token = bastion.admin("POST", "/tokens", json={"user": admin["id"]}).json()["token"]

    def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
        return bastion.call(method, ADMIN + path, token=token, **kwargs)

    listed = call("GET", "/users").json()
    assert {u["tenant"] for u in listed["users"]} == {mine}
    assert own.json()["id"] in {u["id"] for u in listed["users"]}
    assert call("GET", "/users", params={"tenant": theirs}).status_code == 403
    assert call("GET", f"/users/{other['id']}").status_code == 404
    assert call("POST", f"/users/{other['id']}/disable").status_code == 404
    touch_root = call("POST", f"/users/{root['id']}/disable")
    assert touch_root.status_code == 403

    created = call("POST", "/users", json={"name": unique("n"), "role": "user", "tenant": mine})
    assert created.status_code == 201
    assert (
        call(
            "POST", "/users", json={"name": unique("n"), "role": "user", "tenant": theirs}
        ).status_code
        == 403
    )
    escalate = call("POST", "/users", json={"name": unique("n"), "role": "admin", "tenant": mine})
    assert escalate.status_code == 403
    assert escalate.json()["error"]["message"] == (
        "a tenant admin cannot grant the admin-tier role 'admin'"
    )
    moved = call("PATCH", f"/users/{own.json()['id']}", json={"tenant": theirs})
    assert moved.status_code == 403

    key = call("POST", "/keys", json={"user": own.json()["id"], "name": "ci"})
    assert key.status_code == 201
    secret = key.json()["secret"]
    sdk = anthropic.Anthropic(base_url=bastion.url, api_key=secret, max_retries=0)
    assert sdk.messages.create(
        model="claude-test", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
    ).content
    assert call("POST", "/keys", json={"user": other["id"], "name": "ci"}).status_code == 404
    other_key = bastion.admin("POST", "/keys", json={"user": other["id"], "name": "k"}).json()
    keys = call("GET", "/keys").json()["keys"]
    assert key.json()["key"]["id"] in {k["id"] for k in keys}
    assert other_key["key"]["id"] not in {k["id"] for k in keys}
    assert call("POST", f"/keys/{other_key['key']['id']}/revoke").status_code == 404
    assert bastion.admin("GET", f"/keys/{other_key['key']['id']}").json()["revoked_at"] is None

    other_token = bastion.admin("POST", "/tokens", json={"user": other["id"]}).json()
    assert call("POST", f"/tokens/{other_token['token_id']}/revoke").status_code == 404
    own_token = call("POST", "/tokens", json={"user": own.json()["id"]}).json()
    assert call("POST", f"/tokens/{own_token['token_id']}/revoke").status_code == 200

    tenants = call("GET", "/tenants").json()["tenants"]
    assert [t["id"] for t in tenants] == [mine]
    assert call("GET", f"/tenants/{theirs}").status_code == 404
    [event] = bastion.events("admin.key.issue", own.json()["id"])
    assert (event["actor_user_id"], event["actor_tenant_id"]) == (admin["id"], mine)


def test_a_tenant_admin_sees_but_cannot_touch_an_admin_account(bastion: Bastion) -> None:
    tenant = unique("initech")
    ta = bastion.admin(
        "POST", "/users", json={"name": unique("ta"), "role": "tenant-admin", "tenant": tenant}
    ).json()
    root = bastion.admin(
        "POST", "/users", json={"name": unique("root"), "role": "admin", "tenant": tenant}
    ).json()
    root_key = bastion.admin("POST", "/keys", json={"user": root["id"], "name": "k"}).json()
    token = bastion.admin("POST", "/tokens", json={"user": ta["id"]}).json()["token"]

    def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
        return bastion.call(method, ADMIN + path, token=token, **kwargs)

    assert call("GET", f"/users/{root['id']}").json()["role"] == "admin"
    assert call("GET", f"/keys/{root_key['key']['id']}").status_code == 200
    revoke = call("POST", f"/keys/{root_key['key']['id']}/revoke")
    assert revoke.status_code == 403
    assert revoke.json()["error"]["message"] == "a tenant admin cannot manage an admin-tier account"
    assert call("POST", "/keys", json={"user": root["id"], "name": "x"}).status_code == 403
    assert call("POST", "/tokens", json={"user": root["id"]}).status_code == 403
    assert call("PATCH", f"/users/{root['id']}", json={"role": "user"}).status_code == 403
    assert bastion.admin("GET", f"/keys/{root_key['key']['id']}").json()["revoked_at"] is None
    # Without a tenant, a tenant admin's new user is of its own tenant.
    created = call("POST", "/users", json={"name": unique("new"), "role": "user"})
    assert created.status_code == 201 and created.json()["tenant"] == tenant
