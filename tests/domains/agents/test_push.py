"""A2A push notifications: the webhook URL policy (SSRF, allowlist, https), the config
store on both databases, and the sender against a real loopback receiver (signature,
token, Authorization, retries, order, shutdown)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.domains.agents import AgentsSettings, _push_sender
from bastion.domains.agents._push import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TOKEN_HEADER,
    GuardedResolver,
    InvalidPushConfig,
    PushConfigStore,
    PushSender,
    PushUrlRefused,
    check_push_url,
    is_public_address,
    parse_push_config,
)
from bastion.domains.agents._settings import PushNotificationSettings
from bastion.infra.config import SecretsError, SecretStore
from bastion.infra.db import create_engine
from bastion.infra.security import WebhookSignatureMismatchError, verify_webhook
from bastion.kernel.ledger import MigrationLedger, PlannedMigration
from bastion.kernel.migration import migrations_from_package

POLICY = PushNotificationSettings()
LOOPBACK_OK = PushNotificationSettings(
    allow_private=True, backoff_seconds=0.01, timeout_seconds=2.0, max_attempts=3
)
SECRET = "whsec-test-signing-secret"
STATUS_EVENT: dict[str, Any] = {
    "statusUpdate": {
        "taskId": "task-1",
        "contextId": "ctx-1",
        "status": {"state": "TASK_STATE_WORKING", "timestamp": "2026-12-08T01:00:00Z"},
    }
}


@pytest.fixture
async def fake_dns(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[dict[str, list[str]]]:
    """Names the running loop resolves to the addresses a test sets; other names fail."""
    table: dict[str, list[str]] = {}
    loop = asyncio.get_running_loop()

    async def getaddrinfo(host: str, port: int, **_: Any) -> list[Any]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "not known")
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (a, port, 0, 0) if ":" in a else (a, port),
            )
            for a in table[host]
        ]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    yield table


# --- the URL policy ---------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://127.8.9.10/hook",
        "https://localhost:8443/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/hook",
        "https://172.16.0.9/hook",
        "https://192.168.1.1/hook",
        "https://100.64.0.1/hook",
        "https://[fd12:3456::1]/hook",
        "https://[fe80::1]/hook",
        "https://0.0.0.0/hook",
        "https://[::]/hook",
        "https://224.0.0.251/hook",
        "https://[ff02::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[::ffff:169.254.169.254]/hook",
        "https://[64:ff9b::a9fe:a9fe]/hook",
        "https://2130706433/hook",
        "https://0x7f.1/hook",
    ],
)
async def test_non_public_destinations_are_refused(url: str) -> None:
    with pytest.raises(PushUrlRefused, match="non-public address"):
        await check_push_url(url, POLICY)


@pytest.mark.parametrize(
    "url",
    [
        "https://8.8.8.8/hook",
        "https://[2606:4700:4700::1111]:8443/a2a/hook?x=1",
        "https://[::ffff:8.8.8.8]/hook",
        "https://[64:ff9b::808:808]/hook",
    ],
)
async def test_public_ip_literals_are_accepted(url: str) -> None:
    await check_push_url(url, POLICY)


async def test_a_name_with_any_private_address_is_refused(
    fake_dns: dict[str, list[str]],
) -> None:
    fake_dns["hooks.example.com"] = ["93.184.216.34"]
    fake_dns["split.example.com"] = ["93.184.216.34", "10.0.0.5"]
    await check_push_url("https://hooks.example.com/a2a", POLICY)
    with pytest.raises(PushUrlRefused, match=r"'split.example.com'.*non-public.*10\.0\.0\.5"):
        await check_push_url("https://split.example.com/a2a", POLICY)


async def test_a_name_that_does_not_resolve_is_refused(fake_dns: dict[str, list[str]]) -> None:
    with pytest.raises(PushUrlRefused, match="does not resolve"):
        await check_push_url("https://gone.example.com/a2a", POLICY)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://8.8.8.8/hook", "http or https"),
        ("file:///etc/passwd", "http or https"),
        ("gopher://8.8.8.8:70/_x", "http or https"),
        ("https:///hook", "no host"),
        ("https://user:pw@8.8.8.8/hook", "credentials"),
        ("https://8.8.8.8:99999/hook", "not a valid URL"),
        ("https://8.8.8.8/ho ok", "control characters"),
        ("https://8.8.8.8/\r\nX-Evil: 1", "control characters"),
        ("https://bücher.example/hook", "xn--"),
        ("https://8.8.8.8/" + "a" * 2100, "longer than"),
    ],
)
async def test_malformed_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(PushUrlRefused, match=reason):
        await check_push_url(url, POLICY)


async def test_the_refusal_names_the_host_but_not_the_path_or_query() -> None:
    with pytest.raises(PushUrlRefused) as caught:
        await check_push_url("https://127.0.0.1/hooks/s3cr3t-path?token=tok-abc", POLICY)
    message = str(caught.value)
    assert "127.0.0.1" in message
    assert "s3cr3t" not in message and "tok-abc" not in message
    assert isinstance(caught.value, InvalidPushConfig)


async def test_allowed_hosts_are_globs_over_the_host(fake_dns: dict[str, list[str]]) -> None:
    for name in ("a.example.com", "example.com", "evil-example.com", "hooks.partner.io"):
        fake_dns[name] = ["93.184.216.34"]
    fake_dns["internal.example.com"] = ["192.168.4.4"]
    policy = PushNotificationSettings(
        allowed_hosts=("*.example.com", "HOOKS.partner.io", "2606:4700::1111")
    )
    await check_push_url("https://a.example.com/x", policy)
    await check_push_url("https://A.Example.COM./x", policy)
    await check_push_url("https://hooks.partner.io:8443/x", policy)
    await check_push_url("https://[2606:4700::1111]/x", policy)
    for refused in ("https://example.com/x", "https://evil-example.com/x", "https://8.8.8.8/x"):
        with pytest.raises(PushUrlRefused, match="not in allowed_hosts"):
            await check_push_url(refused, policy)
    with pytest.raises(PushUrlRefused, match="non-public"):
        await check_push_url("https://internal.example.com/x", policy)


async def test_https_is_required_except_to_private_hosts_when_allowed(
    fake_dns: dict[str, list[str]],
) -> None:
    fake_dns["mixed.internal"] = ["10.0.0.7", "93.184.216.34"]
    with pytest.raises(PushUrlRefused, match="must be https"):
        await check_push_url("http://8.8.8.8/hook", POLICY)
    await check_push_url("http://8.8.8.8/hook", PushNotificationSettings(require_https=False))
    private_ok = PushNotificationSettings(allow_private=True)
    await check_push_url("http://127.0.0.1:9000/hook", private_ok)
    await check_push_url("http://10.0.0.7/hook", private_ok)
    for public in ("http://8.8.8.8/hook", "http://mixed.internal/hook"):
        with pytest.raises(PushUrlRefused, match="must be https"):
            await check_push_url(public, private_ok)
    await check_push_url("https://169.254.169.254/", private_ok)


def test_is_public_address() -> None:
    assert is_public_address("8.8.8.8")
    assert is_public_address("2606:4700::1111")
    for address in ("127.0.0.1", "169.254.169.254", "100.100.1.1", "fec0::1", "", "nope"):
        assert not is_public_address(address), address
    assert not is_public_address("2002:7f00:1::1")  # 6to4 carrying 127.0.0.1
    assert not is_public_address("fe80::1%eth0")


async def test_the_guarded_resolver_refuses_non_public_answers() -> None:
    with pytest.raises(OSError, match="non-public"):
        await GuardedResolver(allow_private=False).resolve("localhost", 80)
    answers = await GuardedResolver(allow_private=True).resolve("localhost", 80)
    assert answers and all(not is_public_address(a["host"]) for a in answers)


def test_the_settings_block_defaults_and_strictness() -> None:
    push = AgentsSettings().push_notifications
    assert push.enabled and push.require_https and not push.allow_private
    assert push.allowed_hosts == () and push.signing_secret is None
    assert push.max_attempts >= 1 and push.timeout_seconds > 0
    configured = AgentsSettings.model_validate(
        {"push_notifications": {"allowed_hosts": ["*.example.com"], "signing_secret": "push"}}
    )
    assert configured.push_notifications.signing_secret == "push"
    for bad in (
        {"allowed_hosts": ["bad host/x"]},
        {"allowed_hosts": ["[ab].example.com"]},
        {"surprise": True},
        {"max_attempts": 0},
        {"timeout_seconds": 0},
        {"signing_secret": ""},
    ):
        with pytest.raises(ValidationError):
            AgentsSettings.model_validate({"push_notifications": bad})


# --- the store --------------------------------------------------------------------


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """A fresh database holding the agents domain's tables, on each backend."""
    engine = create_engine(db_url)
    plan = [
        PlannedMigration("agents", m) for m in migrations_from_package("bastion.domains.agents")
    ]
    await MigrationLedger(engine).migrate(plan)
    try:
        yield engine
    finally:
        await engine.dispose()


