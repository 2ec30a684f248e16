"""Typed services at boot: declared, provided once, built on first use, closed at stop,
and every mistake one line naming the extension."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from bastion.extension import (
    GOVERNANCE,
    Extension,
    ExtensionContext,
    ExtensionMeta,
    ExtensionRouter,
    ServiceKey,
    ServiceProvider,
)
from bastion.infra.config import load_profile
from bastion.runtime.boot import BootError, boot
from tests.support import write_profile


class Counter:
    def __init__(self) -> None:
        self.closed = False

    async def aclose(self) -> None:
        self.closed = True


COUNTER: ServiceKey[Counter] = ServiceKey("test.counter", "a counter for tests")
built: list[str] = []


def _build_counter(ctx: ExtensionContext) -> Counter:
    built.append(str(ctx.extension_id))
    ctx.service(GOVERNANCE)  # a provider may use what it requires
    return Counter()


class Provides(Extension):
    meta = ExtensionMeta(id="provides", version="1", requires=(GOVERNANCE,))

    def services(self) -> Sequence[ServiceProvider[Counter]]:
        return [ServiceProvider(COUNTER, _build_counter, close=lambda c: c.aclose())]


class ProvidesToo(Extension):
    meta = ExtensionMeta(id="provides_too", version="1")

    def services(self) -> Sequence[ServiceProvider[Counter]]:
        return [ServiceProvider(COUNTER, lambda ctx: Counter())]


class Uses(Extension):
    meta = ExtensionMeta(id="uses", version="1", requires=(COUNTER,))

    def router(self, ctx: ExtensionContext) -> ExtensionRouter | None:
        ctx.service(COUNTER)
        return None


class UsesUndeclared(Extension):
    meta = ExtensionMeta(id="sneaky", version="1")

    def router(self, ctx: ExtensionContext) -> ExtensionRouter | None:
        ctx.service(COUNTER)
        return None


class BuildFails(Extension):
    meta = ExtensionMeta(id="fails", version="1")

    def services(self) -> Sequence[ServiceProvider[Counter]]:
        def build(ctx: ExtensionContext) -> Counter:
            raise RuntimeError("no counter today")

        return [ServiceProvider(COUNTER, build)]

    def router(self, ctx: ExtensionContext) -> ExtensionRouter | None:
        ctx.service(COUNTER)
        return None


def _loaded(tmp_path: Path):  # type: ignore[no-untyped-def]
    return load_profile(write_profile(tmp_path / "p", f"sqlite+aiosqlite:///{tmp_path / 'b.db'}"))


async def test_a_service_is_built_once_on_first_use_typed_and_closed_at_stop(
    tmp_path: Path,
) -> None:
    built.clear()
    platform = await boot(_loaded(tmp_path), extra=[Provides, Uses], migrate=False)
    try:
        assert built == ["provides"]  # built with its provider's context, once
        counter = platform.service(COUNTER)
        assert isinstance(counter, Counter)
        assert platform.service(COUNTER) is counter
        assert platform.services.provider_of(COUNTER) == "provides"
    finally:
        await platform.close()
    assert counter.closed


async def test_a_service_nobody_uses_is_never_built(tmp_path: Path) -> None:
    built.clear()
    platform = await boot(_loaded(tmp_path), extra=[Provides], migrate=False)
    await platform.close()
    assert built == []


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            [Uses],
            "boot failed at configure: extension 'uses' requires service 'test.counter', "
            "which no installed and enabled extension provides",
        ),
        (
            [Provides, ProvidesToo],
            "boot failed at configure: extension 'provides_too' provides service "
            "'test.counter', which 'provides' already provides; disable one of them",
        ),
        (
            [Provides, UsesUndeclared],
            "boot failed at validate: extension 'sneaky' uses service 'test.counter' without "
            "declaring it; add it to ExtensionMeta(requires=...)",
        ),
        (
            [BuildFails],
            "boot failed at validate: extension 'fails' failed building service "
            "'test.counter': RuntimeError: no counter today",
        ),
    ],
    ids=["missing", "twice", "undeclared", "build-fails"],
)
async def test_service_mistakes_are_one_line_naming_the_extension(
    extra: list[type[Extension]], expected: str, tmp_path: Path
) -> None:
    with pytest.raises(BootError) as refused:
        await boot(_loaded(tmp_path), extra=extra, migrate=False)
    assert str(refused.value) == expected


def test_requires_must_hold_service_keys() -> None:
    from bastion.kernel.conformance import check_meta
    from bastion.kernel.errors import ExtensionMetaError

    class Wrong(Extension):
        meta = ExtensionMeta(id="wrong", version="1", requires=("governance",))  # type: ignore[arg-type]

    with pytest.raises(ExtensionMetaError, match=r"meta.requires holds .*ServiceKey"):
        check_meta(Wrong)


class SetupFails(Extension):
    meta = ExtensionMeta(id="setup_fails", version="1")

    async def after_migrate(self, ctx: ExtensionContext) -> None:
        raise RuntimeError("cannot seed")


async def test_first_boot_setup_runs_after_migrations_and_a_failure_is_one_line(
    tmp_path: Path,
) -> None:
    """``after_migrate`` is the lifecycle surface the users domain creates the bootstrap
    admin in; an extension's failure there stops boot at migrate, naming it."""
    loaded = _loaded(tmp_path)
    with pytest.raises(BootError) as refused:
        await boot(loaded, extra=[SetupFails])
    assert str(refused.value) == (
        "boot failed at migrate: extension 'setup_fails' failed in after_migrate(): "
        "RuntimeError: cannot seed"
    )
    platform = await boot(loaded)
    try:
        from bastion.domains.users import UserRepository

        assert await UserRepository(platform.engine).count() == 1  # the bootstrap admin
    finally:
        await platform.close()
