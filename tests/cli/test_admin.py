"""``bastion admin users|tokens|keys``: stdout carries only the result, errors are one line."""

from __future__ import annotations

import hashlib
import json
import re

from bastion.infra.config import load_profile
from bastion.infra.security import JwtCodec, TokenClaims
from tests.cli.conftest import Cli, error_of, query

KEY_FORMAT = re.compile(r"bst_(?P<prefix>[a-z0-9]{8})_(?P<secret>[0-9A-Za-z]{43})")


def verify(cli: Cli, token: str) -> TokenClaims:
    loaded = load_profile(cli.profile)
    jwt = loaded.profile.security.jwt
    return JwtCodec(jwt, loaded.secrets.get(jwt.key_secret_name)).verify(token)


def test_users_create_prints_only_the_id_on_a_fresh_database(cli: Cli) -> None:
    # The first command migrates and creates the bootstrap admin; those logs go to stderr.
    result = cli("admin", "users", "create", "alice", "--role", "user", "--tenant", "acme")
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"usr_[0-9a-f]{16}\n", result.stdout)
    assert "migration applied" in result.stderr
    assert "bootstrap admin created" in result.stderr

    users = json.loads(cli.ok("admin", "users", "list", "--json"))
    by_name = {u["name"]: u for u in users}
    assert set(by_name) == {"admin", "alice"}
    assert by_name["alice"]["id"] == result.stdout.strip()
    assert (by_name["alice"]["role"], by_name["alice"]["tenant"]) == ("user", "acme")
    assert (by_name["admin"]["role"], by_name["admin"]["tenant"]) == ("admin", "default")
    assert by_name["alice"]["disabled"] is False
    assert set(by_name["alice"]) == {"id", "name", "role", "tenant", "created_at", "disabled"}


def test_users_create_refuses_duplicates_and_unknown_roles(cli: Cli) -> None:
    cli.ok("admin", "users", "create", "alice", "--role", "user")
    duplicate = cli.fails("admin", "users", "create", "alice", "--role", "admin")
    assert error_of(duplicate) == "error: a user named 'alice' already exists"
    assert duplicate.stdout == ""
    unknown = cli.fails("admin", "users", "create", "bob", "--role", "overlord")
    assert error_of(unknown) == "error: role 'overlord' is not defined"
    # an extension's role is a role like any other
    cli.ok("admin", "users", "create", "gina", "--role", "greeter")
    names = [u["name"] for u in json.loads(cli.ok("admin", "users", "list", "--json"))]
    assert sorted(names) == ["admin", "alice", "gina"]


def test_tokens_issue_prints_exactly_one_jwt(cli: Cli) -> None:
    stdout = cli.ok("admin", "tokens", "issue", "admin")
    assert stdout.endswith("\n") and stdout.count("\n") == 1
    token = stdout.strip()
    assert len(token.split(".")) == 3 and all(token.split("."))
    claims = verify(cli, token)
    assert claims.role == "admin" and claims.tier.label == "admin"
    assert claims.scopes == frozenset({"*"})
    assert claims.expires_at - claims.issued_at == 3600  # the profile default


def test_tokens_issue_honours_ttl_and_scope(cli: Cli) -> None:
    cli.ok("admin", "users", "create", "bob", "--role", "user")
    token = cli.ok(
        "admin", "tokens", "issue", "bob", "--ttl", "90", "--scope", "llm:invoke"
    ).strip()
    claims = verify(cli, token)
    assert claims.expires_at - claims.issued_at == 90
    assert claims.scopes == frozenset({"llm:invoke"})
    assert claims.tenant_id == "default" and claims.tier.label == "user"

    two = verify(
        cli,
        cli.ok(
            "admin", "tokens", "issue", "bob", "--scope", "mcp:call", "--scope", "llm:invoke"
        ).strip(),
    )
    assert two.scopes == frozenset({"mcp:call", "llm:invoke"})

    default = verify(cli, cli.ok("admin", "tokens", "issue", "bob").strip())
    assert default.scopes == frozenset({"llm:invoke", "mcp:call", "agents:read", "agents:invoke"})


