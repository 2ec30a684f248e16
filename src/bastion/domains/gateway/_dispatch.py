"""Calling upstreams: retries with backoff before the first byte, then fallbacks."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from dataclasses import dataclass

from bastion.domains.gateway._routing import Route, RouteTable
from bastion.domains.gateway._settings import GatewaySettings
from bastion.domains.gateway.errors import ProviderNotRegisteredError
from bastion.domains.gateway.upstreams import (
    LlmUpstream,
    MessagesCall,
    UpstreamResponse,
    UpstreamStream,
    UpstreamTarget,
)
from bastion.infra.config import SecretStore
from bastion.kernel.errors import UpstreamError, UpstreamRejected


@dataclass(slots=True)
class Dispatched:
    result: UpstreamResponse | UpstreamStream
    route: Route
    target: UpstreamTarget
    attempts: int


class Dispatcher:
    def __init__(
        self,
        settings: GatewaySettings,
        routes: RouteTable,
        upstreams: Mapping[str, LlmUpstream],
        secrets: SecretStore,
    ) -> None:
        self._retry = settings.retry
        self._routes = routes
        self._upstreams = dict(upstreams)
        self._targets: dict[str, UpstreamTarget] = {}
        for route in routes:
            if route.settings.provider not in self._upstreams:
                raise ProviderNotRegisteredError(route.settings.provider)
            key_name = route.settings.api_key_secret
            # Secrets resolve once at boot; a missing one stops the boot, not a request.
            api_key = secrets.get(key_name) if key_name else None
            self._targets[route.name] = UpstreamTarget(
                route_name=route.name,
                provider=route.settings.provider,
                endpoint=route.settings.endpoint,
                upstream_model="",
                api_key=api_key,
                extra_headers=dict(route.settings.extra_headers),
                timeout_seconds=route.settings.timeout_seconds,
                connect_timeout_seconds=settings.connect_timeout_seconds,
            )

    def target(self, route: Route, requested_model: str) -> UpstreamTarget:
        base = self._targets[route.name]
        return UpstreamTarget(
            route_name=base.route_name,
            provider=base.provider,
            endpoint=base.endpoint,
            upstream_model=route.upstream_model(requested_model),
            api_key=base.api_key,
            extra_headers=base.extra_headers,
            timeout_seconds=base.timeout_seconds,
            connect_timeout_seconds=base.connect_timeout_seconds,
        )

    def upstream(self, route: Route) -> LlmUpstream:
        return self._upstreams[route.settings.provider]

    async def send(self, call: MessagesCall, route: Route, requested_model: str) -> Dispatched:
        """Try the route, retrying retryable failures with exponential backoff, then each
        fallback route in order. A non-retryable failure (a 4xx) ends it at once."""
        attempts = 0
        last: UpstreamError | None = None
        for candidate in self._routes.chain(route):
            target = self.target(candidate, requested_model)
            upstream = self.upstream(candidate)
            routed = MessagesCall(
                {**call.body, "model": target.upstream_model}, call.stream, call.forward_headers
            )
            for attempt in range(self._retry.attempts):
                attempts += 1
                try:
                    result = await upstream.messages(routed, target)
                except UpstreamError as exc:
                    exc.attempts = attempts
                    if not exc.retryable:
                        raise
                    last = exc
                    if attempt + 1 < self._retry.attempts:
                        await asyncio.sleep(self._backoff(attempt, exc))
                    continue
                return Dispatched(result, candidate, target, attempts)
        assert last is not None
        raise last

    def _backoff(self, attempt: int, exc: UpstreamError) -> float:
        cap = self._retry.max_backoff_ms / 1000
        delay = min(cap, self._retry.backoff_ms / 1000 * (2**attempt))
        if isinstance(exc, UpstreamRejected):
            retry_after = exc.headers.get("retry-after", "")
            if retry_after.isdigit():
                delay = min(cap, max(delay, float(retry_after)))
        # Full jitter keeps a fleet of retries from arriving in lockstep.
        return random.uniform(delay / 2, delay) if delay else 0.0
