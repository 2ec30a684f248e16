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
    └── BackendUnavailableError           a shared backend a policy stage needs (Redis) is down;
                                              the chain denies with 503, not as a bug

Every ``ExtensionError`` and ``MigrationError`` names the extension it concerns, so
boot can report one clear line.
"""

from __future__ import annotations


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


class BackendUnavailableError(BastionError):
    """A policy stage cannot decide because the shared backend it counts in (Redis, a
    database) is unreachable. The engine still denies (fail closed), under the rule
    ``governance.backend_unavailable``, which callers see as 503 with ``Retry-After``."""
