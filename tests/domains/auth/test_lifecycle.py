"""Identity lifecycle end to end: a real server, the official ``anthropic`` SDK, the CLI
against the same database. A disabled user's JWTs and API keys, and a revoked ``jti``,
are refused within the bound (``security.api_key_cache_seconds``), in the Anthropic
error format and audited; enabling serves the user again."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import orjson
import pytest
from typer.testing import CliRunner

from bastion.cli import build_app
from tests.cli.conftest import query
from tests.fakes import FakeAnthropic
from tests.support import ServerThread, write_profile

BOUND_SECONDS = 5.0  # the profile's api_key_cache_seconds, the documented default
UPSTREAM_KEY = "sk-ant-upstream-lifecycle-0123456789"


def cli(profile: Path, *args: str) -> tuple[str, str]:
    result = CliRunner().invoke(build_app(profile), ["--profile", str(profile), *args])
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result.stdout.strip(), result.stderr


@dataclass
class Caller:
    """One credential of alice's, through the SDK."""

    client: anthropic.Anthropic

    def call(self, trace: str) -> anthropic.types.Message | anthropic.AuthenticationError:
        try:
            return self.client.messages.create(
                model="claude-test",
                max_tokens=16,
                messages=[{"role": "user", "content": "hello"}],
                extra_headers={"x-trace-id": trace},
            )
        except anthropic.AuthenticationError as exc:
            return exc


def jwt_caller(url: str, token: str) -> Caller:
    return Caller(anthropic.Anthropic(base_url=url, auth_token=token, api_key=None, max_retries=0))


def key_caller(url: str, key: str) -> Caller:
    return Caller(anthropic.Anthropic(base_url=url, api_key=key, max_retries=0))


_traces = iter(range(1_000_000))


def wait_for(
    caller: Caller, served: bool, *, within: float = BOUND_SECONDS
) -> tuple[float, str, Any]:
    """Call until the answer is served (or refused, per ``served``), at most ``within``
    seconds; the time it took, the trace id and the answer that ended the wait."""
    started = time.monotonic()
    while True:
        trace = f"lifecycle-{next(_traces)}"
        answer = caller.call(trace)
        if isinstance(answer, anthropic.AuthenticationError) != served:
            return time.monotonic() - started, trace, answer
        elapsed = time.monotonic() - started
        assert elapsed < within, f"still {'refused' if served else 'served'} after {elapsed:.2f}s"
        time.sleep(0.05)


def assert_refused(answer: Any, message: str) -> None:
    assert isinstance(answer, anthropic.AuthenticationError), answer
    assert answer.status_code == 401
    body = answer.response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "authentication_error"
    assert body["error"]["message"] == message


def audited_status(db_url: str, trace: str, deadline: float = 10.0) -> int:
    """The ``ai_requests`` status of ``trace``, once the batched writer has flushed it."""
    until = time.monotonic() + deadline
    while time.monotonic() < until:
        rows = query(db_url, "SELECT status FROM ai_requests WHERE trace_id = :t", t=trace)
        if rows:
            return int(rows[0][0])
        time.sleep(0.1)
    raise AssertionError(f"no ai_requests row for trace {trace}")


@dataclass
class Stack:
    profile: Path
    db_url: str
    servers: list[ServerThread]
    token: str
    jti: str
    key: str

    @property
    def url(self) -> str:
        return self.servers[0].url


def lifecycle_profile(directory: Path, db_url: str, upstream: FakeAnthropic) -> Path:
    return write_profile(
        directory,
        db_url,
        {
            "security": {"api_key_cache_seconds": BOUND_SECONDS},
            "gateway": {
                "routes": [
                    {
                        "model_pattern": "claude-*",
                        "provider": "anthropic",
                        "endpoint": upstream.base_url,
                        "api_key_secret": "anthropic_key",
                    }
                ]
            },
            "audit": {"flush_interval_ms": 50},
            "rate_limits": {"requests_per_second": 1000},
        },
        {"anthropic_key": UPSTREAM_KEY},
    )