def public_store(engine: AsyncEngine, **changes: Any) -> PushConfigStore:
    return PushConfigStore(engine, PushNotificationSettings(**changes))


async def test_a_config_round_trips_as_the_a2a_shape(engine: AsyncEngine) -> None:
    store = public_store(engine)
    created = await store.create(
        "task-1",
        {
            "url": "https://8.8.8.8/hook",
            "token": "client-token",
            "authentication": {"scheme": "Bearer", "credentials": "cred-1"},
        },
    )
    assert len(created.id) == 32
    expected = {
        "id": created.id,
        "taskId": "task-1",
        "url": "https://8.8.8.8/hook",
        "token": "client-token",
        "authentication": {"scheme": "Bearer", "credentials": "cred-1"},
    }
    assert created.to_json() == expected
    fetched = await store.get("task-1", created.id)
    assert fetched is not None and fetched.to_json() == expected
    assert await store.get("task-2", created.id) is None
    assert await store.get("task-1", "other") is None
    bare = await store.create(
        "task-1", {"id": "bare", "taskId": "task-1", "url": "https://1.1.1.1"}
    )
    assert bare.to_json() == {"id": "bare", "taskId": "task-1", "url": "https://1.1.1.1"}
    assert [c.id for c in await store.list("task-1")] == [created.id, "bare"]
    assert await store.list("task-2") == []