def test_tokens_issue_refuses_a_scope_outside_the_role(cli: Cli) -> None:
    cli.ok("admin", "users", "create", "bob", "--role", "user")
    refused = cli.fails(
        "admin", "tokens", "issue", "bob", "--scope", "llm:invoke", "--scope", "hello:write"
    )
    assert refused.stdout == ""
    assert error_of(refused) == "error: role 'user' does not grant: hello:write"
    # admin's "*" grants any scope
    admin = verify(
        cli, cli.ok("admin", "tokens", "issue", "admin", "--scope", "hello:write").strip()
    )
    assert admin.scopes == frozenset({"hello:write"})


def test_tokens_issue_rejects_bad_input(cli: Cli) -> None:
    nobody = cli.fails("admin", "tokens", "issue", "nobody")
    assert error_of(nobody) == "error: no user 'nobody'"
    zero = cli.fails("admin", "tokens", "issue", "admin", "--ttl", "0", code=2)
    assert zero.stdout == ""
    assert "Invalid value for '--ttl'" in zero.stderr
    assert "Traceback" not in zero.output


def test_keys_issue_list_revoke(cli: Cli, db_url: str) -> None:
    cli.ok("admin", "users", "create", "carol", "--role", "service")
    stdout = cli.ok("admin", "keys", "issue", "carol", "--name", "ci")
    match = KEY_FORMAT.fullmatch(stdout.rstrip("\n"))
    assert match is not None and stdout.count("\n") == 1
    key, secret = match[0], match["secret"]
    cli.ok("admin", "keys", "issue", "admin", "--name", "laptop")

    listing = cli.ok("admin", "keys", "list", "--json")
    assert secret not in listing and key not in listing
    records = json.loads(listing)
    assert [r["name"] for r in records] == ["ci", "laptop"]
    ci = records[0]
    assert set(ci) == {"id", "prefix", "name", "user_id", "created_at", "revoked_at"}
    assert ci["prefix"] == f"bst_{match['prefix']}_…" and ci["revoked_at"] is None
    assert ci["id"].startswith("key_")
    only_carol = json.loads(cli.ok("admin", "keys", "list", "--user", "carol", "--json"))
    assert [r["name"] for r in only_carol] == ["ci"]
    assert secret not in cli.ok("admin", "keys", "list")  # the table view

    (stored,) = query(
        db_url, "SELECT prefix, secret_hash FROM auth_api_keys WHERE id = :i", i=ci["id"]
    )
    assert stored[0] == match["prefix"]
    assert stored[1].strip() == hashlib.sha256(secret.encode()).hexdigest()

    assert cli.ok("admin", "keys", "revoke", ci["id"]) == f"revoked {ci['id']}\n"
    revoked = json.loads(cli.ok("admin", "keys", "list", "--user", "carol", "--json"))
    assert revoked[0]["revoked_at"] is not None
    again = cli.fails("admin", "keys", "revoke", ci["id"])
    assert error_of(again) == f"error: no active API key '{ci['id']}'"


def test_keys_revoke_of_an_unknown_key_exits_1(cli: Cli) -> None:
    result = cli.fails("admin", "keys", "revoke", "key_doesnotexist00")
    assert result.stdout == ""
    assert error_of(result) == "error: no active API key 'key_doesnotexist00'"


def test_keys_issue_for_an_unknown_user(cli: Cli) -> None:
    result = cli.fails("admin", "keys", "issue", "ghost", "--name", "x")
    assert (result.stdout, error_of(result)) == ("", "error: no user 'ghost'")


