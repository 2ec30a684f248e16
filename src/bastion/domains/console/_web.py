"""The console's request plumbing: the session behind each page, the CSRF check on every
state change, the security headers on every answer, and rendering."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bastion.domains.console._access import is_admin, tenant_of
from bastion.domains.console._charts import dollars, milliseconds
from bastion.domains.console._sessions import ConsoleSession, SessionStore, csrf_matches, csrf_token
from bastion.infra.audit import AuditTrail, audit_event_row
from bastion.kernel.context import RequestContext, request_context
from bastion.kernel.identity import UserDirectory

BASE = "/admin"
SESSION_COOKIE = "bastion_console"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: Mapping[str, str] = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    # Not no-referrer: with it Chrome sends "Origin: null" on a form post, and the sign-in
    # form is checked by its Origin.
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


def secured(response: Response, *, cache: bool = False) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    if not cache:
        response.headers["cache-control"] = "no-store"
    return response


def _when(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bastion.domains.console", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["dollars"] = dollars
    env.filters["ms"] = lambda v: "" if v is None else milliseconds(float(v))
    env.filters["when"] = _when
    env.globals["BASE"] = BASE
    return env


@dataclass(frozen=True, slots=True)
class Visit:
    """One request of a signed-in operator."""

    request: Request
    session: ConsoleSession
    principal: RequestContext
    csrf: str
    form: Mapping[str, str]

    @property
    def admin(self) -> bool:
        return is_admin(self.principal)

    @property
    def tenant(self) -> str | None:
        """The tenant this operator is confined to; None for an admin."""
        return tenant_of(self.principal)

    @property
    def htmx(self) -> bool:
        return self.request.headers.get("hx-request") == "true"


Handler = Callable[[Visit], Awaitable[Response]]


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (what the console's forms and htmx
    send); anything else is an empty form."""
    if request.method in SAFE_METHODS:
        return {}
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return {}
    body = (await request.body()).decode("utf-8", "replace")
    return dict(parse_qsl(body, keep_blank_values=True, max_num_fields=64))


class Console:
    """What every page needs: the templates, the session store, the audit trail."""

    def __init__(self, store: SessionStore, users: UserDirectory, audit: AuditTrail) -> None:
        self.env = environment()
        self.store = store
        self.users = users
        self.audit = audit

    def render(
        self, request: Request, template: str, *, status: int = 200, **values: Any
    ) -> Response:
        html = self.env.get_template(template).render(request=request, **values)
        return secured(HTMLResponse(html, status_code=status))

    def page(self, template: str, visit: Visit, *, status: int = 200, **values: Any) -> Response:
        return self.render(
            visit.request,
            template,
            status=status,
            visit=visit,
            csrf=visit.csrf,
            **values,
        )

    async def event(
        self,
        principal: RequestContext | None,
        action: str,
        subject: str | None,
        details: Mapping[str, object],
    ) -> None:
        """An admin event (``audit_events``, and the SIEM), ``admin.console.<action>``."""
        await self.audit.record_event(
            audit_event_row(
                principal,
                event_type=f"admin.console.{action}",
                subject=subject,
                action=f"console.{action}",
                details={"source": "console", **details},
            )
        )

    def to_login(self, request: Request, message: str | None = None) -> Response:
        target = f"{BASE}/login" + ("?expired=1" if message else "")
        if request.headers.get("hx-request") == "true":
            # htmx follows HX-Redirect with a full page load.
            response: Response = Response(status_code=401, headers={"hx-redirect": target})
        else:
            response = RedirectResponse(target, status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=BASE)
        return secured(response)

    def guarded(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """``handler`` behind a live session and, for a state change, its CSRF token."""

        async def endpoint(request: Request) -> Response:
            raw = request.cookies.get(SESSION_COOKIE)
            session = await self.store.find(raw) if raw else None
            if raw is None or session is None:
                return self.to_login(request, "session ended" if raw else None)
            if session.user_id is not None:
                account = await self.users.find(session.user_id)
                if account is None or account.disabled:
                    await self.store.close_user(session.user_id)
                    return self.to_login(request, "account disabled")
            base = request_context(request)
            principal = session.context(base.trace_id, base.remote_addr)
            form = await read_form(request)
            visit = Visit(request, session, principal, csrf_token(raw), form)
            if request.method not in SAFE_METHODS:
                presented = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
                if not csrf_matches(raw, presented):
                    await self.event(
                        principal,
                        "csrf_refused",
                        request.url.path,
                        {"method": request.method, "remote_addr": base.remote_addr},
                    )
                    return self.page(
                        "error.html",
                        visit,
                        status=403,
                        message="This change was refused: its CSRF token is missing or wrong. "
                        "Reload the page and try again.",
                    )
            return await handler(visit)

        return endpoint
