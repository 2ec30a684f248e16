"""The contract's shape: every violation is one line naming the class and the fix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import typer
from pydantic import BaseModel
from starlette.routing import Route

from bastion.extension import (
    CliCommands,
    Extension,
    ExtensionContext,
    ExtensionMeta,
    ExtensionRouter,
    Job,
    Maturity,
    Migration,
    RoleDefinition,
    RoleName,
    Tier,
)
from bastion.kernel.errors import ExtensionMetaError, SurfaceResultError
from bastion.kernel.registry import ExtensionRegistry
from bastion.kernel.surfaces import surface

HERE = __name__
DECLARE = 'declare it on the class: meta = ExtensionMeta(id="...", version="1.0.0")'
ID_RULE = 'use lower-case letters, digits, "-" and "_", starting with a letter, e.g. id="notes"'


class PropertyMeta(Extension):
    @property
    def meta(self) -> ExtensionMeta:  # type: ignore[override]
        return ExtensionMeta(id="prop", version="1")


class InstanceMeta(Extension):
    def __init__(self) -> None:
        self.meta = ExtensionMeta(id="inst", version="1")  # type: ignore[misc]


class NoMeta(Extension):
    pass


class DependsOnPropertyMeta(Extension):
    meta = ExtensionMeta(id="child", version="1", depends_on=(PropertyMeta,))


def _with_meta(**fields: Any) -> Extension:
    values: dict[str, Any] = {"id": "notes", "version": "1.0.0", **fields}
    cls = type("Notes", (Extension,), {"meta": ExtensionMeta(**values), "__module__": HERE})
    return cls()  # type: ignore[no-any-return]


def _dict_meta() -> Extension:
    cls = type("Notes", (Extension,), {"meta": {"id": "notes"}, "__module__": HERE})
    return cls()  # type: ignore[no-any-return]


META_CASES: dict[str, tuple[Callable[[], Extension], str]] = {
    "meta is a property": (
        PropertyMeta,
        f"extension class {HERE}:PropertyMeta: meta is a property, not a class attribute; "
        + DECLARE,
    ),
    "a dependency's meta is a property": (
        DependsOnPropertyMeta,
        f"extension class {HERE}:PropertyMeta: meta is a property, not a class attribute; "
        + DECLARE,
    ),
    "meta set in __init__": (
        InstanceMeta,
        f"extension class {HERE}:InstanceMeta: meta is set on the instance; " + DECLARE,
    ),
    "no meta": (NoMeta, f"extension class {HERE}:NoMeta: has no meta; " + DECLARE),
    "meta is a dict": (
        _dict_meta,
        f"extension class {HERE}:Notes: meta is a dict, not an ExtensionMeta; " + DECLARE,
    ),
    "empty id": (
        lambda: _with_meta(id=""),
        f"extension class {HERE}:Notes: meta.id is empty; " + ID_RULE,
    ),
    "id None": (
        lambda: _with_meta(id=None),
        f"extension class {HERE}:Notes: meta.id is None; " + ID_RULE,
    ),
    "id with spaces": (
        lambda: _with_meta(id="My Notes"),
        f"extension class {HERE}:Notes: meta.id 'My Notes' is not a valid id; " + ID_RULE,
    ),
    # It would have become the command name `bastion Bad Id`.
    "id with a capital and a space": (
        lambda: _with_meta(id="Bad Id"),
        f"extension class {HERE}:Notes: meta.id 'Bad Id' is not a valid id; " + ID_RULE,
    ),
    "id with a dot": (
        lambda: _with_meta(id="acme.notes"),
        f"extension class {HERE}:Notes: meta.id 'acme.notes' is not a valid id; " + ID_RULE,
    ),
    "version a float": (
        lambda: _with_meta(version=1.0),
        f"extension class {HERE}:Notes: meta.version is a float, not a string; "
        'quote it: version="1.0.0"',
    ),
    "version not a version": (
        lambda: _with_meta(version="latest"),
        f"extension class {HERE}:Notes: meta.version 'latest' is not a version; "
        'start it with a digit, e.g. "1.0.0"',
    ),
    "depends_on a string": (
        lambda: _with_meta(depends_on="users"),
        f"extension class {HERE}:Notes: meta.depends_on is a str; give a tuple of ids or "
        'extension classes, e.g. depends_on=("users",)',
    ),
    "depends_on an int": (
        lambda: _with_meta(depends_on=(5,)),
        f"extension class {HERE}:Notes: meta.depends_on holds an int; name each dependency "
        "by its id (a string) or its Extension class",
    ),
    "maturity a string": (
        lambda: _with_meta(maturity="beta"),
        f"extension class {HERE}:Notes: meta.maturity is 'beta'; use Maturity.EXPERIMENTAL, "
        "Maturity.BETA or Maturity.GA",
    ),
    "priority a string": (
        lambda: _with_meta(priority="high"),
        f"extension class {HERE}:Notes: meta.priority is a str; give an int, e.g. priority=100",
    ),
}


@pytest.mark.parametrize("case", sorted(META_CASES))
def test_a_malformed_meta_is_refused_on_insert(case: str) -> None:
    build, expected = META_CASES[case]
    with pytest.raises(ExtensionMetaError) as info:
        ExtensionRegistry().insert(build())
    assert str(info.value) == expected
    assert "\n" not in str(info.value)


def test_a_well_formed_meta_is_accepted() -> None:
    registry = ExtensionRegistry()
    registry.insert(_with_meta(version="2026-07-28", maturity=Maturity.BETA, depends_on=()))
    assert "notes" in registry


@pytest.mark.parametrize("ext_id", ["notes", "notes_ui", "notes-ui", "n2"])
def test_ids_are_lower_case_letters_digits_dash_and_underscore(ext_id: str) -> None:
    registry = ExtensionRegistry()
    registry.insert(_with_meta(id=ext_id))
    assert ext_id in registry


def test_an_extension_that_declares_no_maturity_is_experimental() -> None:
    """It claims nothing, so ``extensions.min_maturity: beta`` refuses it."""
    assert ExtensionMeta(id="notes", version="1").maturity is Maturity.EXPERIMENTAL


class Settings(BaseModel):
    greeting: str = "hi"


async def _noop(_: object) -> None:
    return None


def _returning(name: str, value: Any) -> Extension:
    def method(self: Extension, *_: object) -> Any:
        return value

    attrs = {"meta": ExtensionMeta(id="notes", version="1"), name: method, "__module__": HERE}
    return type("Notes", (Extension,), attrs)()  # type: ignore[no-any-return]


MIGRATIONS = "return a list of Migration objects (migrations_from_package(...) builds them)"
ROUTER = "return an ExtensionRouter, a list of them, or None"
CONFIG = 'return (namespace, pydantic model class), e.g. ("notes", NotesConfig), or None'
ROUTER_OK = ExtensionRouter([Route("/", _noop)], "/api/v1/notes")
CLI = "return a typer.Typer, a CliCommands, a list of CliCommands, or None"
APP = typer.Typer()
SURFACE_CASES: dict[str, tuple[str, Any, str]] = {
    "migrations a dict": (
        "migrations",
        {1: "CREATE TABLE x (a int)"},
        "returned a dict; " + MIGRATIONS,
    ),
    "migrations of strings": (
        "migrations",
        [Migration(1, "init", "CREATE TABLE notes_x (a int)"), "CREATE TABLE y (a int)"],
        "returned a str at index 1; " + MIGRATIONS,
    ),
    "migrations a generator": (
        "migrations",
        (m for m in ()),
        "returned a generator; " + MIGRATIONS,
    ),
    "router a string": ("router", "/api/v1/notes", "returned a str; " + ROUTER),
    "router a list with a route": (
        "router",
        [ROUTER_OK, Route("/", _noop)],
        "returned a Route at index 1; " + ROUTER,
    ),
    "router without a leading slash": (
        "router",
        ExtensionRouter([], "api/v1/notes"),
        "returned a router whose base_path is 'api/v1/notes'; give a path starting with "
        '"/", e.g. base_path="/api/v1/notes"',
    ),
    # A path where a Route belongs passed validate and broke the first request.
    "router whose routes hold a path": (
        "router",
        ExtensionRouter(["/"], "/api/v1/notes"),  # type: ignore[list-item]
        "returned a router at /api/v1/notes whose routes hold a str at index 0; give "
        'Starlette routes, e.g. Route("/", endpoint)',
    ),
    # A string equals its StrEnum member, so the guard would not treat "admin" as ADMIN.
    "router with a string endpoint class": (
        "router",
        ExtensionRouter([], "/api/v1/notes", "admin"),  # type: ignore[arg-type]
        "returned a router at /api/v1/notes whose endpoint_class is 'admin'; give an "
        "EndpointClass, e.g. endpoint_class=EndpointClass.ADMIN",
    ),
    "router with a string error style": (
        "router",
        ExtensionRouter([], "/api/v1/notes", error_style="json"),  # type: ignore[arg-type]
        "returned a router at /api/v1/notes whose error_style is 'json'; give an "
        "ErrorStyle, e.g. error_style=ErrorStyle.JSON",
    ),
    "router with an int min tier": (
        "router",
        ExtensionRouter([], "/api/v1/notes", min_tier=30),  # type: ignore[arg-type]
        "returned a router at /api/v1/notes whose min_tier is 30; give a Tier, e.g. "
        "min_tier=Tier.USER, or None",
    ),
    "roles a single role": (
        "roles",
        RoleDefinition(RoleName("reader"), Tier.USER),
        "returned a RoleDefinition; return a list of RoleDefinition objects",
    ),
    "roles as names": (
        "roles",
        ["reader"],
        "returned a str at index 0; return a list of RoleDefinition objects",
    ),
    "jobs a dict": (
        "jobs",
        {"tick": "every 1s"},
        "returned a dict; return a list of Job objects",
    ),
    "config a model class alone": ("config", Settings, "returned the class Settings; " + CONFIG),
    "config an instance": (
        "config",
        ("notes", Settings()),
        "returned a Settings as the model; " + CONFIG + " (the class, not an instance)",
    ),
    "config without a namespace": (
        "config",
        ("", Settings),
        "returned the namespace ''; " + CONFIG,
    ),
    "policies without evaluate": (
        "policies",
        [object()],
        "returned an object at index 0; return a list of policy stages "
        "(a str `name` and an `evaluate` method)",
    ),
    "health checks a function": (
        "health_checks",
        [_noop],
        "returned a function at index 0; return a list of HealthCheck objects",
    ),
    "cli a command name": ("cli", "notes", "returned a str; " + CLI),
    "cli a list holding an app": (
        "cli",
        [CliCommands(APP), APP],
        "returned a Typer at index 1; " + CLI,
    ),
    "cli commands whose app is a function": (
        "cli",
        CliCommands(_noop),  # type: ignore[arg-type]
        "returned a CliCommands whose app is a function; give a typer.Typer",
    ),
    "cli into a group that is not open": (
        "cli",
        CliCommands(APP, group="db"),
        "returned a CliCommands for group 'db', which is not open to extensions; give one "
        "of admin, or group=None for `bastion notes`",
    ),
    # A top-level command is named by the extension id, or ids could be squatted.
    "cli a top-level app with its own name": (
        "cli",
        CliCommands(APP, name="serve"),
        "returned a CliCommands named 'serve' with no group; an app without a group is "
        "`bastion notes`: drop name= or give a group (admin)",
    ),
    "cli a bad command name": (
        "cli",
        CliCommands(APP, group="admin", name="Bad Name"),
        "returned a CliCommands named 'Bad Name'; use lower-case letters, digits, \"-\" and "
        '"_", starting with a letter, e.g. name="greetings"',
    ),
    "cli the same command twice": (
        "cli",
        [CliCommands(APP, group="admin"), CliCommands(APP, group="admin", name="notes")],
        "returned two apps for `bastion admin notes`; merge them into one",
    ),
}


@pytest.mark.parametrize("case", sorted(SURFACE_CASES))
def test_a_surface_returning_the_wrong_type_is_one_error(case: str) -> None:
    name, value, problem = SURFACE_CASES[case]
    ext = _returning(name, value)
    args: tuple[object, ...] = (None,) if name == "router" else ()
    with pytest.raises(SurfaceResultError) as info:
        surface(ext, name, *args)
    assert str(info.value) == f"extension 'notes' ({HERE}:Notes): {name}() {problem}"
    assert info.value.extension_id == "notes"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("migrations", (Migration(1, "init", "CREATE TABLE notes_x (a int)"),)),
        ("router", None),
        ("router", ROUTER_OK),
        ("router", [ROUTER_OK]),
        ("roles", [RoleDefinition(RoleName("reader"), Tier.USER)]),
        ("jobs", [Job("tick", "every 1s", _noop)]),
        ("config", ("notes", Settings)),
        ("config", None),
        ("cli", None),
        ("cli", APP),
        ("cli", CliCommands(APP, group="admin", name="notes-admin")),
        ("cli", [CliCommands(APP), CliCommands(APP, group="admin")]),
    ],
)
def test_a_surface_of_the_right_type_passes(name: str, value: Any) -> None:
    ctx: tuple[ExtensionContext | None, ...] = (None,) if name == "router" else ()
    assert surface(_returning(name, value), name, *ctx) is value
