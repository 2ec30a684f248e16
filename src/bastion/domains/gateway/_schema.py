"""The request schemas of both ingresses, for the fields the gateway interprets.

``TypedDict``s with extra keys allowed, checked by pydantic in strict mode (no coercion:
``"stream": "yes"`` is not a boolean, ``true`` is not a ``max_tokens``) through adapters
compiled once at import. Validation builds no object model of the request: its result
is thrown away and the caller's dict goes on as it came. The same adapters give the
JSON Schemas the OpenAPI document publishes, so the document cannot drift from them.

Unions carry tags starting with ``@`` so that a failure's location reads as the field
path the caller wrote (``messages.2.content.0.type``) once the tags are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal, NotRequired, Required, TypeAlias, Union

from pydantic import ConfigDict, Discriminator, Field, Tag, TypeAdapter, ValidationError
from typing_extensions import TypedDict

_OPEN = ConfigDict(extra="allow", strict=True)
_BLOCK_TAG_ERROR = "invalid_block_type"

PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
JSONObject = dict[str, Any]


def _typed(mapping: Mapping[str, type], *, what: str) -> Any:
    """A union of block shapes chosen by their ``type`` field; an unknown or missing
    ``type`` fails at ``...type`` with the list of the known ones."""
    known = ", ".join(sorted(mapping))

    def pick(value: Any) -> str | None:
        if isinstance(value, dict):
            kind = value.get("type")
            if isinstance(kind, str) and kind in mapping:
                return "@" + kind
        return None

    members = tuple(Annotated[shape, Tag("@" + name)] for name, shape in mapping.items())
    return Annotated[
        Union[members],  # noqa: UP007 - a runtime-built union
        Discriminator(
            pick,
            custom_error_type=_BLOCK_TAG_ERROR,
            custom_error_message=f"{what} must be an object whose type is one of: {known}",
        ),
    ]


def _either(text: Any, blocks: Any) -> Any:
    """``str`` or a list of blocks, as both APIs write ``content`` and ``system``."""

    def pick(value: Any) -> str | None:
        if isinstance(value, str):
            return "@str"
        return "@list" if isinstance(value, list) else None

    return Annotated[
        Union[Annotated[text, Tag("@str")], Annotated[blocks, Tag("@list")]],  # noqa: UP007
        Discriminator(
            pick,
            custom_error_type="string_or_list",
            custom_error_message="must be a string or a list",
        ),
    ]


# -- Anthropic Messages -------------------------------------------------------------------


class _Source(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    type: Required[str]


class AnthropicTextBlock(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    type: Required[Literal["text"]]
    text: Required[str]


class AnthropicImageBlock(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    type: Required[Literal["image"]]
    source: Required[_Source]


class AnthropicDocumentBlock(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    type: Required[Literal["document"]]
    source: Required[_Source]
    title: NotRequired[str | None]
    context: NotRequired[str | None]


class AnthropicToolUseBlock(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    type: Required[Literal["tool_use", "server_tool_use"]]
    id: Required[str]
    name: Required[str]
    input: Required[JSONObject]


class _Opaque(TypedDict):
    """Blocks the gateway passes on without reading beyond their ``type``."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    type: Required[str]


