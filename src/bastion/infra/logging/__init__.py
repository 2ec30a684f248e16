"""Structured logging (structlog) with a processor that masks every configured secret."""

from bastion.infra.logging._setup import configure_logging, redact_processor

__all__ = ["configure_logging", "redact_processor"]
