"""Budgets made visible: ``/api/v1/admin/quotas`` (a user and its keys, a tenant, a key)
and ``/api/v1/analytics/quotas`` (the caller's own) count what the gateway admitted."""

from __future__ import annotations

import datetime as dt
import math
import time
from typing import Any

import anthropic
import httpx

from tests.domains.admin.conftest import ADMIN, Bastion, unique


def _by_name(quotas: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {q["name"]: q for q in quotas}


def _window_end(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp((math.floor(time.time() / seconds) + 1) * seconds, dt.UTC)


def test_quotas_show_used_limit_and_reset_per_user_tenant_and_key(bastion: Bastion) -> None:
    tenant = unique("hooli")
    user = bastion.admin(
        "POST", "/users", json={"name": unique("q"), "role": "user", "tenant": tenant}
    ).json()
    issued = bastion.admin("POST", "/keys", json={"user": user["id"], "name": "ci"}).json()
    key_id, secret = issued["key"]["id"], issued["secret"]
    sdk = anthropic.Anthropic(base_url=bastion.url, api_key=secret, max_retries=0)
    for _ in range(3):
        reply = sdk.messages.create(
            model="claude-test", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
        )
    output_tokens = reply.usage.output_tokens
    assert output_tokens > 0

    quotas = _by_name(
        bastion.admin("GET", "/quotas", params={"user": user["name"]}).json()["quotas"]
    )
    assert set(quotas) == {"user-hourly", "key-daily"}
    hourly = quotas["user-hourly"]
    assert (hourly["subject"], hourly["subject_id"], hourly["rule_subject_id"]) == (
        "user",
        user["id"],
        "*",
    )
    assert hourly["limits"]["requests"] == {"limit": 1000, "used": 3, "remaining": 997}
    assert hourly["limits"]["output_tokens"]["used"] == 3 * output_tokens
    assert dt.datetime.fromisoformat(hourly["resets_at"]) == _window_end(3600)
    daily = quotas["key-daily"]
    assert (daily["subject_id"], daily["limits"]["requests"]["used"]) == (key_id, 3)
    assert dt.datetime.fromisoformat(daily["resets_at"]) == _window_end(86400)

    [of_tenant] = bastion.admin("GET", "/quotas", params={"tenant": tenant}).json()["quotas"]
    assert of_tenant["limits"]["requests"]["used"] == 3
    assert bastion.admin("GET", f"/tenants/{tenant}").json()["quotas"] == [of_tenant]
    [of_key] = bastion.admin("GET", "/quotas", params={"api_key": key_id}).json()["quotas"]
    assert of_key == daily

    # The caller's own budgets, from the analytics domain: its user, tenant and key.
    own = httpx.get(
        f"{bastion.url}/api/v1/analytics/quotas", headers={"x-api-key": secret}, timeout=10
    )
    assert own.status_code == 200, own.text
    mine = _by_name(own.json()["quotas"])
    assert set(mine) == {"user-hourly", "tenant-daily", "key-daily"}
    # That call is itself governed and counted before it is answered.
    assert mine["user-hourly"]["limits"]["requests"]["used"] >= 3


def test_quota_lookups_are_refused_clearly_and_scoped_to_a_tenant(bastion: Bastion) -> None:
    both = bastion.admin("GET", "/quotas", params={"user": "x", "tenant": "y"})
    assert both.status_code == 400
    assert both.json()["error"]["message"] == "give exactly one of user, tenant or api_key"
    assert bastion.admin("GET", "/quotas").status_code == 400
    assert bastion.admin("GET", "/quotas", params={"user": "nobody"}).status_code == 404
    assert bastion.admin("GET", "/quotas", params={"colour": "red"}).status_code == 400

    mine, theirs = unique("acme"), unique("globex")
    ta = bastion.admin(
        "POST", "/users", json={"name": unique("ta"), "role": "tenant-admin", "tenant": mine}
    ).json()
    other = bastion.admin(
        "POST", "/users", json={"name": unique("o"), "role": "user", "tenant": theirs}
    ).json()
    other_key = bastion.admin("POST", "/keys", json={"user": other["id"], "name": "k"}).json()
    token = bastion.admin("POST", "/tokens", json={"user": ta["id"]}).json()["token"]

    def call(**params: str) -> httpx.Response:
        return bastion.call("GET", ADMIN + "/quotas", token=token, params=params)

    assert call(tenant=mine).status_code == 200
    assert call(tenant=theirs).status_code == 404
    assert call(user=other["id"]).status_code == 404
    assert call(api_key=other_key["key"]["id"]).status_code == 404
    assert call(user=ta["id"]).status_code == 200
