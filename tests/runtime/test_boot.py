"""Boot: each failing step is one clear line naming the extension; readiness and health."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.infra.config import load_profile
from bastion.kernel.contract import (
    Extension,
    ExtensionContext,
    ExtensionMeta,
    ExtensionRouter,
    Maturity,
)
from bastion.kernel.ledger import MigrationLedger
from bastion.kernel.migration import migrations_from_package
from bastion.runtime.app import build_app
from bastion.runtime.boot import BootError, boot
from tests.cli.conftest import Cli, error_of, query
from tests.conftest import create_pg_database, drop_pg_database
from tests.examples.install import examples_installed  # noqa: F401  (autouse)
from tests.support import free_port, running_server, write_profile
from tests.support.processes import ROOT

BASTION = Path(sys.executable).parent / "bastion"
ZEROS = "0" * 64


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "BASTION_PROFILE"}


def bastion(profile: Path, *args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BASTION), "--profile", str(profile), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=clean_env(),
    )


def finish(proc: subprocess.Popen[str]) -> Outcome:
    try:
        stdout, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        pytest.fail(f"{proc.args} did not exit: it booted when it should not have\n{stderr}")
    return Outcome(proc.returncode, stdout, stderr)


def assert_one_clear_line(outcome: Outcome, expected: str) -> None:
    assert outcome.returncode == 1, outcome
    assert "Traceback" not in outcome.stderr, outcome.stderr
    assert outcome.stdout == ""
    errors = [line for line in outcome.stderr.splitlines() if line.startswith("error:")]
    assert errors == [expected], outcome.stderr


def plugins_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "plugins" / "lonely"
    folder.mkdir(parents=True)
    (folder / "manifest.yaml").write_text(
        "id: lonely\nkind: cli\nversion: '1'\ncommand: [echo]\ndepends_on: [users, ghost]\n"
    )
    return folder.parent


SCENARIOS: dict[str, tuple[dict[str, Any], str]] = {
    "invalid extension config": (
        {"hello": {"greeting": ""}},
        "error: boot failed at configure: extension 'hello': hello.greeting: "
        "String should have at least 1 character",
    ),
    "unknown extension namespace": (
        {"helo": {"greeting": "Hi"}},
        "error: boot failed at configure: helo: unknown key; it is neither a platform key nor "
        "the config namespace of an installed and enabled extension",
    ),
    "extension namespace under extensions": (
        {"extensions": {"hello": {"greeting": "Hi"}}},
        "error: <profile>: extensions.hello: an extension's config namespace is a top-level "
        "key of the profile now; move this block to `hello:`",
    ),
    "required extension disabled": (
        {"extensions": {"disabled": ["users"]}},
        "error: boot failed at discover: extension 'users' is required and cannot be disabled: "
        "Bastion cannot serve without it; remove it from extensions.disabled",
    ),
    "below min_maturity": (
        {"extensions": {"min_maturity": "ga"}},
        "error: boot failed at discover: extension 'hello' is beta, below "
        "extensions.min_maturity=ga",
    ),
    "manifest with a missing dependency": (
        {"extensions": {"dir": "plugins"}},
        "error: boot failed at discover: extension 'lonely' requires 'ghost', which is not "
        "installed",
    ),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_boot_failure_is_one_line_naming_the_extension(scenario: str, tmp_path: Path) -> None:
    """``serve`` and ``config validate`` refuse the same profile with the same line."""
    overrides, expected = SCENARIOS[scenario]
    if "dir" in overrides.get("extensions", {}):
        plugins_dir(tmp_path / "profile")
    # these fail before the database is opened: one backend is enough
    profile = write_profile(tmp_path / "profile", f"sqlite+aiosqlite:///{tmp_path}/b.db", overrides)
    serve = bastion(profile, "serve", "--port", str(free_port()), cwd=tmp_path)
    validate = bastion(profile, "config", "validate", cwd=tmp_path)
    expected = expected.replace("<profile>", str(profile.resolve() / "profile.yaml"))
    assert_one_clear_line(finish(serve), expected)
    assert_one_clear_line(finish(validate), expected)
    assert not (tmp_path / "b.db").exists()


def test_drifted_migration_stops_serve(db_url: str, tmp_path: Path) -> None:
    profile = write_profile(tmp_path / "profile", db_url)
    Cli(profile).ok("db", "migrate")
    query(
        db_url,
        "UPDATE extension_migrations SET checksum_sha256 = :c WHERE extension_id = 'hello'",
        c=ZEROS,
    )
    dialect = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    current = migrations_from_package("bastion_hello")[0].checksum(dialect)
    drift = (
        f"migration drift in extension 'hello' version 1: stored checksum {ZEROS}, "
        f"current checksum {current}"
    )
    serve = bastion(profile, "serve", "--port", str(free_port()), cwd=tmp_path)
    migrate = bastion(profile, "db", "migrate", cwd=tmp_path)
    validate = bastion(profile, "config", "validate", cwd=tmp_path)
    assert_one_clear_line(finish(serve), f"error: boot failed at migrate: {drift}")
    assert_one_clear_line(finish(migrate), f"error: {drift}")
    # The profile itself is fine: validation does not read the ledger.
    assert finish(validate).returncode == 0


def test_serve_boots_becomes_ready_and_stops_cleanly(db_url: str, tmp_path: Path) -> None:
    """The real ``bastion serve``: ready once listening, healthy, clean exit on Ctrl-C."""
    profile = write_profile(tmp_path / "profile", db_url)
    port = free_port()
    proc = bastion(profile, "serve", "--port", str(port), cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = httpx.get(url + "/api/v1/ready", timeout=1).status_code
            except httpx.TransportError:
                time.sleep(0.02)
                continue
            if status == 200:
                break
        assert status == 200, finish(proc)
        health = httpx.get(url + "/api/v1/health", timeout=5)
        assert health.status_code == 200
        assert health.json()["status"] == "healthy"
        assert health.json()["checks"]["database"]["status"] == "ok"
    finally:
        proc.send_signal(signal.SIGINT)
        outcome = finish(proc)
    assert outcome.returncode == 0, outcome
    assert "Traceback" not in outcome.stderr
    assert f"Bastion serving http://127.0.0.1:{port}" in outcome.stderr


def test_disabled_extension_is_not_loaded(db_url: str, tmp_path: Path) -> None:
    # Its config block may stay in the profile while it is disabled.
    profile = write_profile(
        tmp_path / "profile",
        db_url,
        {"extensions": {"disabled": ["hello"]}, "hello": {"greeting": "Hi"}},
    )
    cli = Cli(profile)
    ids = [row["id"] for row in json.loads(cli.ok("plugins", "list", "--json"))]
    assert "hello" not in ids and {"core", "users", "auth"} <= set(ids)
    assert error_of(cli.fails("admin", "users", "create", "g", "--role", "greeter")) == (
        "error: role 'greeter' is not defined"
    )
    with running_server(profile) as server:
        token = cli.ok("admin", "tokens", "issue", "admin").strip()
        response = httpx.get(
            server.url + "/api/v1/hello/greetings", headers={"authorization": f"Bearer {token}"}
        )
        assert response.status_code == 404
    assert [e for e, *_ in query(db_url, "SELECT extension_id FROM extension_migrations")].count(
        "hello"
    ) == 0


async def test_ready_only_once_the_listener_is_up(db_url: str, tmp_path: Path) -> None:
    profile = write_profile(tmp_path / "profile", db_url)
    platform = await boot(load_profile(profile))
    try:
        assert platform.ready is False
        app = build_app(platform)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bastion") as client:
            response = await client.get("/api/v1/ready")
        assert response.status_code == 503
        assert response.json() == {"status": "starting"}
    finally:
        await platform.close()

    def serve_and_probe() -> tuple[bool, int, Any]:
        with running_server(profile) as server:
            assert server.platform is not None
            ready = httpx.get(server.url + "/api/v1/ready")
            return server.platform.ready, ready.status_code, ready.json()

    assert await asyncio.to_thread(serve_and_probe) == (True, 200, {"status": "ready"})


async def test_health_is_unhealthy_when_the_database_goes_away(tmp_path: Path) -> None:
    url = await create_pg_database()
    try:
        profile = write_profile(tmp_path / "profile", url)

        def probe() -> list[httpx.Response]:
            with running_server(profile) as server:
                before = httpx.get(server.url + "/api/v1/health", timeout=10)
                asyncio.run(drop_pg_database(url))
                after = httpx.get(server.url + "/api/v1/health", timeout=10)
                return [before, after]

        before, after = await asyncio.to_thread(probe)
        assert before.status_code == 200 and before.json()["status"] == "healthy"
        assert after.status_code == 503
        body = after.json()
        assert body["status"] == "unhealthy"
        assert body["checks"]["database"]["status"] == "fail"
        assert body["checks"]["database"]["error"]
    finally:
        await drop_pg_database(url)


async def test_verify_boots_only_a_database_that_is_migrated(db_url: str, tmp_path: Path) -> None:
    """A worker (``migrate="verify"``) applies nothing and refuses a ledger that is behind."""
    loaded = load_profile(write_profile(tmp_path / "profile", db_url))
    inspected = await boot(loaded, migrate=False)
    planned = len(inspected.migration_plan())
    await inspected.close()
    with pytest.raises(BootError) as refused:
        await boot(loaded, migrate="verify")
    assert str(refused.value) == (
        "boot failed at migrate: migration 001_core of extension 'core' is not applied "
        f"({planned} pending); run `bastion db migrate`"
    )
    ledger = await asyncio.to_thread(query, db_url, "SELECT count(*) FROM extension_migrations")
    assert ledger == [(0,)]

    migrated = await boot(loaded)
    await migrated.close()
    verified = await boot(loaded, migrate="verify")
    await verified.close()

    await asyncio.to_thread(
        query,
        db_url,
        "UPDATE extension_migrations SET checksum_sha256 = :c WHERE extension_id = 'hello'",
        c=ZEROS,
    )
    with pytest.raises(BootError) as drifted:
        await boot(loaded, migrate="verify")
    assert str(drifted.value).startswith(
        f"boot failed at migrate: migration drift in extension 'hello' version 1: "
        f"stored checksum {ZEROS}"
    )


async def test_a_platform_that_mounts_no_routes_still_replays_every_audit_table(
    db_url: str, tmp_path: Path
) -> None:
    """Extensions declare their audit tables (``audit_tables()``), so a CLI command that
    boots without mounting routes (``mount=False``) still replays a spill file holding
    another process's ``ai_requests`` rows instead of refusing an unknown table."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from bastion.domains.gateway import GATEWAY, ai_requests
    from bastion.domains.gateway._records import RequestRecord
    from bastion.domains.mcp import MCP
    from bastion.infra.audit import AuditWriter
    from tests.support.principals import jwt_principal

    spill = tmp_path / "spill.jsonl"
    loaded = load_profile(
        write_profile(
            tmp_path / "profile",
            db_url,
            {"audit": {"spill_path": str(spill)}},
        )
    )
    # A server whose database is unreachable spills its row and exits.
    unreachable = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    server = AuditWriter(
        unreachable, spill_path=spill, tables=[ai_requests], retry_initial=0.01, retry_max=0.05
    )
    await server.start()
    row = RequestRecord(jwt_principal(), "anthropic", status=200, outcome="allowed").row()
    row["created_at"] = datetime.now(UTC)
    await server.write(ai_requests, row)
    await server.close()
    await unreachable.dispose()
    assert spill.exists()

    cli = await boot(loaded, mount=False)
    try:
        assert cli.routers == []
        assert not cli.services.built(GATEWAY) and not cli.services.built(MCP)
        await cli.start(jobs=False)
        await asyncio.wait_for(cli.audit.writer.flush(), 30)
    finally:
        await cli.close()
    rows = await asyncio.to_thread(query, db_url, "SELECT status, outcome FROM ai_requests")
    assert rows == [(200, "allowed")]
    assert not spill.exists()


