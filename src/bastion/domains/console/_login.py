"""How an operator proves who they are to the console: a pluggable ``LoginMethod``.

The first method is pasting an admin API key or Bastion token; single sign-on is another
implementation of the same protocol, offered beside it on the sign-in page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from bastion.domains.console.errors import SignInRefused
from bastion.kernel.context import RequestContext
from bastion.kernel.identity import CredentialCheck


class LoginMethod(Protocol):
    """One way to sign in. ``id`` names it in the sessions table and the audit trail,
    ``template`` is the partial that renders its form (posting to
    ``/admin/login/<id>``), ``label`` its heading on the sign-in page."""

    @property
    def id(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def template(self) -> str: ...

    async def sign_in(self, form: Mapping[str, str], remote_addr: str | None) -> RequestContext:
        """The principal the submitted form proves; ``SignInRefused`` (its message fit for
        the page, never echoing the credential) otherwise."""
        ...


class PastedCredential:
    """Paste an API key (``bst_...``) or a Bastion JWT once; it is checked exactly as a
    request carrying it would be, then forgotten: the session keeps the principal only."""

    id = "credential"
    label = "API key or token"
    template = "login/credential.html"
    field = "credential"

    def __init__(self, check: CredentialCheck) -> None:
        self._check = check

    async def sign_in(self, form: Mapping[str, str], remote_addr: str | None) -> RequestContext:
        raw = form.get(self.field, "")
        if not raw.strip():
            raise SignInRefused("paste an API key or a token")
        checked = await self._check.check(raw, remote_addr=remote_addr)
        if checked.context is None:
            raise SignInRefused(f"sign-in refused: {checked.refusal}")
        return checked.context
