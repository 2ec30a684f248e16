"""The configuration reference, generated from the models so it cannot drift: the
platform's (``Profile``) and every extension's ``config()`` namespace, core domains and
third-party alike, each a top-level key of the profile."""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from bastion.infra.config._profile import Profile

BEGIN = "<!-- BEGIN GENERATED REFERENCE (bastion config reference) -->"
END = "<!-- END GENERATED REFERENCE -->"


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (list, tuple, set, frozenset):
        inner = args[0] if args else Any
        return f"list of {_type_name(inner)}"
    if origin is dict:
        return f"map {_type_name(args[0])} → {_type_name(args[1])}"
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " \\| ".join(f"`{m.value}`" for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    if annotation is Path:
        return "path"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        try:
            value = field.default_factory()  # type: ignore[call-arg]
        except TypeError:
            return ""
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return ""
    if isinstance(value, tuple | list) and value and isinstance(value[0], BaseModel):
        return ""
    if isinstance(value, dict) and any(isinstance(v, BaseModel) for v in value.values()):
        return "see below"
    return "`" + _render(value).replace("|", "\\|") + "`"


def _render(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return "[" + ", ".join(_render(v) for v in items) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        return value if value else '""'
    return str(value)


def _nested_models(annotation: Any) -> Iterator[tuple[str, type[BaseModel]]]:
    """Models reachable inside a field type, with the path suffix to reach them."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield "", annotation
    elif origin in (typing.Union, types.UnionType, typing.Annotated):
        for arg in args[:1] if origin is typing.Annotated else args:
            yield from _nested_models(arg)
    elif origin in (list, tuple, set, frozenset) and args:
        for suffix, model in _nested_models(args[0]):
            yield "[]" + suffix, model
    elif origin is dict and len(args) == 2:
        for suffix, model in _nested_models(args[1]):
            yield ".<key>" + suffix, model


def rows(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str, str, str]]:
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        path = f"{prefix}{name}"
        description = (field.description or "").replace("\n", " ").replace("|", "\\|")
        yield path, _type_name(field.annotation), _default(field), description
        seen: set[type[BaseModel]] = set()
        for suffix, nested in _nested_models(field.annotation):
            if nested not in seen:
                seen.add(nested)
                yield from rows(nested, f"{path}{suffix}.")


_HEAD = ["| key | type | default | description |", "|---|---|---|---|"]


def _table(model: type[BaseModel], prefix: str = "") -> list[str]:
    return [*_HEAD, *(f"| `{p}` | {t} | {d} | {desc} |" for p, t, d, desc in rows(model, prefix))]


def reference_markdown(namespaces: Sequence[tuple[str, type[BaseModel], str]] = ()) -> str:
    """The platform's keys, then one section per ``(namespace, model, extension id)``."""
    lines = [BEGIN, "", "### Platform", "", *_table(Profile)]
    for namespace, model, extension_id in sorted(namespaces):
        about = (model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        lines += ["", f"### `{namespace}` (extension `{extension_id}`)", ""]
        lines += [about, ""] if about else []
        lines += _table(model, f"{namespace}.")
    lines += ["", END]
    return "\n".join(lines) + "\n"
