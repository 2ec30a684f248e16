"""Turn request headers into a ``RequestContext``: JWTs verified in process and checked
against the revocation snapshot (no I/O while it is fresh), API keys resolved through
the identity provider extension."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import structlog

from bastion.infra.db import is_outage
from bastion.infra.security import (
    CredentialKind,
    InvalidTokenError,
    JwtCodec,
    extract_credential,
)
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.identity import ApiKeyResolver, CheckedCredential, RevocationSource
from bastion.kernel.ids import ClientId, RoleName, SessionId, TraceId, new_trace_id
from bastion.kernel.tiers import Tier
from bastion.runtime.errors import CredentialStoreUnavailable

T = TypeVar("T")
log = structlog.get_logger("bastion.auth")

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
SecretCheck = Callable[[str], bool]


def _never_secret(_: str) -> bool:
    return False


class Authenticator:
    def __init__(
        self,
        jwt: JwtCodec,
        api_keys: ApiKeyResolver | None,
        *,
        revocations: RevocationSource | None = None,
        is_secret: SecretCheck = _never_secret,
    ) -> None:
        self._jwt = jwt
        self._api_keys = api_keys
        self._revocations = revocations
        self._is_secret = is_secret
        self._store_down = False

    async def _checked(self, lookup: Awaitable[T], anonymous: RequestContext) -> T:
        """Await a lookup in the identity store; a store that is down refuses the request
        with 503. One warning when an outage starts and one line when it ends, not a
        traceback per request."""
        try:
            result = await lookup
        except Exception as exc:
            # Only "the database cannot be reached"; a bad statement is a bug and still
            # reaches the middleware's last line of defence as a 500.
            if not is_outage(exc):
                raise
            if not self._store_down:
                self._store_down = True
                log.warning("identity store unavailable", error=type(exc).__name__)
            raise CredentialStoreUnavailable(anonymous) from None
        if self._store_down:
            self._store_down = False
            log.info("identity store available again")
        return result

    def _header_id(self, value: str | None) -> str | None:
        """A caller-chosen id (trace, session, client) if it is well formed and is not a
        credential pasted into the wrong header: ids are stored and logged verbatim."""
        if not value or not _SAFE_ID.match(value) or self._is_secret(value):
            return None
        return value

    async def authenticate(
        self,
        headers: list[tuple[bytes, bytes]],
        wanted: Mapping[bytes, str | None],
        remote_addr: str | None = None,
    ) -> tuple[RequestContext, str | None]:
        """The request's context, and the reason a presented credential was refused."""
        trace = TraceId(self._header_id(wanted.get(b"x-trace-id")) or new_trace_id())
        session = self._header_id(wanted.get(b"x-session-id"))
        client = self._header_id(wanted.get(b"x-client-id"))
        anonymous = RequestContext(
            trace_id=trace,
            tier=Tier.ANONYMOUS,
            auth_method=AuthMethod.ANONYMOUS,
            session_id=SessionId(session) if session else None,
            client_id=ClientId(client) if client else None,
            remote_addr=remote_addr,
        )
        credential = extract_credential(headers)
        if credential is None:
            return anonymous, None
        if credential.kind is CredentialKind.JWT:
            try:
                claims = self._jwt.verify(credential.value)
            except InvalidTokenError as exc:
                return anonymous, str(exc)
            if self._revocations is not None:
                snapshot = self._revocations.fresh()
                if snapshot is None:
                    snapshot = await self._checked(self._revocations.refresh(), anonymous)
                refusal = snapshot.refusal(claims.user_id, claims.token_id)
                if refusal is not None:
                    return anonymous, refusal
            return (
                RequestContext(
                    trace_id=trace,
                    tier=claims.tier,
                    auth_method=AuthMethod.JWT,
                    user_id=claims.user_id,
                    tenant_id=claims.tenant_id,
                    role=claims.role,
                    scopes=claims.scopes,
                    # Signed claims win over headers the caller could set freely.
                    session_id=claims.session_id or (SessionId(session) if session else None),
                    client_id=claims.client_id or (ClientId(client) if client else None),
                ),
                None,
            )
        if self._api_keys is None:
            return anonymous, "API keys are not accepted: no identity provider is installed"
        principal = await self._checked(self._api_keys.resolve(credential.value), anonymous)
        if principal is None:
            return anonymous, "invalid or revoked API key"
        return (
            RequestContext(
                trace_id=trace,
                tier=principal.tier,
                auth_method=AuthMethod.API_KEY,
                user_id=principal.user_id,
                tenant_id=principal.tenant_id,
                role=RoleName(principal.role),
                scopes=principal.scopes,
                session_id=SessionId(session) if session else None,
                client_id=ClientId(client) if client else None,
                api_key_id=principal.api_key_id,
            ),
            None,
        )

    async def check(self, raw: str, *, remote_addr: str | None = None) -> CheckedCredential:
        """``CredentialCheck``: ``raw`` authenticated as if sent in ``x-api-key`` (which
        takes API keys and JWTs alike), so a console sign-in passes the very checks a
        request does."""
        value = raw.strip()
        if not value:
            return CheckedCredential(None, "no credential given")
        ctx, refusal = await self.authenticate(
            [(b"x-api-key", value.encode("latin-1", "replace"))], {}, remote_addr
        )
        if ctx.auth_method is AuthMethod.ANONYMOUS:
            return CheckedCredential(None, refusal or "not an API key or a Bastion token")
        return CheckedCredential(ctx)
