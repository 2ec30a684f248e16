"""Sign-in (any ``LoginMethod``), sign-out, and the admin events both write."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bastion.domains.console._access import admitted
from bastion.domains.console._login import LoginMethod
from bastion.domains.console._web import BASE, SESSION_COOKIE, Console, Visit, read_form, secured
from bastion.domains.console.errors import SignInRefused
from bastion.kernel.context import request_context


def _same_origin(request: Request) -> bool:
    """A sign-in form posted from another site is refused (login CSRF): browsers send
    ``Origin`` on a cross-site POST."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


class SignIn:
    def __init__(self, console: Console, methods: Sequence[LoginMethod]) -> None:
        self.console = console
        self.methods = {method.id: method for method in methods}

    def _form(self, request: Request, *, status: int = 200, error: str | None = None) -> Response:
        notice = None
        if request.query_params.get("expired"):
            notice = "Your session ended; sign in again."
        if request.query_params.get("signed_out"):
            notice = "Signed out."
        return self.console.render(
            request,
            "login.html",
            status=status,
            methods=list(self.methods.values()),
            error=error,
            notice=notice,
        )

    async def show(self, request: Request) -> Response:
        return self._form(request)

    async def submit(self, request: Request) -> Response:
        base = request_context(request)
        method = self.methods.get(request.path_params["method"])
        if method is None:
            return self._form(request, status=404, error="no such sign-in method")
        if not _same_origin(request):
            return self._form(request, status=403, error="sign-in refused: cross-site form")
        form = await read_form(request)
        try:
            principal = admitted(await method.sign_in(form, base.remote_addr))
            if principal.user_id is not None:
                account = await self.console.users.find(principal.user_id)
                if account is None or account.disabled:
                    raise SignInRefused(
                        "sign-in refused: the credential's account is gone or disabled"
                    )
        except SignInRefused as exc:
            await self.console.event(
                None,
                "sign_in_failed",
                None,
                {"method": method.id, "reason": str(exc), "remote_addr": base.remote_addr},
            )
            return self._form(request, status=403, error=str(exc))
        raw_id = await self.console.store.open(principal, method.id)
        await self.console.event(
            principal,
            "sign_in",
            principal.user_id,
            {
                "method": method.id,
                "auth_method": principal.auth_method.value,
                "tier": principal.tier.label,
                "remote_addr": base.remote_addr,
            },
        )
        response = RedirectResponse(BASE, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            raw_id,
            max_age=self.console.store.absolute_seconds,
            path=BASE,
            httponly=True,
            secure=request.url.scheme == "https",
            samesite="strict",
        )
        return secured(response)

    async def sign_out(self, visit: Visit) -> Response:
        raw = visit.request.cookies.get(SESSION_COOKIE, "")
        await self.console.store.close(raw)
        await self.console.event(
            visit.principal,
            "sign_out",
            visit.principal.user_id,
            {"method": visit.session.login_method},
        )
        target = f"{BASE}/login?signed_out=1"
        response: Response
        if visit.htmx:
            response = Response(status_code=204, headers={"hx-redirect": target})
        else:
            response = RedirectResponse(target, status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=BASE)
        return secured(response)
