"""One gateway request, from the caller's bytes to the audit row.

parse -> route -> govern (target ``prompt`` on the route) -> dispatch (retries,
fallbacks) -> relay (bytes, or a translated stream) -> scan the response -> cost ->
one ``ai_requests`` row through the batched writer -> quota usage.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute

from bastion.domains.gateway._dispatch import Dispatcher
from bastion.domains.gateway._ingress import Ingress, RequestError, forwarded_headers
from bastion.domains.gateway._material import prompt_material
from bastion.domains.gateway._pricing import PricingCatalog, cost_microdollars
from bastion.domains.gateway._records import RequestRecord, ai_requests
from bastion.domains.gateway._routing import Route, RouteTable
from bastion.domains.gateway._settings import GatewaySettings
from bastion.domains.gateway._stream_scan import StreamTextCollector
from bastion.domains.gateway.translate import TranslationError
from bastion.domains.gateway.upstreams import MessagesCall, UpstreamResponse, UpstreamStream
from bastion.infra.audit import AuditWriter, new_row_id
from bastion.infra.http import error_body
from bastion.infra.scanner import SecretScanner
from bastion.kernel.context import RequestContext, request_context
from bastion.kernel.contract import RefusalObserver, RefusedRequest
from bastion.kernel.errors import (
    UpstreamError,
    UpstreamProtocolError,
    UpstreamRejected,
    UpstreamStreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from bastion.kernel.governance import BACKEND_UNAVAILABLE_RULE, Governance
from bastion.kernel.policy import PolicyContext, PolicyTarget, TargetType

log = structlog.get_logger("bastion.gateway")

_THROTTLE_RULES = ("rate_limit.", "quota.")
_SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def _ms(start: float, end: float) -> float:
    return (end - start) * 1000.0


@dataclass(frozen=True, slots=True)
class Denial:
    """A governance deny as the caller sees it: 403, or 429 (with ``Retry-After``) for
    rate limits and quotas; ``details`` carries the stage, rule and reason."""

    status: int
    message: str
    details: Mapping[str, object]
    headers: Mapping[str, str]


class RelayedStream(StreamingResponse):
    """The answer to a streamed request: the SSE the caller reads, relayed as the
    upstream sends it. ``chunks`` is the relay itself, for a caller in process; the
    request's row is written when it ends (or is closed)."""

    def __init__(self, chunks: AsyncGenerator[bytes, None], headers: Mapping[str, str]) -> None:
        super().__init__(chunks, media_type="text/event-stream", headers=headers)
        self.chunks = chunks


