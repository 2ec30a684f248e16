"""Delivering push notifications: each task event, as the A2A 1.0 ``StreamResponse`` the
a2a-sdk sends (``{"task": ...}``, ``{"statusUpdate": ...}`` or ``{"artifactUpdate": ...}``),
POSTed as JSON to every webhook configured for the task.

Each request carries:

- ``X-A2A-Notification-Token: <token>`` when the config has a token;
- ``Authorization: <scheme> <credentials>`` when it has authentication with credentials;
- ``X-Bastion-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` when
  ``signing_secret`` names a secret (the receiver checks it with the same secret, e.g.
  ``bastion.infra.security.verify_webhook``, and refuses a stale ``t``: a captured
  request cannot be replayed later);
- ``X-Bastion-Delivery: <id>``, the same on every attempt of one notification to one
  webhook, so a receiver can drop a retry of what it already processed.

Delivery is off the task's path: :meth:`PushSender.notify` queues and returns. A bounded
number of workers deliver, each owning a share of the tasks, so one task's notifications
arrive in order while a slow webhook holds up only its share. A full queue drops the new
notification (logged): a stuck receiver must not slow the agents down or grow memory.
Each attempt re-checks the URL (names move) and connects only to checked addresses;
failures that may pass (no connection, a timeout, 408, 425, 429, 5xx) are retried with
exponential backoff up to ``max_attempts``; any other answer, a redirect included, ends
that delivery. Logs name the task, the config id and the host, never the URL's path,
the token, the credentials or the secret.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
import structlog
from aiohttp.abc import ResolveResult
from aiohttp.resolver import ThreadedResolver

from bastion.domains.agents._push_store import PushConfig, PushConfigStore
from bastion.domains.agents._push_urls import PushUrlRefused, check_push_url, is_public_address
from bastion.domains.agents._settings import PushNotificationSettings
from bastion.infra.security import sign_webhook
from bastion.kernel.contract import SecretSource

log = structlog.get_logger("bastion.agents.push")

EVENT_KINDS = frozenset({"task", "statusUpdate", "artifactUpdate"})
TOKEN_HEADER = "X-A2A-Notification-Token"
SIGNATURE_HEADER = "X-Bastion-Signature"
DELIVERY_HEADER = "X-Bastion-Delivery"
_RETRY_STATUSES = frozenset({408, 425, 429})
_MAX_BACKOFF_SECONDS = 300.0
_DRAIN_SECONDS = 30.0


class _NonPublicAddress(OSError):
    """Raised inside aiohttp's resolution: a name now resolves to a refused address."""


class GuardedResolver(ThreadedResolver):
    """aiohttp's resolver, refusing a name with any non-public address (unless
    ``allow_private``): the addresses the connection goes to are the ones checked.

    aiohttp calls no resolver for an IP literal; :func:`check_push_url` has judged that
    literal already, and it cannot change.
    """

    def __init__(self, *, allow_private: bool) -> None:
        super().__init__()
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await super().resolve(host, port, family)
        if not self._allow_private and any(not is_public_address(r["host"]) for r in results):
            raise _NonPublicAddress(f"'{host}' resolves to a non-public address")
        return results


