"""``/keys`` and ``/tokens``: a key issued through the API serves the official anthropic
SDK against the fake upstream, its secret is in the issuing response only, and once
revoked through the API it is refused; the same for a token; each change is audited."""

from __future__ import annotations

import anthropic
import pytest

from tests.domains.admin.conftest import Bastion, unique


def new_user(bastion: Bastion, tenant: str = "default", role: str = "user") -> dict:
    answer = bastion.admin(
        "POST", "/users", json={"name": unique("dana"), "role": role, "tenant": tenant}
    )
    assert answer.status_code == 201, answer.text
    body: dict = answer.json()
    return body


def ask(client: anthropic.Anthropic) -> anthropic.types.Message:
    return client.messages.create(
        model="claude-test", max_tokens=16, messages=[{"role": "user", "content": "hello"}]
    )


def test_a_key_issued_by_the_api_serves_the_sdk_until_revoked(bastion: Bastion) -> None:
    user = new_user(bastion)
    answer = bastion.admin("POST", "/keys", json={"user": user["name"], "name": "laptop"})
    assert answer.status_code == 201, answer.text
    issued = answer.json()
    secret, key = issued["secret"], issued["key"]
    assert secret.startswith("bst_")
    assert (key["user_id"], key["name"], key["revoked_at"]) == (user["id"], "laptop", None)
    assert secret.startswith(key["preview"].removesuffix("_…"))
    [event] = bastion.events("admin.key.issue", user["id"])
    assert event["details"] == {"source": "api", "key_id": key["id"], "name": "laptop"}
    assert secret not in str(event)

    client = anthropic.Anthropic(base_url=bastion.url, api_key=secret, max_retries=0)
    assert ask(client).content

    listed = bastion.admin("GET", "/keys", params={"user": user["id"]})
    assert listed.json() == {"keys": [key]}
    assert secret not in listed.text
    assert bastion.admin("GET", f"/keys/{key['id']}").json() == key

    revoked = bastion.admin("POST", f"/keys/{key['id']}/revoke")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    [event] = bastion.events("admin.key.revoke", key["id"])
    assert event["details"] == {"source": "api", "user_id": user["id"]}
    with pytest.raises(anthropic.AuthenticationError) as refused:
        ask(client)
    assert refused.value.status_code == 401

    again = bastion.admin("POST", f"/keys/{key['id']}/revoke")
    assert again.status_code == 409
    assert again.json()["error"]["message"] == f"API key '{key['id']}' is already revoked"


def test_key_refusals(bastion: Bastion) -> None:
    assert bastion.admin("POST", "/keys", json={"user": "nobody", "name": "x"}).status_code == 404
    assert bastion.admin("GET", "/keys/key_nope").status_code == 404
    assert bastion.admin("POST", "/keys/key_nope/revoke").status_code == 404
    assert bastion.admin("GET", "/keys", params={"user": "nobody"}).status_code == 404
    empty = bastion.admin("POST", "/keys", json={"user": "admin", "name": ""})
    assert empty.status_code == 400
    assert empty.json()["error"]["message"] == "name: String should have at least 1 character"


def test_a_token_issued_by_the_api_works_until_revoked(bastion: Bastion) -> None:
    user = new_user(bastion, tenant="initech")
    answer = bastion.admin(
        "POST", "/tokens", json={"user": user["id"], "ttl_seconds": 600, "scopes": ["llm:invoke"]}
    )
    assert answer.status_code == 201, answer.text
    issued = answer.json()
    assert (issued["user_id"], issued["scopes"]) == (user["id"], ["llm:invoke"])
    me = bastion.call("GET", "/api/v1/users/me", token=issued["token"]).json()
    assert (me["user"]["id"], me["tenant"], me["scopes"]) == (user["id"], "initech", ["llm:invoke"])
    [event] = bastion.events("admin.token.issue", user["id"])
    assert event["details"]["token_id"] == issued["token_id"]

    client = anthropic.Anthropic(
        base_url=bastion.url, auth_token=issued["token"], api_key=None, max_retries=0
    )
    assert ask(client).content
    revoked = bastion.admin("POST", f"/tokens/{issued['token_id']}/revoke")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["outcome"] == "revoked"
    assert revoked.json()["user_id"] == user["id"]
    with pytest.raises(anthropic.AuthenticationError) as refused:
        ask(client)
    assert refused.value.body["error"]["message"] == "token has been revoked"
    again = bastion.admin("POST", f"/tokens/{issued['token_id']}/revoke")
    assert again.status_code == 409


def test_token_refusals(bastion: Bastion) -> None:
    user = new_user(bastion)
    beyond = bastion.admin("POST", "/tokens", json={"user": user["id"], "scopes": ["*"]})
    assert beyond.status_code == 400
    assert beyond.json()["error"]["message"] == "role 'user' does not grant: *"
    assert bastion.admin("POST", "/tokens", json={"user": "nobody"}).status_code == 404
    zero = bastion.admin("POST", "/tokens", json={"user": user["id"], "ttl_seconds": 0})
    assert zero.status_code == 400
