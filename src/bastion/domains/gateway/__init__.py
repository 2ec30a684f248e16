"""The LLM gateway domain: ingress in the Anthropic and OpenAI wire formats, routing per
model pattern to any registered provider, governance on the path, cost and audit."""

from bastion.domains.gateway._extension import GATEWAY, GatewayExtension
from bastion.domains.gateway._pricing import PricingCatalog, cost_microdollars
from bastion.domains.gateway._records import ai_requests
from bastion.domains.gateway._settings import (
    CoworkSettings,
    GatewaySettings,
    PriceSettings,
    RetrySettings,
    RouteSettings,
)

__all__ = [
    "GATEWAY",
    "CoworkSettings",
    "GatewayExtension",
    "GatewaySettings",
    "PriceSettings",
    "PricingCatalog",
    "RetrySettings",
    "RouteSettings",
    "ai_requests",
    "cost_microdollars",
]
