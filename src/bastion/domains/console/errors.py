"""The console's errors."""

from __future__ import annotations


class ConsoleError(Exception):
    """Base of the console's errors."""


class SignInRefused(ConsoleError):
    """A credential that does not open the console; the message says why, for the page."""