@pytest.fixture
def start_stack(db_url: str, tmp_path: Path) -> Iterator[Callable[[int], Stack]]:
    upstream = FakeAnthropic(api_key=UPSTREAM_KEY).start()
    servers: list[ServerThread] = []

    def start(replicas: int) -> Stack:
        profile = lifecycle_profile(tmp_path / "profile", db_url, upstream)
        cli(profile, "admin", "users", "create", "alice", "--role", "user")
        token, stderr = cli(profile, "admin", "tokens", "issue", "alice")
        (jti,) = [line[5:] for line in stderr.splitlines() if line.startswith("jti: ")]
        key, _ = cli(profile, "admin", "keys", "issue", "alice", "--name", "laptop")
        for _ in range(replicas):
            servers.append(ServerThread(profile).start())
        return Stack(profile, db_url, servers, token, jti, key)

    try:
        yield start
    finally:
        for server in servers:
            server.stop()
        upstream.stop()


def test_a_disabled_user_is_refused_within_the_bound_and_served_once_enabled(
    start_stack: Callable[[int], Stack],
) -> None:
    stack = start_stack(1)
    by_jwt, by_key = jwt_caller(stack.url, stack.token), key_caller(stack.url, stack.key)
    for caller in (by_jwt, by_key):
        answer = caller.call("lifecycle-before")
        assert isinstance(answer, anthropic.types.Message), answer

    cli(stack.profile, "admin", "users", "disable", "alice")
    took, trace, answer = wait_for(by_jwt, served=False)
    assert_refused(answer, "user is disabled")
    assert audited_status(stack.db_url, trace) == 401
    took_key, key_trace, answer = wait_for(by_key, served=False)
    assert_refused(answer, "invalid or revoked API key")
    assert audited_status(stack.db_url, key_trace) == 401
    (event,) = query(
        stack.db_url,
        "SELECT subject, details FROM audit_events WHERE event_type = 'admin.user.disable'",
    )
    assert orjson.loads(event[1])["name"] == "alice"

    cli(stack.profile, "admin", "users", "enable", "alice")
    wait_for(by_jwt, served=True)
    wait_for(by_key, served=True)
    print(f"disable took effect after {took:.2f}s (JWT) and {took_key:.2f}s (API key)")


def test_a_revoked_jti_is_refused_within_the_bound_and_no_other_token(
    start_stack: Callable[[int], Stack],
) -> None:
    stack = start_stack(1)
    other, _ = cli(stack.profile, "admin", "tokens", "issue", "alice")
    revoked, kept = jwt_caller(stack.url, stack.token), jwt_caller(stack.url, other)
    assert isinstance(revoked.call("lifecycle-jti-before"), anthropic.types.Message)

    cli(stack.profile, "admin", "tokens", "revoke", stack.jti)
    _, trace, answer = wait_for(revoked, served=False)
    assert_refused(answer, "token has been revoked")
    assert audited_status(stack.db_url, trace) == 401
    assert isinstance(kept.call("lifecycle-jti-kept"), anthropic.types.Message)
    assert isinstance(
        key_caller(stack.url, stack.key).call("lifecycle-jti-key"), anthropic.types.Message
    )


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_replicas_on_one_database_both_refuse_within_the_bound(
    start_stack: Callable[[int], Stack],
) -> None:
    stack = start_stack(2)
    first, second = stack.servers
    callers = [jwt_caller(s.url, stack.token) for s in stack.servers]
    for caller in callers:  # each replica has loaded its snapshot
        assert isinstance(caller.call("lifecycle-replica-warm"), anthropic.types.Message)

    # The change lands in the database, from outside both replicas; each sees it.
    cli(stack.profile, "admin", "users", "disable", "alice")
    started = time.monotonic()
    for caller in callers:
        _, _, answer = wait_for(
            caller, served=False, within=BOUND_SECONDS - (time.monotonic() - started)
        )
        assert_refused(answer, "user is disabled")
    cli(stack.profile, "admin", "users", "enable", "alice")
    for caller in callers:
        wait_for(caller, served=True)
    assert first.url != second.url
