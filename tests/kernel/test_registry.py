from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from starlette.routing import Route

from bastion.extension import (
    ApiExtension,
    Extension,
    ExtensionContext,
    ExtensionMeta,
    ExtensionRouter,
    Job,
    SchemaExtension,
)
from bastion.kernel.errors import (
    DependencyCycleError,
    DuplicateExtensionError,
    ExtensionContractError,
    MissingDependencyError,
    ReservedPathError,
)
from bastion.kernel.registry import ExtensionRegistry


def make(ext_id: str, *deps: str | type[Extension], priority: int = 100) -> Extension:
    cls = type(
        f"Ext_{ext_id}",
        (Extension,),
        {"meta": ExtensionMeta(id=ext_id, version="1", depends_on=deps, priority=priority)},
    )
    return cls()  # type: ignore[no-any-return]


def registry_of(*extensions: Extension) -> ExtensionRegistry:
    registry = ExtensionRegistry()
    for ext in extensions:
        registry.insert(ext, f"distribution '{ext.meta.id}-dist'")
    return registry


def test_missing_dependency_names_both() -> None:
    registry = registry_of(make("x", "y"))
    with pytest.raises(MissingDependencyError) as info:
        registry.validate()
    assert str(info.value) == "extension 'x' requires 'y', which is not installed"
    assert info.value.extension_id == "x"


def test_three_node_cycle_reports_exact_path() -> None:
    registry = registry_of(make("a", "b"), make("b", "c"), make("c", "a"))
    with pytest.raises(DependencyCycleError) as info:
        registry.validate()
    assert str(info.value) == "dependency cycle: a -> b -> c -> a"
    assert info.value.path == ["a", "b", "c", "a"]


def test_reserved_path_collision() -> None:
    registry = registry_of(make("evil"))
    with pytest.raises(ReservedPathError) as info:
        registry.validate([("evil", "/api/v1/users/steal")])
    assert str(info.value) == (
        "extension 'evil' mounts '/api/v1/users/steal', which collides with "
        "'/api/v1/users' (reserved for 'users')"
    )


def test_core_owner_may_mount_its_reserved_prefix() -> None:
    registry = registry_of(make("users"))
    registry.validate([("users", "/api/v1/users")])


def test_paths_of_two_extensions_must_not_overlap() -> None:
    registry = registry_of(make("one"), make("two"))
    with pytest.raises(ReservedPathError) as info:
        registry.validate([("one", "/api/v1/things"), ("two", "/api/v1/things/sub")])
    assert "collides with '/api/v1/things' (mounted by 'one')" in str(info.value)


def test_duplicate_id_names_both_sources() -> None:
    registry = ExtensionRegistry()
    registry.insert(make("dup"), "distribution 'first-dist'")
    with pytest.raises(DuplicateExtensionError) as info:
        registry.insert(make("dup"), "distribution 'second-dist'")
    assert str(info.value) == (
        "extension id 'dup' is registered twice: by distribution 'first-dist' "
        "and by distribution 'second-dist'"
    )


def test_order_is_dependencies_then_priority_then_id() -> None:
    base = make("base", priority=500)
    registry = registry_of(
        make("zeta", priority=1),
        make("alpha", priority=1),
        make("mid", "base", priority=0),
        base,
        make("late", priority=900),
    )
    order = [e.meta.id for e in registry.validate()]
    assert order == ["alpha", "zeta", "base", "mid", "late"]


def test_depends_on_accepts_classes() -> None:
    base = make("base")
    child = make("child", type(base))
    assert child.meta.dependency_ids() == ["base"]
    assert [e.meta.id for e in registry_of(child, base).validate()] == ["base", "child"]


def test_lookup_by_id_class_and_surface() -> None:
    class WithJobs(Extension):
        meta = ExtensionMeta(id="jobs-ext", version="1")

        def jobs(self) -> Sequence[Job]:
            return [Job("tick", "every 1s", _noop)]

    plain = make("plain")
    registry = registry_of(plain, WithJobs())
    assert registry.get("plain") is plain
    assert registry.get("nope") is None
    assert isinstance(registry.by_class(WithJobs), WithJobs)
    assert [e.meta.id for e in registry.with_surface("jobs")] == ["jobs-ext"]


async def _noop(_: ExtensionContext) -> None:
    return None


def test_narrow_extension_overreaching_its_kind_is_rejected() -> None:
    class Sneaky(ApiExtension):
        meta = ExtensionMeta(id="sneaky", version="1")

        def router(self, ctx: ExtensionContext) -> ExtensionRouter:
            return ExtensionRouter([Route("/", _noop)], "/api/v1/sneaky")

        def jobs(self) -> Sequence[Job]:
            return [Job("mine", "every 1s", _noop)]

    with pytest.raises(ExtensionContractError) as info:
        ExtensionRegistry().insert(Sneaky())
    assert str(info.value) == (
        "extension 'sneaky' is a ApiExtension (surfaces: router) but implements jobs"
    )


def test_narrow_extension_within_its_kind_is_accepted() -> None:
    class Tables(SchemaExtension):
        meta = ExtensionMeta(id="tables", version="1")

        def migrations(self) -> Sequence[object]:  # type: ignore[override]
            return []

    ExtensionRegistry().insert(Tables())


def test_duplicate_id_across_two_installed_distributions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two real dist-info folders declaring the same entry point id."""
    from bastion.infra.config import Profile
    from bastion.runtime.discovery import discover

    for dist in ("acme-one", "acme-two"):
        info = tmp_path / f"{dist.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(
            "[bastion.extensions]\nclash = bastion.domains.core:CoreExtension\n"
        )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(DuplicateExtensionError) as info_:
        discover(Profile())
    assert str(info_.value) == (
        "extension id 'core' is registered twice: by distribution 'acme-one' "
        "and by distribution 'acme-two'"
    )
