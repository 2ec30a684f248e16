"""Where a push notification may go: the check of a client's webhook URL against the
``agents.push_notifications`` policy, and the resolver that holds the connection itself
to it.

A webhook URL is chosen by the client, and Bastion calls it from inside the network, so
an unchecked one turns Bastion into a proxy to whatever the client names: a loopback
admin port, the cloud metadata service at 169.254.169.254, a database on the private
network (SSRF). The check refuses a name if *any* of its addresses is non-public (a name
with one public and one private address would otherwise be a coin toss away from the
private one). It runs when a config is created and before each delivery, and the
sender's resolver repeats it on the addresses the connection actually uses, so a name
re-pointed between the check and the connect (DNS rebinding) reaches nothing.
"""

from __future__ import annotations

import asyncio
import fnmatch
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from bastion.domains.agents._settings import PushNotificationSettings
from bastion.kernel.errors import InvalidInputError

MAX_URL_LENGTH = 2048
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class InvalidPushConfig(InvalidInputError):
    """A push-notification config Bastion will not store or call (a JSON-RPC caller
    sees it as invalid params). Its message names the problem and at most the URL's
    host, never its path or query, which may carry a secret."""


class PushUrlRefused(InvalidPushConfig):
    """The webhook URL breaks the policy: its scheme, its host, or where it resolves."""


@dataclass(frozen=True, slots=True)
class PushTarget:
    """The parts of a webhook URL the policy judges."""

    scheme: str
    host: str
    port: int


def is_public_address(address: str) -> bool:
    """Whether ``address`` is a public unicast destination.

    An IPv6 address that carries an IPv4 one is judged as that IPv4 address:
    ``::ffff:127.0.0.1`` and ``64:ff9b::a9fe:a9fe`` (NAT64) reach loopback and the
    metadata service as surely as their IPv4 forms, and ``64:ff9b::808:808`` is as
    public as 8.8.8.8; a 6to4 address must be public both ways. Text that is no address
    is not public.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return _public(ip.ipv4_mapped)
        if ip in _NAT64:
            # DNS64 gives an IPv6-only network these for every IPv4-only host.
            return _public(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip.sixtofour is not None and not _public(ip.sixtofour):
            return False
        if ip.is_site_local:
            return False
    return _public(ip)


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # ``is_global`` alone lets multicast through, and CGNAT is neither private nor global.
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def parse_push_url(url: str, settings: PushNotificationSettings) -> PushTarget:
    """Check what the URL's text alone decides (form, scheme, host allowlist) and return
    the target to resolve; raise :class:`PushUrlRefused`."""
    if len(url) > MAX_URL_LENGTH:
        raise PushUrlRefused(f"push notification URL is longer than {MAX_URL_LENGTH} characters")
    if not url.isascii() or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise PushUrlRefused(
            "push notification URL must be ASCII without spaces or control characters "
            "(an international host in its xn-- form)"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise PushUrlRefused("push notification URL is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise PushUrlRefused("push notification URL must be http or https")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise PushUrlRefused("push notification URL has no host")
    if parts.username is not None or parts.password is not None:
        raise PushUrlRefused(
            "push notification URL must not carry credentials; use the config's token "
            "or authentication"
        )
    if settings.allowed_hosts and not any(
        fnmatch.fnmatchcase(host, pattern.lower()) for pattern in settings.allowed_hosts
    ):
        raise PushUrlRefused(f"push notification host '{host}' is not in allowed_hosts")
    return PushTarget(scheme, host, port or (443 if scheme == "https" else 80))


async def resolve(host: str, port: int, seconds: float) -> list[str]:
    """Every address ``host`` resolves to (an IP literal resolves to itself); raise
    :class:`PushUrlRefused` when it does not resolve: a delivery would fail anyway, and
    refusing keeps a resolver error from passing for a public address."""
    try:
        return [str(ipaddress.ip_address(host.split("%", 1)[0]))]
    except ValueError:
        pass
    try:
        async with asyncio.timeout(seconds):
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
    except (OSError, TimeoutError):
        raise PushUrlRefused(f"push notification host '{host}' does not resolve") from None
    return sorted({str(info[4][0]) for info in infos})


def judge(target: PushTarget, addresses: list[str], settings: PushNotificationSettings) -> None:
    """Refuse ``target`` for where it resolves: a non-public address without
    ``allow_private``, plain HTTP to anything public while ``require_https``."""
    private = [a for a in addresses if not is_public_address(a)]
    if private and not settings.allow_private:
        raise PushUrlRefused(
            f"push notification host '{target.host}' resolves to a non-public address "
            f"({private[0]}); loopback, private, link-local and metadata addresses are refused"
        )
    only_private = bool(addresses) and len(private) == len(addresses)
    if (
        target.scheme == "http"
        and settings.require_https
        and not (settings.allow_private and only_private)
    ):
        raise PushUrlRefused(
            "push notification URL must be https (plain http is accepted only to a "
            "non-public host, with allow_private)"
        )


async def check_push_url(url: str, settings: PushNotificationSettings) -> None:
    """Refuse a webhook URL the policy does not allow, with :class:`PushUrlRefused`
    saying why: not http(s), credentials in it, a host off ``allowed_hosts``, a host that
    does not resolve or resolves to any non-public address (without
    ``allow_private``), plain HTTP (with ``require_https``). Resolves the host, so call
    it again before each delivery."""
    target = parse_push_url(url, settings)
    judge(target, await resolve(target.host, target.port, settings.timeout_seconds), settings)
