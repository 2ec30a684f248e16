"""``/api/v1/hello``: send a greeting, read them all."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bastion.extension import (
    EndpointClass,
    ErrorStyle,
    ExtensionRouter,
    Operation,
    error_response,
    invalid_body,
    request_context,
)
from bastion_hello._greetings import GreetingBook

WRITE_SCOPE = "hello:write"


class GreetingRequest(BaseModel):
    """``POST /api/v1/hello/greetings``; the model both validates and documents it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=128)


class Greeting(BaseModel):
    id: str
    message: str


OPERATIONS = [
    Operation("POST", "/greetings", "Greet someone", GreetingRequest, Greeting),
    Operation("GET", "/greetings", "Every greeting", None, list[Greeting]),
]


def greetings_router(book: GreetingBook) -> ExtensionRouter:
    async def create(request: Request) -> Response:
        caller = request_context(request)
        if not caller.has_scope(WRITE_SCOPE):
            return error_response(
                ErrorStyle.JSON, 403, f"needs scope {WRITE_SCOPE}", trace_id=caller.trace_id
            )
        try:
            name = GreetingRequest.model_validate_json(await request.body()).name
        except ValidationError as exc:
            return error_response(ErrorStyle.JSON, 400, invalid_body(exc), trace_id=caller.trace_id)
        return JSONResponse(await book.add(name, caller.user_id), status_code=201)

    async def list_all(_: Request) -> Response:
        return JSONResponse(await book.all())

    return ExtensionRouter(
        routes=[
            Route("/greetings", create, methods=["POST"]),
            Route("/greetings", list_all, methods=["GET"]),
        ],
        base_path="/api/v1/hello",
        endpoint_class=EndpointClass.API,
        openapi=OPERATIONS,
    )