def test_a_command_that_mounts_nothing_imports_neither_the_mcp_sdk_nor_aiohttp(
    db_url: str, tmp_path: Path
) -> None:
    """What keeps ``bastion admin tokens issue`` under a second (``python -m bench.cli``):
    a boot without routes leaves the MCP SDK, aiohttp, httpx, redis and (with no cron job
    in the profile) croniter unimported."""
    profile = write_profile(tmp_path / "profile", db_url)
    script = (
        "import asyncio, sys\nfrom pathlib import Path\n"
        "from bastion.infra.config import load_profile\n"
        "from bastion.runtime.boot import boot\n"
        "async def main():\n"
        f"    p = await boot(load_profile(Path({str(profile)!r})), mount=False)\n"
        "    await p.close()\n"
        "asyncio.run(main())\n"
        "unwanted = ('mcp', 'aiohttp', 'httpx', 'redis', 'croniter')\n"
        "print(sorted(m for m in unwanted if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"


class _Recorder(Extension):
    """Mounts nothing; keeps the services every context shares (the shutdown hooks)."""

    meta = ExtensionMeta(id="recorder", version="1.0.0", priority=1000, maturity=Maturity.GA)
    stops: ClassVar[tuple[Any, ...]] = ()
    engines: ClassVar[list[AsyncEngine]] = []

    def router(self, ctx: ExtensionContext) -> None:
        type(self).stops = ctx.services.pending_stops()
        type(self).engines = [ctx.engine]
        return None


class _Unmountable(_Recorder):
    """Boot calls its ``router()`` after the gateway's, then refuses it at validate."""

    meta = ExtensionMeta(id="unmountable", version="1.0.0", priority=1000, maturity=Maturity.GA)

    def router(self, ctx: ExtensionContext) -> ExtensionRouter:
        super().router(ctx)
        return ExtensionRouter(routes=[], base_path="api/v1/unmountable")


def _gateway_session(stops: tuple[Any, ...]) -> aiohttp.ClientSession:
    sessions = [
        hook.__self__
        for hook in stops
        if isinstance(getattr(hook, "__self__", None), aiohttp.ClientSession)
    ]
    assert len(sessions) == 1, stops
    return sessions[0]


async def test_a_boot_refused_after_the_gateway_mounted_closes_its_http_session(
    tmp_path: Path, recwarn: pytest.WarningsRecorder
) -> None:
    """The gateway's ``router()`` opened an aiohttp session and registered its close with
    ``ctx.on_shutdown``; boot then fails at validate: the hook has run (no "Unclosed
    client session")."""
    loaded = load_profile(
        write_profile(tmp_path / "profile", f"sqlite+aiosqlite:///{tmp_path}/b.db")
    )
    with pytest.raises(BootError) as refused:
        await boot(loaded, extra=[_Unmountable], migrate=False)
    assert refused.value.step == "validate"
    assert "base_path is 'api/v1/unmountable'" in str(refused.value)
    assert _gateway_session(_Unmountable.stops).closed
    gc.collect()
    assert not [w for w in recwarn if "Unclosed" in str(w.message)]


@pytest.mark.parametrize(
    "failure", [RuntimeError("server closed the connection"), asyncio.CancelledError()]
)
async def test_a_boot_that_fails_after_mounting_runs_the_shutdown_hooks(
    failure: BaseException, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not only a step's own error: an unexpected one, or a boot cancelled (Ctrl-C) while
    it migrates, closes what the extensions opened and disposes of the engine."""
    disposed: list[AsyncEngine] = []
    dispose = AsyncEngine.dispose

    async def record_dispose(engine: AsyncEngine, close: bool = True) -> None:
        disposed.append(engine)
        await dispose(engine, close)

    async def fail(*_: object) -> None:
        raise failure

    monkeypatch.setattr(MigrationLedger, "migrate", fail)
    monkeypatch.setattr(AsyncEngine, "dispose", record_dispose)
    loaded = load_profile(
        write_profile(tmp_path / "profile", f"sqlite+aiosqlite:///{tmp_path}/b.db")
    )
    with pytest.raises(type(failure)):
        await boot(loaded, extra=[_Recorder])
    assert _gateway_session(_Recorder.stops).closed
    assert disposed == _Recorder.engines


async def test_a_router_the_app_cannot_mount_is_one_line_and_closes_the_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``serve`` and ``plugins validate`` both run (``booted_app``): a router that
    boot accepted but Starlette refuses is a ``BootError`` naming the extension, not a
    bare assertion, and the booted platform is closed first."""
    from bastion.runtime import app as app_module
    from bastion.runtime import routing

    def refuse(path: str, app: object) -> None:
        raise AssertionError("Routed paths must start with '/'")  # as Starlette's Mount says

    monkeypatch.setattr(routing, "Mount", refuse)
    loaded = load_profile(
        write_profile(tmp_path / "profile", f"sqlite+aiosqlite:///{tmp_path}/b.db")
    )
    with pytest.raises(BootError) as refused:
        await app_module.booted_app(loaded, extra=[_Recorder], migrate=False)
    assert refused.value.step == "mount"
    assert refused.value.extension_id is not None
    assert str(refused.value).startswith(
        f"boot failed at mount: extension '{refused.value.extension_id}': router '"
    )
    assert "cannot be mounted: AssertionError: Routed paths must start with '/'" in str(
        refused.value
    )
    assert _gateway_session(_Recorder.stops).closed


def _named(ext_id: str, *depends_on: str) -> type[Extension]:
    meta = ExtensionMeta(id=ext_id, version="1.0.0", depends_on=depends_on)
    return type(ext_id.upper(), (Extension,), {"meta": meta})


@pytest.mark.parametrize(
    "extra",
    [
        [_named("x", "y")],
        [_named("a", "b"), _named("b", "c"), _named("c", "a")],
    ],
    ids=["missing dependency", "cycle"],
)
async def test_the_documented_boot_failures_are_the_lines_boot_prints(
    extra: list[type[Extension]], tmp_path: Path
) -> None:
    """docs/extensions.md, "Boot order and failures", quotes these lines verbatim."""
    documented = (ROOT / "docs" / "extensions.md").read_text(encoding="utf-8")
    loaded = load_profile(
        write_profile(tmp_path / "profile", f"sqlite+aiosqlite:///{tmp_path}/b.db")
    )
    with pytest.raises(BootError) as refused:
        await boot(loaded, extra=extra, migrate=False)
    assert f"\nerror: {refused.value}\n" in documented


UNUSABLE_DATABASES = {
    "no such database": (
        "postgresql+asyncpg://postgres@127.0.0.1:5432/bastion_no_such_db",
        'database "bastion_no_such_db" does not exist',
    ),
    "no such role": (
        "postgresql+asyncpg://bastion_no_such_role@127.0.0.1:5432/postgres",
        'role "bastion_no_such_role" does not exist',
    ),
    "nothing listening": (
        "postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres",
        "[Errno 111]",
    ),
}


@pytest.mark.parametrize("case", list(UNUSABLE_DATABASES))
def test_a_database_that_cannot_be_used_is_one_line_not_a_traceback(
    case: str, tmp_path: Path
) -> None:
    url, reason = UNUSABLE_DATABASES[case]
    profile = write_profile(tmp_path / "profile", url.format(port=free_port()))
    serve = finish(bastion(profile, "serve", "--port", str(free_port()), cwd=tmp_path))
    migrate = finish(bastion(profile, "db", "migrate", cwd=tmp_path))
    users = finish(bastion(profile, "admin", "users", "list", cwd=tmp_path))
    for outcome, prefix in (
        (serve, "error: boot failed at migrate: cannot use the database: "),
        (migrate, "error: "),
        (users, "error: "),
    ):
        assert outcome.returncode == 1 and "Traceback" not in outcome.stderr, outcome.stderr
        (line,) = [line for line in outcome.stderr.splitlines() if line.startswith("error:")]
        assert line.startswith(prefix) and reason in line, line


def test_a_sqlite_file_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    profile = write_profile(tmp_path / "profile", f"sqlite+aiosqlite:///{blocker}/b.db")
    for args in (("serve", "--port", str(free_port())), ("db", "migrate")):
        outcome = finish(bastion(profile, *args, cwd=tmp_path))
        assert outcome.returncode == 1 and "Traceback" not in outcome.stderr, outcome.stderr
        errors = [line for line in outcome.stderr.splitlines() if line.startswith("error:")]
        (line,) = errors
        assert line.startswith("error: boot failed at database: cannot open the database: ")
        assert str(blocker) in line
