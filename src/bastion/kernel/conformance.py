"""The contract's shape, checked where extension code meets the kernel.

- ``check_meta`` runs when an extension is loaded and when it is inserted into the
  registry, before anything reads its ``meta``: ``meta`` is a class attribute holding an
  ``ExtensionMeta`` whose fields have their declared types;
- ``check_result`` runs on what a surface method returns, each time the kernel calls one
  (``kernel.surfaces.surface``), so boot and ``bastion plugins validate`` refuse the same
  extensions with the same line.

A violation is an ``ExtensionMetaError`` or a ``SurfaceResultError``: one line naming the
extension class (``module:qualname``) and the fix.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Table
from starlette.routing import BaseRoute

from bastion.kernel.contract import (
    CLI_GROUPS,
    CliCommands,
    EndpointClass,
    ErrorStyle,
    EventHandler,
    Extension,
    ExtensionMeta,
    ExtensionRouter,
    HealthCheck,
    Job,
    Maturity,
    McpServerDefinition,
    RoleDefinition,
    UpstreamRegistration,
)
from bastion.kernel.errors import ExtensionMetaError, SurfaceResultError
from bastion.kernel.migration import Migration
from bastion.kernel.services import ServiceKey, ServiceProvider
from bastion.kernel.tiers import Tier

ID_PATTERN = re.compile(r"[a-z][a-z0-9_-]*")
VERSION_PATTERN = re.compile(r"[0-9][0-9A-Za-z.+_-]*")
_DECLARE = 'declare it on the class: meta = ExtensionMeta(id="...", version="1.0.0")'
_MISSING = object()


def class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _kind(value: object) -> str:
    if value is None:
        return "None"
    if isinstance(value, type):
        return f"the class {value.__name__}"
    name = type(value).__name__
    return f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name}"


def check_meta(extension: Extension | type[Extension]) -> ExtensionMeta:
    """The extension's ``meta``, or an ``ExtensionMetaError`` saying what to change."""
    cls = extension if isinstance(extension, type) else type(extension)
    where = class_path(cls)
    raw = inspect.getattr_static(cls, "meta", _MISSING)
    if raw is _MISSING:
        on_instance = not isinstance(extension, type) and "meta" in getattr(
            extension, "__dict__", {}
        )
        problem = "meta is set on the instance" if on_instance else "has no meta"
        raise ExtensionMetaError(where, f"{problem}; {_DECLARE}")
    if isinstance(raw, property):
        raise ExtensionMetaError(where, f"meta is a property, not a class attribute; {_DECLARE}")
    if not isinstance(raw, ExtensionMeta):
        raise ExtensionMetaError(where, f"meta is {_kind(raw)}, not an ExtensionMeta; {_DECLARE}")
    _check_fields(where, raw)
    return raw


def _check_fields(where: str, meta: ExtensionMeta) -> None:
    ext_id = meta.id
    if not isinstance(ext_id, str) or not ID_PATTERN.fullmatch(ext_id):
        if isinstance(ext_id, str) and ext_id:
            problem = f"meta.id {ext_id!r} is not a valid id"
        else:
            problem = f"meta.id is {_kind(ext_id) if ext_id != '' else 'empty'}"
        raise ExtensionMetaError(
            where,
            f'{problem}; use lower-case letters, digits, "-" and "_", starting with a letter, '
            'e.g. id="notes"',
        )

    def bad(problem: str) -> ExtensionMetaError:
        return ExtensionMetaError(where, problem, ext_id)

    version = meta.version
    if not isinstance(version, str):
        raise bad(f'meta.version is {_kind(version)}, not a string; quote it: version="1.0.0"')
    if not VERSION_PATTERN.fullmatch(version):
        raise bad(f'meta.version {version!r} is not a version; start it with a digit, e.g. "1.0.0"')
    depends_on = meta.depends_on
    if isinstance(depends_on, str) or not isinstance(depends_on, Sequence):
        raise bad(
            f"meta.depends_on is {_kind(depends_on)}; give a tuple of ids or extension "
            'classes, e.g. depends_on=("users",)'
        )
    for dependency in depends_on:
        if isinstance(dependency, type) and issubclass(dependency, Extension):
            check_meta(dependency)
        elif not isinstance(dependency, str):
            raise bad(
                f"meta.depends_on holds {_kind(dependency)}; name each dependency by its id "
                "(a string) or its Extension class"
            )
    if not isinstance(meta.priority, int) or isinstance(meta.priority, bool):
        raise bad(f"meta.priority is {_kind(meta.priority)}; give an int, e.g. priority=100")
    if not isinstance(meta.maturity, Maturity):
        raise bad(
            f"meta.maturity is {meta.maturity!r}; use Maturity.EXPERIMENTAL, Maturity.BETA "
            "or Maturity.GA"
        )
    if not isinstance(meta.required, bool):
        raise bad(f"meta.required is {_kind(meta.required)}; give True or False")
    if not isinstance(meta.description, str):
        raise bad(f"meta.description is {_kind(meta.description)}; give a string")
    for field in ("requires", "optional"):
        keys = getattr(meta, field)
        if isinstance(keys, str) or not isinstance(keys, Sequence):
            raise bad(
                f"meta.{field} is {_kind(keys)}; give a tuple of ServiceKey objects, "
                f"e.g. {field}=(GOVERNANCE,)"
            )
        for key in keys:
            if not isinstance(key, ServiceKey):
                raise bad(
                    f"meta.{field} holds {_kind(key)}; name each service by its ServiceKey "
                    "(bastion.extension exports the platform's: GOVERNANCE, AUDIT, ...)"
                )