async def test_the_same_id_replaces_and_delete_removes(engine: AsyncEngine) -> None:
    store = public_store(engine)
    await store.create("task-1", {"id": "hook", "url": "https://8.8.8.8/one", "token": "t1"})
    await store.create("task-2", {"id": "hook", "url": "https://8.8.8.8/other"})
    await store.create("task-1", {"id": "hook", "url": "https://8.8.8.8/two"})
    (only,) = await store.list("task-1")
    assert (only.url, only.token) == ("https://8.8.8.8/two", None)
    assert await store.delete("task-1", "hook") is True
    assert await store.delete("task-1", "hook") is False
    assert await store.list("task-1") == []
    assert [c.url for c in await store.list("task-2")] == ["https://8.8.8.8/other"]
    await store.create("task-2", {"url": "https://8.8.8.8/more"})
    assert await store.delete_task("task-2") == 2
    assert await store.list("task-2") == []


async def test_a_task_holds_at_most_max_configs(engine: AsyncEngine) -> None:
    store = public_store(engine, max_configs_per_task=2)
    await store.create("task-1", {"id": "a", "url": "https://8.8.8.8/a"})
    await store.create("task-1", {"id": "b", "url": "https://8.8.8.8/b"})
    with pytest.raises(InvalidPushConfig, match="max_configs_per_task"):
        await store.create("task-1", {"id": "c", "url": "https://8.8.8.8/c"})
    await store.create("task-1", {"id": "b", "url": "https://8.8.8.8/b2"})
    await store.create("task-2", {"id": "c", "url": "https://8.8.8.8/c"})
    assert [c.url for c in await store.list("task-1")] == [
        "https://8.8.8.8/a",
        "https://8.8.8.8/b2",
    ]


