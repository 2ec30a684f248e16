"""Client sessions of the handshake era.

The ``Mcp-Session-Id`` Bastion hands out is a signed token naming the server, the
negotiated protocol version and (as a hash) the principal, so any replica can verify it
without shared state and a session id is useless to anyone but the principal it was
issued to. What a replica does keep is which sessions it has seen per principal, so that
when the last of them ends (``DELETE``) the principal's upstream conversation is released
at once instead of at the idle timeout.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import orjson

_TERMINATED_MAX = 10_000


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _principal_hash(principal_key: str) -> str:
    return hashlib.sha256(principal_key.encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class ClientSession:
    id: str  # the short random id, recorded in audit rows
    protocol_version: str


class SessionSigner:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"bastion.mcp.session\x00" + secret.encode()).digest()

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest()[:18])

    def issue(self, server: str, principal_key: str, protocol_version: str) -> tuple[str, str]:
        """A new session: its token (the header value) and its short id."""
        sid = secrets.token_hex(8)
        payload = _b64(
            orjson.dumps(
                {
                    "sid": sid,
                    "srv": server,
                    "p": _principal_hash(principal_key),
                    "v": protocol_version,
                    "iat": int(time.time()),
                }
            )
        )
        return f"{payload}.{self._mac(payload)}", sid

    def verify(self, token: str, server: str, principal_key: str) -> ClientSession | None:
        """The session ``token`` names, if it is genuine and belongs to this server and
        principal; otherwise None (the caller answers 404, as for an unknown session)."""
        payload, dot, mac = token.partition(".")
        if not dot or len(token) > 512 or not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            claims = orjson.loads(_unb64(payload))
        except (ValueError, orjson.JSONDecodeError):
            return None
        if (
            not isinstance(claims, dict)
            or claims.get("srv") != server
            or claims.get("p") != _principal_hash(principal_key)
            or not isinstance(claims.get("sid"), str)
            or not isinstance(claims.get("v"), str)
        ):
            return None
        return ClientSession(claims["sid"], claims["v"])


class SessionTracker:
    """Sessions seen by this replica, per (server, principal), with when each was last used."""

    def __init__(self) -> None:
        self._live: dict[tuple[str, str], dict[str, float]] = {}
        self._terminated: dict[str, float] = {}

    def seen(self, server: str, principal_key: str, sid: str) -> None:
        self._live.setdefault((server, principal_key), {})[sid] = time.monotonic()

    def terminated(self, sid: str) -> bool:
        return sid in self._terminated

    def end(self, server: str, principal_key: str, sid: str) -> bool:
        """Forget ``sid``; True when it was the principal's last session on ``server``."""
        if len(self._terminated) >= _TERMINATED_MAX:
            oldest = sorted(self._terminated, key=self._terminated.__getitem__)
            for old in oldest[: _TERMINATED_MAX // 2]:
                del self._terminated[old]
        self._terminated[sid] = time.monotonic()
        live = self._live.get((server, principal_key))
        if live is None:
            return True
        live.pop(sid, None)
        if live:
            return False
        del self._live[(server, principal_key)]
        return True

    def prune(self, idle_seconds: float) -> int:
        """Forget sessions unused for ``idle_seconds`` (clients that left without ending
        them); how many."""
        cutoff = time.monotonic() - idle_seconds
        pruned = 0
        for key in list(self._live):
            live = self._live[key]
            for sid in [sid for sid, last in live.items() if last < cutoff]:
                del live[sid]
                pruned += 1
            if not live:
                del self._live[key]
        return pruned
