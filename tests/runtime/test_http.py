"""The core middleware and endpoint classes, through a real server on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from typer.testing import CliRunner

from bastion.cli import build_app
from bastion.extension import (
    EndpointClass,
    Extension,
    ExtensionContext,
    ExtensionMeta,
    ExtensionRouter,
    RefusedRequest,
    request_context,
)
from bastion.infra.security import sign_webhook
from tests.support import ServerThread, running_server, write_profile

WEBHOOK_SECRET = "whsec-test-0123456789abcdef"


async def whoami(request: Request) -> JSONResponse:
    ctx = request_context(request)
    return JSONResponse({"tier": ctx.tier.label, "user": ctx.user_id})


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"received": (await request.body()).decode()})


async def boom(_: Request) -> JSONResponse:
    raise RuntimeError("kaboom with a secret sk-ant-api03-shouldnotleak")


REFUSED: list[RefusedRequest] = []


async def note_refusal(refused: RefusedRequest) -> None:
    REFUSED.append(refused)


async def failing_observer(_: RefusedRequest) -> None:
    raise RuntimeError("the observer itself broke")


WHO = Route("/who", whoami)
BOOM = Route("/boom", boom)
ECHO = Route("/echo", echo, methods=["POST"])
ITEM = Route("/items/{name}", whoami)


class Probe(Extension):
    meta = ExtensionMeta(id="probe", version="1")

    def router(self, ctx: ExtensionContext) -> Sequence[ExtensionRouter]:
        return [
            ExtensionRouter(
                [WHO, BOOM, ECHO, ITEM],
                "/api/v1/probe",
                on_refused=note_refusal,
            ),
            ExtensionRouter(
                [Route("/who", whoami)],
                "/api/v1/probe-admin",
                EndpointClass.ADMIN,
                on_refused=failing_observer,
            ),
            ExtensionRouter([Route("/who", whoami)], "/api/v1/probe-public", EndpointClass.PUBLIC),
            ExtensionRouter(
                [Route("/hook", echo, methods=["POST"])],
                "/api/v1/probe-hook",
                EndpointClass.WEBHOOK,
                webhook_secret="probe_webhook",
            ),
        ]


def cli(profile: Path, *args: str) -> str:
    result = CliRunner().invoke(build_app(profile), ["--profile", str(profile), *args])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[ServerThread]:
    profile = write_profile(
        tmp_path / "profile",
        db_url,
        {"server": {"max_body_bytes": 4096}},
        {"probe_webhook": WEBHOOK_SECRET},
    )
    with running_server(profile, extra=[Probe]) as srv:
        yield srv


@pytest.fixture
def profile_dir(server: ServerThread) -> Path:
    return server.profile_dir


def test_health_ready_and_metrics(server: ServerThread) -> None:
    health = httpx.get(server.url + "/api/v1/health")
    assert health.status_code == 200
    assert health.json()["status"] == "healthy"
    assert health.json()["checks"]["database"]["status"] == "ok"
    assert httpx.get(server.url + "/api/v1/ready").json() == {"status": "ready"}
    metrics = httpx.get(server.url + "/metrics").text
    assert "bastion_http_requests_total" in metrics


def test_api_route_needs_credentials(server: ServerThread) -> None:
    response = httpx.get(server.url + "/api/v1/probe/who")
    assert response.status_code == 401
    assert response.json()["error"] == {
        "type": "authentication_error",
        "message": "authentication required",
    }
    assert response.headers["x-trace-id"] == response.json()["trace_id"]


def test_jwt_and_api_key_from_either_header(server: ServerThread, profile_dir: Path) -> None:
    cli(profile_dir, "admin", "users", "create", "alice", "--role", "user")
    token = cli(profile_dir, "admin", "tokens", "issue", "alice")
    key = cli(profile_dir, "admin", "keys", "issue", "alice", "--name", "laptop")
    assert token.count(".") == 2 and "\n" not in token
    assert key.startswith("bst_") and "\n" not in key
    for headers in (
        {"authorization": f"Bearer {token}"},
        {"x-api-key": token},
        {"authorization": f"Bearer {key}"},
        {"x-api-key": key},
    ):
        me = httpx.get(server.url + "/api/v1/users/me", headers=headers)
        assert me.status_code == 200, me.text
        body = me.json()
        assert body["user"]["name"] == "alice"
        assert body["tier"] == "user" and body["tenant"] == "default"
    via_key = httpx.get(server.url + "/api/v1/users/me", headers={"x-api-key": key}).json()
    assert via_key["auth_method"] == "api_key" and via_key["api_key_id"].startswith("key_")


def test_request_context_carries_session_and_trace(server: ServerThread, profile_dir: Path) -> None:
    token = cli(profile_dir, "admin", "tokens", "issue", "admin")
    me = httpx.get(
        server.url + "/api/v1/users/me",
        headers={
            "authorization": f"Bearer {token}",
            "x-session-id": "sess-42",
            "x-trace-id": "trace-abc",
            "x-client-id": "claude-code",
        },
    )
    body = me.json()
    assert (body["session_id"], body["trace_id"], body["client_id"]) == (
        "sess-42",
        "trace-abc",
        "claude-code",
    )
    assert me.headers["x-trace-id"] == "trace-abc"


def test_revoked_api_key_is_refused(server: ServerThread, profile_dir: Path) -> None:
    key = cli(profile_dir, "admin", "keys", "issue", "admin", "--name", "temp")
    assert httpx.get(server.url + "/api/v1/users/me", headers={"x-api-key": key}).status_code == 200
    key_id = cli(profile_dir, "admin", "keys", "list", "--json")
    import json

    record = next(r for r in json.loads(key_id) if r["name"] == "temp")
    cli(profile_dir, "admin", "keys", "revoke", record["id"])
    refused = httpx.get(server.url + "/api/v1/users/me", headers={"x-api-key": key})
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "invalid or revoked API key"


def test_expired_token_is_refused(server: ServerThread, profile_dir: Path) -> None:
    from bastion.infra.security import JwtCodec

    assert server.platform is not None
    token = cli(profile_dir, "admin", "tokens", "issue", "admin")
    claims = server.platform.jwt.verify(token)
    an_hour_ago = JwtCodec(
        server.platform.profile.security.jwt,
        server.platform.secrets.get("jwt_signing_key"),
        clock=lambda: time.time() - 3600,
    )
    expired = an_hour_ago.issue(
        user_id=claims.user_id,
        tenant_id=claims.tenant_id,
        role=claims.role,
        tier=claims.tier,
        ttl_seconds=60,
    )
    refused = httpx.get(
        server.url + "/api/v1/users/me", headers={"authorization": f"Bearer {expired.token}"}
    )
    assert refused.status_code == 401
    assert "expired" in refused.json()["error"]["message"]


def test_tier_enforcement(server: ServerThread, profile_dir: Path) -> None:
    cli(profile_dir, "admin", "users", "create", "bob", "--role", "user")
    user_token = cli(profile_dir, "admin", "tokens", "issue", "bob")
    admin_token = cli(profile_dir, "admin", "tokens", "issue", "admin")
    denied = httpx.get(
        server.url + "/api/v1/probe-admin/who", headers={"authorization": f"Bearer {user_token}"}
    )
    assert denied.status_code == 403
    assert denied.json()["error"]["message"] == ("tier 'user' is below the required tier 'admin'")
    allowed = httpx.get(
        server.url + "/api/v1/probe-admin/who", headers={"authorization": f"Bearer {admin_token}"}
    )
    assert allowed.json()["tier"] == "admin"
    public = httpx.get(server.url + "/api/v1/probe-public/who")
    assert public.status_code == 200 and public.json() == {"tier": "anonymous", "user": None}


def test_webhook_signature(server: ServerThread) -> None:
    body = b'{"event":"ping"}'
    now = int(time.time())
    good = httpx.post(
        server.url + "/api/v1/probe-hook/hook",
        content=body,
        headers={"x-bastion-signature": sign_webhook(WEBHOOK_SECRET, body, now)},
    )
    assert good.status_code == 200 and good.json() == {"received": body.decode()}
    tampered = httpx.post(
        server.url + "/api/v1/probe-hook/hook",
        content=body + b" ",
        headers={"x-bastion-signature": sign_webhook(WEBHOOK_SECRET, body, now)},
    )
    assert tampered.status_code == 401
    assert tampered.json()["error"]["message"].startswith("webhook signature rejected")
    missing = httpx.post(server.url + "/api/v1/probe-hook/hook", content=body)
    assert missing.status_code == 401


def test_unhandled_error_is_a_clean_500(server: ServerThread, profile_dir: Path) -> None:
    token = cli(profile_dir, "admin", "tokens", "issue", "admin")
    response = httpx.get(
        server.url + "/api/v1/probe/boom", headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 500
    assert response.json()["error"] == {"type": "api_error", "message": "internal error"}
    assert "Traceback" not in response.text and "kaboom" not in response.text


def test_oversized_body_gets_413(server: ServerThread, profile_dir: Path) -> None:
    token = cli(profile_dir, "admin", "tokens", "issue", "admin")
    response = httpx.post(
        server.url + "/api/v1/probe/echo",
        content=b"x" * 5000,
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["message"] == "request body exceeds the limit of 4096 bytes"


def test_unknown_path_is_a_json_404(server: ServerThread) -> None:
    response = httpx.get(server.url + "/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found_error"


def test_refusals_are_reported_to_the_router(server: ServerThread, profile_dir: Path) -> None:
    REFUSED.clear()
    token = cli(profile_dir, "admin", "tokens", "issue", "admin")
    auth = {"authorization": f"Bearer {token}"}
    assert httpx.get(server.url + "/api/v1/probe/who", headers=auth).status_code == 200
    assert httpx.get(server.url + "/api/v1/probe/who").status_code == 401
    too_big = httpx.post(server.url + "/api/v1/probe/echo", content=b"x" * 5000, headers=auth)
    assert too_big.status_code == 413
    assert httpx.get(server.url + "/api/v1/probe/boom", headers=auth).status_code == 500
    assert httpx.get(server.url + "/api/v1/probe/items/a").status_code == 401
    assert httpx.get(server.url + "/api/v1/probe/nothing").status_code == 401
    assert httpx.post(server.url + "/api/v1/probe/who").status_code == 401
    # Observers run after the answer has gone out, so the last one may still be on its way.
    deadline = time.monotonic() + 5
    while len(REFUSED) < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [(r.method, r.path, r.status) for r in REFUSED] == [
        ("GET", "/api/v1/probe/who", 401),
        ("POST", "/api/v1/probe/echo", 413),
        ("GET", "/api/v1/probe/boom", 500),
        ("GET", "/api/v1/probe/items/a", 401),
        ("GET", "/api/v1/probe/nothing", 401),
        ("POST", "/api/v1/probe/who", 401),
    ]
    # The route each matched, path and method, is the very object the router declared;
    # a path (or a method) that matches none of them has none.
    matched = [WHO, ECHO, BOOM, ITEM, None, None]
    assert [r.route for r in REFUSED] == matched
    assert all(r.route is route for r, route in zip(REFUSED, matched, strict=True))
    assert REFUSED[0].principal.user_id is None and REFUSED[1].principal.user_id is not None
    assert REFUSED[0].reason == "authentication required"
    assert all(r.elapsed_ms >= 0 for r in REFUSED)


def test_a_refusal_is_told_to_the_router_under_the_path_only(server: ServerThread) -> None:
    REFUSED.clear()
    # probe-admin's observer fails; probe's must not hear of probe-admin's refusals.
    assert httpx.get(server.url + "/api/v1/probe-admin/who").status_code == 401
    assert httpx.get(server.url + "/api/v1/probe/who").status_code == 401
    deadline = time.monotonic() + 5
    while not REFUSED and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    assert [r.path for r in REFUSED] == ["/api/v1/probe/who"]


def test_a_failing_refusal_observer_does_not_change_the_answer(server: ServerThread) -> None:
    response = httpx.get(server.url + "/api/v1/probe-admin/who")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "authentication required"