async def test_a_refused_url_is_never_stored(engine: AsyncEngine) -> None:
    store = public_store(engine)
    for url in ("https://169.254.169.254/latest", "http://8.8.8.8/hook", "https://[::1]/x"):
        with pytest.raises(PushUrlRefused):
            await store.create("task-1", {"url": url})
    assert await store.list("task-1") == []
    private = public_store(engine, allow_private=True)
    assert (await private.create("task-1", {"url": "http://127.0.0.1:1/x"})).url.startswith("http")


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        ({"url": "https://8.8.8.8", "surprise": 1}, "unknown field 'surprise'"),
        ({"url": "https://8.8.8.8", "taskId": "task-2"}, "another task"),
        ({"token": "x"}, "needs a url"),
        ({"url": 7}, "needs a url"),
        ({"url": "https://8.8.8.8", "id": "has space"}, "id must be"),
        ({"url": "https://8.8.8.8", "token": "a\r\nX-Evil: 1"}, "token must be printable"),
        ({"url": "https://8.8.8.8", "token": 5}, "token must be a string"),
        ({"url": "https://8.8.8.8", "authentication": "Bearer x"}, "must be an object"),
        ({"url": "https://8.8.8.8", "authentication": {"credentials": "c"}}, "needs a scheme"),
        (
            {
                "url": "https://8.8.8.8",
                "authentication": {"scheme": "Bearer x", "credentials": "c"},
            },
            "needs a scheme",
        ),
        (
            {"url": "https://8.8.8.8", "authentication": {"scheme": "Bearer", "schemes": []}},
            "unknown field 'schemes'",
        ),
        (
            {"url": "https://8.8.8.8", "authentication": {"scheme": "B", "credentials": "c\n"}},
            "credentials must be printable",
        ),
    ],
)
def test_malformed_configs_are_refused(config: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidPushConfig, match=reason):
        parse_push_config(config, "task-1")


def test_a_config_repr_shows_no_token_or_credentials() -> None:
    config = parse_push_config(
        {
            "url": "https://8.8.8.8",
            "token": "tok-visible-nowhere",
            "authentication": {"scheme": "Bearer", "credentials": "cred-visible-nowhere"},
            "tenant": "",
        },
        "task-1",
    )
    assert "visible-nowhere" not in repr(config)
    assert config.authentication is not None
    assert config.authentication.header == "Bearer cred-visible-nowhere"