def test_keys_revoke_accepts_the_prefix_as_listed(cli: Cli) -> None:
    keys = [cli.ok("admin", "keys", "issue", "admin", "--name", n).strip() for n in "abc"]
    listed = {r["name"]: r for r in json.loads(cli.ok("admin", "keys", "list", "--json"))}
    prefixes = [KEY_FORMAT.fullmatch(k)["prefix"] for k in keys]  # type: ignore[index]
    # `keys list` shows bst_<prefix>_…: the column itself, bst_<prefix>, the bare prefix.
    references = [listed["a"]["prefix"], f"bst_{prefixes[1]}", prefixes[2]]
    for name, reference in zip("abc", references, strict=True):
        assert cli.ok("admin", "keys", "revoke", reference) == f"revoked {listed[name]['id']}\n"
    assert all(r["revoked_at"] for r in json.loads(cli.ok("admin", "keys", "list", "--json")))
    again = cli.fails("admin", "keys", "revoke", f"bst_{prefixes[1]}")
    assert error_of(again) == f"error: no active API key 'bst_{prefixes[1]}'"
    # A whole key pasted by mistake is never echoed back.
    pasted = cli.fails("admin", "keys", "revoke", keys[0])
    assert KEY_FORMAT.fullmatch(keys[0])["secret"] not in pasted.output  # type: ignore[index]
    assert error_of(pasted) == f"error: no active API key 'bst_{prefixes[0]}_…'"


def test_users_disable_and_enable(cli: Cli, db_url: str) -> None:
    user_id = cli.ok("admin", "users", "create", "dora", "--role", "user").strip()
    assert cli.ok("admin", "users", "disable", "dora") == f"disabled dora ({user_id})\n"
    assert cli.ok("admin", "users", "disable", user_id) == "dora was already disabled\n"
    users = {u["name"]: u for u in json.loads(cli.ok("admin", "users", "list", "--json"))}
    assert users["dora"]["disabled"] is True and users["admin"]["disabled"] is False
    assert cli.ok("admin", "users", "enable", "dora") == f"enabled dora ({user_id})\n"
    assert cli.ok("admin", "users", "enable", "dora") == "dora was already enabled\n"
    assert json.loads(cli.ok("admin", "users", "list", "--json"))[1]["disabled"] is False
    events = query(
        db_url,
        "SELECT event_type, subject, details FROM audit_events "
        "WHERE event_type LIKE 'admin.user.%able' ORDER BY created_at",
    )
    # One event per change; the no-op calls record nothing.
    assert [(e[0], e[1]) for e in events] == [
        ("admin.user.disable", user_id),
        ("admin.user.enable", user_id),
    ]
    assert json.loads(events[0][2]) == {"source": "cli", "name": "dora"}
    ghost = cli.fails("admin", "users", "disable", "ghost")
    assert (ghost.stdout, error_of(ghost)) == ("", "error: no user 'ghost'")


def test_tokens_issue_names_the_jti_and_revoke_refuses_it(cli: Cli, db_url: str) -> None:
    result = cli("admin", "tokens", "issue", "admin", "--ttl", "600")
    assert result.exit_code == 0, result.output
    claims = verify(cli, result.stdout.strip())
    assert f"jti: {claims.token_id}" in result.stderr.splitlines()
    (row,) = query(
        db_url,
        "SELECT user_id, expires_at, revoked_at FROM auth_tokens WHERE jti = :j",
        j=claims.token_id,
    )
    assert row[0] == claims.user_id and row[2] is None

    revoked = cli.ok("admin", "tokens", "revoke", claims.token_id)
    assert revoked == f"revoked {claims.token_id} of {claims.user_id}\n"
    again = cli.fails("admin", "tokens", "revoke", claims.token_id)
    assert error_of(again) == f"error: token '{claims.token_id}' is already revoked"
    # A jti Bastion never recorded (issued before this version, by the Cowork exchange)
    # is revoked all the same, without an expiry.
    unknown = cli.ok("admin", "tokens", "revoke", "some-old-jti")
    assert unknown.startswith("revoked some-old-jti (not issued by `admin tokens issue`")
    # Older jtis were base64url and may start with '-': after `--` they are not options.
    cli.ok("admin", "tokens", "revoke", "--", "-older-jti")
    rows = query(db_url, "SELECT jti, expires_at FROM auth_tokens WHERE revoked_at IS NOT NULL")
    assert {r[0]: r[1] is None for r in rows} == {
        claims.token_id: False,
        "some-old-jti": True,
        "-older-jti": True,
    }
    events = query(
        db_url,
        "SELECT subject, details FROM audit_events WHERE event_type = 'admin.token.revoke' "
        "ORDER BY created_at",
    )
    assert [e[0] for e in events] == [claims.user_id, "some-old-jti", "-older-jti"]
    assert json.loads(events[0][1])["token_id"] == claims.token_id