def _instance_of(item_type: type) -> Callable[[object], bool]:
    return lambda item: isinstance(item, item_type)


def _is_policy_stage(item: object) -> bool:
    return isinstance(getattr(item, "name", None), str) and callable(
        getattr(item, "evaluate", None)
    )


# Surface -> what each item of the list it returns must be, and how to say it.
_ITEMS: Mapping[str, tuple[Callable[[object], bool], str]] = {
    "migrations": (
        _instance_of(Migration),
        "Migration objects (migrations_from_package(...) builds them)",
    ),
    "policies": (_is_policy_stage, "policy stages (a str `name` and an `evaluate` method)"),
    **{
        surface: (_instance_of(item_type), f"{item_type.__name__} objects")
        for surface, item_type in {
            "jobs": Job,
            "roles": RoleDefinition,
            "llm_upstreams": UpstreamRegistration,
            "tool_providers": McpServerDefinition,
            "event_handlers": EventHandler,
            "health_checks": HealthCheck,
            "audit_tables": Table,
            "services": ServiceProvider,
        }.items()
    },
}
_ROUTER = "return an ExtensionRouter, a list of them, or None"
_CONFIG = 'return (namespace, pydantic model class), e.g. ("notes", NotesConfig), or None'
_CLI = "return a typer.Typer, a CliCommands, a list of CliCommands, or None"


def check_result(ext: Extension, surface: str, value: Any) -> None:
    """Raise ``SurfaceResultError`` unless ``value`` has the type ``surface`` declares."""
    if surface in _ITEMS:
        accepts, items = _ITEMS[surface]
        _check_list(ext, surface, value, accepts, items)
    elif surface == "router":
        _check_router(ext, value)
    elif surface == "config":
        _check_config(ext, value)
    elif surface == "cli":
        _check_cli(ext, value)


def _fail(ext: Extension, surface: str, problem: str) -> SurfaceResultError:
    return SurfaceResultError(ext.meta.id, class_path(type(ext)), surface, problem)


def _check_list(
    ext: Extension, surface: str, value: Any, accepts: Callable[[object], bool], items: str
) -> None:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise _fail(ext, surface, f"returned {_kind(value)}; return a list of {items}")
    for index, item in enumerate(value):
        if not accepts(item):
            raise _fail(
                ext, surface, f"returned {_kind(item)} at index {index}; return a list of {items}"
            )


def _check_router(ext: Extension, value: Any) -> None:
    if value is None:
        return
    routers = [value] if isinstance(value, ExtensionRouter) else value
    if isinstance(routers, (str, bytes)) or not isinstance(routers, Sequence):
        raise _fail(ext, "router", f"returned {_kind(value)}; {_ROUTER}")
    for index, router in enumerate(routers):
        if not isinstance(router, ExtensionRouter):
            raise _fail(ext, "router", f"returned {_kind(router)} at index {index}; {_ROUTER}")
        if not isinstance(router.base_path, str) or not router.base_path.startswith("/"):
            raise _fail(
                ext,
                "router",
                f"returned a router whose base_path is {router.base_path!r}; give a path "
                'starting with "/", e.g. base_path="/api/v1/notes"',
            )
        _check_router_enums(ext, router)
        if isinstance(router.routes, (str, bytes)) or not isinstance(router.routes, Sequence):
            raise _fail(
                ext,
                "router",
                f"returned a router whose routes are {_kind(router.routes)}; "
                "give a list of Starlette routes",
            )
        for position, route in enumerate(router.routes):
            if not isinstance(route, BaseRoute):
                raise _fail(
                    ext,
                    "router",
                    f"returned a router at {router.base_path} whose routes hold {_kind(route)} "
                    f'at index {position}; give Starlette routes, e.g. Route("/", endpoint)',
                )


