"""HTTP helpers shared by the runtime and the domains: errors in each caller's wire format."""

from bastion.infra.http._endpoint import BytesHandler, JsonEndpoint
from bastion.infra.http._errors import error_body, error_response, error_type_for, send_error
from bastion.infra.http._invalid import invalid_body

__all__ = [
    "BytesHandler",
    "JsonEndpoint",
    "error_body",
    "error_response",
    "error_type_for",
    "invalid_body",
    "send_error",
]
