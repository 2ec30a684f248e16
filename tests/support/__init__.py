"""Test support: profiles on disk and a real Bastion server on loopback."""

from tests.support.profiles import write_profile
from tests.support.server import ServerThread, running_server

__all__ = ["ServerThread", "running_server", "write_profile"]