# --- the sender -------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A webhook on loopback: records every request, answers ``fail_status`` to the first
    ``fail_first``, stalls the first ``stall_first`` for ``stall_seconds``."""

    base: str = ""
    requests: list[Received] = field(default_factory=list)
    fail_first: int = 0
    fail_status: int = 503
    stall_first: int = 0
    stall_seconds: float = 0.0
    redirect: bool = False
    gate: asyncio.Event | None = None

    def url(self, path: str = "/hook") -> str:
        return self.base + path

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver()

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        state.requests.append(Received(request.path, dict(request.headers), body))
        seen = len(state.requests)
        if state.gate is not None:
            await state.gate.wait()
        if seen <= state.stall_first:
            await asyncio.sleep(state.stall_seconds)
        if state.redirect and request.path != "/elsewhere":
            raise web.HTTPFound(state.url("/elsewhere"))
        if seen <= state.fail_first:
            return web.Response(status=state.fail_status)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    state.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield state
    finally:
        await runner.cleanup()


def make_sender(
    engine: AsyncEngine, secret: str | None = SECRET, **changes: Any
) -> tuple[PushConfigStore, PushSender]:
    settings = LOOPBACK_OK.model_copy(update=changes)
    store = PushConfigStore(engine, settings)
    return store, PushSender(store, settings, signing_secret=secret)


async def test_a_notification_reaches_every_webhook_signed_with_token_and_auth(
    engine: AsyncEngine, receiver: Receiver
) -> None:
    store, sender = make_sender(engine)
    await store.create(
        "task-1",
        {
            "id": "full",
            "url": receiver.url("/full"),
            "token": "client-token",
            "authentication": {"scheme": "Bearer", "credentials": "cred-1"},
        },
    )
    await store.create("task-1", {"id": "plain", "url": receiver.url("/plain")})
    await store.create("task-2", {"url": receiver.url("/other-task")})
    assert sender.notify("task-1", STATUS_EVENT) is True
    await sender.aclose()
    assert sorted(receiver.paths()) == ["/full", "/plain"]
    by_path = {r.path: r for r in receiver.requests}
    full, plain = by_path["/full"], by_path["/plain"]
    assert orjson.loads(full.body) == STATUS_EVENT
    assert full.headers["Content-Type"] == "application/json"
    assert full.headers[TOKEN_HEADER] == "client-token"
    assert full.headers["Authorization"] == "Bearer cred-1"
    signed_at = verify_webhook(SECRET, full.body, full.headers[SIGNATURE_HEADER], time.time())
    assert abs(signed_at - time.time()) < 60
    with pytest.raises(WebhookSignatureMismatchError):
        verify_webhook("another-secret", full.body, full.headers[SIGNATURE_HEADER], time.time())
    assert TOKEN_HEADER not in plain.headers and "Authorization" not in plain.headers
    verify_webhook(SECRET, plain.body, plain.headers[SIGNATURE_HEADER], time.time())
    assert full.headers[DELIVERY_HEADER] != plain.headers[DELIVERY_HEADER]


async def test_without_a_signing_secret_nothing_is_signed(
    engine: AsyncEngine, receiver: Receiver
) -> None:
    store, sender = make_sender(engine, secret=None)
    await store.create("task-1", {"url": receiver.url()})
    assert await sender.deliver("task-1", orjson.dumps(STATUS_EVENT)) == 1
    await sender.aclose()
    assert SIGNATURE_HEADER not in receiver.requests[0].headers


async def test_failures_are_retried_with_backoff_until_delivered(
    engine: AsyncEngine, receiver: Receiver
) -> None:
    receiver.fail_first = 2
    store, sender = make_sender(engine, max_attempts=3, backoff_seconds=0.05)
    await store.create("task-1", {"url": receiver.url()})
    started = time.monotonic()
    assert await sender.deliver("task-1", orjson.dumps(STATUS_EVENT)) == 1
    elapsed = time.monotonic() - started
    await sender.aclose()
    assert len(receiver.requests) == 3
    assert elapsed >= 0.05 + 0.1  # waits 0.05 then 0.1 s
    assert len({r.headers[DELIVERY_HEADER] for r in receiver.requests}) == 1
    for request in receiver.requests:
        verify_webhook(SECRET, request.body, request.headers[SIGNATURE_HEADER], time.time())


async def test_retries_stop_at_max_attempts(engine: AsyncEngine, receiver: Receiver) -> None:
    receiver.fail_first, receiver.fail_status = 10, 429
    store, sender = make_sender(engine, max_attempts=2)
    await store.create("task-1", {"url": receiver.url()})
    assert await sender.deliver("task-1", orjson.dumps(STATUS_EVENT)) == 0
    await sender.aclose()
    assert len(receiver.requests) == 2


async def test_a_timeout_is_retried(engine: AsyncEngine, receiver: Receiver) -> None:
    receiver.stall_first, receiver.stall_seconds = 1, 1.0
    store, sender = make_sender(engine, timeout_seconds=0.3)
    await store.create("task-1", {"url": receiver.url()})
    assert await sender.deliver("task-1", orjson.dumps(STATUS_EVENT)) == 1
    await sender.aclose()
    assert len(receiver.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 404])
async def test_a_client_error_is_not_retried(
    engine: AsyncEngine, receiver: Receiver, status: int
) -> None:
    receiver.fail_first, receiver.fail_status = 10, status
    store, sender = make_sender(engine)
    await store.create("task-1", {"url": receiver.url()})
    assert await sender.deliver("task-1", orjson.dumps(STATUS_EVENT)) == 0
    await sender.aclose()
    assert len(receiver.requests) == 1


async def test_a_redirect_is_not_followed(engine: AsyncEngine, receiver: Receiver) -> None:
    receiver.redirect = True
    store, sender = make_sender(engine)
    await store.create("task-1", {"url": receiver.url()})
    assert await sender.deliver("task-1", orjson.dumps(STATUS_EVENT)) == 0
    await sender.aclose()
    assert receiver.paths() == ["/hook"]


async def test_the_url_is_checked_again_at_send_time(
    engine: AsyncEngine, receiver: Receiver
) -> None:
    """A config stored while private addresses were allowed is not called once they are
    not (the same holds for a name that has moved to a private address)."""
    store, _ = make_sender(engine)
    await store.create("task-1", {"url": receiver.url()})
    strict = PushNotificationSettings(allow_private=False, require_https=False)
    sender = PushSender(store, strict, signing_secret=SECRET)
    assert await sender.deliver("task-1", orjson.dumps(STATUS_EVENT)) == 0
    await sender.aclose()
    assert receiver.requests == []


async def test_a_name_that_moves_after_the_check_is_refused_at_connect(
    engine: AsyncEngine, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the check sees a public address, the connection would get loopback;
    the guarded resolver refuses it, and the delivery is not retried."""
    port = receiver.base.rsplit(":", 1)[1]
    store, _ = make_sender(engine)
    await store.create("task-1", {"url": f"http://localhost:{port}/hook"})
    strict = PushNotificationSettings(allow_private=False, require_https=False, max_attempts=3)

    async def passes(url: str, settings: PushNotificationSettings) -> None:
        return None

    monkeypatch.setattr(_push_sender, "check_push_url", passes)
    sender = PushSender(store, strict, signing_secret=SECRET)
    assert await sender.deliver("task-1", orjson.dumps(STATUS_EVENT)) == 0
    await sender.aclose()
    assert receiver.requests == []


