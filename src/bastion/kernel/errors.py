"""Kernel exceptions.

The tree::

    BastionError
    ├── ExtensionError                    an extension cannot take part in boot
    │   ├── ExtensionContractError        an extension breaks the contract (a narrow one implements
    │   │   │                                 a surface outside its kind)
    │   │   ├── ExtensionMetaError            meta is missing, not a class attribute, or malformed
    │   │   └── SurfaceResultError            a surface method returned the wrong type
    │   ├── ExtensionConfigError          an extension's config block fails its model
    │   ├── ExtensionDisabledError        a required extension is named in extensions.disabled
    │   ├── MaturityError                 an extension is below extensions.min_maturity
    │   ├── ManifestError                 a standalone manifest.yaml is malformed
    │   ├── ServiceError                  a service is required but not provided, provided
    │   │                                     twice, or used without being required
    │   └── ExtensionValidationError      one of the four boot validation stages failed
    │       ├── MissingDependencyError    stage 1: a dependency is not installed
    │       ├── DependencyCycleError      stage 2: the dependency graph has a cycle
    │       ├── ReservedPathError         stage 3: a router claims a reserved or taken path
    │       └── DuplicateExtensionError   stage 4: two extensions share an id
    ├── MigrationError                    the migration ledger refuses to proceed
    │   ├── MigrationDriftError           an applied migration's SQL has changed
    │   └── MigrationFailedError          a migration's SQL failed; its transaction rolled back
    ├── RefusedError                      a service refuses an operator's command on its merits;
    │   │                                     ``status`` is the HTTP status an API answers with
    │   ├── InvalidInputError             400: the command is malformed (an unknown role, a scope
    │   │                                     the role does not grant)
    │   ├── NotFoundError                 404: what it names does not exist
    │   └── ConflictError                 409: it contradicts the current state (a name taken,
    │                                         a key already revoked)
    ├── BackendUnavailableError           a shared backend a policy stage needs (Redis) is down;
    │                                         the chain denies with 503, not as a bug
    └── UpstreamError                     calling an upstream (LLM provider, MCP server) failed
        ├── UpstreamUnavailable           no conversation: connection refused, the name did not
        │                                     resolve, the connection was lost before an
        │                                     answer, the process is not running or died
        ├── UpstreamTimeout               no connection or no answer within the deadline
        ├── UpstreamRejected              it answered with an HTTP error status (status, body,
        │                                     headers); retryable for 429 and 5xx
        ├── UpstreamProtocolError         it answered in bytes its protocol does not allow: not
        │                                     JSON, not JSON-RPC, not the SSE it promised, a
        │                                     2xx that is no answer of its API
        └── UpstreamStreamError           a stream being relayed broke after bytes reached the
                                              caller, who has had its error event

Every ``ExtensionError`` and ``MigrationError`` names the extension it concerns, so
boot can report one clear line. Every ``UpstreamError`` names its upstream the same way
for LLM providers and MCP servers (``"upstream 'openai' (route 'gpt'): ..."``, ``"MCP
server 'fs': ..."``), and each failure is the same kind whichever calls it: the gateway
and the MCP proxy each map the kinds onto their callers' wire format in one place.
"""

from __future__ import annotations

from collections.abc import Mapping


class BastionError(Exception):
    """Base of every error Bastion raises on purpose."""


class ExtensionError(BastionError):
    def __init__(self, extension_id: str, message: str) -> None:
        super().__init__(message)
        self.extension_id = extension_id


class ExtensionContractError(ExtensionError):
    pass


class ExtensionMetaError(ExtensionContractError):
    """``extension_class`` is ``module:qualname``; ``extension_id`` is the id when the
    meta carries a usable one, else the class."""

    def __init__(self, extension_class: str, problem: str, extension_id: str | None = None) -> None:
        message = f"extension class {extension_class}: {problem}"
        super().__init__(extension_id or extension_class, message)
        self.extension_class = extension_class


class SurfaceResultError(ExtensionContractError):
    def __init__(self, extension_id: str, extension_class: str, surface: str, problem: str) -> None:
        super().__init__(
            extension_id, f"extension '{extension_id}' ({extension_class}): {surface}() {problem}"
        )
        self.extension_class = extension_class
        self.surface = surface


class ExtensionConfigError(ExtensionError):
    pass