def _check_router_enums(ext: Extension, router: ExtensionRouter) -> None:
    # A plain string equals its StrEnum member but is not it: the guard would not know
    # "admin" as EndpointClass.ADMIN and could serve the route below its tier.
    for field, value, kind, example in (
        ("endpoint_class", router.endpoint_class, EndpointClass, "EndpointClass.ADMIN"),
        ("error_style", router.error_style, ErrorStyle, "ErrorStyle.JSON"),
    ):
        if not isinstance(value, kind):
            raise _fail(
                ext,
                "router",
                f"returned a router at {router.base_path} whose {field} is {value!r}; "
                f"give an {kind.__name__}, e.g. {field}={example}",
            )
    if router.min_tier is not None and not isinstance(router.min_tier, Tier):
        raise _fail(
            ext,
            "router",
            f"returned a router at {router.base_path} whose min_tier is {router.min_tier!r}; "
            "give a Tier, e.g. min_tier=Tier.USER, or None",
        )


def _check_config(ext: Extension, value: Any) -> None:
    if value is None:
        return
    shaped = isinstance(value, tuple) and len(value) == 2
    if not shaped:
        raise _fail(ext, "config", f"returned {_kind(value)}; {_CONFIG}")
    namespace, model = value
    if not isinstance(namespace, str) or not namespace:
        raise _fail(ext, "config", f"returned the namespace {namespace!r}; {_CONFIG}")
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise _fail(
            ext,
            "config",
            f"returned {_kind(model)} as the model; {_CONFIG} (the class, not an instance)",
        )


def _check_cli(ext: Extension, value: Any) -> None:
    import typer  # only a process that builds commands calls cli()

    if value is None or isinstance(value, typer.Typer):
        return
    contributed = [value] if isinstance(value, CliCommands) else value
    if isinstance(contributed, (str, bytes)) or not isinstance(contributed, Sequence):
        raise _fail(ext, "cli", f"returned {_kind(value)}; {_CLI}")
    seen: set[tuple[str | None, str | None]] = set()
    for index, item in enumerate(contributed):
        if not isinstance(item, CliCommands):
            raise _fail(ext, "cli", f"returned {_kind(item)} at index {index}; {_CLI}")
        if not isinstance(item.app, typer.Typer):
            raise _fail(
                ext,
                "cli",
                f"returned a CliCommands whose app is {_kind(item.app)}; give a typer.Typer",
            )
        if item.group is None:
            if item.name is not None:
                raise _fail(
                    ext,
                    "cli",
                    f"returned a CliCommands named {item.name!r} with no group; an app without "
                    f"a group is `bastion {ext.meta.id}`: drop name= or give a group "
                    f"({', '.join(sorted(CLI_GROUPS))})",
                )
        elif item.group not in CLI_GROUPS:
            raise _fail(
                ext,
                "cli",
                f"returned a CliCommands for group {item.group!r}, which is not open to "
                f"extensions; give one of {', '.join(sorted(CLI_GROUPS))}, or group=None for "
                f"`bastion {ext.meta.id}`",
            )
        elif item.name is not None and (
            not isinstance(item.name, str) or not ID_PATTERN.fullmatch(item.name)
        ):
            raise _fail(
                ext,
                "cli",
                f"returned a CliCommands named {item.name!r}; use lower-case letters, digits, "
                '"-" and "_", starting with a letter, e.g. name="greetings"',
            )
        name = item.name or ext.meta.id
        where = (item.group, name if item.group else None)
        if where in seen:
            shown = f"{item.group} {name}" if item.group else ext.meta.id
            raise _fail(ext, "cli", f"returned two apps for `bastion {shown}`; merge them into one")
        seen.add(where)
