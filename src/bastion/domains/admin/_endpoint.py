"""One declaration per admin endpoint, from which both its Starlette route and its
OpenAPI operation are built, so the document cannot drift from the code.

A handler gets the request, the caller's ``AdminScope`` and its validated body (a
pydantic model, or None), and returns a pydantic model. Every refusal is JSON with its
status: a service's ``RefusedError`` (400/403/404/409), a body or query that fails its
model (400); and each is recorded (``_refusals``).
"""

from __future__ import annotations

import types
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.domains.admin._access import AdminScope, admin_scope
from bastion.domains.admin._refusals import RefusalRecorder
from bastion.infra.http import error_response, invalid_body
from bastion.kernel.context import request_context
from bastion.kernel.contract import ErrorStyle, Operation
from bastion.kernel.errors import InvalidInputError, RefusedError

B = TypeVar("B", bound=BaseModel)
Q = TypeVar("Q", bound=BaseModel)
Handler = Callable[[Request, AdminScope, Any], Awaitable[BaseModel]]


@dataclass(frozen=True, slots=True)
class Endpoint(Generic[B]):
    method: str
    path: str
    summary: str
    handler: Handler
    response: type[BaseModel]
    body: type[B] | None = None
    query: type[BaseModel] | None = None
    status: int = 200
    tenant_scoped: bool = False

    def operation(self) -> Operation:
        return Operation(
            self.method, self.path, self.summary, self.body, self.response, query=self.query
        )

    def route(self, refusals: RefusalRecorder) -> Route:
        endpoint = self

        async def serve(request: Request) -> Response:
            principal = request_context(request)
            try:
                scope = admin_scope(principal, tenant_scoped=endpoint.tenant_scoped)
                body = await endpoint._body(request)
                result = await endpoint.handler(request, scope, body)
            except RefusedError as exc:
                await refusals.record(
                    principal, request.method, request.url.path, exc.status, str(exc)
                )
                return error_response(
                    ErrorStyle.JSON, exc.status, str(exc), trace_id=principal.trace_id
                )
            return Response(
                result.model_dump_json().encode(),
                status_code=endpoint.status,
                media_type="application/json",
            )

        return Route(self.path, serve, methods=[self.method])

    async def _body(self, request: Request) -> B | None:
        if self.body is None:
            return None
        raw = await request.body()
        try:
            return self.body.model_validate_json(raw or b"{}")
        except ValidationError as exc:
            raise InvalidInputError(invalid_body(exc)) from None


def query(request: Request, model: type[Q]) -> Q:
    """The request's query parameters validated by ``model`` (a repeated parameter is a
    list), or ``InvalidInputError``."""
    params: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        field = model.model_fields.get(key)
        params[key] = values if field is not None and _is_list(field.annotation) else values[-1]
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise InvalidInputError(invalid_body(exc)) from None


def _is_list(annotation: object) -> bool:
    origin = get_origin(annotation)
    if origin is list:
        return True
    if origin is Union or origin is types.UnionType:
        return any(_is_list(arg) for arg in get_args(annotation))
    return False


def path_param(request: Request, name: str) -> str:
    value: str = request.path_params[name]
    return value


def routes_of(endpoints: Sequence[Endpoint[Any]], refusals: RefusalRecorder) -> list[Route]:
    return [e.route(refusals) for e in endpoints]


def operations_of(endpoints: Sequence[Endpoint[Any]]) -> list[Operation]:
    return [e.operation() for e in endpoints]