class ExtensionDisabledError(ExtensionError):
    pass


class MaturityError(ExtensionError):
    pass


class ManifestError(ExtensionError):
    pass


class ServiceError(ExtensionError):
    pass


class ExtensionValidationError(ExtensionError):
    pass


class MissingDependencyError(ExtensionValidationError):
    def __init__(self, extension_id: str, dependency: str) -> None:
        super().__init__(
            extension_id,
            f"extension '{extension_id}' requires '{dependency}', which is not installed",
        )
        self.dependency = dependency


class DependencyCycleError(ExtensionValidationError):
    def __init__(self, path: list[str]) -> None:
        super().__init__(path[0], "dependency cycle: " + " -> ".join(path))
        self.path = path


class ReservedPathError(ExtensionValidationError):
    def __init__(self, extension_id: str, path: str, taken: str, why: str) -> None:
        super().__init__(
            extension_id,
            f"extension '{extension_id}' mounts '{path}', which collides with '{taken}' ({why})",
        )
        self.path = path
        self.taken = taken


class DuplicateExtensionError(ExtensionValidationError):
    def __init__(self, extension_id: str, first: str, second: str) -> None:
        super().__init__(
            extension_id,
            f"extension id '{extension_id}' is registered twice: by {first} and by {second}",
        )
        self.sources = (first, second)


class MigrationError(BastionError):
    def __init__(self, extension_id: str, message: str) -> None:
        super().__init__(message)
        self.extension_id = extension_id


class MigrationDriftError(MigrationError):
    def __init__(self, extension_id: str, version: int, stored: str, current: str) -> None:
        super().__init__(
            extension_id,
            f"migration drift in extension '{extension_id}' version {version}: "
            f"stored checksum {stored}, current checksum {current}",
        )
        self.version = version
        self.stored = stored
        self.current = current


class MigrationFailedError(MigrationError):
    pass


class RefusedError(BastionError):
    """A typed service (``ACCOUNTS``, ``CREDENTIALS``, ``MCP_ADMIN`` ...) refuses a
    command. The CLI prints the message as one ``error:`` line; the admin API answers
    ``status`` with it."""

    status: int = 400


class InvalidInputError(RefusedError):
    status = 400


class NotFoundError(RefusedError):
    status = 404


class ConflictError(RefusedError):
    status = 409


class BackendUnavailableError(BastionError):
    """A policy stage cannot decide because the shared backend it counts in (Redis, a
    database) is unreachable. The engine still denies (fail closed), under the rule
    ``governance.backend_unavailable``, which callers see as 503 with ``Retry-After``."""


class UpstreamError(BastionError):
    """``upstream`` names the upstream as the message starts (``"MCP server 'fs'"``),
    ``detail`` is what happened. ``retryable``: the same call may succeed if made again,
    on a new connection or a moment later (the gateway's dispatcher retries and falls back
    on it). ``attempts``: how many calls were made in all, set by a caller that retries."""

    retryable: bool = False

    def __init__(self, upstream: str, detail: str, *, retryable: bool | None = None) -> None:
        super().__init__(f"{upstream}: {detail}")
        self.upstream = upstream
        self.detail = detail
        if retryable is not None:
            self.retryable = retryable
        self.attempts = 0


class UpstreamUnavailable(UpstreamError):
    retryable = True


class UpstreamTimeout(UpstreamError):
    """Nothing within ``seconds``; ``detail`` defaults to saying so."""

    retryable = True

    def __init__(self, upstream: str, seconds: float, detail: str | None = None) -> None:
        super().__init__(upstream, detail or f"no answer within {seconds:g}s")
        self.seconds = seconds


class UpstreamRejected(UpstreamError):
    """``body`` is the upstream's error document (an LLM provider's, already in
    Anthropic's shape), ``headers`` what it said about retrying and tracing
    (``retry-after`` ...)."""

    def __init__(
        self,
        upstream: str,
        status: int,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        *,
        detail: str | None = None,
    ) -> None:
        super().__init__(
            upstream, detail or f"answered {status}", retryable=status == 429 or status >= 500
        )
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


class UpstreamProtocolError(UpstreamError):
    # A garbled answer (a proxy's page, a cut-off body) is as often the moment's as the
    # upstream's for good.
    retryable = True


class UpstreamStreamError(UpstreamError):
    pass