class Gateway:
    """Shared by both ingress formats and the in-process ``INFERENCE``; built once at
    boot."""

    def __init__(
        self,
        settings: GatewaySettings,
        routes: RouteTable,
        dispatcher: Dispatcher,
        pricing: PricingCatalog,
        governance: Governance,
        writer: AuditWriter,
        scanner: SecretScanner,
        *,
        store_prompts: bool = False,
    ) -> None:
        self._settings = settings
        self.routes = routes
        self.dispatcher = dispatcher
        self.pricing = pricing
        self.governance = governance
        self.scanner = scanner
        self._writer = writer
        self._store_prompts = store_prompts
        self._redact_responses = settings.response_secrets == "redact"

    def visible_models(self) -> list[tuple[str, str, str]]:
        """``(model, provider, route)`` for every model a route serves: exact patterns as
        written, wildcard routes with the catalog models they match."""
        seen: set[str] = set()
        out: list[tuple[str, str, str]] = []
        candidates = self.pricing.models()
        for route in self.routes:
            pattern = route.settings.model_pattern
            names = [pattern] if "*" not in pattern else [m for m in candidates if route.matches(m)]
            for name in names:
                if name not in seen and self.routes.match(name) is route:
                    seen.add(name)
                    out.append((name, route.settings.provider, route.name))
        return out

    # -- the request ------------------------------------------------------------------

    async def handle(self, request: Request, ingress: Ingress) -> Response:
        """``POST /v1/messages`` and ``POST /v1/chat/completions``: the caller's bytes,
        read off the request, through ``serve``."""
        started = time.perf_counter()
        record = RequestRecord(request_context(request), ingress.name)
        try:
            raw = await request.body()
        except ClientDisconnect:
            # The caller left before sending its whole request: nothing was sent upstream,
            # but the attempt is still a request and gets its row.
            record.status, record.outcome = 499, "cancelled"
            record.error = "client disconnected before the request body arrived"
            record.latency_ms = record.overhead_ms = _ms(started, time.perf_counter())
            await self._finish(record)
            return Response(status_code=499)
        return await self.serve(record, ingress, raw, self.forward_headers(request), started)

    async def serve(
        self,
        record: RequestRecord,
        ingress: Ingress,
        raw: bytes,
        forwarded: Mapping[str, str],
        started: float,
    ) -> Response:
        """One request body, as ``record.principal`` sent it in ``ingress``'s wire format,
        from parsing to the audit row: what ``handle`` serves an HTTP caller and what
        ``INFERENCE`` serves a domain in process. ``forwarded``: the headers that may go
        upstream (``forward_headers``); ``started``: when the request arrived. The
        answer is JSON, or a ``RelayedStream``; ``record`` is written once it is whole
        (for a stream, when the relay ends)."""
        try:
            return await self._handle(ingress, record, raw, forwarded, started)
        except RequestError as exc:
            return await self._fail(record, ingress, started, 400, str(exc))

    async def refuse(
        self, record: RequestRecord, ingress: Ingress, started: float, message: str
    ) -> Response:
        """A request that cannot even be read (400), answered and recorded as ``serve``
        answers a malformed one."""
        return await self._fail(record, ingress, started, 400, message)

    def refusal_recorder(self, ingress: Ingress, route: BaseRoute) -> RefusalObserver:
        """The observer of the router that serves ``route``: the row for a call to
        ``route`` that the core refused before the gateway ran (no or a bad credential, a
        body over the limit), so every inference attempt has its row. Refusals of the
        router's other routes (``/v1/models`` ...) are no inference call."""

        async def record_refusal(refused: RefusedRequest) -> None:
            if refused.route is not route:
                return
            record = RequestRecord(refused.principal, ingress.name)
            record.status = refused.status
            record.outcome = "denied" if refused.status in (403, 429) else "error"
            record.error = refused.reason
            record.latency_ms = record.overhead_ms = refused.elapsed_ms
            await self._finish(record)

        return record_refusal

    async def _handle(
        self,
        ingress: Ingress,
        record: RequestRecord,
        raw: bytes,
        forwarded: Mapping[str, str],
        started: float,
    ) -> Response:
        ctx = record.principal
        record.request_sha256 = hashlib.sha256(raw).hexdigest()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise RequestError(f"request body is not valid JSON: {exc.msg}") from None
        if not isinstance(body, dict):
            raise RequestError("request body must be a JSON object")
        anthropic_body = ingress.to_anthropic(body)
        model: str = anthropic_body["model"]
        stream = bool(body.get("stream"))
        record.requested_model, record.streaming = model, stream
        if self._store_prompts:
            record.prompt = raw.decode("utf-8", "replace")

        route = self.routes.match(model)
        if route is None:
            return await self._fail(
                record,
                ingress,
                started,
                404,
                f"model '{model}' has no gateway route",
                error_type="not_found_error",
            )
        record.route, record.provider = route.name, route.settings.provider
        record.upstream_model = route.upstream_model(model)

        denied = await self.govern(ctx, route, anthropic_body, body)
        if denied is not None:
            return await self._fail(
                record,
                ingress,
                started,
                denied.status,
                denied.message,
                outcome="denied",
                details=denied.details,
                headers=denied.headers,
            )

        call = MessagesCall(anthropic_body, stream, forwarded)
        upstream_started = time.perf_counter()
        try:
            dispatched = await self.dispatcher.send(call, route, model)
        except TranslationError as exc:
            # The request is valid Anthropic but cannot be carried to this upstream.
            raise RequestError(str(exc)) from None
        except UpstreamError as exc:
            upstream_ms = _ms(upstream_started, time.perf_counter())
            return await self._upstream_failed(record, ingress, started, upstream_ms, exc)
        record.attempts = dispatched.attempts
        record.route, record.provider = dispatched.route.name, dispatched.route.settings.provider
        record.upstream_model = dispatched.target.upstream_model
        if isinstance(dispatched.result, UpstreamResponse):
            return await self._complete(
                record, ingress, dispatched.result, model, started, upstream_started
            )
        return self._relay(
            record, ingress, dispatched.result, body, model, started, upstream_started
        )

    async def govern(
        self,
        ctx: RequestContext,
        route: Route,
        anthropic_body: Mapping[str, Any],
        caller_body: Mapping[str, Any] | None = None,
    ) -> Denial | None:
        """Run the prompt through the governance chain as target ``prompt`` on the route;
        None when it may go upstream. ``caller_body``: the body as sent, when it was
        translated to ``anthropic_body``."""
        decision = await self.governance.engine.evaluate(
            PolicyContext(
                ctx,
                PolicyTarget(TargetType.PROMPT, name=route.name),
                prompt_material(anthropic_body, caller_body),
            )
        )
        if decision.allowed:
            return None
        unavailable = decision.rule == BACKEND_UNAVAILABLE_RULE
        throttled = unavailable or (decision.rule or "").startswith(_THROTTLE_RULES)
        headers = {}
        if throttled and decision.retry_after_ms is not None:
            headers["retry-after"] = str(max(1, -(-decision.retry_after_ms // 1000)))
        return Denial(
            503 if unavailable else 429 if throttled else 403,
            f"Bastion governance denied the request: {decision.reason}",
            {"stage": decision.stage, "rule": decision.rule, "reason": decision.reason},
            headers,
        )

    def forward_headers(self, request: Request) -> dict[str, str]:
        """``anthropic-version`` and ``anthropic-beta`` only; nothing else of the caller's."""
        return forwarded_headers(request.scope["headers"])

    # -- answers ----------------------------------------------------------------------

    async def _complete(
        self,
        record: RequestRecord,
        ingress: Ingress,
        result: UpstreamResponse,
        model: str,
        started: float,
        upstream_started: float,
    ) -> Response:
        upstream_done = time.perf_counter()
        body = result.body
        record.usage = result.usage
        body = self._scan_response(record, body)
        out = ingress.response(body, model)
        finished = time.perf_counter()
        record.status, record.outcome = 200, "success"
        record.latency_ms = record.ttfb_ms = _ms(started, finished)
        record.overhead_ms = _ms(started, upstream_started) + _ms(upstream_done, finished)
        await self._finish(record)
        return Response(
            out,
            media_type="application/json",
            headers={"x-bastion-overhead-ms": f"{record.overhead_ms:.3f}"},
        )

    def _scan_response(self, record: RequestRecord, body: bytes) -> bytes:
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            return body
        content = doc.get("content") if isinstance(doc, dict) else None
        if not isinstance(content, list):
            return body
        scanner = self.scanner
        if not self._redact_responses:
            findings = scanner.scan_json(content)
            if findings:
                record.response_findings = ",".join(sorted({f.pattern_id for f in findings}))
            return body
        redacted, findings = scanner.redact_json(content)
        if not findings:
            return body
        record.response_findings = ",".join(sorted({f.pattern_id for f in findings}))
        doc["content"] = redacted
        return orjson.dumps(doc)

    def _relay(
        self,
        record: RequestRecord,
        ingress: Ingress,
        stream: UpstreamStream,
        body: Mapping[str, Any],
        model: str,
        started: float,
        upstream_started: float,
    ) -> RelayedStream:
        translator = ingress.stream_translator(body, model)
        collector = StreamTextCollector()
        pre_ms = _ms(started, upstream_started)

        async def relay() -> AsyncGenerator[bytes, None]:
            first = True
            last_byte = time.perf_counter()
            try:
                async for chunk in stream:
                    collector.feed(chunk)
                    out = translator.feed(chunk) if translator is not None else chunk
                    if out:
                        if first:
                            record.ttfb_ms = _ms(started, time.perf_counter())
                            first = False
                        yield out
                if translator is not None:
                    tail = translator.finish()
                    if tail:
                        yield tail
                record.status, record.outcome = 200, "success"
            except UpstreamStreamError as exc:
                # The provider already ended the stream with an Anthropic error event
                # (translated for OpenAI callers); only the record is left to write.
                record.status, record.outcome, record.error = 502, "error", str(exc)
                if translator is not None:
                    tail = translator.finish()
                    if tail:
                        yield tail
            except (asyncio.CancelledError, GeneratorExit):
                # An HTTP caller that went away cancels the relay; a caller in process
                # that stops reading closes it.
                record.status, record.outcome, record.error = 499, "cancelled", "client went away"
                raise
            finally:
                last_byte = time.perf_counter()
                await stream.aclose()
                record.usage = stream.usage
                findings = collector.findings(self.scanner)
                if findings:
                    record.response_findings = findings
                record.latency_ms = _ms(started, last_byte)
                record.overhead_ms = pre_ms
                await asyncio.shield(self._finish(record))

        return RelayedStream(
            relay(), headers={**_SSE_HEADERS, "x-bastion-overhead-ms": f"{pre_ms:.3f}"}
        )

    async def _upstream_failed(
        self,
        record: RequestRecord,
        ingress: Ingress,
        started: float,
        upstream_ms: float,
        exc: UpstreamError,
    ) -> Response:
        """The one mapping of the upstream family onto the caller's answer. ``upstream_ms``:
        the time spent on upstream calls (and backoffs), which is not the gateway's
        overhead."""
        record.attempts = exc.attempts
        if isinstance(exc, UpstreamRejected) and exc.status in (401, 403):
            # The upstream refused the route's key, not the caller's: passing its 401 on
            # would make clients believe their own Bastion credential is bad.
            return await self._fail(
                record,
                ingress,
                started,
                502,
                f"the upstream refused the gateway's credentials ({exc.status})",
                error=f"upstream {exc.status}",
                upstream_ms=upstream_ms,
            )
        if isinstance(exc, UpstreamRejected) and exc.status < 500:
            # A 4xx (429 included, once retries are spent) is the caller's to see, with
            # the upstream's own message and its Retry-After.
            record.status, record.error = exc.status, f"upstream {exc.status}"
            record.latency_ms = _ms(started, time.perf_counter())
            record.overhead_ms = max(0.0, record.latency_ms - upstream_ms)
            await self._finish(record)
            headers = {"x-bastion-overhead-ms": f"{record.overhead_ms:.3f}"}
            if "retry-after" in exc.headers:
                headers["retry-after"] = exc.headers["retry-after"]
            return Response(
                ingress.upstream_error(exc.status, exc.body),
                status_code=exc.status,
                media_type="application/json",
                headers=headers,
            )
        # The caller learns what kind of failure it was, never the upstream's own words
        # (those are in the row): a 5xx page or a garbled answer may say anything.
        if isinstance(exc, UpstreamTimeout):
            status, message = 504, "the upstream timed out"
        elif isinstance(exc, UpstreamUnavailable):
            status, message = 502, "the upstream could not be reached"
        elif isinstance(exc, UpstreamRejected):
            status, message = 502, f"the upstream failed: upstream answered {exc.status}"
        elif isinstance(exc, UpstreamProtocolError):
            status, message = 502, "the upstream returned an invalid response"
        else:
            status, message = 502, "the upstream failed"
        return await self._fail(
            record, ingress, started, status, message, error=str(exc), upstream_ms=upstream_ms
        )

    async def _fail(
        self,
        record: RequestRecord,
        ingress: Ingress,
        started: float,
        status: int,
        message: str,
        *,
        error_type: str | None = None,
        outcome: str = "error",
        details: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        error: str | None = None,
        upstream_ms: float = 0.0,
    ) -> Response:
        record.status, record.outcome = status, outcome
        record.error = error or message
        record.latency_ms = _ms(started, time.perf_counter())
        record.overhead_ms = max(0.0, record.latency_ms - upstream_ms)
        await self._finish(record)
        body = error_body(
            ingress.style,
            status,
            message,
            error_type=error_type,
            trace_id=record.principal.trace_id,
            details=details,
        )
        return Response(
            body,
            status_code=status,
            media_type="application/json",
            headers={**(headers or {}), "x-bastion-overhead-ms": f"{record.overhead_ms:.3f}"},
        )

    # -- bookkeeping --------------------------------------------------------------------

    async def audit(self, record: RequestRecord) -> None:
        """Write ``record`` (a request served outside ``handle``, a token count) as
        ``handle`` writes its own."""
        await self._finish(record)

    async def _finish(self, record: RequestRecord) -> None:
        """Cost, the audit row and quota usage. Awaiting only ever waits on a full queue."""
        price = None
        if record.upstream_model is not None:
            route = self.routes.named(record.route or "")
            price = (route.settings.pricing if route else None) or self.pricing.price_for(
                record.upstream_model
            )
        record.cost_microdollars = cost_microdollars(record.usage, price)
        row = record.row()
        row["id"] = new_row_id()
        row["created_at"] = _utcnow()
        await self._writer.write(ai_requests, row)
        usage = record.usage
        if usage.total_input_tokens or usage.output_tokens or record.cost_microdollars:
            # Whatever the outcome: a stream that failed or was abandoned half-way was still
            # billed for what its upstream had announced, and must count like any other.
            try:
                await self.governance.quota.record_usage(
                    record.principal,
                    record.usage.total_input_tokens,
                    record.usage.output_tokens,
                    record.cost_microdollars,
                )
            except Exception as exc:
                log.error("quota usage not recorded", error=repr(exc), trace_id=row["trace_id"])


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