def refused_by_resolver(exc: BaseException) -> bool:
    """Whether a connection error is :class:`GuardedResolver` refusing the address."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _NonPublicAddress):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@dataclass(frozen=True, slots=True)
class _Notification:
    task_id: str
    body: bytes


class _Stop:
    """Ends a worker once the notifications queued before it are delivered."""


class PushSender:
    """Queues task events and delivers them to the task's webhooks in the background.

    Build it inside the running event loop's lifetime and call :meth:`aclose` on
    shutdown: it delivers what is queued (for up to ``drain_seconds``) and closes the
    HTTP session.
    """

    def __init__(
        self,
        store: PushConfigStore,
        settings: PushNotificationSettings,
        *,
        signing_secret: str | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._settings = settings
        self._secret = signing_secret or None
        self._clock = clock
        share = max(1, settings.queue_size // settings.concurrency)
        self._queues: list[asyncio.Queue[_Notification | _Stop]] = [
            asyncio.Queue(share) for _ in range(settings.concurrency)
        ]
        self._workers: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self.dropped = 0

    @classmethod
    def from_settings(
        cls, store: PushConfigStore, settings: PushNotificationSettings, secrets: SecretSource
    ) -> PushSender:
        """The sender ``settings`` describe, its signing secret read from ``secrets``
        (a missing name raises ``SecretsError``, at boot rather than at the first send)."""
        secret = secrets.get(settings.signing_secret) if settings.signing_secret else None
        return cls(store, settings, signing_secret=secret)

    def notify(self, task_id: str, event: Mapping[str, Any]) -> bool:
        """Queue ``event`` (a ``StreamResponse`` of one ``task``, ``statusUpdate`` or
        ``artifactUpdate``) for every webhook of ``task_id``; never waits. False when it
        was not queued: pushes are disabled, the sender is closed, or the queue is full.
        """
        if len(event) != 1 or next(iter(event)) not in EVENT_KINDS:
            raise ValueError(
                "a push notification is a StreamResponse of task, statusUpdate or artifactUpdate"
            )
        if not self._settings.enabled or self._closed:
            return False
        self._start()
        queue = self._queues[zlib.crc32(task_id.encode()) % len(self._queues)]
        try:
            queue.put_nowait(_Notification(task_id, orjson.dumps(event)))
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("push notification dropped: the delivery queue is full", task_id=task_id)
            return False
        return True

    def _start(self) -> None:
        if not self._workers:
            self._workers = [asyncio.create_task(self._work(q)) for q in self._queues]

    async def _work(self, queue: asyncio.Queue[_Notification | _Stop]) -> None:
        while True:
            item = await queue.get()
            if isinstance(item, _Stop):
                return
            try:
                await self.deliver(item.task_id, item.body)
            except Exception as exc:
                # A store outage or a bug must not end the worker and strand its share.
                # The error's kind only: a database error's text carries its SQL.
                log.error(
                    "push notification failed", task_id=item.task_id, error=type(exc).__name__
                )

    async def deliver(self, task_id: str, body: bytes) -> int:
        """Deliver ``body`` (a serialised ``StreamResponse``) to every webhook of the
        task now, concurrently; return how many took it. What :meth:`notify` queues."""
        configs = await self._store.list(task_id)
        if not configs:
            return 0
        results = await asyncio.gather(*(self._deliver_one(c, body) for c in configs))
        return sum(results)

    async def _deliver_one(self, config: PushConfig, body: bytes) -> bool:
        host = urlsplit(config.url).hostname or ""
        where = {"task_id": config.task_id, "config_id": config.id, "host": host}
        delivery = uuid.uuid4().hex
        attempts = self._settings.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                await check_push_url(config.url, self._settings)
            except PushUrlRefused as exc:
                log.warning("push notification refused", reason=str(exc), **where)
                return False
            outcome, detail = await self._attempt(config, body, delivery)
            if outcome == "delivered":
                log.debug("push notification delivered", attempt=attempt, **where)
                return True
            if outcome == "final" or attempt == attempts:
                log.warning(
                    "push notification not delivered", attempts=attempt, error=detail, **where
                )
                return False
            log.info("push notification retrying", attempt=attempt, error=detail, **where)
            await asyncio.sleep(self._backoff(attempt))
        return False

    def _backoff(self, attempt: int) -> float:
        return float(min(self._settings.backoff_seconds * 2 ** (attempt - 1), _MAX_BACKOFF_SECONDS))

    async def _attempt(self, config: PushConfig, body: bytes, delivery: str) -> tuple[str, str]:
        """One POST: ``("delivered" | "retry" | "final", what happened)``."""
        headers = {"Content-Type": "application/json", DELIVERY_HEADER: delivery}
        if config.token:
            headers[TOKEN_HEADER] = config.token
        if config.authentication is not None and config.authentication.header:
            headers["Authorization"] = config.authentication.header
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = sign_webhook(self._secret, body, int(self._clock()))
        try:
            async with self._http().post(
                config.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            if refused_by_resolver(exc):
                return "final", "the host now resolves to a non-public address"
            return "retry", type(exc).__name__
        if 200 <= status < 300:
            return "delivered", str(status)
        if status in _RETRY_STATUSES or status >= 500:
            return "retry", f"HTTP {status}"
        return "final", f"HTTP {status}"

    def _http(self) -> aiohttp.ClientSession:
        """The webhook client: no proxy from the environment (a proxy would resolve the
        name itself, past the check), no cookies, the guarded resolver with no DNS cache
        (each connection resolves, and is checked, afresh)."""
        if self._session is None:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(allow_private=self._settings.allow_private),
                use_dns_cache=False,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": "Bastion-Push/1"},
                timeout=aiohttp.ClientTimeout(total=self._settings.timeout_seconds),
                trust_env=False,
            )
        return self._session

    async def aclose(self, drain_seconds: float = _DRAIN_SECONDS) -> None:
        """Stop accepting, deliver what is queued for up to ``drain_seconds`` (then
        cancel the rest, logged), and close the HTTP session. A second call returns."""
        if self._closed:
            return
        self._closed = True
        if self._workers:
            try:
                async with asyncio.timeout(drain_seconds):
                    for queue in self._queues:
                        await queue.put(_Stop())
                    await asyncio.gather(*self._workers)
            except TimeoutError:
                for worker in self._workers:
                    worker.cancel()
                await asyncio.gather(*self._workers, return_exceptions=True)
                log.warning(
                    "push notifications abandoned at shutdown", queued=self._discard_queued()
                )
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _discard_queued(self) -> int:
        count = 0
        for queue in self._queues:
            while not queue.empty():
                count += isinstance(queue.get_nowait(), _Notification)
        return count