class AnthropicThinkingBlock(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    type: Required[Literal["thinking"]]
    thinking: Required[str]
    signature: NotRequired[str]


_RESULT_BLOCKS: dict[str, type] = {
    "text": AnthropicTextBlock,
    "image": AnthropicImageBlock,
    "document": AnthropicDocumentBlock,
    "search_result": _Opaque,
}
if TYPE_CHECKING:  # the unions below are built at run time; to mypy they are JSON
    AnthropicToolResultContent: TypeAlias = Any
    AnthropicContent: TypeAlias = Any
    AnthropicSystem: TypeAlias = Any
    OpenAIContent: TypeAlias = Any
    OpenAIStop: TypeAlias = Any
else:
    AnthropicToolResultContent = _either(
        str, list[_typed(_RESULT_BLOCKS, what="a tool_result content block")]
    )


class AnthropicToolResultBlock(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    type: Required[Literal["tool_result"]]
    tool_use_id: Required[str]
    content: NotRequired[AnthropicToolResultContent]
    is_error: NotRequired[bool]


ANTHROPIC_BLOCK_TYPES: dict[str, type] = {
    "text": AnthropicTextBlock,
    "image": AnthropicImageBlock,
    "document": AnthropicDocumentBlock,
    "search_result": _Opaque,
    "tool_use": AnthropicToolUseBlock,
    "server_tool_use": AnthropicToolUseBlock,
    "tool_result": AnthropicToolResultBlock,
    "thinking": AnthropicThinkingBlock,
    "redacted_thinking": _Opaque,
    "web_search_tool_result": _Opaque,
    "web_fetch_tool_result": _Opaque,
    "code_execution_tool_result": _Opaque,
    "bash_code_execution_tool_result": _Opaque,
    "text_editor_code_execution_tool_result": _Opaque,
    "mcp_tool_use": _Opaque,
    "mcp_tool_result": _Opaque,
    "container_upload": _Opaque,
}
if not TYPE_CHECKING:
    AnthropicContent = _either(str, list[_typed(ANTHROPIC_BLOCK_TYPES, what="a content block")])


class AnthropicMessage(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    role: Required[Literal["user", "assistant"]]
    content: Required[AnthropicContent]


class AnthropicTool(TypedDict):
    """A client tool (``type`` absent or ``custom``) or a server tool (``type`` names its
    version, e.g. ``web_search_20250305``)."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    name: Required[str]
    type: NotRequired[str | None]
    description: NotRequired[str]
    input_schema: NotRequired[JSONObject]


class AnthropicToolChoice(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    type: Required[Literal["auto", "any", "tool", "none"]]
    name: NotRequired[str]
    disable_parallel_tool_use: NotRequired[bool]


class AnthropicMetadata(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    user_id: NotRequired[str | None]


class AnthropicThinking(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    type: Required[Literal["enabled", "disabled"]]
    budget_tokens: NotRequired[Annotated[int, Field(ge=1024)]]


if not TYPE_CHECKING:
    AnthropicSystem = _either(str, list[AnthropicTextBlock])


class AnthropicMessagesRequest(TypedDict):
    """``POST /v1/messages`` (Anthropic Messages API)."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    model: Required[Annotated[str, Field(min_length=1)]]
    max_tokens: Required[PositiveInt]
    messages: Required[list[AnthropicMessage]]
    system: NotRequired[AnthropicSystem]
    stream: NotRequired[bool]
    stop_sequences: NotRequired[list[str]]
    temperature: NotRequired[Annotated[float, Field(ge=0.0, le=1.0)]]
    top_p: NotRequired[Annotated[float, Field(ge=0.0, le=1.0)]]
    top_k: NotRequired[NonNegativeInt]
    tools: NotRequired[list[AnthropicTool]]
    tool_choice: NotRequired[AnthropicToolChoice]
    metadata: NotRequired[AnthropicMetadata]
    thinking: NotRequired[AnthropicThinking]


class AnthropicCountTokensRequest(TypedDict):
    """``POST /v1/messages/count_tokens``."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    model: Required[Annotated[str, Field(min_length=1)]]
    messages: Required[list[AnthropicMessage]]
    system: NotRequired[AnthropicSystem]
    tools: NotRequired[list[AnthropicTool]]
    tool_choice: NotRequired[AnthropicToolChoice]
    thinking: NotRequired[AnthropicThinking]


# -- OpenAI Chat Completions --------------------------------------------------------------


class OpenAITextPart(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    type: Required[Literal["text"]]
    text: Required[str]


class _ImageURL(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    url: Required[str]
    detail: NotRequired[str]


class OpenAIImagePart(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    type: Required[Literal["image_url"]]
    image_url: Required[_ImageURL]


class _File(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    file_data: NotRequired[str]
    file_id: NotRequired[str]
    filename: NotRequired[str]


class OpenAIFilePart(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    type: Required[Literal["file"]]
    file: Required[_File]


class OpenAIRefusalPart(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    type: Required[Literal["refusal"]]
    refusal: Required[str]


OPENAI_PART_TYPES: dict[str, type] = {
    "text": OpenAITextPart,
    "image_url": OpenAIImagePart,
    "input_audio": _Opaque,
    "file": OpenAIFilePart,
    "refusal": OpenAIRefusalPart,
}
if not TYPE_CHECKING:
    OpenAIContent = _either(str, list[_typed(OPENAI_PART_TYPES, what="a content part")])
    OpenAIStop = _either(str, Annotated[list[str], Field(max_length=4)])


class _FunctionCall(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    name: Required[str]
    arguments: Required[str]


class OpenAIToolCall(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    id: Required[str]
    type: NotRequired[Literal["function"]]
    function: Required[_FunctionCall]


class OpenAIMessage(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    role: Required[Literal["system", "developer", "user", "assistant", "tool"]]
    content: NotRequired[OpenAIContent | None]
    name: NotRequired[str]
    tool_calls: NotRequired[list[OpenAIToolCall] | None]
    tool_call_id: NotRequired[str]
    refusal: NotRequired[str | None]


class _FunctionDefinition(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    name: Required[str]
    description: NotRequired[str]
    parameters: NotRequired[JSONObject]
    strict: NotRequired[bool | None]


class OpenAITool(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    type: Required[Literal["function"]]
    function: Required[_FunctionDefinition]


class _NamedFunction(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    name: Required[str]


class OpenAINamedToolChoice(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    type: Required[Literal["function"]]
    function: Required[_NamedFunction]


class OpenAIStreamOptions(TypedDict):
    __pydantic_config__ = _OPEN  # type: ignore[misc]
    include_usage: NotRequired[bool]


def _choice_tag(value: Any) -> str:
    return "@str" if isinstance(value, str) else "@object"


OpenAIToolChoice = Annotated[
    Union[  # noqa: UP007
        Annotated[Literal["none", "auto", "required"], Tag("@str")],
        Annotated[OpenAINamedToolChoice, Tag("@object")],
    ],
    Discriminator(_choice_tag),
]


class OpenAIChatRequest(TypedDict):
    """``POST /v1/chat/completions`` (OpenAI Chat Completions API)."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    model: Required[Annotated[str, Field(min_length=1)]]
    messages: Required[list[OpenAIMessage]]
    max_tokens: NotRequired[PositiveInt | None]
    max_completion_tokens: NotRequired[PositiveInt | None]
    stream: NotRequired[bool | None]
    stream_options: NotRequired[OpenAIStreamOptions | None]
    stop: NotRequired[OpenAIStop | None]
    temperature: NotRequired[Annotated[float, Field(ge=0.0, le=2.0)] | None]
    top_p: NotRequired[Annotated[float, Field(ge=0.0, le=1.0)] | None]
    n: NotRequired[PositiveInt | None]
    tools: NotRequired[list[OpenAITool] | None]
    tool_choice: NotRequired[OpenAIToolChoice | None]
    parallel_tool_calls: NotRequired[bool | None]
    user: NotRequired[str | None]
    reasoning_effort: NotRequired[str | None]


# -- validation ----------------------------------------------------------------------------


class SchemaError(ValueError):
    """The body breaks its schema; the message names the field path."""


def _path(error: Mapping[str, Any]) -> str:
    parts = [str(p) for p in error["loc"] if not (isinstance(p, str) and p.startswith("@"))]
    if error["type"] == _BLOCK_TAG_ERROR:
        parts.append("type")
    return ".".join(parts)


def _message(error: Mapping[str, Any]) -> str:
    path = _path(error)
    if error["type"] == "missing":
        return f"{path}: field required"
    if error["type"] in (_BLOCK_TAG_ERROR, "string_or_list"):
        return f"{path}: {error['msg']}"
    msg = str(error["msg"])
    return f"{path}: {msg[0].lower()}{msg[1:]}" if path else msg


def _validator(schema: Any) -> tuple[Callable[[object], None], TypeAdapter[Any]]:
    adapter: TypeAdapter[Any] = TypeAdapter(schema)
    validate = adapter.validate_python

    def check(body: object) -> None:
        try:
            validate(body, strict=True)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            raise SchemaError(_message(first)) from None

    return check, adapter


check_anthropic_messages, ANTHROPIC_MESSAGES = _validator(AnthropicMessagesRequest)
check_anthropic_count_tokens, ANTHROPIC_COUNT_TOKENS = _validator(AnthropicCountTokensRequest)
check_openai_chat, OPENAI_CHAT = _validator(OpenAIChatRequest)
