"""Wire-format translation between Anthropic Messages, OpenAI Chat Completions and Gemini.

Pure functions on decoded JSON for requests and whole responses; small stateful classes
for streams, at two levels: event translators fed parsed upstream events, and byte
translators (``*SSE``) fed raw upstream bytes that return the bytes for the client.
Usage taps read token counts off a stream that is relayed untouched.

Directions::

    Anthropic request  -> OpenAI request      anthropic_request_to_openai
    OpenAI response    -> Anthropic response  openai_response_to_anthropic
    OpenAI stream      -> Anthropic stream    OpenAIToAnthropicStream, OpenAIToAnthropicSSE
    OpenAI request     -> Anthropic request   openai_request_to_anthropic
    Anthropic response -> OpenAI response     anthropic_response_to_openai
    Anthropic stream   -> OpenAI stream       AnthropicToOpenAIStream, AnthropicToOpenAISSE
    Anthropic request  -> Gemini request      anthropic_request_to_gemini, gemini_endpoint
    Gemini response    -> Anthropic response  gemini_response_to_anthropic
    Gemini stream      -> Anthropic stream    GeminiToAnthropicStream, GeminiToAnthropicSSE
"""

from bastion.domains.gateway.translate._anthropic_to_gemini_request import (
    anthropic_request_to_gemini,
    gemini_endpoint,
)
from bastion.domains.gateway.translate._anthropic_to_openai_request import (
    anthropic_request_to_openai,
)
from bastion.domains.gateway.translate._anthropic_to_openai_response import (
    anthropic_response_to_openai,
)
from bastion.domains.gateway.translate._anthropic_to_openai_stream import AnthropicToOpenAIStream
from bastion.domains.gateway.translate._gemini_signatures import (
    SIGNATURE_PREFIX as GEMINI_SIGNATURE_PREFIX,
)
from bastion.domains.gateway.translate._gemini_signatures import (
    SKIP_SIGNATURE as GEMINI_SKIP_SIGNATURE,
)
from bastion.domains.gateway.translate._gemini_to_anthropic import (
    GeminiToAnthropicStream,
    gemini_response_to_anthropic,
)
from bastion.domains.gateway.translate._json import RAW_ARGUMENTS_KEY
from bastion.domains.gateway.translate._openai_to_anthropic_request import (
    openai_request_to_anthropic,
)
from bastion.domains.gateway.translate._openai_to_anthropic_response import (
    openai_response_to_anthropic,
)
from bastion.domains.gateway.translate._openai_to_anthropic_stream import OpenAIToAnthropicStream
from bastion.domains.gateway.translate._pipeline import (
    AnthropicToOpenAISSE,
    GeminiToAnthropicSSE,
    OpenAIToAnthropicSSE,
    StreamTranslator,
    translate_stream,
)
from bastion.domains.gateway.translate._sse import (
    OPENAI_DONE,
    SSEEvent,
    SSEParser,
    encode_anthropic_event,
    encode_openai_chunk,
    encode_sse,
)
from bastion.domains.gateway.translate._taps import (
    AnthropicUsageTap,
    GeminiUsageTap,
    OpenAIUsageTap,
)
from bastion.domains.gateway.translate._usage import (
    Usage,
    usage_from_anthropic,
    usage_from_gemini,
    usage_from_openai,
)
from bastion.domains.gateway.translate.errors import (
    InvalidPayloadError,
    TranslationError,
    UnsupportedFeatureError,
)

__all__ = [
    "GEMINI_SIGNATURE_PREFIX",
    "GEMINI_SKIP_SIGNATURE",
    "OPENAI_DONE",
    "RAW_ARGUMENTS_KEY",
    "AnthropicToOpenAISSE",
    "AnthropicToOpenAIStream",
    "AnthropicUsageTap",
    "GeminiToAnthropicSSE",
    "GeminiToAnthropicStream",
    "GeminiUsageTap",
    "InvalidPayloadError",
    "OpenAIToAnthropicSSE",
    "OpenAIToAnthropicStream",
    "OpenAIUsageTap",
    "SSEEvent",
    "SSEParser",
    "StreamTranslator",
    "TranslationError",
    "UnsupportedFeatureError",
    "Usage",
    "anthropic_request_to_gemini",
    "anthropic_request_to_openai",
    "anthropic_response_to_openai",
    "encode_anthropic_event",
    "encode_openai_chunk",
    "encode_sse",
    "gemini_endpoint",
    "gemini_response_to_anthropic",
    "openai_request_to_anthropic",
    "openai_response_to_anthropic",
    "translate_stream",
    "usage_from_anthropic",
    "usage_from_gemini",
    "usage_from_openai",
]
