"""``/api/v1/admin/users``: every endpoint, its refusals as JSON with their status, and
the admin event each change writes (source ``api``, the caller as actor, its trace)."""

from __future__ import annotations

import secrets

from tests.domains.admin.conftest import Bastion, unique


def create(bastion: Bastion, name: str, role: str = "user", tenant: str = "default") -> dict:
    answer = bastion.admin("POST", "/users", json={"name": name, "role": role, "tenant": tenant})
    assert answer.status_code == 201, answer.text
    body: dict = answer.json()
    return body


def test_create_show_list_and_the_admin_event(bastion: Bastion) -> None:
    name, trace = unique("alice"), secrets.token_hex(16)
    answer = bastion.admin(
        "POST",
        "/users",
        json={"name": name, "role": "user", "tenant": "acme"},
        token=bastion.token(user="usr_operator"),
        trace=trace,
    )
    assert answer.status_code == 201, answer.text
    user = answer.json()
    assert (user["name"], user["role"], user["tenant"], user["disabled"]) == (
        name,
        "user",
        "acme",
        False,
    )
    assert user["id"].startswith("usr_")

    [event] = bastion.events("admin.user.create", user["id"])
    assert event["action"] == "user.create"
    assert (event["actor_user_id"], event["actor_tenant_id"]) == ("usr_operator", "default")
    assert event["trace_id"] == trace
    assert event["details"] == {"source": "api", "name": name, "role": "user", "tenant": "acme"}

    for ref in (name, user["id"]):
        shown = bastion.admin("GET", f"/users/{ref}")
        assert shown.status_code == 200
        assert shown.json() == user
    listed = bastion.admin("GET", "/users", params={"tenant": "acme", "limit": 500}).json()
    assert user in listed["users"]
    assert all(u["tenant"] == "acme" for u in listed["users"])
    assert listed["total"] == len(listed["users"])


def test_list_pages_with_a_capped_limit(bastion: Bastion) -> None:
    for _ in range(3):
        create(bastion, unique("page"), tenant="paged")
    first = bastion.admin("GET", "/users", params={"tenant": "paged", "limit": 2}).json()
    rest = bastion.admin(
        "GET", "/users", params={"tenant": "paged", "limit": 2, "offset": 2}
    ).json()
    assert len(first["users"]) == 2 and first["total"] >= 3
    assert not {u["id"] for u in first["users"]} & {u["id"] for u in rest["users"]}
    too_many = bastion.admin("GET", "/users", params={"limit": 501})
    assert too_many.status_code == 400
    assert too_many.json()["error"]["message"] == "limit: Input should be less than or equal to 500"
    assert bastion.admin("GET", "/users", params={"offset": "x"}).status_code == 400


def test_refusals_are_json_with_their_status(bastion: Bastion) -> None:
    name = unique("dup")
    create(bastion, name)
    taken = bastion.admin("POST", "/users", json={"name": name, "role": "user"})
    assert taken.status_code == 409
    assert taken.json()["error"]["message"] == f"a user named {name!r} already exists"
    unknown_role = bastion.admin("POST", "/users", json={"name": unique("r"), "role": "wizard"})
    assert unknown_role.status_code == 400
    assert "wizard" in unknown_role.json()["error"]["message"]
    extra = bastion.admin("POST", "/users", json={"name": "x", "role": "user", "admin": True})
    assert extra.status_code == 400
    assert extra.json()["error"]["message"] == "admin: Extra inputs are not permitted"
    missing = bastion.admin("POST", "/users", json={"name": "x"})
    assert missing.json()["error"]["message"] == "role: Field required"
    not_json = bastion.admin("POST", "/users", content=b"{nope")
    assert not_json.status_code == 400
    assert "error" in not_json.json()
    bad_tenant = bastion.admin(
        "POST", "/users", json={"name": "x", "role": "user", "tenant": "a b"}
    )
    assert bad_tenant.status_code == 400
    assert bad_tenant.json()["error"]["message"].startswith("tenant 'a b': use 1-128")
    absent = bastion.admin("GET", "/users/usr_nobody")
    assert absent.status_code == 404
    assert absent.json()["error"] == {
        "type": "not_found_error",
        "message": "no user 'usr_nobody'",
    }
    assert "trace_id" in absent.json()
    assert bastion.admin("POST", "/users/usr_nobody/disable").status_code == 404
    assert bastion.admin("PATCH", "/users/usr_nobody", json={"role": "user"}).status_code == 404


def test_disable_and_enable_report_whether_they_changed_it(bastion: Bastion) -> None:
    user = create(bastion, unique("bob"))
    first = bastion.admin("POST", f"/users/{user['id']}/disable").json()
    assert (first["user"]["disabled"], first["changed"]) == (True, True)
    again = bastion.admin("POST", f"/users/{user['id']}/disable").json()
    assert (again["user"]["disabled"], again["changed"]) == (True, False)
    [event] = bastion.events("admin.user.disable", user["id"])
    assert event["details"]["source"] == "api"
    enabled = bastion.admin("POST", f"/users/{user['name']}/enable").json()
    assert (enabled["user"]["disabled"], enabled["changed"]) == (False, True)
    bastion.events("admin.user.enable", user["id"])


def test_an_admin_cannot_disable_itself(bastion: Bastion) -> None:
    me = create(bastion, unique("root"), role="admin")
    answer = bastion.admin("POST", f"/users/{me['id']}/disable", token=bastion.token(user=me["id"]))
    assert answer.status_code == 403
    assert answer.json()["error"]["message"] == "a caller cannot disable its own account"


def test_set_role_and_tenant(bastion: Bastion) -> None:
    user = create(bastion, unique("carol"))
    answer = bastion.admin(
        "PATCH", f"/users/{user['id']}", json={"role": "service", "tenant": "globex"}
    )
    assert answer.status_code == 200, answer.text
    change = answer.json()
    assert (change["user"]["role"], change["user"]["tenant"], change["changed"]) == (
        "service",
        "globex",
        True,
    )
    [event] = bastion.events("admin.user.update", user["id"])
    assert event["details"]["role"] == {"from": "user", "to": "service"}
    assert event["details"]["tenant"] == {"from": "default", "to": "globex"}
    same = bastion.admin("PATCH", f"/users/{user['id']}", json={"role": "service"}).json()
    assert same["changed"] is False
    wrong = bastion.admin("PATCH", f"/users/{user['id']}", json={"role": "wizard"})
    assert wrong.status_code == 400
    assert bastion.rows("SELECT role FROM users_accounts WHERE id = :i", i=user["id"]) == [
        ("service",)
    ]