async def test_one_tasks_notifications_arrive_in_order_and_close_drains(
    engine: AsyncEngine, receiver: Receiver
) -> None:
    store, sender = make_sender(engine, concurrency=4)
    await store.create("task-1", {"url": receiver.url()})
    states = ["TASK_STATE_WORKING"] * 5 + ["TASK_STATE_COMPLETED"]
    for n, state in enumerate(states):
        event = {
            "statusUpdate": {"taskId": "task-1", "status": {"state": state}, "metadata": {"n": n}}
        }
        assert sender.notify("task-1", event)
    await sender.aclose()
    got = [orjson.loads(r.body)["statusUpdate"]["metadata"]["n"] for r in receiver.requests]
    assert got == list(range(len(states)))
    assert sender.notify("task-1", STATUS_EVENT) is False


async def test_a_full_queue_drops_rather_than_waits(
    engine: AsyncEngine, receiver: Receiver
) -> None:
    store, sender = make_sender(engine, queue_size=1, concurrency=1)
    await store.create("task-1", {"url": receiver.url()})
    assert sender.notify("task-1", STATUS_EVENT) is True
    assert sender.notify("task-1", STATUS_EVENT) is False
    assert sender.dropped == 1
    await sender.aclose()
    assert len(receiver.requests) == 1


async def test_close_gives_up_on_a_stuck_webhook_after_the_drain_time(
    engine: AsyncEngine, receiver: Receiver
) -> None:
    """Even with the queue full behind the stuck delivery, close returns in time."""
    receiver.gate = asyncio.Event()
    store, sender = make_sender(engine, concurrency=1, queue_size=1, timeout_seconds=30)
    await store.create("task-1", {"url": receiver.url()})
    assert sender.notify("task-1", STATUS_EVENT)
    async with asyncio.timeout(10):
        while not receiver.requests:
            await asyncio.sleep(0.01)
    assert sender.notify("task-1", STATUS_EVENT)
    started = time.monotonic()
    await sender.aclose(drain_seconds=0.3)
    assert time.monotonic() - started < 5
    await sender.aclose()
    receiver.gate.set()
    assert len(receiver.requests) == 1


async def test_notify_takes_only_push_events_and_nothing_when_disabled(
    engine: AsyncEngine,
) -> None:
    _, sender = make_sender(engine)
    bad_events: list[dict[str, Any]] = [{"message": {}}, {}, {"task": {}, "statusUpdate": {}}]
    for bad in bad_events:
        with pytest.raises(ValueError, match="StreamResponse"):
            sender.notify("task-1", bad)
    _, disabled = make_sender(engine, enabled=False)
    assert disabled.notify("task-1", STATUS_EVENT) is False
    await sender.aclose()
    await disabled.aclose()


async def test_from_settings_reads_the_named_secret(
    engine: AsyncEngine, receiver: Receiver
) -> None:
    settings = LOOPBACK_OK.model_copy(update={"signing_secret": "push-signing"})
    store = PushConfigStore(engine, settings)
    with pytest.raises(SecretsError, match="push-signing"):
        PushSender.from_settings(store, settings, SecretStore({}))
    sender = PushSender.from_settings(store, settings, SecretStore({"push-signing": SECRET}))
    await store.create("task-1", {"url": receiver.url()})
    assert await sender.deliver("task-1", orjson.dumps(STATUS_EVENT)) == 1
    await sender.aclose()
    request = receiver.requests[0]
    verify_webhook(SECRET, request.body, request.headers[SIGNATURE_HEADER], time.time())


def test_the_store_and_policy_import_without_aiohttp() -> None:
    """A command that mounts no routes may reach the store; only the sender needs aiohttp."""
    code = (
        "import sys\n"
        "import bastion.domains.agents._push as push\n"
        "assert 'aiohttp' not in sys.modules, 'aiohttp imported'\n"
        "assert push.PushSender and 'aiohttp' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
